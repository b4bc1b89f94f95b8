/**
 * `LanguageModel` over OpenAI's Chat Completions API, through the official
 * `openai` SDK: OpenAI itself or any compatible server.
 *
 * Tool calls, tool results, strict tool schemas, parallel tool calls,
 * structured output (`response_format: json_schema`) and streaming (with
 * usage in the last chunk) are mapped both ways. Interrupting a call aborts
 * its HTTP request, streamed or not. Failures become typed `ModelError`s:
 *
 * | response | error |
 * | --- | --- |
 * | 429 | `RateLimited`, with `retryAfter` from `retry-after-ms`, `retry-after` seconds or an HTTP date |
 * | 408, 409, 5xx, a connection that fails or breaks | `ModelUnavailable` (retryable) |
 * | the SDK's own request timeout | `ModelTimeout` (retryable) |
 * | 400, 404, 422 and other 4xx | `InvalidRequest` with the server's message |
 * | 401, 403 | `AuthenticationFailed` |
 * | a body or stream that is not valid JSON, a completion without choices | `MalformedResponse` |
 *
 * Tool-call arguments that are not JSON are not an error here: the agent loop
 * tells the model, which can correct its call.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { OpenAiClient, OpenAiModel } from "effect-agents"
 *
 * const ModelLive = OpenAiModel.layer({ model: "gpt-4o-mini", temperature: 0.2, maxConcurrentRequests: 8 }).pipe(
 *   Layer.provide(OpenAiClient.layerConfig())
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type OpenAI from "openai"
import { APIConnectionTimeoutError, APIError } from "openai"
import type { ModelError } from "./AgentError.js"
import {
  AuthenticationFailed,
  InvalidRequest,
  MalformedResponse,
  ModelTimeout,
  ModelUnavailable,
  RateLimited
} from "./AgentError.js"
import * as Wire from "./internal/chatCompletions.js"
import * as LanguageModel from "./LanguageModel.js"
import { OpenAiClient } from "./OpenAiClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The model's name, e.g. `"gpt-4o-mini"`, or whatever a compatible server serves. */
  readonly model: string
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
  /** Sent as `max_completion_tokens`. */
  readonly maxTokens?: number | undefined
  readonly seed?: number | undefined
  /** Whether the model may ask for several tool calls in one step (the API's default: yes). */
  readonly parallelToolCalls?: boolean | undefined
  /** At most this many requests in flight, for every agent that uses this model. */
  readonly maxConcurrentRequests?: number | undefined
  /** At most this many requests started per minute, for every agent that uses this model. */
  readonly requestsPerMinute?: number | undefined
}

/**
 * The reason our requests are aborted with: one object, where `abort()`
 * without a reason would build a DOMException with a stack trace per request.
 */
const interrupted = new Error("the model call was interrupted")

/**
 * When a rate-limited request may be tried again, from the response's
 * `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date
 * measured from `now`).
 *
 * @example
 * ```ts
 * import { OpenAiModel } from "effect-agents"
 *
 * OpenAiModel.retryAfter(new Headers({ "retry-after": "2" }), Date.now()) // Duration of 2 seconds
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const retryAfter = (headers: Headers | undefined, now: number): Duration.Duration | undefined => {
  const ms = Number.parseFloat(headers?.get("retry-after-ms") ?? "")
  if (Number.isFinite(ms) && ms >= 0) return Duration.millis(ms)
  const value = headers?.get("retry-after")?.trim()
  if (!value) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.millis(seconds * 1000)
  const date = Date.parse(value)
  return Number.isFinite(date) ? Duration.millis(Math.max(0, date - now)) : undefined
}

const serverMessage = (error: APIError): string => {
  const body = error.error as { readonly message?: unknown } | undefined
  return typeof body?.message === "string" ? body.message : error.message
}

/**
 * The `ModelError` for a failure of the SDK (see the table above).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { OpenAiModel } from "effect-agents"
 * import OpenAI from "openai"
 *
 * const error = OpenAiModel.toModelError(new OpenAI.APIConnectionError({ message: "ECONNREFUSED" }), {
 *   now: Date.now(),
 *   timeout: Duration.minutes(10)
 * }) // ModelUnavailable
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const toModelError = (
  error: unknown,
  context: { readonly now: number; readonly timeout: Duration.Duration }
): ModelError => {
  if (error instanceof APIConnectionTimeoutError) return new ModelTimeout({ timeout: context.timeout })
  if (error instanceof APIError) {
    const status = error.status
    if (status === undefined) return new ModelUnavailable({ message: serverMessage(error) })
    const message = serverMessage(error)
    if (status === 429) {
      const wait = retryAfter(error.headers, context.now)
      return new RateLimited(wait === undefined ? { message } : { message, retryAfter: wait })
    }
    if (status === 401 || status === 403) return new AuthenticationFailed({ message, status })
    if (status === 408 || status === 409 || status >= 500) return new ModelUnavailable({ message, status })
    return new InvalidRequest({ message, status })
  }
  if (error instanceof SyntaxError) {
    return new MalformedResponse({ message: `the response is not valid JSON: ${error.message}` })
  }
  // fetch and the stream reader fail with plain errors when a connection drops
  return new ModelUnavailable({ message: error instanceof Error ? error.message : String(error) })
}

/**
 * A `LanguageModel` for one model of the client in context. Its limits
 * (`maxConcurrentRequests`, `requestsPerMinute`) are shared by every agent
 * that uses this service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, OpenAiModel } from "effect-agents"
 *
 * const agents = Effect.gen(function*() {
 *   const planner = yield* Agent.make({ name: "planner", instructions: "Plan.", model: yield* OpenAiModel.make({ model: "o4-mini" }) })
 *   const writer = yield* Agent.make({ name: "writer", instructions: "Write.", model: yield* OpenAiModel.make({ model: "gpt-4o-mini" }) })
 *   return { planner, writer }
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<LanguageModel.Service, never, OpenAiClient | Scope.Scope> =>
  Effect.gen(function*() {
    const { client, timeout } = yield* OpenAiClient
    const semaphore = options.maxConcurrentRequests === undefined
      ? undefined
      : yield* Effect.makeSemaphore(options.maxConcurrentRequests)
    const limiter = options.requestsPerMinute === undefined
      ? undefined
      : yield* RateLimiter.make({ limit: options.requestsPerMinute, interval: "1 minute" })

    // Waits for the rate limit, then holds a request slot until the scope closes.
    const admit: Effect.Effect<void, never, Scope.Scope> = Effect.gen(function*() {
      if (limiter !== undefined) yield* limiter(Effect.void)
      if (semaphore !== undefined) yield* Effect.acquireRelease(semaphore.take(1), () => semaphore.release(1))
    })

    // A request's own timeout, else the client's; the SDK's timer stops the request (no fiber needed).
    const timeoutOf = (request: LanguageModel.GenerateRequest): Duration.Duration =>
      request.timeout !== undefined && Duration.isFinite(request.timeout) ? request.timeout : timeout

    const fail = (request: LanguageModel.GenerateRequest) => (error: unknown) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.fail(toModelError(error, { now, timeout: timeoutOf(request) }))
      )

    const call = (request: LanguageModel.GenerateRequest): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
      Effect.withFiberRuntime<OpenAI.Chat.Completions.ChatCompletion, unknown>((fiber) => {
        const external = fiber.getFiberRef(LanguageModel.currentAbortSignal)
        return Effect.async((resume) => {
          const controller = new AbortController()
          // the caller's signal aborts the request at once; interruption follows
          const abort = () => controller.abort(interrupted)
          external?.addEventListener("abort", abort, { once: true })
          client.chat.completions.create(Wire.toBody(request, options), {
            signal: controller.signal,
            timeout: Duration.toMillis(timeoutOf(request))
          }).then((completion) => resume(Effect.succeed(completion)), (error) => resume(Effect.fail(error)))
            .finally(() => external?.removeEventListener("abort", abort))
          return Effect.sync(abort)
        })
      }).pipe(
        Effect.catchAll(fail(request)),
        Effect.flatMap((completion) => {
          const response = Wire.fromCompletion(completion)
          return response instanceof MalformedResponse ? Effect.fail(response) : Effect.succeed(response)
        })
      )
    const generate = semaphore === undefined && limiter === undefined
      ? call
      : (request: LanguageModel.GenerateRequest) => Effect.scoped(Effect.zipRight(admit, call(request)))

    const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        yield* admit
        // Aborted when the stream ends or is interrupted (or the caller's signal fires):
        // the request never outlives its consumer.
        const controller = new AbortController()
        const abort = () => controller.abort(interrupted)
        const external = yield* FiberRef.get(LanguageModel.currentAbortSignal)
        external?.addEventListener("abort", abort, { once: true })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            external?.removeEventListener("abort", abort)
            abort()
          })
        )
        const limit = timeoutOf(request)
        const chunks = yield* Effect.tryPromise({
          try: () =>
            client.chat.completions.create(
              { ...Wire.toBody(request, options), stream: true, stream_options: { include_usage: true } },
              { signal: controller.signal, timeout: Duration.toMillis(limit) }
            ),
          catch: identity
        }).pipe(Effect.catchAll(fail(request)))
        const assembler = Wire.makeChunkAssembler(options.model)
        // The SDK's timer stops at the response's headers: the rest of the stream is limited here.
        const deadline = Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.zipRight(
            Effect.sleep(Duration.subtract(limit, Duration.millis(now - startedAt))),
            new ModelTimeout({ timeout: limit })
          ))
        return Stream.fromAsyncIterable(chunks, identity).pipe(
          Stream.catchAll((error) => Stream.fromEffect(fail(request)(error))),
          Stream.interruptWhen(deadline),
          Stream.mapConcat(assembler.push),
          Stream.concat(Stream.suspend(() => {
            const end = assembler.end()
            return Array.isArray(end) ? Stream.fromIterable(end) : Stream.fail(end as ModelError)
          }))
        )
      }))

    return LanguageModel.make({ model: options.model, generate, stream, enforcesTimeout: true })
  })

/**
 * A layer of the `LanguageModel` service for one model of the client in
 * context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { OpenAiClient, OpenAiModel } from "effect-agents"
 *
 * const ModelLive = OpenAiModel.layer({ model: "gpt-4o-mini" }).pipe(Layer.provide(OpenAiClient.layerConfig()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, OpenAiClient> =>
  Layer.scoped(LanguageModel.LanguageModel, make(options))
