/**
 * The library's Effect metrics. Every agent run updates them once, when it
 * ends, tagged with the agent's name (`agent`; a team's leader is named after
 * its team), and `runs` with its `outcome` (`success`, `failure`,
 * `interrupted`, `suspended`: waiting for approval). The token, call and retry counts are the run's own model
 * calls, so each model call is counted once however runs nest. Any Effect
 * metrics exporter (`@effect/opentelemetry`'s, say) exports them; read them
 * in-process with `Metric.value`.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const tokensOfWriter = Metric.value(AgentMetrics.inputTokens.pipe(Metric.tagged("agent", "writer")))
 * // Effect<MetricState.Counter<number>>: its `count`
 * ```
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as Metering from "./internal/metering.js"

/**
 * Agent runs that ended, tagged `agent` and `outcome` (`success`, `failure`,
 * `interrupted`, or `suspended` for approval: see `Approval`), in that order.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const failures = AgentMetrics.runs.pipe(Metric.tagged("agent", "writer"), Metric.tagged("outcome", "failure"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runs: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.runs)

/**
 * Input tokens of the runs' own model calls, tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.inputTokens.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const inputTokens: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.inputTokens)

/**
 * Output tokens of the runs' own model calls, tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.outputTokens.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const outputTokens: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.outputTokens)

/**
 * What the runs' own model calls cost, in US dollars, tagged `agent`: the
 * calls whose model has a price (see `Pricing`).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.costUsd.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const costUsd: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.costUsd)

/**
 * Model calls answered in the runs (one per step), tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.modelCalls.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const modelCalls: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.modelCalls)

/**
 * Tool calls of the runs, tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.toolCalls.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const toolCalls: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.toolCalls)

/**
 * Model calls retried in the runs, tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.retries.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries: Metric.Metric.Counter<number> = Metric.fromMetricKey(Metering.keys.retries)

/**
 * The runs' durations in milliseconds of Effect's clock, tagged `agent`.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { AgentMetrics } from "effect-agents"
 *
 * const writer = AgentMetrics.runDuration.pipe(Metric.tagged("agent", "writer"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runDuration: Metric.Metric.Histogram<number> = Metric.fromMetricKey(Metering.keys.duration)
