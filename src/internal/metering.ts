/**
 * The library's Effect metrics and their updates. Every agent run updates
 * them once, when it ends, through hooks looked up when the agent was made
 * (a tagged update would build and hash a metric key each time).
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"

const counter = (name: string, description: string) => MetricKey.counter(name, { description, incremental: true })

export const keys = {
  runs: counter(
    "effect_agents_runs",
    "Agent runs that ended, by agent and outcome (success, failure, interrupted, suspended)"
  ),
  inputTokens: counter("effect_agents_input_tokens", "Input tokens of the model calls of agent runs, by agent"),
  outputTokens: counter("effect_agents_output_tokens", "Output tokens of the model calls of agent runs, by agent"),
  modelCalls: counter("effect_agents_model_calls", "Model calls answered in agent runs, by agent"),
  costUsd: counter(
    "effect_agents_cost_usd",
    "What the model calls of agent runs cost in US dollars (models with a price), by agent"
  ),
  toolCalls: counter("effect_agents_tool_calls", "Tool calls of agent runs, by agent"),
  retries: counter("effect_agents_retries", "Model calls retried in agent runs, by agent"),
  duration: MetricKey.histogram(
    "effect_agents_run_duration_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 20 }),
    "Duration of agent runs in milliseconds (Effect's clock), by agent"
  )
}

/** What a run did with its own model calls (not those of the runs it delegated to). */
export interface Own {
  readonly inputTokens: number
  readonly outputTokens: number
  /** Of the calls whose model has a price. */
  readonly costUsd: number
  readonly modelCalls: number
  readonly toolCalls: number
  readonly retries: number
  readonly durationMs: number
}

/** The updates of one agent's runs. */
export interface Meter {
  readonly record: (exit: Exit.Exit<unknown, unknown>, own: Own) => void
}

/** A run that suspended for approval has not failed: it waits. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.isInterruptedOnly(exit.cause)) return "interrupted"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && Predicate.isTagged(failure.value, "RunSuspended") ? "suspended" : "failure"
}

export const make = (agent: string): Meter => {
  const byAgent = MetricLabel.make("agent", agent)
  const hook = <K extends MetricKey.MetricKey.Untyped>(key: K, ...labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
    Metric.globalMetricRegistry.get(MetricKey.taggedWithLabels(key, [byAgent, ...labels]))
  const runs = {
    success: hook(keys.runs, MetricLabel.make("outcome", "success")),
    failure: hook(keys.runs, MetricLabel.make("outcome", "failure")),
    interrupted: hook(keys.runs, MetricLabel.make("outcome", "interrupted")),
    suspended: hook(keys.runs, MetricLabel.make("outcome", "suspended"))
  }
  const inputTokens = hook(keys.inputTokens)
  const outputTokens = hook(keys.outputTokens)
  const modelCalls = hook(keys.modelCalls)
  const costUsd = hook(keys.costUsd)
  const toolCalls = hook(keys.toolCalls)
  const retries = hook(keys.retries)
  const duration = hook(keys.duration)
  return {
    record: (exit, own) => {
      runs[outcomeOf(exit)].update(1)
      inputTokens.update(own.inputTokens)
      outputTokens.update(own.outputTokens)
      modelCalls.update(own.modelCalls)
      costUsd.update(own.costUsd)
      toolCalls.update(own.toolCalls)
      retries.update(own.retries)
      duration.update(own.durationMs)
    }
  }
}
