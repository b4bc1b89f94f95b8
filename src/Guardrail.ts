/**
 * Guardrails: checks that stop a run before it does harm.
 *
 * - {@link input}: inspects the run's input and passes or trips. In
 *   `"parallel"` mode (the default) it runs beside the run's first model
 *   call: a trip interrupts that call in flight (its request is aborted) and
 *   the run fails with `GuardrailTripped`; the call's tool calls and answer
 *   wait for the checks. In `"blocking"` mode it runs before the first call.
 * - {@link output}: inspects the final answer (the typed output included)
 *   and passes or trips; a trip fails the run or, with `onTrip: "correct"`,
 *   asks the model once to correct itself, as for an answer that does not
 *   decode.
 * - {@link tool}: before a tool call (allow; reject with a message the model
 *   reads instead of running the tool; trip) and after it (allow; reject,
 *   the model reading the message instead of the result; trip).
 *
 * A check is an Effect (or a plain verdict): it may call a model, e.g. a
 * moderation agent; its failure fails the run. Every check is a span
 * (`guardrail.check`), and a trip emits a `GuardrailTripped` event.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Guardrail } from "effect-agents"
 *
 * const noHomework = Guardrail.input({
 *   name: "no_homework",
 *   check: ({ input }) => input.includes("homework") ? Guardrail.trip({ reason: "homework" }) : Guardrail.pass
 * })
 *
 * const agent = Agent.make({ name: "tutor", instructions: "Explain.", guardrails: { input: [noHomework] } })
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { AgentError } from "./AgentError.js"
import type * as LanguageModel from "./LanguageModel.js"

/**
 * The check passed.
 *
 * @since 0.1.0
 * @category verdicts
 */
export interface Pass {
  readonly _tag: "Pass"
}

/**
 * The check tripped: the run fails with `GuardrailTripped`, carrying
 * `info`. `message` is what the model reads when it is asked to correct
 * itself (an output guardrail with `onTrip: "correct"`).
 *
 * @since 0.1.0
 * @category verdicts
 */
export interface Trip {
  readonly _tag: "Trip"
  readonly info: unknown
  readonly message: string | undefined
}

/**
 * A tool guardrail's rejection: the model reads `message` instead of
 * running the tool (before) or instead of its result (after).
 *
 * @since 0.1.0
 * @category verdicts
 */
export interface Reject {
  readonly _tag: "Reject"
  readonly message: string
}

/**
 * @since 0.1.0
 * @category verdicts
 */
export const pass: Pass = { _tag: "Pass" }

/**
 * A trip, with what it found (`info`, JSON-ready: it reaches the error, the
 * event and the HTTP wire) and what the model is told when asked to correct.
 *
 * @example
 * ```ts
 * import { Guardrail } from "effect-agents"
 *
 * const verdict = Guardrail.trip({ category: "pii" }, "Do not include email addresses.")
 * ```
 *
 * @since 0.1.0
 * @category verdicts
 */
export const trip = (info?: unknown, message?: string): Trip => ({ _tag: "Trip", info, message })

/**
 * A tool guardrail's rejection, with the message the model reads.
 *
 * @example
 * ```ts
 * import { Guardrail } from "effect-agents"
 *
 * const verdict = Guardrail.reject("Deleting files is not allowed; list them instead.")
 * ```
 *
 * @since 0.1.0
 * @category verdicts
 */
export const reject = (message: string): Reject => ({ _tag: "Reject", message })

/**
 * What a check returns: a verdict, or an Effect of one (which may fail the
 * run with any `AgentError`, e.g. the failure of a moderation agent's run).
 *
 * @since 0.1.0
 * @category models
 */
export type Checked<V> = V | Effect.Effect<V, AgentError>

/**
 * What an input guardrail inspects.
 *
 * @since 0.1.0
 * @category models
 */
export interface InputCheck {
  readonly agent: string
  /** The request: the input, or the conversation's last user message. */
  readonly input: string
  /** The conversation the run starts from, instructions included. */
  readonly messages: ReadonlyArray<LanguageModel.Message>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface InputGuardrail {
  readonly _tag: "InputGuardrail"
  readonly name: string
  readonly mode: "blocking" | "parallel"
  readonly check: (input: InputCheck) => Checked<Pass | Trip>
}

/**
 * What an output guardrail inspects: the final answer, its text and output.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutputCheck<Output> {
  readonly agent: string
  readonly content: string
  readonly output: Output
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OutputGuardrail<in Output = never> {
  readonly _tag: "OutputGuardrail"
  readonly name: string
  /** What a trip does: fail the run, or ask the model once to correct its answer (then fail). */
  readonly onTrip: "fail" | "correct"
  readonly check: (answer: OutputCheck<Output>) => Checked<Pass | Trip>
}

/**
 * What a tool guardrail inspects after the call: the call and what the model would read.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolResult {
  readonly content: string
  readonly isError: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolGuardrail {
  readonly _tag: "ToolGuardrail"
  readonly name: string
  /** The tools it guards, by name; all of them when absent. */
  readonly tools: ReadonlyArray<string> | undefined
  readonly before: ((call: LanguageModel.ToolCall) => Checked<Pass | Reject | Trip>) | undefined
  readonly after: ((call: LanguageModel.ToolCall, result: ToolResult) => Checked<Pass | Reject | Trip>) | undefined
}

/**
 * The guardrails of an agent (or, input and output, of a team).
 *
 * @since 0.1.0
 * @category models
 */
export interface Guardrails<Output = unknown> {
  readonly input?: ReadonlyArray<InputGuardrail> | undefined
  readonly output?: ReadonlyArray<OutputGuardrail<Output>> | undefined
  readonly tool?: ReadonlyArray<ToolGuardrail> | undefined
}

/**
 * An input guardrail (`mode` `"parallel"` unless given).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Agent, Guardrail } from "effect-agents"
 *
 * declare const moderator: Agent.Agent<{ readonly flagged: boolean }>
 *
 * const moderated = Guardrail.input({
 *   name: "moderation",
 *   check: ({ input }) =>
 *     Effect.map(moderator.run(input), ({ output }) => output.flagged ? Guardrail.trip(output) : Guardrail.pass)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const input = (options: {
  readonly name: string
  readonly mode?: "blocking" | "parallel" | undefined
  readonly check: (input: InputCheck) => Checked<Pass | Trip>
}): InputGuardrail => ({
  _tag: "InputGuardrail",
  name: options.name,
  mode: options.mode ?? "parallel",
  check: options.check
})

/**
 * An output guardrail (`onTrip` `"fail"` unless given).
 *
 * @example
 * ```ts
 * import { Guardrail } from "effect-agents"
 *
 * const noEmails = Guardrail.output({
 *   name: "no_emails",
 *   onTrip: "correct",
 *   check: ({ content }) =>
 *     /\S+@\S+/.test(content) ? Guardrail.trip("email", "Answer again without email addresses.") : Guardrail.pass
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const output = <Output = unknown>(options: {
  readonly name: string
  readonly onTrip?: "fail" | "correct" | undefined
  readonly check: (answer: OutputCheck<Output>) => Checked<Pass | Trip>
}): OutputGuardrail<Output> => ({
  _tag: "OutputGuardrail",
  name: options.name,
  onTrip: options.onTrip ?? "fail",
  check: options.check
})

/**
 * A tool guardrail: `before` and/or `after` the calls of `tools` (all the
 * agent's tools when absent).
 *
 * @example
 * ```ts
 * import { Guardrail } from "effect-agents"
 *
 * const readOnly = Guardrail.tool({
 *   name: "read_only",
 *   tools: ["shell"],
 *   before: (call) => call.arguments.includes("rm ") ? Guardrail.reject("Only read commands.") : Guardrail.pass
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const tool = (options: {
  readonly name: string
  readonly tools?: ReadonlyArray<string> | undefined
  readonly before?: ((call: LanguageModel.ToolCall) => Checked<Pass | Reject | Trip>) | undefined
  readonly after?:
    | ((call: LanguageModel.ToolCall, result: ToolResult) => Checked<Pass | Reject | Trip>)
    | undefined
}): ToolGuardrail => ({
  _tag: "ToolGuardrail",
  name: options.name,
  tools: options.tools,
  before: options.before,
  after: options.after
})
