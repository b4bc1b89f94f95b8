/**
 * effect-agents/testing: helpers to test agents offline: a scripted language
 * model, and OpenAI- and Anthropic-compatible servers that answer from the
 * same scripts.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AnthropicCompatServer from "./AnthropicCompatServer.js"

/** @since 0.1.0 */
export * as OpenAiCompatServer from "./OpenAiCompatServer.js"

/** @since 0.1.0 */
export * as Recording from "./Recording.js"

/** @since 0.1.0 */
export * as ScriptedModel from "./ScriptedModel.js"
