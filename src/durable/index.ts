/**
 * effect-agents/durable: runs that survive a crash, on `@effect/workflow`
 * and `@effect/cluster`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Durable from "./Durable.js"
