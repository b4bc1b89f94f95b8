/**
 * A run's state as one value with a Schema: the conversation, the steps so
 * far, what the run spent, and the tool calls of a step under way. The agent
 * loop is a function of it (each step takes a state to the next), so a run
 * can stop between steps, be encoded to JSON, stored, and continue from the
 * decoded state, in this process or another (`agent.resume(state)`).
 *
 * A step has two halves: the model's call, which leaves the tool calls it
 * asked for `pending`, and their run, which records the step. A state whose
 * `pending` is set continues with the tool calls; one whose `answer` is set
 * is finished.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { type Agent, RunState } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 *
 * // keep the state after every step, as JSON; continue from the last one
 * const program = Effect.gen(function*() {
 *   let saved = ""
 *   const keep = (state: RunState.RunState) =>
 *     Effect.orDie(Effect.map(Schema.encode(RunState.RunState)(state), (json) => { saved = JSON.stringify(json) }))
 *   yield* agent.run("Plan a trip", { onState: keep }).pipe(Effect.ignore)
 *   const state = yield* Schema.decode(Schema.parseJson(RunState.RunState))(saved)
 *   return yield* agent.resume(state)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as LanguageModel from "./LanguageModel.js"
import * as Run from "./Run.js"

/**
 * The model's half of a step, whose tool calls have not all run yet.
 *
 * @since 0.1.0
 * @category models
 */
export const PendingStep = Schema.Struct({
  index: Schema.Number,
  text: Schema.String,
  usage: LanguageModel.Usage,
  finishReason: LanguageModel.FinishReason,
  model: Schema.String,
  /** The tool calls the model asked for, in its order. */
  toolCalls: Schema.Array(LanguageModel.ToolCall),
  /** The calls already done when the run suspended for approval, by their place in `toolCalls`. */
  done: Schema.optional(Schema.Array(Schema.Struct({
    index: Schema.Number,
    record: Run.ToolCallRecord,
    message: LanguageModel.ToolMessage
  })))
}).annotations({ identifier: "PendingStep" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PendingStep extends Schema.Schema.Type<typeof PendingStep> {}

/**
 * A run's state, version 1.
 *
 * @since 0.1.0
 * @category models
 */
export const RunState = Schema.Struct({
  version: Schema.Literal(1),
  runId: Schema.String,
  agent: Schema.String,
  /** The conversation so far: instructions, input, answers, tool results. */
  messages: Schema.Array(LanguageModel.Message),
  /** The steps done, in order; the next one's index is their number. */
  steps: Schema.Array(Run.Step),
  /** A step whose model call is done and whose tool calls are not. */
  pending: Schema.optional(PendingStep),
  /** The final answer, once the model gave one that decodes. */
  answer: Schema.optional(Schema.String),
  /** The tokens of the run's own model calls. */
  usage: LanguageModel.Usage,
  /** What the run's own model calls cost, in US dollars: of those whose model has a price (see `Pricing`). */
  costUsd: Schema.optional(Schema.Number),
  toolCalls: Schema.Number,
  retries: Schema.Number,
  /** What the runs it delegated to (agents called as tools) spent. */
  delegated: Run.RunMetrics,
  timeToFirstTokenMs: Schema.optional(Schema.Number),
  /** The run's time before this state, every process's that ran it. */
  elapsedMs: Schema.Number,
  /** Re-asks left for an answer that does not decode with the output Schema. */
  correctionsLeft: Schema.Number
}).annotations({ identifier: "RunState" })

/**
 * @since 0.1.0
 * @category models
 */
export interface RunState extends Schema.Schema.Type<typeof RunState> {}

/**
 * The state a run starts from: the agent's instructions (unless the input
 * opens with a system message) and the input.
 *
 * @example
 * ```ts
 * import { RunState } from "effect-agents"
 *
 * const state = RunState.initial({ runId: "r1", agent: "assistant", instructions: "Be brief.", input: "Hi" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (options: {
  readonly runId: string
  readonly agent: string
  readonly instructions: string
  readonly input: Run.Input
}): RunState => {
  const input = options.input
  const messages: Array<LanguageModel.Message> = typeof input === "string" ? [LanguageModel.user(input)] : [...input]
  if (options.instructions.length > 0 && messages[0]?.role !== "system") {
    messages.unshift(LanguageModel.system(options.instructions))
  }
  return {
    version: 1,
    runId: options.runId,
    agent: options.agent,
    messages,
    steps: [],
    pending: undefined,
    answer: undefined,
    usage: LanguageModel.emptyUsage,
    toolCalls: 0,
    retries: 0,
    delegated: Run.emptyMetrics,
    timeToFirstTokenMs: undefined,
    elapsedMs: 0,
    correctionsLeft: 1
  }
}

/**
 * What the run spent up to this state, its delegations included, `durationMs`
 * being the run's time so far.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = (state: RunState, durationMs: number): Run.RunMetrics => {
  const own: Run.RunMetrics = {
    inputTokens: state.usage.inputTokens,
    outputTokens: state.usage.outputTokens,
    totalTokens: state.usage.inputTokens + state.usage.outputTokens,
    costUsd: state.costUsd,
    durationMs,
    timeToFirstTokenMs: state.timeToFirstTokenMs,
    steps: state.steps.length,
    toolCalls: state.toolCalls,
    retries: state.retries
  }
  const total = Run.sumMetrics([own, state.delegated])
  return { ...total, durationMs, timeToFirstTokenMs: state.timeToFirstTokenMs }
}
