/**
 * An OpenAI-compatible server on 127.0.0.1, in your test process: real HTTP
 * for the real `openai` SDK, answering `POST /v1/chat/completions` from a
 * `ScriptedModel` script. Test agents on `OpenAiModel` offline. It answers
 * `POST /v1/responses` (the Responses API, JSON or SSE events) from the same
 * script too: for `@effect/ai-openai` through `effect-agents/effect-ai`.
 *
 * A turn's `fail` becomes the HTTP answer a provider would give:
 * `RateLimited` → 429 with retry-after headers, `ModelUnavailable` → its
 * status (503 by default), `InvalidRequest` → 400, `AuthenticationFailed` →
 * 401, `MalformedResponse` → a body that is not JSON, `ModelTimeout` → no
 * answer until the client goes away. `hang` never answers either,
 * `cutAfter` drops the connection after that many streamed chunks, and
 * `stallAfter` sends the response's headers (and that many streamed chunks)
 * and then nothing, keeping the connection open. Streams are
 * SSE `chat.completion.chunk` events ending with `data: [DONE]`, with usage in
 * a last chunk when the client asks for it.
 *
 * The server records every request and counts open, completed,
 * client-aborted and server-cut requests. Its latencies and timestamps follow
 * the Effect clock of the fiber that started it (use `it.live` in tests).
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { Agent } from "effect-agents"
 * import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
 * import { OpenAiCompatServer } from "effect-agents/testing"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* OpenAiCompatServer.make([{ text: "Hello from the local server" }])
 *   const model = yield* OpenAiModel.make({ model: "local" }).pipe(
 *     Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make("test"), baseURL: server.url }))
 *   )
 *   const agent = yield* Agent.make({ name: "a", instructions: "", model })
 *   return yield* agent.run("Hi")
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import { issuesOf } from "../AgentError.js"
import * as Wire from "../internal/openai/wire.js"
import * as Responses from "../internal/testing/responses.js"
import * as Script from "../internal/testing/script.js"
import type * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import type { Script as ScriptType, Turn } from "./ScriptedModel.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The headers of a 429: `"both"` (default: `retry-after-ms` and
   * `retry-after` in seconds), `"ms"`, `"seconds"` (whole seconds, rounded
   * up), `"date"` (an HTTP date) or `"none"`.
   */
  readonly retryAfterHeaders?: "both" | "ms" | "seconds" | "date" | "none" | undefined
  /** Keep every request for `requests` (default true); turn it off for long runs (a benchmark). */
  readonly record?: boolean | undefined
}

/**
 * A request the server received.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** The JSON body as sent. */
  readonly body: unknown
  /** The body read as a `LanguageModel` request (what the script sees). */
  readonly request: LanguageModel.GenerateRequest
  readonly model: string
  readonly stream: boolean
  /** When it arrived, in milliseconds of the server's clock. */
  readonly receivedAt: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Requests received, valid or not. */
  readonly total: number
  /** Requests whose response has not finished yet. */
  readonly open: number
  readonly peakOpen: number
  readonly completed: number
  /** Requests whose client went away before the response finished. */
  readonly abortedByClient: number
  /** Responses the script cut off (`cutAfter`). */
  readonly cutByServer: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OpenAiCompatServer {
  /** The base URL for the SDK: `http://127.0.0.1:PORT/v1`. */
  readonly url: string
  readonly port: number
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly stats: Effect.Effect<Stats>
  /**
   * Waits until the counters satisfy `predicate`, e.g. until no request is
   * open any more, and returns them. Driven by the server's own events.
   */
  readonly awaitStats: (predicate: (stats: Stats) => boolean) => Effect.Effect<Stats>
}

// -----------------------------------------------------------------------------
// Requests and responses: the wire format of src/internal/openai/wire.ts
// -----------------------------------------------------------------------------

const toRequest = (body: Wire.ChatRequest): LanguageModel.GenerateRequest => ({
  messages: Wire.toMessages(body.messages),
  tools: Wire.toTools(body.tools),
  responseFormat: Wire.toResponseFormat(body.response_format)
})

const completionBody = (head: Wire.Head, response: LanguageModel.GenerateResponse) =>
  Wire.completion(head, { ...response, finishReason: Wire.toFinishReason(response.finishReason) })

const splitInTwo = (text: string): ReadonlyArray<string> => {
  const middle = Math.ceil(text.length / 2)
  return text.length < 2 ? [text] : [text.slice(0, middle), text.slice(middle)]
}

/** One API the server answers: how its requests read, how its answers and streams are written. */
interface Api {
  readonly decode: (json: unknown) => Either.Either<{
    readonly request: LanguageModel.GenerateRequest
    readonly model: string
    readonly stream: boolean
    readonly includeUsage: boolean
  }, ParseResult.ParseError>
  readonly body: (index: number, created: number, response: LanguageModel.GenerateResponse) => unknown
  readonly events: (
    index: number,
    created: number,
    response: LanguageModel.GenerateResponse,
    includeUsage: boolean
  ) => {
    readonly head: ReadonlyArray<unknown>
    readonly delta: (text: string) => unknown
    readonly tail: () => ReadonlyArray<unknown>
  }
}

const errorBody = (message: string, type: string) => Wire.errorBody(message, type)

// -----------------------------------------------------------------------------
// Server
// -----------------------------------------------------------------------------

/**
 * Starts a server answering from `script`; it stops when the scope closes.
 *
 * @example
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { AgentError } from "effect-agents"
 * import { OpenAiCompatServer } from "effect-agents/testing"
 *
 * const server = OpenAiCompatServer.make([
 *   { fail: { error: new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.millis(50) }) }, text: "ok" }
 * ], { retryAfterHeaders: "ms" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  script: ScriptType,
  options?: Options
): Effect.Effect<OpenAiCompatServer, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const record = options?.record ?? true
    const cursor = Script.makeCursor(script, record)
    const recorded: Array<RecordedRequest> = []
    const stats = { total: 0, open: 0, peakOpen: 0, completed: 0, abortedByClient: 0, cutByServer: 0 }
    const watchers = new Set<() => void>()
    const changed = () => watchers.forEach((watcher) => watcher())
    const awaitStats = (predicate: (stats: Stats) => boolean): Effect.Effect<Stats> =>
      Effect.async<Stats>((resume) => {
        const check = () => {
          if (!predicate(stats)) return
          watchers.delete(check)
          resume(Effect.succeed({ ...stats }))
        }
        watchers.add(check)
        check()
        return Effect.sync(() => watchers.delete(check))
      })
    const retryAfterHeaders = options?.retryAfterHeaders ?? "both"

    const failure = (error: ModelError, now: number): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      switch (error._tag) {
        case "RateLimited": {
          const ms = error.retryAfter === undefined ? undefined : Duration.toMillis(error.retryAfter)
          const headers: Record<string, string> = {}
          if (ms !== undefined && (retryAfterHeaders === "both" || retryAfterHeaders === "ms")) {
            headers["retry-after-ms"] = String(ms)
          }
          if (ms !== undefined && retryAfterHeaders === "both") headers["retry-after"] = String(ms / 1000)
          if (ms !== undefined && retryAfterHeaders === "seconds") headers["retry-after"] = String(Math.ceil(ms / 1000))
          if (ms !== undefined && retryAfterHeaders === "date") {
            headers["retry-after"] = new Date(now + ms).toUTCString()
          }
          return Effect.succeed(
            HttpServerResponse.unsafeJson(errorBody(error.message, "rate_limit_error"), { status: 429, headers })
          )
        }
        case "ModelUnavailable":
          return Effect.succeed(
            HttpServerResponse.unsafeJson(errorBody(error.message, "server_error"), { status: error.status ?? 503 })
          )
        case "InvalidRequest":
          return Effect.succeed(
            HttpServerResponse.unsafeJson(errorBody(error.message, "invalid_request_error"), {
              status: error.status ?? 400
            })
          )
        case "AuthenticationFailed":
          return Effect.succeed(
            HttpServerResponse.unsafeJson(errorBody(error.message, "authentication_error"), {
              status: error.status ?? 401
            })
          )
        case "MalformedResponse":
          return Effect.succeed(HttpServerResponse.text("{\"id\": \"chatcmpl-", { contentType: "application/json" }))
        case "ModelTimeout":
          return Effect.never
      }
    }

    /**
     * An SSE response: `head`'s events, a `delta` event per text piece (after
     * the turn's `chunkInterval`), then `tail`'s; cut or stalled after
     * `cutAfter` or `stallAfter` pieces.
     */
    const sse = (
      response: LanguageModel.GenerateResponse,
      turn: Turn,
      cut: Effect.Effect<void>,
      events: {
        readonly head: ReadonlyArray<unknown>
        readonly delta: (text: string) => unknown
        readonly tail: () => ReadonlyArray<unknown>
      }
    ): HttpServerResponse.HttpServerResponse => {
      const interval = turn.chunkInterval
      const pieces = Script.splitText(response.text, turn.chunks)
      const deltas = Stream.fromIterable(pieces.slice(0, turn.cutAfter ?? turn.stallAfter)).pipe(
        Stream.zipWithIndex,
        Stream.mapEffect(([content, i]) => {
          const bytes = Wire.event(events.delta(content))
          return i === 0 || interval === undefined ? Effect.succeed(bytes) : Effect.as(Effect.sleep(interval), bytes)
        })
      )
      const head = Stream.fromIterable(events.head.map((data) => Wire.event(data)))
      const options = { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
      if (turn.cutAfter !== undefined) {
        return HttpServerResponse.stream(
          Stream.concat(head, deltas).pipe(Stream.concat(Stream.fromEffect(Effect.zipRight(cut, Effect.never)))),
          options
        )
      }
      if (turn.stallAfter !== undefined) {
        return HttpServerResponse.stream(Stream.concat(head, deltas).pipe(Stream.concat(Stream.never)), options)
      }
      return HttpServerResponse.stream(
        Stream.concat(head, deltas).pipe(
          Stream.concat(Stream.suspend(() => Stream.fromIterable(events.tail().map((data) => Wire.event(data)))))
        ),
        options
      )
    }

    /** A Chat Completions stream: chunks, tool calls in two pieces each, usage when asked for, `[DONE]`. */
    const chatEvents = (
      id: string,
      created: number,
      response: LanguageModel.GenerateResponse,
      includeUsage: boolean
    ) => {
      const head: Wire.Head = { id, created, model: response.model }
      const chunk = (delta: unknown, finish: Wire.FinishReason | null = null) => Wire.chunk(head, delta, finish)
      return {
        head: [chunk({ role: "assistant", content: "" })],
        delta: (content: string) => chunk({ content }),
        tail: () => [
          ...response.toolCalls.flatMap((call, index) =>
            splitInTwo(call.arguments).map((args, i) =>
              chunk({
                tool_calls: [
                  i === 0
                    ? { index, id: call.id, type: "function", function: { name: call.name, arguments: args } }
                    : { index, function: { arguments: args } }
                ]
              })
            )
          ),
          chunk({}, Wire.toFinishReason(response.finishReason)),
          ...(includeUsage ? [Wire.usageChunk(head, response.usage)] : []),
          "[DONE]"
        ]
      }
    }

    /** A request of one API: its body checked and read, answered from the script in that API's format. */
    const answer = (api: Api) =>
      Effect.gen(function*() {
        const httpRequest = yield* HttpServerRequest.HttpServerRequest
        const nodeResponse = NodeHttpServerRequest.toServerResponse(httpRequest)
        let cut = false
        stats.total++
        stats.open++
        stats.peakOpen = Math.max(stats.peakOpen, stats.open)
        changed()
        nodeResponse.once("close", () => {
          stats.open--
          if (nodeResponse.writableEnded) stats.completed++
          else if (cut) stats.cutByServer++
          else stats.abortedByClient++
          changed()
        })
        // Closes the connection once what was written has gone out, mid-response.
        const cutConnection = Effect.sync(() => {
          cut = true
          nodeResponse.socket?.destroySoon()
        })

        const receivedAt = yield* Clock.currentTimeMillis
        const json = yield* Effect.either(httpRequest.json)
        if (json._tag === "Left") {
          return HttpServerResponse.unsafeJson(errorBody("the body is not JSON", "invalid_request_error"), {
            status: 400
          })
        }
        const decoded = api.decode(json.right)
        if (decoded._tag === "Left") {
          const message = issuesOf(decoded.left).map((issue) => `${issue.path}: ${issue.message}`).join("; ")
          return HttpServerResponse.unsafeJson(errorBody(message, "invalid_request_error"), { status: 400 })
        }
        const { includeUsage, model, request, stream } = decoded.right
        if (record) recorded.push({ body: json.right, request, model, stream, receivedAt })

        const served = cursor.next(request)
        if (served.turn.latency !== undefined) yield* Effect.sleep(served.turn.latency)
        if (served.turn.hang) return yield* Effect.never
        if (served._tag === "Fail") return yield* failure(served.error, yield* Clock.currentTimeMillis)

        if (served.turn.stallAfter !== undefined && (!stream || served.turn.stallAfter === 0)) {
          // the headers go out at once; the body never comes
          nodeResponse.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" })
          nodeResponse.flushHeaders()
          return yield* Effect.never
        }
        const created = Math.floor(receivedAt / 1000)
        const response = Script.respond(request, served.turn, served.index, model)
        if (stream) {
          return sse(response, served.turn, cutConnection, api.events(served.index, created, response, includeUsage))
        }
        if (served.turn.cutAfter !== undefined) return yield* Effect.zipRight(cutConnection, Effect.never)
        return HttpServerResponse.unsafeJson(api.body(served.index, created, response))
      })

    const chatCompletions: Api = {
      decode: (json) =>
        Either.map(Schema.decodeUnknownEither(Wire.ChatRequest, { errors: "all" })(json), (body) => ({
          request: toRequest(body),
          model: body.model,
          stream: body.stream === true,
          includeUsage: body.stream_options?.include_usage === true
        })),
      body: (index, created, response) =>
        completionBody({ id: `chatcmpl-${index}`, created, model: response.model }, response),
      events: (index, created, response, includeUsage) =>
        chatEvents(`chatcmpl-${index}`, created, response, includeUsage)
    }
    const responses: Api = {
      decode: (json) =>
        Either.map(Schema.decodeUnknownEither(Responses.Body, { errors: "all" })(json), (body) => ({
          request: Responses.toRequest(body),
          model: body.model,
          stream: body.stream === true,
          includeUsage: true
        })),
      body: (index, created, response) => Responses.responseBody(String(index), created, response),
      events: (index, created, response) => Responses.events(String(index), created, response)
    }

    const server = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
    yield* server.serve(HttpRouter.empty.pipe(
      HttpRouter.post("/v1/chat/completions", answer(chatCompletions)),
      HttpRouter.post("/v1/responses", answer(responses))
    ))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return {
      url: `http://127.0.0.1:${port}/v1`,
      port,
      requests: Effect.sync(() => recorded.slice()),
      stats: Effect.sync(() => ({ ...stats })),
      awaitStats
    }
  })
