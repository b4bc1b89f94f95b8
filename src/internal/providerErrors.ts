/**
 * What kind of failure a provider reports, by its HTTP status or, for an
 * error sent inside a 200 event stream, by the error object's code, type or
 * status (OpenAI's, Anthropic's and Google's names); the `ModelError` of each
 * kind, and when a rate-limited call may come back. Shared by the providers.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ModelError } from "../ModelError.js"
import { AuthenticationFailed, InvalidRequest, ModelUnavailable, RateLimited } from "../ModelError.js"

const OptionalString = Schema.optional(Schema.NullOr(Schema.String))

/** A kind of provider failure, which decides its `ModelError`. */
export type ErrorKind = "authentication" | "rate-limit" | "invalid-request" | "unavailable"

/** The kind of an HTTP error status, if it says one. */
export const kindOfStatus = (status: number): ErrorKind | undefined =>
  status === 429
    ? "rate-limit"
    : status === 401 || status === 403
    ? "authentication"
    : status === 408 || status === 409 || status >= 500
    ? "unavailable"
    : status >= 400
    ? "invalid-request"
    : undefined

const ErrorObject = Schema.Struct({
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  type: OptionalString,
  status: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number)))
}).annotations({ identifier: "ErrorObject" })

const decodeErrorObject = Schema.decodeUnknownEither(ErrorObject)

const kinds: ReadonlyMap<string, ErrorKind> = new Map([
  ...[
    "invalid_api_key",
    "invalid_authentication",
    "authentication_error",
    "authentication_failed",
    "unauthorized",
    "unauthenticated",
    "permission_denied",
    "permission_error",
    "forbidden",
    "access_denied",
    "insufficient_permissions"
  ].map((code) => [code, "authentication"] as const),
  ...[
    "rate_limit_exceeded",
    "rate_limit_error",
    "rate_limited",
    "too_many_requests",
    "resource_exhausted",
    "insufficient_quota"
  ].map((code) => [code, "rate-limit"] as const),
  ...[
    "invalid_request_error",
    "invalid_request",
    "invalid_argument",
    "bad_request",
    "not_found",
    "not_found_error",
    "model_not_found",
    "context_length_exceeded",
    "invalid_value",
    "unsupported_value",
    "unsupported_parameter",
    "failed_precondition",
    "out_of_range",
    "content_policy_violation"
  ].map((code) => [code, "invalid-request"] as const),
  ...[
    "server_error",
    "internal_error",
    "internal_server_error",
    "internal",
    "api_error",
    "overloaded",
    "overloaded_error",
    "engine_overloaded",
    "service_unavailable",
    "unavailable",
    "timeout",
    "deadline_exceeded",
    "bad_gateway"
  ].map((code) => [code, "unavailable"] as const)
])

const kindOf = (value: string | number | null | undefined): ErrorKind | undefined =>
  typeof value === "number"
    ? kindOfStatus(value)
    : typeof value !== "string"
    ? undefined
    : /^\d{3}$/.test(value)
    ? kindOfStatus(Number(value))
    : kinds.get(value.toLowerCase())

/**
 * The kind of failure an error object (the `error` of an error body or of an
 * event) reports: by its `code`, else its `type`, else its `status`.
 */
export const errorKind = (error: unknown): ErrorKind | undefined => {
  const decoded = decodeErrorObject(error)
  if (Either.isLeft(decoded)) return undefined
  const { code, status, type } = decoded.right
  return kindOf(code) ?? kindOf(type) ?? kindOf(status)
}

/** The `ModelError` of a kind of failure (unknown kinds are `ModelUnavailable`). */
export const fromKind = (
  kind: ErrorKind | undefined,
  error: {
    readonly message: string
    readonly status?: number | undefined
    readonly retryAfter?: Duration.Duration | undefined
  }
): ModelError => {
  const { message, status } = error
  switch (kind) {
    case "rate-limit":
      return new RateLimited(error.retryAfter === undefined ? { message } : { message, retryAfter: error.retryAfter })
    case "authentication":
      return new AuthenticationFailed(status === undefined ? { message } : { message, status })
    case "invalid-request":
      return new InvalidRequest(status === undefined ? { message } : { message, status })
    default:
      return new ModelUnavailable(status === undefined ? { message } : { message, status })
  }
}

/**
 * When a rate-limited request may be tried again, from the response's
 * `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date
 * measured from `now`); `header` reads a header by its lower-case name.
 */
export const retryAfter = (
  header: (name: string) => string | null | undefined,
  now: number
): Duration.Duration | undefined => {
  const ms = Number.parseFloat(header("retry-after-ms") ?? "")
  if (Number.isFinite(ms) && ms >= 0) return Duration.millis(ms)
  const value = header("retry-after")?.trim()
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.millis(seconds * 1000)
  const date = Date.parse(value)
  return Number.isFinite(date) ? Duration.millis(Math.max(0, date - now)) : undefined
}
