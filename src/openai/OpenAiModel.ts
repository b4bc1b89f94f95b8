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
 * | 408, 409, 5xx | `ModelUnavailable` (retryable) |
 * | a connection that fails or breaks | `ModelUnavailable` (retryable), naming the base URL (without credentials) and the cause's code (`ECONNREFUSED`) |
 * | the SDK's own request timeout | `ModelTimeout` (retryable) |
 * | 400, 404, 422 and other 4xx | `InvalidRequest` with the server's message |
 * | 401, 403 | `AuthenticationFailed` |
 * | an error inside a 200 event stream | by its `code`, else `type` or `status`: `invalid_api_key` → `AuthenticationFailed`, `rate_limit_exceeded` → `RateLimited`, `invalid_request_error` → `InvalidRequest`, `server_error` or unknown → `ModelUnavailable` |
 * | a body or stream that is not valid JSON or not in the Chat Completions format, a completion without choices, finish reason `tool_calls` without a call | `MalformedResponse` |
 *
 * Everything the server sends is decoded with Schema: missing, `null` and
 * extra fields are fine, values of the wrong type are not. Streamed tool
 * calls are assembled by `index`, or without one by id (a new id starts a
 * call, none continues the last); a repeated name is assigned, not appended.
 * Every message is passed through `OpenAiClient`'s `scrub`, so a server that
 * echoes the API key does not pass it on.
 *
 * Tool-call arguments that are not JSON are not an error here: the agent loop
 * tells the model, which can correct its call.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
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
import * as Option from "effect/Option"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type OpenAI from "openai"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
import * as Wire from "../internal/openai/chatCompletions.js"
import * as ProviderErrors from "../internal/providerErrors.js"
import * as Timers from "../internal/timers.js"
import * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import { isModelError, MalformedResponse, ModelTimeout, ModelUnavailable } from "../ModelError.js"
import { OpenAiClient } from "./OpenAiClient.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options extends Wire.RequestSettings {
  /** At most this many requests in flight, for every agent that uses this model. */
  readonly maxConcurrentRequests?: number | undefined
  /**
   * At most this many requests started in any minute, for every agent that
   * uses this model: requests start at most one every `60 / n` seconds.
   */
  readonly requestsPerMinute?: number | undefined
}

/**
 * The reason our requests are aborted with: one object, where `abort()`
 * without a reason would build a DOMException with a stack trace per request.
 */
const interrupted = new Error("the model call was interrupted")

/** The deadline of one call: `cancel` once it ended; `timedOut` is set once the deadline aborted it. */
interface Deadline {
  readonly cancel: () => void
  readonly timedOut: ModelTimeout | undefined
}

const noDeadline: Deadline = { cancel: () => {}, timedOut: undefined }

/**
 * When a rate-limited request may be tried again, from the response's
 * `retry-after-ms` (milliseconds) or `retry-after` (seconds, or an HTTP date
 * measured from `now`).
 *
 * @example
 * ```ts
 * import { OpenAiModel } from "effect-agents/openai"
 *
 * OpenAiModel.retryAfter(new Headers({ "retry-after": "2" }), Date.now()) // Duration of 2 seconds
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const retryAfter = (headers: Headers | undefined, now: number): Duration.Duration | undefined =>
  ProviderErrors.retryAfter((name) => headers?.get(name), now)

/** The server's message: the error object's `message`, or the error as it came when it is a string. */
const serverMessage = (error: APIError): string => {
  const body: unknown = error.error
  if (typeof body === "string") return body
  const message = typeof body === "object" && body !== null && "message" in body ? body.message : undefined
  return typeof message === "string" ? message : error.message
}

/** A base URL as a message may show it: without credentials, query or fragment. */
const printableUrl = (url: string | undefined): string => {
  if (url === undefined || !URL.canParse(url)) return "the model server"
  const { origin, pathname } = new URL(url)
  return `${origin}${pathname}`
}

/** A message with every URL in it (undici prints them) as {@link printableUrl} shows it. */
const withPrintableUrls = (message: string): string =>
  message.replace(/\b[a-z][a-z\d+.-]*:\/\/[^\s"'<>]+/gi, (url) => printableUrl(url))

/**
 * What a network failure says: the innermost error with a `code` (undici
 * and Node put it in `cause`, an AggregateError in `errors`), as its message
 * with the code; undefined when no error of the chain has a code.
 */
const networkCause = (error: unknown): string | undefined => {
  let found: string | undefined
  let current: unknown = error
  // bounded: a chain of causes may loop
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code: unknown = (current as { readonly code?: unknown }).code
    if (typeof code === "string") {
      const message = withPrintableUrls(current.message)
      found = message.length === 0 ? code : message.includes(code) ? message : `${message} (${code})`
    }
    current = current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined)
  }
  return found
}

/**
 * The `ModelError` for a failure of the SDK (see the table above).
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { OpenAiModel } from "effect-agents/openai"
 * import OpenAI from "openai"
 *
 * const error = OpenAiModel.toModelError(new OpenAI.APIConnectionError({ message: "ECONNREFUSED" }), {
 *   now: Date.now(),
 *   timeout: Duration.minutes(10),
 *   baseURL: "http://127.0.0.1:11434/v1"
 * }) // ModelUnavailable: "the connection to http://127.0.0.1:11434/v1 failed: ECONNREFUSED"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const toModelError = (
  error: unknown,
  context: {
    readonly now: number
    readonly timeout: Duration.Duration
    /** The server's base URL, which connection errors name (without its credentials). */
    readonly baseURL?: string | undefined
    /** Removes secrets from every message (`OpenAiClient`'s `scrub`). */
    readonly scrub?: ((text: string) => string) | undefined
  }
): ModelError => {
  const scrub = context.scrub ?? identity
  if (error instanceof APIConnectionTimeoutError) return new ModelTimeout({ timeout: context.timeout })
  if (error instanceof APIError) {
    const message = scrub(serverMessage(error))
    const status = error.status
    if (error instanceof APIUserAbortError) return new ModelUnavailable({ message })
    if (error instanceof APIConnectionError) {
      const cause = scrub(
        networkCause(error.cause) ?? withPrintableUrls(error.cause instanceof Error ? error.cause.message : message)
      )
      return new ModelUnavailable({ message: `the connection to ${printableUrl(context.baseURL)} failed: ${cause}` })
    }
    // without a status: an error the server sent inside a 200 event stream, classified by its code or type
    const kind = status === undefined
      ? ProviderErrors.errorKind(error.error)
      : ProviderErrors.kindOfStatus(status) ?? "invalid-request"
    const wait = kind === "rate-limit" ? retryAfter(error.headers, context.now) : undefined
    return ProviderErrors.fromKind(kind, { message, status, retryAfter: wait })
  }
  if (error instanceof SyntaxError) {
    return new MalformedResponse({ message: scrub(`the response is not valid JSON: ${error.message}`) })
  }
  // fetch and the stream reader fail with plain errors when a connection drops
  const cause = networkCause(error)
  if (cause !== undefined) {
    return new ModelUnavailable({
      message: scrub(`the connection to ${printableUrl(context.baseURL)} broke: ${cause}`)
    })
  }
  return new ModelUnavailable({ message: scrub(error instanceof Error ? error.message : String(error)) })
}

/**
 * A `LanguageModel` for one model of the client in context. Its limits
 * (`maxConcurrentRequests`, `requestsPerMinute`) are shared by every agent
 * that uses this service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { OpenAiModel } from "effect-agents/openai"
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
    const { baseURL, client, scrub, timeout } = yield* OpenAiClient
    const semaphore = options.maxConcurrentRequests === undefined
      ? undefined
      : yield* Effect.makeSemaphore(options.maxConcurrentRequests)
    const limiter = options.requestsPerMinute === undefined
      ? undefined
      // one start every 60/n seconds: n in any window of a minute, never a burst of n at once
      : yield* RateLimiter.make({ limit: 1, interval: Duration.millis(60_000 / options.requestsPerMinute) })

    // Waits for the rate limit, then holds a request slot until the scope closes.
    const admit: Effect.Effect<void, never, Scope.Scope> = Effect.gen(function*() {
      if (limiter !== undefined) yield* limiter(Effect.void)
      if (semaphore !== undefined) yield* Effect.acquireRelease(semaphore.take(1), () => semaphore.release(1))
    })

    // The model's deadlines, on Effect's clock: a call that runs past its request's timeout has
    // its request aborted and fails with ModelTimeout, whether its answer's headers, body or
    // stream stalled (the SDK's own timer stops once the headers arrived).
    const timers = yield* Timers.make
    const deadline = (request: LanguageModel.GenerateRequest, abort: () => void): Deadline => {
      const limit = request.timeout
      if (limit === undefined || !Duration.isFinite(limit)) return noDeadline
      let timedOut: ModelTimeout | undefined
      const cancel = timers.schedule(Duration.toMillis(limit), () => {
        timedOut = new ModelTimeout({ timeout: limit })
        abort()
      })
      return {
        cancel,
        get timedOut() {
          return timedOut
        }
      }
    }

    const fail = (error: unknown) =>
      isModelError(error) ? Effect.fail(error) : Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.fail(toModelError(error, { now, timeout, baseURL, scrub }))
      )

    // A request is aborted the moment it is interrupted, times out, or the caller's signal fires.
    const call = (request: LanguageModel.GenerateRequest): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
      Effect.withFiberRuntime<OpenAI.Chat.Completions.ChatCompletion, unknown>((fiber) => {
        const external = fiber.getFiberRef(LanguageModel.currentAbortSignal)
        return Effect.async((resume) => {
          const controller = new AbortController()
          const abort = () => controller.abort(interrupted)
          const timer = deadline(request, abort)
          external?.addEventListener("abort", abort, { once: true })
          client.chat.completions.create(Wire.toBody(request, options), { signal: controller.signal })
            .then(
              (completion) => resume(Effect.succeed(completion)),
              (error) => resume(Effect.fail(timer.timedOut ?? error))
            )
            .finally(() => {
              timer.cancel()
              external?.removeEventListener("abort", abort)
            })
          return Effect.sync(() => {
            timer.cancel()
            abort()
          })
        })
      }).pipe(
        Effect.catchAll(fail),
        Effect.flatMap((completion) => {
          const response = Wire.fromCompletion(completion, options.model)
          return response instanceof MalformedResponse ? Effect.fail(response) : Effect.succeed(response)
        })
      )
    const generate = semaphore === undefined && limiter === undefined
      ? call
      : (request: LanguageModel.GenerateRequest) => Effect.scoped(Effect.zipRight(admit, call(request)))

    const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        yield* admit
        // Aborted when the stream ends or is interrupted (or the caller's signal fires):
        // the request never outlives its consumer.
        const controller = new AbortController()
        const abort = () => controller.abort(interrupted)
        const timer = deadline(request, abort)
        const external = yield* FiberRef.get(LanguageModel.currentAbortSignal)
        external?.addEventListener("abort", abort, { once: true })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            timer.cancel()
            external?.removeEventListener("abort", abort)
            abort()
          })
        )
        const failed = (error: unknown) => fail(timer.timedOut ?? error)
        const chunks = yield* Effect.tryPromise({
          try: () =>
            client.chat.completions.create(
              { ...Wire.toBody(request, options), stream: true, stream_options: { include_usage: true } },
              { signal: controller.signal }
            ),
          catch: identity
        }).pipe(Effect.catchAll(failed))
        // Read chunk by chunk, never closed with `return()`: that waits for the next chunk,
        // which a stalled server never sends. Aborting the request (above) ends the iterator.
        const iterator = chunks[Symbol.asyncIterator]()
        const next = Effect.flatMap(
          Effect.tryPromise({ try: () => iterator.next(), catch: Option.some }),
          (result) => result.done ? Effect.fail(Option.none()) : Effect.succeed(result.value)
        )
        const assembler = Wire.makeChunkAssembler(options.model)
        return Stream.repeatEffectOption(next).pipe(
          Stream.catchAll((error) => Stream.fromEffect(failed(error))),
          Stream.mapChunksEffect(assembler.push),
          Stream.concat(Stream.suspend(() => {
            // an aborted stream may end quietly: the deadline's abort is a timeout
            if (timer.timedOut !== undefined) return Stream.fail(timer.timedOut)
            const end = assembler.end()
            return Array.isArray(end) ? Stream.fromIterable(end) : Stream.fail(end as ModelError)
          }))
        )
      }))

    return LanguageModel.make({ model: options.model, provider: "openai", generate, stream, enforcesTimeout: true })
  })

/**
 * A layer of the `LanguageModel` service for one model of the client in
 * context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
 *
 * const ModelLive = OpenAiModel.layer({ model: "gpt-4o-mini" }).pipe(Layer.provide(OpenAiClient.layerConfig()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel, never, OpenAiClient> =>
  Layer.scoped(LanguageModel.LanguageModel, make(options))
