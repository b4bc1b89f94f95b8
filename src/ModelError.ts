/**
 * The failures of a language model call, as `Schema.TaggedError` classes:
 * what a provider fails with, and what a policy decides to retry. Every
 * model error says whether it is `retryable`; the default policy retries
 * only those.
 *
 * `AgentError` re-exports them (`AgentError.RateLimited` is
 * `ModelError.RateLimited`), and its `AgentError` union includes them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ModelError } from "effect-agents"
 *
 * declare const call: Effect.Effect<string, ModelError.ModelError>
 *
 * const handled = call.pipe(
 *   Effect.catchIf(ModelError.isRetryable, (e) => Effect.succeed(`try again later (${e.message})`))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { hasTagIn } from "./internal/tags.js"

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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(2) })
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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.ModelUnavailable({ message: "bad gateway", status: 502 })
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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.ModelTimeout({ timeout: Duration.seconds(30) })
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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.InvalidRequest({ message: "unknown model", status: 404 })
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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.AuthenticationFailed({ message: "invalid api key", status: 401 })
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
 * import { ModelError } from "effect-agents"
 *
 * const error = new ModelError.MalformedResponse({ message: "unexpected end of JSON input" })
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
 * import { ModelError } from "effect-agents"
 *
 * console.log(ModelError.isModelError(new ModelError.MalformedResponse({ message: "?" }))) // true
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
 * import { ModelError } from "effect-agents"
 *
 * console.log(ModelError.isRetryable(new ModelError.ModelUnavailable({ message: "502" }))) // true
 * console.log(ModelError.isRetryable(new ModelError.InvalidRequest({ message: "400" }))) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (u: unknown): boolean => isModelError(u) && u.retryable
