/**
 * The typed failures of effect-agents, as `Schema.TaggedError` classes.
 *
 * - {@link ModelError}: a language model call failed. Every model error says
 *   whether it is `retryable`; the default policy retries only those.
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
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

// -----------------------------------------------------------------------------
// Model errors
// -----------------------------------------------------------------------------

/**
 * Set on the last error of a model call that was tried more than once: how
 * many attempts were made, over how long. Its message says so too.
 */
const retried = {
  attempts: Schema.optional(Schema.Number),
  elapsed: Schema.optional(Schema.DurationFromMillis)
}

/**
 * The provider refused the call because of a rate limit (HTTP 429). Retryable;
 * the retry waits at least `retryAfter` when the provider gave one.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(2) })
 * console.log(error.retryable) // true
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  ...retried
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return true
  }
}

/**
 * The provider could not be reached or answered with a server error (5xx,
 * 408, 409, a dropped connection). Retryable.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ModelUnavailable({ message: "bad gateway", status: 502 })
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class ModelUnavailable extends Schema.TaggedError<ModelUnavailable>()("ModelUnavailable", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  ...retried
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return true
  }
}

/**
 * A model call took longer than its timeout; the call was interrupted.
 * Retryable.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.ModelTimeout({ timeout: Duration.seconds(30) })
 * console.log(error.message) // "model call timed out after 30s"
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class ModelTimeout extends Schema.TaggedError<ModelTimeout>()("ModelTimeout", {
  timeout: Schema.DurationFromMillis,
  ...retried
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return true
  }
  /** @since 0.1.0 */
  override get message(): string {
    const timedOut = `model call timed out after ${Duration.format(this.timeout)}`
    return this.attempts === undefined || this.elapsed === undefined
      ? timedOut
      : `${timedOut} (gave up after ${this.attempts} attempts over ${Duration.format(this.elapsed)})`
  }
}

/**
 * The provider rejected the request as invalid (400, 404, 422). Not
 * retryable: the same request would fail again.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.InvalidRequest({ message: "unknown model", status: 404 })
 * console.log(error.retryable) // false
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return false
  }
}

/**
 * The provider refused the credentials (401, 403). Not retryable.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.AuthenticationFailed({ message: "invalid api key", status: 401 })
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>()("AuthenticationFailed", {
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return false
  }
}

/**
 * The provider answered with something that could not be understood (a body
 * that is not the expected JSON, a stream that ended in the middle). Not
 * retryable by default.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * const error = new AgentError.MalformedResponse({ message: "unexpected end of JSON input" })
 * ```
 *
 * @since 0.1.0
 * @category model errors
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", {
  message: Schema.String
}) {
  /** @since 0.1.0 */
  get retryable(): boolean {
    return false
  }
}

/**
 * Any failure of a language model call.
 *
 * @since 0.1.0
 * @category model errors
 */
export type ModelError =
  | RateLimited
  | ModelUnavailable
  | ModelTimeout
  | InvalidRequest
  | AuthenticationFailed
  | MalformedResponse

/**
 * The Schema of {@link ModelError}, to encode model errors (over HTTP, say).
 *
 * @since 0.1.0
 * @category model errors
 */
export const ModelError: Schema.Union<[
  typeof RateLimited,
  typeof ModelUnavailable,
  typeof ModelTimeout,
  typeof InvalidRequest,
  typeof AuthenticationFailed,
  typeof MalformedResponse
]> = Schema.Union(
  RateLimited,
  ModelUnavailable,
  ModelTimeout,
  InvalidRequest,
  AuthenticationFailed,
  MalformedResponse
)

const hasTagIn = (u: unknown, tags: ReadonlySet<string>): boolean =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)

const modelErrorTags: ReadonlySet<string> = new Set([
  "RateLimited",
  "ModelUnavailable",
  "ModelTimeout",
  "InvalidRequest",
  "AuthenticationFailed",
  "MalformedResponse"
])

/**
 * Whether a value is a {@link ModelError}.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * console.log(AgentError.isModelError(new AgentError.MalformedResponse({ message: "?" }))) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isModelError = (u: unknown): u is ModelError => hasTagIn(u, modelErrorTags)

/**
 * Whether a failure is worth another attempt: a {@link ModelError} whose
 * `retryable` is true.
 *
 * @example
 * ```ts
 * import { AgentError } from "effect-agents"
 *
 * console.log(AgentError.isRetryable(new AgentError.ModelUnavailable({ message: "502" }))) // true
 * console.log(AgentError.isRetryable(new AgentError.InvalidRequest({ message: "400" }))) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (u: unknown): boolean => isModelError(u) && u.retryable

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
 * Everything an agent run can fail with.
 *
 * @since 0.1.0
 * @category agent errors
 */
export type AgentError = ModelError | ToolError | MaxStepsExceeded | RunTimeout | OutputInvalid | InputInvalid

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
  typeof InputInvalid
]> = Schema.Union(ModelError, ToolError, MaxStepsExceeded, RunTimeout, OutputInvalid, InputInvalid)
