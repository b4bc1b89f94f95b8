/**
 * The data of a run, as Schemas, declared once: what a run is given
 * ({@link Input}), what it did ({@link Step}, {@link ToolCallRecord}), what
 * it spent ({@link RunMetrics}) and what it answered ({@link RunResult}, a
 * team's {@link TeamResult} with its {@link MemberRun}s). `Agent`, `Team`,
 * `RunEvent`, the run state and the HTTP API all speak in these: a field
 * added here reaches every one of them.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Run } from "effect-agents"
 *
 * const metrics = Schema.decodeUnknownSync(Run.RunMetrics)({
 *   inputTokens: 12, outputTokens: 3, totalTokens: 15, durationMs: 420, steps: 1, toolCalls: 0, retries: 0
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { AgentError } from "./AgentError.js"
import { InputInvalid, issuesOf } from "./AgentError.js"
import * as LanguageModel from "./LanguageModel.js"

// -----------------------------------------------------------------------------
// Input
// -----------------------------------------------------------------------------

const Conversation = Schema.Array(LanguageModel.Message.annotations({ identifier: "Message" }))

/**
 * What a run is given: the user's message, or a conversation (whose last
 * user message is the request).
 *
 * @since 0.1.0
 * @category input
 */
export const Input: Schema.Union<[typeof Schema.String, typeof Conversation]> = Schema.Union(
  Schema.String,
  Conversation
)

/**
 * @since 0.1.0
 * @category input
 */
export type Input = typeof Input.Type

const decodeConversation = Schema.decodeUnknownEither(Conversation, { errors: "all" })

/**
 * A run's input from untyped code (a request body can be anything): a
 * string as it is, a conversation decoded, anything else `InputInvalid`
 * (described by its type, not its value, which may be a whole request).
 *
 * @since 0.1.0
 * @category input
 */
export const decodeInput = (agent: string, input: unknown): Either.Either<Input, InputInvalid> => {
  if (typeof input === "string") return Either.right(input)
  if (Array.isArray(input)) {
    return Either.mapLeft(decodeConversation(input), (error) => new InputInvalid({ agent, issues: issuesOf(error) }))
  }
  const actual = input === null ? "null" : typeof input
  return Either.left(
    new InputInvalid({
      agent,
      issues: [{ path: "(root)", message: `Expected a string or an array of messages, actual ${actual}` }]
    })
  )
}

/**
 * The request of an input: the input itself, or the conversation's last
 * user message.
 *
 * @since 0.1.0
 * @category input
 */
export const inputText = (input: Input): string =>
  typeof input === "string" ? input : input.findLast((message) => message.role === "user")?.content ?? ""

// -----------------------------------------------------------------------------
// Steps
// -----------------------------------------------------------------------------

/**
 * One tool call of a step, done: what the model asked, what it got back.
 *
 * @since 0.1.0
 * @category steps
 */
export const ToolCallRecord = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  /** The arguments as the model wrote them (JSON text). */
  arguments: Schema.String,
  /** The text the model got back. */
  result: Schema.String,
  isError: Schema.Boolean,
  durationMs: Schema.Number
}).annotations({ identifier: "ToolCallRecord" })

/**
 * @since 0.1.0
 * @category steps
 */
export interface ToolCallRecord extends Schema.Schema.Type<typeof ToolCallRecord> {}

/**
 * One step of a run: a model call, and the tool calls it asked for.
 *
 * @since 0.1.0
 * @category steps
 */
export const Step = Schema.Struct({
  index: Schema.Number,
  text: Schema.String,
  toolCalls: Schema.Array(ToolCallRecord),
  usage: LanguageModel.Usage,
  finishReason: LanguageModel.FinishReason,
  /** The model that answered, as the provider names it. */
  model: Schema.String
}).annotations({ identifier: "Step" })

/**
 * @since 0.1.0
 * @category steps
 */
export interface Step extends Schema.Schema.Type<typeof Step> {}

// -----------------------------------------------------------------------------
// Metrics
// -----------------------------------------------------------------------------

/**
 * What a run spent, its tree included: the agents it called as tools, a
 * team's members.
 *
 * @since 0.1.0
 * @category metrics
 */
export const RunMetrics = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalTokens: Schema.Number,
  /**
   * What the model calls cost, in US dollars: those whose model has a price
   * (see `Pricing`); none when none had.
   */
  costUsd: Schema.optional(Schema.Number),
  durationMs: Schema.Number,
  /** When the first text came, since the run started; none when no text did. */
  timeToFirstTokenMs: Schema.optional(Schema.Number),
  steps: Schema.Number,
  toolCalls: Schema.Number,
  /** Model call attempts beyond the first of each call, fallbacks included. */
  retries: Schema.Number
}).annotations({ identifier: "RunMetrics" })

/**
 * @since 0.1.0
 * @category metrics
 */
export interface RunMetrics extends Schema.Schema.Type<typeof RunMetrics> {}

/**
 * The metrics of a run that spent nothing (yet).
 *
 * @since 0.1.0
 * @category metrics
 */
export const emptyMetrics: RunMetrics = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  costUsd: undefined,
  durationMs: 0,
  timeToFirstTokenMs: undefined,
  steps: 0,
  toolCalls: 0,
  retries: 0
}

/**
 * Several runs' metrics added up: tokens, cost, steps, tool calls and retries (a
 * duration and a first token are not sums: they are `0` and none here).
 *
 * @example
 * ```ts
 * import { Run } from "effect-agents"
 *
 * const total = Run.sumMetrics([Run.emptyMetrics, { ...Run.emptyMetrics, inputTokens: 5, totalTokens: 5 }])
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const sumMetrics = (metrics: Iterable<RunMetrics>): RunMetrics => {
  let inputTokens = 0
  let outputTokens = 0
  let steps = 0
  let toolCalls = 0
  let retries = 0
  let costUsd: number | undefined
  for (const m of metrics) {
    if (m.costUsd !== undefined) costUsd = (costUsd ?? 0) + m.costUsd
    inputTokens += m.inputTokens
    outputTokens += m.outputTokens
    steps += m.steps
    toolCalls += m.toolCalls
    retries += m.retries
  }
  return {
    ...emptyMetrics,
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens,
    costUsd,
    steps,
    toolCalls,
    retries
  }
}

// -----------------------------------------------------------------------------
// Results
// -----------------------------------------------------------------------------

const resultFields = {
  runId: Schema.String,
  agent: Schema.String,
  content: Schema.String,
  /** The whole conversation: instructions, input, answers and tool results. */
  messages: Schema.Array(LanguageModel.Message),
  steps: Schema.Array(Step),
  metrics: RunMetrics,
  /**
   * The path of the agent that answered: the run's own, or the agent it
   * handed the conversation over to last (see `Agent.handoff`). A team's
   * result has none.
   */
  answeredBy: Schema.optional(Schema.Array(Schema.String))
}

/**
 * What a run answered, with everything it did. `output` is the answer
 * decoded with the agent's output Schema (the text itself without one).
 *
 * @since 0.1.0
 * @category results
 */
export interface RunResult<Output = string> extends Schema.Struct.Type<typeof resultFields> {
  readonly output: Output
}

/**
 * The Schema of a run's result whose output is `output`'s.
 *
 * @since 0.1.0
 * @category results
 */
export const runResult = <A, I, R>(output: Schema.Schema<A, I, R>) =>
  Schema.Struct({ ...resultFields, output }).annotations({ identifier: "RunResult" })

/**
 * The modes of a team: one member answers (`route`), the leader delegates
 * through tools (`coordinate`), or every member answers and the leader
 * synthesises (`broadcast`).
 *
 * @since 0.1.0
 * @category teams
 */
export const TeamMode = Schema.Literal("route", "coordinate", "broadcast")

/**
 * @since 0.1.0
 * @category teams
 */
export type TeamMode = typeof TeamMode.Type

const memberFields = {
  member: Schema.String,
  /** The task the member was given. */
  input: Schema.String,
  /** Since the team's run started. */
  startedAtMs: Schema.Number,
  durationMs: Schema.Number,
  /** What the member's run spent, its failure included. */
  metrics: RunMetrics
}

/**
 * One delegation of a team's run: a member given a task, and what came of
 * it (its result, or its typed error).
 *
 * @since 0.1.0
 * @category teams
 */
export interface MemberRun extends Schema.Struct.Type<typeof memberFields> {
  readonly outcome: Either.Either<RunResult<unknown>, AgentError>
}

/**
 * A team's result: its answer (the run's), its leader's runs as one, and
 * every delegation in the order they ended.
 *
 * @since 0.1.0
 * @category teams
 */
export interface TeamResult<Output = string> extends RunResult<Output> {
  readonly mode: TeamMode
  readonly leader: RunResult<unknown>
  readonly members: ReadonlyArray<MemberRun>
}

/**
 * Whether a result is a team's.
 *
 * @since 0.1.0
 * @category teams
 */
export const isTeamResult = <Output>(result: RunResult<Output>): result is TeamResult<Output> =>
  "mode" in result && "leader" in result && "members" in result

/**
 * A run's result as JSON (see {@link anyRunResult}).
 *
 * @since 0.1.0
 * @category results
 */
export interface RunResultEncoded extends Schema.Struct.Encoded<typeof resultFields> {
  readonly output: unknown
}

/**
 * A team's result as JSON, `EI` a member's error's (see {@link anyRunResult}).
 *
 * @since 0.1.0
 * @category results
 */
export interface TeamResultEncoded<EI> extends RunResultEncoded {
  readonly mode: TeamMode
  readonly leader: RunResultEncoded
  readonly members: ReadonlyArray<MemberRunEncoded<EI>>
}

/**
 * A member's run as JSON: its result, or its error (see {@link anyRunResult}).
 *
 * @since 0.1.0
 * @category results
 */
export interface MemberRunEncoded<EI> extends Schema.Struct.Encoded<typeof memberFields> {
  readonly result?: TeamResultEncoded<EI> | RunResultEncoded | undefined
  readonly error?: EI | undefined
}

/**
 * The Schema of any run's result (an agent's, or a team's, whose members may
 * be teams), with `output` for every output and `error` for a member's
 * failure: the HTTP API builds its results from it, with JSON outputs and its
 * own wire errors. A member's outcome goes out as its `result` or its
 * `error`.
 *
 * @since 0.1.0
 * @category results
 */
export const anyRunResult = <EI, R>(
  output: Schema.Schema<unknown, unknown, R>,
  error: Schema.Schema<AgentError, EI, R>
): Schema.Schema<TeamResult<unknown> | RunResult<unknown>, TeamResultEncoded<EI> | RunResultEncoded, R> => {
  const single = runResult(output)
  const any: Schema.Schema<TeamResult<unknown> | RunResult<unknown>, TeamResultEncoded<EI> | RunResultEncoded, R> =
    Schema.suspend(() => Schema.Union(team, single)).annotations({ identifier: "AnyRunResult" })
  const outcome = Schema.EitherFromSelf({ left: Schema.typeSchema(error), right: Schema.typeSchema(any) })
  const member: Schema.Schema<MemberRun, MemberRunEncoded<EI>, R> = Schema.transformOrFail(
    Schema.Struct({ ...memberFields, result: Schema.optional(any), error: Schema.optional(error) }),
    Schema.Struct({ ...memberFields, outcome }),
    {
      strict: true,
      decode: ({ error, result, ...run }, _, ast) =>
        result !== undefined
          ? ParseResult.succeed({ ...run, outcome: Either.right(result) })
          : error !== undefined
          ? ParseResult.succeed({ ...run, outcome: Either.left(error) })
          : ParseResult.fail(new ParseResult.Type(ast, run, "a member run has a result or an error")),
      encode: ({ outcome, ...run }) =>
        ParseResult.succeed(
          Either.isRight(outcome) ? { ...run, result: outcome.right } : { ...run, error: outcome.left }
        )
    }
  ).annotations({ identifier: "MemberRun" })
  const team: Schema.Schema<TeamResult<unknown>, TeamResultEncoded<EI>, R> = Schema.Struct({
    ...single.fields,
    mode: TeamMode,
    leader: single,
    members: Schema.Array(member)
  }).annotations({ identifier: "TeamResult" })
  return any
}

// -----------------------------------------------------------------------------
// DAGs
// -----------------------------------------------------------------------------

const timingFields = {
  /** Since the DAG's run started. */
  startMs: Schema.Number,
  durationMs: Schema.Number,
  /** Attempts made: 1, or more when the node's retry schedule retried it. */
  attempts: Schema.Number
}

/**
 * When a node of a DAG ran, and how many times.
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeTiming = Schema.Struct(timingFields)

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeTiming extends Schema.Schema.Type<typeof NodeTiming> {}

/**
 * How a node of a DAG's run ended: its output, its error, interrupted, or
 * skipped (it never ran: `blockedBy` names the dependency that did not
 * complete, when one did not).
 *
 * @since 0.1.0
 * @category dags
 */
export type NodeResult<A = unknown, E = unknown> =
  | NodeTiming & { readonly status: "completed"; readonly output: A }
  | NodeTiming & { readonly status: "failed"; readonly error: E }
  | NodeTiming & { readonly status: "interrupted" }
  | { readonly status: "skipped"; readonly blockedBy?: string | undefined }

/**
 * The Schema of a node's result whose output and error are `output`'s and
 * `error`'s.
 *
 * @since 0.1.0
 * @category dags
 */
export const nodeResult = <A, AI, E, EI, R>(output: Schema.Schema<A, AI, R>, error: Schema.Schema<E, EI, R>) =>
  Schema.Union(
    Schema.Struct({ status: Schema.Literal("completed"), output, ...timingFields }),
    Schema.Struct({ status: Schema.Literal("failed"), error, ...timingFields }),
    Schema.Struct({ status: Schema.Literal("interrupted"), ...timingFields }),
    Schema.Struct({ status: Schema.Literal("skipped"), blockedBy: Schema.optional(Schema.String) })
  ).annotations({ identifier: "NodeResult" })

/**
 * The status of a DAG's run: every node completed, some failed (fail-fast,
 * or nothing completed), or some completed and some did not (`continue`).
 *
 * @since 0.1.0
 * @category dags
 */
export const DagStatus = Schema.Literal("completed", "failed", "partial")

const dagFields = {
  dag: Schema.String,
  status: DagStatus,
  /** The node names, in the order they were added. */
  order: Schema.Array(Schema.String),
  /** The whole run, from its start until its last node ended. */
  durationMs: Schema.Number
}

/**
 * A DAG's run, every node's result by name (see `Dag.DagResult` for the
 * view typed by the DAG's nodes).
 *
 * @since 0.1.0
 * @category dags
 */
export interface DagResult<A = unknown, E = unknown> extends Schema.Struct.Type<typeof dagFields> {
  readonly nodes: Readonly<Record<string, NodeResult<A, E>>>
}

/**
 * The Schema of a DAG's run whose nodes' outputs and errors are `output`'s
 * and `error`'s.
 *
 * @since 0.1.0
 * @category dags
 */
export const dagResult = <A, AI, E, EI, R>(output: Schema.Schema<A, AI, R>, error: Schema.Schema<E, EI, R>) =>
  Schema.Struct({ ...dagFields, nodes: Schema.Record({ key: Schema.String, value: nodeResult(output, error) }) })
    .annotations({ identifier: "DagResult" })
