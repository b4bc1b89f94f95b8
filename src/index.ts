/**
 * effect-agents: AI agents, tools and teams as Effect services, with
 * structured concurrency, typed failures, retries, timeouts and streaming.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Agent from "./Agent.js"

/** @since 0.1.0 */
export * as AgentError from "./AgentError.js"

/** @since 0.1.0 */
export * as AgentMetrics from "./AgentMetrics.js"

/** @since 0.1.0 */
export * as Approval from "./Approval.js"

/** @since 0.1.0 */
export * as Dag from "./Dag.js"

/** @since 0.1.0 */
export * as Guardrail from "./Guardrail.js"

/** @since 0.1.0 */
export * as LanguageModel from "./LanguageModel.js"

/** @since 0.1.0 */
export * as ModelError from "./ModelError.js"

/** @since 0.1.0 */
export * as Policy from "./Policy.js"

/** @since 0.1.0 */
export * as Pricing from "./Pricing.js"

/** @since 0.1.0 */
export * as Printer from "./Printer.js"

/** @since 0.1.0 */
export * as Run from "./Run.js"

/** @since 0.1.0 */
export * as RunEvent from "./RunEvent.js"

/** @since 0.1.0 */
export * as RunState from "./RunState.js"

/** @since 0.1.0 */
export * as RunStore from "./RunStore.js"

/** @since 0.1.0 */
export * as Runnable from "./Runnable.js"

/** @since 0.1.0 */
export * as Session from "./Session.js"

/** @since 0.1.0 */
export * as SessionStore from "./SessionStore.js"

/** @since 0.1.0 */
export * as TaskGroup from "./TaskGroup.js"

/** @since 0.1.0 */
export * as Team from "./Team.js"

/** @since 0.1.0 */
export * as Tool from "./Tool.js"

/** @since 0.1.0 */
export * as Toolkit from "./Toolkit.js"
