/**
 * Helpers to test agents offline: a scripted language model.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ScriptedModel from "./ScriptedModel.js"
