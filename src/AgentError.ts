/**
 * The typed failures of effect-agents, as `Schema.TaggedError` classes.
 *
 * - {@link ModelError}: a language model call failed. Every model error says
 *   whether it is `retryable`; the default policy retries only those. They
 *   are declared in the `ModelError` module, which providers import, and
 *   re-exported here.
 * - {@link ToolError}: a tool call failed. By default the agent loop reports a
 *   tool error back to the model as an error tool result, so the model can
 *   recover.
 * - {@link AgentError}: everything a run can fail with: a model error that
 *   survived the policy, or one of {@link MaxStepsExceeded},
 *   {@link RunTimeout}, {@link OutputInvalid}, {@link InputInvalid}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * declare const run: Effect.Effect<string, AgentError.AgentError>
 *
 * const handled = run.pipe(
 *   Effect.catchTags({
 *     RateLimited: (e) => Effect.succeed(`slow down (${e.message})`),
 *     MaxStepsExceeded: (e) => Effect.succeed(`gave up after ${e.maxSteps} steps`)
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Approval from "./Approval.js"
import { hasTagIn } from "./internal/tags.js"
import { ModelError } from "./ModelError.js"

// -----------------------------------------------------------------------------
// Model errors
// -----------------------------------------------------------------------------

/**
 * The model errors, declared in the `ModelError` module and re-exported here:
 * `AgentError.RateLimited` is `ModelError.RateLimited`, so either name
 * catches, encodes and checks the same errors.
 *
 * @since 0.1.0
 * @category model errors
 */
export {
  AuthenticationFailed,
  InvalidRequest,
  isModelError,
  isRetryable,
  MalformedResponse,
  ModelError,
  ModelTimeout,
  ModelUnavailable,
  RateLimited
} from "./ModelError.js"

// -----------------------------------------------------------------------------
// Tool errors
// -----------------------------------------------------------------------------

/**
 * The model called a tool that the agent does not have.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ToolNotFound({ tool: "serach", available: ["search"] })
 * console.log(error.message) // 'no tool named "serach"; available tools: search'
 * ```
 *
 * @since 0.1.0
 * @category tool errors
 */
export class ToolNotFound extends Schema.TaggedError<ToolNotFound>()("ToolNotFound", {
  tool: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no tool named "${this.tool}"; available tools: ${this.available.join(", ") || "(none)"}`
  }
}

/**
 * One problem found while decoding a tool's arguments: where it is and what
 * is wrong, in words a model can act on.
 *
 * @since 0.1.0
 * @category tool errors
 */
export const Issue = Schema.Struct({
  path: Schema.String,
  message: Schema.String
})

/**
 * @since 0.1.0
 * @category tool errors
 */
export type Issue = typeof Issue.Type

/**
 * Turns a Schema `ParseError` into readable {@link Issue}s.
 *
 * @example
 * ```ts
 * import { Either, Schema } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const result = Schema.decodeUnknownEither(Schema.Struct({ n: Schema.Number }))({ n: "1" })
 * if (Either.isLeft(result)) console.log(AgentError.issuesOf(result.left))
 * // [{ path: "n", message: 'Expected number, actual "1"' }]
 * ```
 *
 * @since 0.1.0
 * @category tool errors
 */
export const issuesOf = (error: ParseResult.ParseError): ReadonlyArray<Issue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.length === 0 ? "(root)" : issue.path.map(String).join("."),
    message: issue.message
  }))

const formatIssues = (issues: ReadonlyArray<Issue>): string =>
  issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")

/**
 * A tool was called with arguments that do not match its parameters Schema
 * (or that are not JSON at all). `issues` says what is wrong where.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ToolInputInvalid({
 *   tool: "add",
 *   issues: [{ path: "a", message: "Expected number, actual \"1\"" }]
 * })
 * console.log(error.message)
 * ```
 *
 * @since 0.1.0
 * @category tool errors
 */
export class ToolInputInvalid extends Schema.TaggedError<ToolInputInvalid>()("ToolInputInvalid", {
  tool: Schema.String,
  issues: Schema.Array(Issue)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `invalid arguments for tool "${this.tool}": ${formatIssues(this.issues)}`
  }
}

/**
 * A tool's handler failed: it returned a failed Effect, threw, or its
 * Promise rejected (or its result is not JSON). `error` keeps what the
 * handler failed with, in memory only: over HTTP a `ToolFailed` is its
 * `tool` and `message` (see `AgentApi.ToolFailed`).
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ToolFailed({ tool: "search", message: "index offline" })
 * ```
 *
 * @since 0.1.0
 * @category tool errors
 */
export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", {
  tool: Schema.String,
  message: Schema.String,
  error: Schema.optional(Schema.Unknown)
}) {}

/**
 * A tool call took longer than its timeout; the call was interrupted.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ToolTimeout({ tool: "crawl", timeout: Duration.seconds(5) })
 * console.log(error.message) // 'tool "crawl" timed out after 5s'
 * ```
 *
 * @since 0.1.0
 * @category tool errors
 */
export class ToolTimeout extends Schema.TaggedError<ToolTimeout>()("ToolTimeout", {
  tool: Schema.String,
  timeout: Schema.DurationFromMillis
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `tool "${this.tool}" timed out after ${Duration.format(this.timeout)}`
  }
}

/**
 * Any failure of a tool call.
 *
 * @since 0.1.0
 * @category tool errors
 */
export type ToolError = ToolNotFound | ToolInputInvalid | ToolFailed | ToolTimeout

/**
 * The Schema of {@link ToolError}.
 *
 * @since 0.1.0
 * @category tool errors
 */
export const ToolError: Schema.Union<[
  typeof ToolNotFound,
  typeof ToolInputInvalid,
  typeof ToolFailed,
  typeof ToolTimeout
]> = Schema.Union(ToolNotFound, ToolInputInvalid, ToolFailed, ToolTimeout)

const toolErrorTags: ReadonlySet<string> = new Set(["ToolNotFound", "ToolInputInvalid", "ToolFailed", "ToolTimeout"])

/**
 * Whether a value is a {@link ToolError}.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * console.log(AgentError.isToolError(new AgentError.ToolFailed({ tool: "t", message: "x" }))) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isToolError = (u: unknown): u is ToolError => hasTagIn(u, toolErrorTags)

// -----------------------------------------------------------------------------
// Agent errors
// -----------------------------------------------------------------------------

/**
 * The agent took `maxSteps` steps without reaching a final answer.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.MaxStepsExceeded({ agent: "researcher", maxSteps: 10 })
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class MaxStepsExceeded extends Schema.TaggedError<MaxStepsExceeded>()("MaxStepsExceeded", {
  agent: Schema.String,
  maxSteps: Schema.Number
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `agent "${this.agent}" reached ${this.maxSteps} steps without a final answer`
  }
}

/**
 * A whole run took longer than its timeout; every model and tool call under
 * it was interrupted.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.RunTimeout({ agent: "writer", timeout: Duration.minutes(2) })
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class RunTimeout extends Schema.TaggedError<RunTimeout>()("RunTimeout", {
  agent: Schema.String,
  timeout: Schema.DurationFromMillis
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `run of agent "${this.agent}" timed out after ${Duration.format(this.timeout)}`
  }
}

/**
 * The final answer did not decode with the agent's output Schema, even after
 * one corrective re-ask. `content` is the last answer, `issues` what is wrong.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.OutputInvalid({
 *   agent: "extractor",
 *   content: "{\"age\": \"old\"}",
 *   issues: [{ path: "age", message: "Expected number, actual \"old\"" }]
 * })
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class OutputInvalid extends Schema.TaggedError<OutputInvalid>()("OutputInvalid", {
  agent: Schema.String,
  content: Schema.String,
  issues: Schema.Array(Issue)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `agent "${this.agent}" answered with output that does not match its schema: ${formatIssues(this.issues)}`
  }
}

/**
 * A run was given an input that is neither a string nor a conversation (an
 * array of messages), as untyped code can do: a request body without the
 * field, say. `issues` says what is wrong where. The run did not start.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.InputInvalid({
 *   agent: "assistant",
 *   issues: [{ path: "0.content", message: "is missing" }]
 * })
 * console.log(error.message) // 'invalid input for agent "assistant": 0.content: is missing'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class InputInvalid extends Schema.TaggedError<InputInvalid>()("InputInvalid", {
  agent: Schema.String,
  issues: Schema.Array(Issue)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `invalid input for agent "${this.agent}": ${formatIssues(this.issues)}`
  }
}

/**
 * The run waited `waitFor` for its session's turn: another run of the same
 * session (in this process or another sharing the store) held it all along.
 * Runs of one session are serialised so that no turn is lost.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.SessionBusy({ session: "chat-1", waitFor: Duration.seconds(30) })
 * console.log(error.message) // 'session "chat-1" was busy with another run for 30s'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class SessionBusy extends Schema.TaggedError<SessionBusy>()("SessionBusy", {
  session: Schema.String,
  waitFor: Schema.DurationFromMillis
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `session "${this.session}" was busy with another run for ${Duration.format(this.waitFor)}`
  }
}

/**
 * The store (a session's history, a batch's record) could not be read or
 * written. `message` says what failed, never how to connect to the store.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.StoreFailed({ operation: "append a turn", reason: "database is locked" })
 * console.log(error.message) // 'the store failed to append a turn: database is locked'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class StoreFailed extends Schema.TaggedError<StoreFailed>()("StoreFailed", {
  operation: Schema.String,
  reason: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `the store failed to ${this.operation}: ${this.reason}`
  }
}

/**
 * The run stopped for approval, which is not a failure of the run: tool
 * calls that need a person's decision wait (`approvals`), the step's other
 * calls are done, and the run's state is kept in the `RunStore`. Decide with
 * `Agent.approve`/`Agent.reject`, then `agent.resume(runId)`.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const suspended = new AgentError.RunSuspended({ runId: "r1", agent: "mailer", approvals: [] })
 * console.log(suspended.message) // 'run "r1" of agent "mailer" waits for 0 approval(s)'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class RunSuspended extends Schema.TaggedError<RunSuspended>()("RunSuspended", {
  runId: Schema.String,
  agent: Schema.String,
  approvals: Schema.Array(Approval.Request)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const tools = this.approvals.map((request) => request.toolCall.name).join(", ")
    return `run "${this.runId}" of agent "${this.agent}" waits for ${this.approvals.length} approval(s)` +
      (tools.length > 0 ? `: ${tools}` : "")
  }
}

/**
 * No suspended run of that id is kept: it never suspended, it has finished,
 * or its store is another.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.RunNotFound({ runId: "r1" })
 * console.log(error.message) // 'no suspended run "r1"'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no suspended run "${this.runId}"`
  }
}

/**
 * A decision for a call that is not waiting: no such approval in the run,
 * or it was decided the other way already (deciding the same way twice is
 * harmless).
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ApprovalNotPending({ runId: "r1", approvalId: "a1" })
 * console.log(error.message) // 'approval "a1" of run "r1" is not pending'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class ApprovalNotPending extends Schema.TaggedError<ApprovalNotPending>()("ApprovalNotPending", {
  runId: Schema.String,
  approvalId: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `approval "${this.approvalId}" of run "${this.runId}" is not pending`
  }
}

/**
 * The limits of a budget (see `Policy.Budget`).
 *
 * @since 0.1.0
 * @category agent errors
 */
export const BudgetLimit = Schema.Literal("tokens", "costUsd", "modelCalls", "toolCalls", "duration")

/**
 * @since 0.1.0
 * @category agent errors
 */
export type BudgetLimit = typeof BudgetLimit.Type

/**
 * A run crossed a limit of its budget (see `Policy.Budget`): `limit` names
 * it, `max` is its value, `spent` what the run's tree had spent when it
 * stopped (milliseconds for `duration`), `path` the run whose budget it is.
 * Every call in flight under it was interrupted.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.BudgetExceeded({ limit: "tokens", max: 1000, spent: 1180, path: ["research"] })
 * console.log(error.message) // 'research crossed its budget of 1000 tokens (spent 1180)'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  limit: BudgetLimit,
  max: Schema.Number,
  spent: Schema.Number,
  path: Schema.Array(Schema.String)
}) {
  /** @since 0.1.0 */
  override get message(): string {
    const unit = this.limit === "duration" ? "ms" : this.limit === "costUsd" ? "USD" : this.limit
    return `${this.path.join(" > ")} crossed its budget of ${this.max} ${unit} (spent ${this.spent})`
  }
}

/**
 * A guardrail tripped (see `Guardrail`): `guardrail` names it, `kind` says
 * what it checked (the run's input, its answer, a tool call), `agent` whose
 * run it stopped, and `info` what it found.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.GuardrailTripped({ guardrail: "no_homework", kind: "input", agent: "tutor", info: null })
 * console.log(error.message) // 'the input guardrail "no_homework" of "tutor" tripped'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class GuardrailTripped extends Schema.TaggedError<GuardrailTripped>()("GuardrailTripped", {
  guardrail: Schema.String,
  kind: Schema.Literal("input", "output", "tool"),
  agent: Schema.String,
  info: Schema.Unknown
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `the ${this.kind} guardrail "${this.guardrail}" of "${this.agent}" tripped`
  }
}

/**
 * A run handed the conversation over (see `Agent.handoff`) more than
 * `maxHandoffs` times: agents handing it back and forth.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.MaxHandoffsExceeded({ agent: "triage", maxHandoffs: 5 })
 * console.log(error.message) // 'the run of "triage" was handed over more than 5 times'
 * ```
 *
 * @since 0.1.0
 * @category agent errors
 */
export class MaxHandoffsExceeded extends Schema.TaggedError<MaxHandoffsExceeded>()("MaxHandoffsExceeded", {
  agent: Schema.String,
  maxHandoffs: Schema.Number
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `the run of "${this.agent}" was handed over more than ${this.maxHandoffs} times`
  }
}

/**
 * Everything an agent run can fail with.
 *
 * @since 0.1.0
 * @category agent errors
 */
export type AgentError =
  | ModelError
  | ToolError
  | MaxStepsExceeded
  | RunTimeout
  | OutputInvalid
  | InputInvalid
  | SessionBusy
  | StoreFailed
  | RunSuspended
  | RunNotFound
  | BudgetExceeded
  | GuardrailTripped
  | MaxHandoffsExceeded

/**
 * The Schema of {@link AgentError}.
 *
 * @since 0.1.0
 * @category agent errors
 */
export const AgentError: Schema.Union<[
  typeof ModelError,
  typeof ToolError,
  typeof MaxStepsExceeded,
  typeof RunTimeout,
  typeof OutputInvalid,
  typeof InputInvalid,
  typeof SessionBusy,
  typeof StoreFailed,
  typeof RunSuspended,
  typeof RunNotFound,
  typeof BudgetExceeded,
  typeof GuardrailTripped,
  typeof MaxHandoffsExceeded
]> = Schema.Union(
  ModelError,
  ToolError,
  MaxStepsExceeded,
  RunTimeout,
  OutputInvalid,
  InputInvalid,
  SessionBusy,
  StoreFailed,
  RunSuspended,
  RunNotFound,
  BudgetExceeded,
  GuardrailTripped,
  MaxHandoffsExceeded
)
