/**
 * A typed client of an agent server, derived from `AgentApi.Api` with
 * `HttpApiClient`: every endpoint is a method whose request and response are
 * the API's Schemas, and whose failures are the API's typed errors (an
 * `AgentError` of the run, `AgentNotFound`, `Unauthorized`, …). `stream`
 * reads a streamed run as a `Stream` of its events.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Stream } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* AgentClient.make({ baseUrl: "http://127.0.0.1:8080" })
 *   const result = yield* client.agents.run({ path: { name: "assistant" }, payload: { input: "Hi" } })
 *   console.log(result.content)
 *   yield* client.stream("assistant", { input: "Tell me a story" }).pipe(
 *     Stream.runForEach((event) => Effect.log(event._tag))
 *   )
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as AgentError from "../AgentError.js"
import * as Sse from "../internal/http/sse.js"
import * as AgentApi from "./AgentApi.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's URL, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string | URL
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: Redacted.Redacted | string | undefined
}

/**
 * What a streamed run can fail with: the run's error (or the server shutting
 * down, or an `InternalError`) from its `error` event, the errors the server
 * answers before the stream begins, and the transport's.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const text = client.stream("assistant", { input: "Hi" }).pipe(
 *   Stream.runCollect,
 *   Effect.catchTag("ServerShuttingDown", () => Effect.succeed([]))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StreamFailure =
  | AgentApi.StreamError
  | AgentApi.AgentNotFound
  | AgentApi.Unauthorized
  | AgentApi.HostNotAllowed
  | AgentApi.PayloadTooLarge
  | AgentApi.UnsupportedMediaType
  | AgentApi.SessionsNotServed
  | AgentApi.DurableNotServed
  | AgentApi.RunExists
  | HttpApiDecodeError
  | HttpClientError.HttpClientError
  | ParseResult.ParseError
  | StreamCut

/**
 * The endpoints of `AgentApi.Api` as methods, as `HttpApiClient` derives
 * them.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiClient = typeof AgentApi.Api extends HttpApi.HttpApi<infer _Id, infer Groups, infer E, infer _R>
  ? HttpApiClient.Client<Groups, E, never>
  : never

/**
 * The endpoints of the API as methods (`client.agents.run`,
 * `client.batches.create`, `client.health`, …), and `stream`.
 *
 * @example
 * ```ts
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const batch = client.batches.get({ path: { id: "…" }, urlParams: { wait: true } })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Client = ApiClient & {
  /**
   * Runs an agent with its events streamed: the stream ends after
   * `RunCompleted`, or fails with the run's typed error. Interrupting it
   * closes the connection, which interrupts the run on the server. With
   * `detach: true`, the run is started detached and followed (see
   * `follow`): a connection cut is made again by itself, and interrupting
   * the stream leaves the run going (`DELETE /v1/runs/{id}` cancels it).
   */
  readonly stream: (agent: string, request: AgentApi.RunRequest) => Stream.Stream<AgentApi.RunEvent, StreamFailure>
  /**
   * Starts a detached run (`"detach": true`): its id at once, the run going
   * on in the server without the client.
   */
  readonly detach: (agent: string, request: AgentApi.RunRequest) => Effect.Effect<AgentApi.RunAccepted, StreamFailure>
  /**
   * A detached run's events, from the start (or after `lastEventId`) to its
   * `RunCompleted`, or its typed error. A connection that breaks before
   * the run's end is made again with `Last-Event-ID`, by itself: every
   * event comes once, in order. After `reconnects` connections made again
   * (default 10), the stream fails with the transport's error, or `StreamCut`.
   */
  readonly follow: (
    runId: string,
    options?: { readonly lastEventId?: number | undefined; readonly reconnects?: number | undefined }
  ) => Stream.Stream<AgentApi.RunEvent, FollowFailure>
}

/**
 * A followed run's connection ended before the run did, and connecting
 * again did not help.
 *
 * @example
 * ```ts
 * import { AgentClient } from "effect-agents/http"
 *
 * const error = new AgentClient.StreamCut({ runId: "r1", lastEventId: 12 })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamCut extends Data.TaggedError("StreamCut")<{
  readonly runId: string
  readonly lastEventId: number
}> {
  /** @since 0.1.0 */
  override get message(): string {
    return `the events of run "${this.runId}" stopped after event ${this.lastEventId}, before the run ended`
  }
}

/**
 * What following a detached run can fail with: its typed error (from its
 * `error` event), the server's answers before the stream begins (no such
 * run: `RunNotFound`), the transport's, or `StreamCut`.
 *
 * @since 0.1.0
 * @category models
 */
export type FollowFailure =
  | AgentApi.StreamError
  | AgentError.RunNotFound
  | AgentApi.Unauthorized
  | AgentApi.HostNotAllowed
  | HttpApiDecodeError
  | HttpClientError.HttpClientError
  | ParseResult.ParseError
  | StreamCut

/** Answers before a followed run's stream begins. */
const FollowRefused = Schema.Union(
  AgentError.RunNotFound,
  AgentApi.Unauthorized,
  AgentApi.HostNotAllowed,
  AgentApi.ServerShuttingDown,
  AgentApi.InternalError,
  HttpApiDecodeError
)

/** What a new connection can help with: a transport's failure, or a stream that ended too soon. */
const reconnectable = (error: FollowFailure): boolean =>
  error._tag === "StreamCut" || error._tag === "RequestError" || error._tag === "ResponseError"

/** Answers before a stream begins: the endpoint's errors, by status. */
const StreamRefused = Schema.Union(
  AgentApi.AgentNotFound,
  AgentApi.Unauthorized,
  AgentApi.HostNotAllowed,
  AgentApi.PayloadTooLarge,
  AgentApi.UnsupportedMediaType,
  AgentApi.SessionsNotServed,
  AgentApi.DurableNotServed,
  AgentApi.RunExists,
  AgentApi.ServerShuttingDown,
  AgentApi.InternalError,
  HttpApiDecodeError
)

const decodeEvent = Schema.decode(Schema.parseJson(AgentApi.RunEvent))
const decodeError = Schema.decode(Schema.parseJson(AgentApi.StreamError))

/**
 * Makes a client of the server at `baseUrl`, over the `HttpClient` in
 * context (`FetchHttpClient.layer`, `NodeHttpClient.layerUndici`, …).
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * const health = AgentClient.make({ baseUrl: "http://127.0.0.1:8080", token: "s3cret" }).pipe(
 *   Effect.flatMap((client) => client.health()),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const token = options.token === undefined
      ? undefined
      : typeof options.token === "string"
      ? options.token
      : Redacted.value(options.token)
    const authorize = token === undefined
      ? identity<HttpClient.HttpClient>
      : HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
    const httpClient = authorize(yield* HttpClient.HttpClient)
    const api = yield* HttpApiClient.makeWith(AgentApi.Api, { httpClient, baseUrl: options.baseUrl })

    const detach = (agent: string, request: AgentApi.RunRequest) =>
      Effect.gen(function*() {
        const response = yield* httpClient.execute(HttpClientRequest.bodyUnsafeJson(
          HttpClientRequest.post(new URL(`/v1/agents/${encodeURIComponent(agent)}/runs`, options.baseUrl)),
          yield* Schema.encode(AgentApi.RunRequest)({ ...request, detach: true })
        ))
        if (response.status !== 202) {
          return yield* Effect.flatMap(HttpClientResponse.schemaBodyJson(StreamRefused)(response), Effect.fail)
        }
        return yield* HttpClientResponse.schemaBodyJson(AgentApi.RunAccepted)(response)
      }).pipe(Effect.scoped)

    const follow: Client["follow"] = (runId, followOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const last = yield* Ref.make(followOptions?.lastEventId ?? 0)
        const completed = yield* Ref.make(false)
        const url = new URL(`/v1/runs/${encodeURIComponent(runId)}/events`, options.baseUrl)
        const connect = Effect.gen(function*() {
          const after = yield* Ref.get(last)
          const request = HttpClientRequest.get(url).pipe(
            HttpClientRequest.setHeader("accept", "text/event-stream"),
            after > 0 ? HttpClientRequest.setHeader("last-event-id", String(after)) : identity
          )
          const response = yield* httpClient.execute(request)
          if (response.status !== 200) {
            return yield* Effect.flatMap(HttpClientResponse.schemaBodyJson(FollowRefused)(response), Effect.fail)
          }
          return Sse.decode(response.stream)
        })
        // one connection: its events, each counted before it goes on; ended too soon, it is cut
        const connection: Stream.Stream<AgentApi.RunEvent, FollowFailure> = Stream.unwrap(connect).pipe(
          Stream.mapEffect((event) =>
            Effect.zipRight(
              event.id === undefined ? Effect.void : Ref.set(last, Number(event.id)),
              event.event === "error" ? Effect.flatMap(decodeError(event.data), Effect.fail) : decodeEvent(event.data)
            )
          ),
          Stream.tap((event) => event._tag === "RunCompleted" ? Ref.set(completed, true) : Effect.void),
          Stream.takeUntil((event) => event._tag === "RunCompleted"),
          Stream.concat(
            Stream.unwrap(
              Effect.zipWith(
                Ref.get(completed),
                Ref.get(last),
                (done, lastEventId) => done ? Stream.empty : Stream.fail(new StreamCut({ runId, lastEventId }))
              )
            )
          )
        )
        const again = Schedule.exponential("100 millis").pipe(
          Schedule.union(Schedule.spaced("2 seconds")),
          Schedule.intersect(Schedule.recurs(followOptions?.reconnects ?? 10)),
          Schedule.whileInput(reconnectable)
        )
        return Stream.retry(connection, again)
      }))

    const attached = (agent: string, request: AgentApi.RunRequest) =>
      Stream.unwrap(Effect.gen(function*() {
        const body = HttpClientRequest.bodyUnsafeJson(
          HttpClientRequest.post(new URL(`/v1/agents/${encodeURIComponent(agent)}/runs/stream`, options.baseUrl)),
          yield* Schema.encode(AgentApi.RunRequest)(request)
        )
        const response = yield* httpClient.execute(HttpClientRequest.setHeader(body, "accept", "text/event-stream"))
        if (response.status !== 200) {
          return yield* Effect.flatMap(HttpClientResponse.schemaBodyJson(StreamRefused)(response), Effect.fail)
        }
        return Sse.decode(response.stream).pipe(
          Stream.mapEffect((event) =>
            event.event === "error"
              ? Effect.flatMap(decodeError(event.data), Effect.fail)
              : decodeEvent(event.data)
          ),
          Stream.takeUntil((event) => event._tag === "RunCompleted")
        )
      }))

    const stream: Client["stream"] = (agent, request) =>
      request.detach === true
        ? Stream.unwrap(Effect.map(detach(agent, request), (accepted) => follow(accepted.runId)))
        : attached(agent, request)

    const client: Client = Object.assign(api, { stream, detach, follow })
    return client
  })

/**
 * A client as a service, for programs that call an agent server.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * const answer = Effect.flatMap(AgentClient.AgentClient, (client) =>
 *   client.agents.run({ path: { name: "assistant" }, payload: { input: "Hi" } }))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentClient extends Context.Tag("effect-agents/http/AgentClient")<AgentClient, Client>() {}

/**
 * A layer of the {@link AgentClient} service.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * const ClientLive = AgentClient.layer({ baseUrl: "http://127.0.0.1:8080" }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<AgentClient, never, HttpClient.HttpClient> =>
  Layer.effect(AgentClient, make(options))
