/**
 * effect-agents/http: serve agents and teams over HTTP with
 * `@effect/platform`, and call them with a typed client.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AgentApi from "./AgentApi.js"

/** @since 0.1.0 */
export * as AgentClient from "./AgentClient.js"

/** @since 0.1.0 */
export * as AgentServer from "./AgentServer.js"

/** @since 0.1.0 */
export * as BatchStore from "./BatchStore.js"

/** @since 0.1.0 */
export * as DurableRuns from "./DurableRuns.js"

/** @since 0.1.0 */
export * as McpEndpoint from "./McpEndpoint.js"

/** @since 0.1.0 */
export * as Registry from "./Registry.js"

/** @since 0.1.0 */
export * as RunLogStore from "./RunLogStore.js"
