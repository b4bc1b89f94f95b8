/**
 * Serves the agents (and teams) of a `Registry` over HTTP, on
 * `@effect/platform-node`'s server, implementing `AgentApi.Api`: runs,
 * streamed runs (Server-Sent Events), tools, background batches, health, the
 * OpenAPI document (`/openapi.json`), a docs page (`/docs`) and, with
 * `playground: true`, a page to run what is served and watch it live
 * (`/playground`).
 *
 * - Bad input is refused before anything runs: a body that does not decode
 *   or nests deeper than 64 levels (400, with the Schema issues), an unknown
 *   agent, tool or batch (404), a body over `maxBodySize` (413, without
 *   reading it), a batch over `maxBatchInputs` (413), a body that is not
 *   `application/json` (415), a missing or wrong bearer token when `token` is
 *   set (401).
 * - It listens on `127.0.0.1` by default; without a token, it answers only
 *   requests whose `Host` names it (403 otherwise), so that a web page cannot
 *   call it through DNS rebinding.
 * - Batch runs share `maxBatchRuns` slots, first come first served; finished
 *   batches are kept within `batchRetention` and `batchRetentionBytes`, in
 *   memory, or in the `BatchStore` the server is given (`SqlStore.layer`),
 *   where they outlive the server: one running when it stopped is
 *   `interrupted`, with the results of the runs that had ended.
 * - A defect answers a 500 `InternalError` (a streamed run, an `error`
 *   event) that says no more; the server logs it.
 * - A client that disconnects interrupts its run, streamed or not, down to
 *   the model's HTTP request and the tools' finalizers.
 * - Given an `McpEndpoint` (`McpServer.layerHttp` of `effect-agents/mcp`),
 *   it serves MCP at `/mcp`, behind its bearer token (when it has one, a
 *   401 with a `WWW-Authenticate` challenge otherwise), its `Host` check
 *   (when it has none) and an `Origin` check (a page elsewhere gets a 403).
 * - `POST /v1/chat/completions` and `GET /v1/models` answer OpenAI's clients:
 *   `model` names a served agent or team; errors are in OpenAI's shape.
 * - A run started with `"detach": true` goes on without its client; its
 *   events are logged with ids (in memory, or in the `RunLogStore` the
 *   server is given) and followed with `GET /v1/runs/{id}/events`.
 * - Shutdown (the layer's scope closing: SIGINT or SIGTERM under
 *   `NodeRuntime.runMain`) stops accepting connections and answers 503 to new
 *   requests, lets runs in flight (batch runs included) finish within
 *   `shutdownGracePeriod`, then interrupts them: their clients get a 503 or a
 *   `ServerShuttingDown` error event; batch runs not started are cancelled,
 *   and their batch is `interrupted`. MCP calls count as runs in flight;
 *   the MCP sessions are closed once they ended.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 * import { Agent } from "effect-agents"
 * import { AgentServer, Registry } from "effect-agents/http"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const RegistryLive = Registry.layer(
 *   Effect.map(Agent.make({ name: "assistant", instructions: "Be helpful." }), (assistant) => ({ agents: [assistant] }))
 * )
 *
 * AgentServer.layer({ port: 8080 }).pipe(
 *   Layer.provide(RegistryLive),
 *   Layer.provide(ScriptedModel.layer(ScriptedModel.useEachTool())),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import * as Agent from "../Agent.js"
import type { ToolError } from "../AgentError.js"
import type * as AgentError from "../AgentError.js"
import { RunNotFound, ToolFailed, ToolNotFound } from "../AgentError.js"
import type * as Dag from "../Dag.js"
import * as Batches from "../internal/http/batches.js"
import * as Body from "../internal/http/body.js"
import * as ChatCompletions from "../internal/http/chatCompletions.js"
import * as Drain from "../internal/http/drain.js"
import * as Hosts from "../internal/http/hosts.js"
import * as Playground from "../internal/http/playground.js"
import * as RunLogs from "../internal/http/runLogs.js"
import * as Sse from "../internal/http/sse.js"
import * as Wire from "../internal/http/wire.js"
import * as Own from "../internal/own.js"
import * as Render from "../internal/render.js"
import * as RunStore from "../RunStore.js"
import * as Session from "../Session.js"
import * as SessionStore from "../SessionStore.js"
import * as Team from "../Team.js"
import * as AgentApi from "./AgentApi.js"
import * as BatchStore from "./BatchStore.js"
import * as DurableRuns from "./DurableRuns.js"
import * as McpEndpoint from "./McpEndpoint.js"
import * as Registry from "./Registry.js"
import * as RunLogStore from "./RunLogStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default 8080; 0 picks a free port (see `AgentServer.port`). */
  readonly port?: number | undefined
  /** Default `"127.0.0.1"`, the loopback interface; `"0.0.0.0"` listens on every interface. */
  readonly host?: string | undefined
  /**
   * When set, the agent and batch endpoints need `Authorization: Bearer <token>`.
   * When not, a request's `Host` must name the server (see `allowedHosts`).
   */
  readonly token?: Redacted.Redacted | undefined
  /**
   * Without a token, the names a request's `Host` may have besides the
   * server's own (its `host`, `localhost`, `127.0.0.1` and `[::1]`, at its
   * port): each a name (any port) or a `name:port`. Others get a 403
   * `HostNotAllowed`.
   */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** The largest request body in bytes (default 1 MiB); larger ones get a 413. */
  readonly maxBodySize?: number | undefined
  /** How long runs in flight may go on once shutdown began (default 10 seconds). */
  readonly shutdownGracePeriod?: Duration.DurationInput | undefined
  /** How many runs of one batch run at once when the request does not say (default 4). */
  readonly batchConcurrency?: number | undefined
  /**
   * How many batch runs are in flight at once, all batches together (default
   * 32). The others wait in line, first come first served; a batch's own
   * `concurrency` applies within it.
   */
  readonly maxBatchRuns?: number | undefined
  /** The most inputs a batch may have (default 1000); more get a 413 `BatchTooLarge`. */
  readonly maxBatchInputs?: number | undefined
  /**
   * How many batches are kept in the store, running ones included; the first
   * finished go first (default 1000).
   */
  readonly batchRetention?: number | undefined
  /**
   * How large the results (and errors) of the finished batches kept may be,
   * in bytes of JSON; the first finished go first (default 64 MiB).
   */
  readonly batchRetentionBytes?: number | undefined
  /**
   * How many finished detached runs keep their event logs, in memory or in
   * the `RunLogStore` the server is given, the first finished forgotten
   * first (default 1000).
   */
  readonly runRetention?: number | undefined
  /** The OpenAPI document's path (default `"/openapi.json"`). */
  readonly openApiPath?: `/${string}` | undefined
  /** The docs page's path (default `"/docs"`). */
  readonly docsPath?: `/${string}` | undefined
  /**
   * How long a streamed run that suspended for approval keeps its stream
   * open for the decisions, then goes on in it (default 10 minutes); after
   * that, the stream ends with the `RunSuspended` error event and the run
   * is resumed with `POST /v1/runs/{id}/resume`.
   */
  readonly approvalWait?: Duration.DurationInput | undefined
  /**
   * Serve the playground at `/playground` (default false): a page to run
   * what is served and watch the runs live (see the README).
   */
  readonly playground?: boolean | undefined
}

/**
 * A running agent server.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentServer } from "effect-agents/http"
 *
 * const stopOnShutdown = (work: Effect.Effect<void>) =>
 *   Effect.flatMap(AgentServer.AgentServer, (server) => Effect.raceFirst(work, server.awaitShutdown))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `http://HOST:PORT` */
  readonly url: string
  readonly host: string
  readonly port: number
  /** Runs in flight: requests being answered and batch runs. */
  readonly inFlight: Effect.Effect<number>
  /** Waits until the server begins to shut down (to stop work of your own, say). */
  readonly awaitShutdown: Effect.Effect<void>
}

/**
 * The running server, as a service: its address, for tests and logs.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { AgentServer } from "effect-agents/http"
 *
 * const printUrl = Effect.flatMap(AgentServer.AgentServer, (server) => Console.log(`listening on ${server.url}`))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentServer extends Context.Tag("effect-agents/http/AgentServer")<AgentServer, Service>() {}

/** How long the last responses of a shutdown have to go out before every connection is dropped. */
const flushTimeout = Duration.seconds(1)

const defaults = {
  port: 8080,
  host: "127.0.0.1",
  maxBodySize: 1024 * 1024,
  shutdownGracePeriod: Duration.seconds(10),
  batchConcurrency: 4,
  maxBatchRuns: 32,
  maxBatchInputs: 1000,
  batchRetention: 1000,
  batchRetentionBytes: 64 * 1024 * 1024,
  approvalWait: Duration.minutes(10),
  runRetention: 1000,
  openApiPath: "/openapi.json",
  docsPath: "/docs"
} as const

// -----------------------------------------------------------------------------
// Pieces
// -----------------------------------------------------------------------------

const digest = (text: string) => createHash("sha256").update(text).digest()

/** Compares in constant time: hashes first, so lengths do not leak either. */
const sameToken = (expected: Redacted.Redacted, provided: Redacted.Redacted): boolean => {
  const value = Redacted.value(provided)
  return value.length > 0 && timingSafeEqual(digest(Redacted.value(expected)), digest(value))
}

const authorization = (token: Redacted.Redacted | undefined) =>
  Layer.succeed(
    AgentApi.Authorization,
    AgentApi.Authorization.of({
      bearer: (provided) =>
        token === undefined || sameToken(token, provided)
          ? Effect.void
          : Effect.fail(new AgentApi.Unauthorized({ message: "missing or invalid bearer token" }))
    })
  )

const isRequestError = (u: unknown): u is HttpServerError.RequestError =>
  Predicate.hasProperty(u, "_tag") && u._tag === "RequestError" && Predicate.hasProperty(u, "reason")

const causeMessage = (error: HttpServerError.RequestError): string =>
  Predicate.hasProperty(error.cause, "message") && typeof error.cause.message === "string" ? error.cause.message : ""

/** A header as it goes in a message: at most 100 characters of it, quoted. */
const quote = (header: string) => JSON.stringify(header.length > 100 ? `${header.slice(0, 100)}…` : header)

/** Whether a `Host` header names the server: known once it listens. */
type HostCheck = Effect.Effect<(header: string | undefined) => boolean>

const checkHost = (check: HostCheck, request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(check, (names) => {
    const host = request.headers.host
    if (names(host)) return Effect.void
    const message = host === undefined
      ? "the request has no Host header"
      : `the Host ${quote(host)} does not name this server (allowedHosts adds names)`
    return Effect.fail(new AgentApi.HostNotAllowed({ message }))
  })

/** An `Origin` header, when there is one, must name the server too: a web page elsewhere is refused. */
const checkOrigin = (check: HostCheck, request: HttpServerRequest.HttpServerRequest) =>
  Effect.flatMap(check, (names) => {
    const origin = request.headers.origin
    if (origin === undefined) return Effect.void
    const host = Either.getOrUndefined(Either.try(() => new URL(origin).host))
    if (host !== undefined && names(host)) return Effect.void
    return Effect.fail(
      new AgentApi.HostNotAllowed({ message: `the Origin ${quote(origin)} does not name this server` })
    )
  })

const checkContentType = (request: HttpServerRequest.HttpServerRequest) => {
  const contentType = request.headers["content-type"]
  if (Body.isJson(contentType)) return Effect.void
  const message = contentType === undefined
    ? "the request body must be application/json; it has no content type"
    : `the request body must be application/json, not ${quote(contentType)}`
  return Effect.fail(new AgentApi.UnsupportedMediaType({ message }))
}

const decodeError = (message: string) =>
  new HttpApiDecodeError({ message, issues: [{ _tag: "Type", path: [], message }] })

/**
 * Reads the body, with the size limit, and checks that its JSON does not
 * nest too deep to decode (Schema's issues and `JSON.stringify` recurse).
 * The handler's parse reads the same text again, from the request's cache.
 */
const readBody = (request: HttpServerRequest.HttpServerRequest, maxBodySize: number) =>
  request.text.pipe(
    Effect.mapError((error) =>
      causeMessage(error) === "maxBytes exceeded"
        ? new AgentApi.PayloadTooLarge({ limit: maxBodySize })
        : decodeError(`the body could not be read: ${causeMessage(error)}`)
    ),
    Effect.filterOrFail(
      (text) => !Body.nestedDeeperThan(text, Body.maxDepth),
      () => decodeError(`the body is JSON nested deeper than ${Body.maxDepth} levels`)
    ),
    HttpIncomingMessage.withMaxBodySize(Option.some(maxBodySize))
  )

/**
 * Before routing: without a token, 403 for a `Host` that does not name the
 * server; 503 while draining; 413 for a declared length over the limit; 415
 * for a body that is not JSON; then the body is read with the limit (413
 * over it) and refused when it nests too deep (400). Around the handlers:
 * the platform's defect for a body that is not JSON becomes a 400. A
 * response that goes out while the server drains closes its connection, so
 * the server can close.
 */
const guard = (drain: Drain.Drain, maxBodySize: number, hostCheck: HostCheck | undefined) =>
  HttpApiBuilder.middleware(AgentApi.Api, (app) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (hostCheck !== undefined) yield* checkHost(hostCheck, request)
      yield* drain.guard
      yield* HttpApp.appendPreResponseHandler((_request, response) =>
        Effect.map(
          drain.isDraining,
          (draining) => draining ? HttpServerResponse.setHeader(response, "connection", "close") : response
        )
      )
      const length = Number(request.headers["content-length"] ?? "0")
      if (length > maxBodySize) return yield* new AgentApi.PayloadTooLarge({ limit: maxBodySize })
      if (Body.takesBody(request.method)) {
        yield* checkContentType(request)
        yield* readBody(request, maxBodySize)
      }
      return yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(Option.some(maxBodySize)),
        Effect.catchAllDefect((defect) =>
          isRequestError(defect) && defect.reason === "Decode"
            ? Effect.fail(decodeError(`the body is not valid JSON: ${causeMessage(defect)}`))
            : Effect.die(defect)
        )
      )
    }))

/** Whether a request is for the MCP endpoint. */
const isMcpRequest = (request: HttpServerRequest.HttpServerRequest): boolean =>
  request.url === McpEndpoint.path || request.url.startsWith(`${McpEndpoint.path}?`)

/** The bearer token of a request, as given. */
const bearerOf = (request: HttpServerRequest.HttpServerRequest): Redacted.Redacted => {
  const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")
  return Redacted.make(match?.[1]?.trim() ?? "")
}

/**
 * In front of `/mcp`: without a token, the `Host` check; always, the
 * `Origin` check (a browser's page elsewhere is refused); with a token, the
 * token (401 with a `WWW-Authenticate` challenge); a 503 while draining.
 */
const guardMcp = (
  endpoint: McpEndpoint.Endpoint,
  token: Redacted.Redacted | undefined,
  names: HostCheck,
  drain: Drain.Drain
): HttpApp.Default =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (token === undefined) yield* checkHost(names, request)
    yield* checkOrigin(names, request)
    if (token !== undefined && !sameToken(token, bearerOf(request))) {
      return yield* new AgentApi.Unauthorized({ message: "missing or invalid bearer token" })
    }
    yield* drain.guard
    // a client that goes away interrupts the request (its web Request's signal aborts), as the API's routes are
    return yield* Effect.interruptible(endpoint.app)
  }).pipe(
    Effect.catchTags({
      HostNotAllowed: (error) => Effect.succeed(refusal(error, 403)),
      Unauthorized: (error) =>
        Effect.succeed(HttpServerResponse.setHeader(refusal(error, 401), "www-authenticate", "Bearer")),
      ServerShuttingDown: (error) => Effect.succeed(refusal(error, 503))
    })
  )

/** A refusal in front of `/mcp`, as the API answers it: the error's tag and message. */
const refusal = (error: { readonly _tag: string; readonly message: string }, status: number) =>
  HttpServerResponse.unsafeJson({ _tag: error._tag, message: error.message }, { status })

/** What a defect answers: no more than that it happened (the log has the rest). */
const internalError = Schema.encodeSync(AgentApi.InternalError)(
  new AgentApi.InternalError({ message: "internal server error" })
)

/**
 * What nothing answered: a defect (a bug) or a failure the API does not
 * declare. It is logged with its request and answered with a 500
 * `InternalError` that says nothing more, never an empty body. An
 * interruption (the client went away) and the platform's own answers (no
 * such route) go on as they are.
 */
const answerDefects = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.catchAllCause(app, (cause) => {
    const failure = Cause.failureOption(cause)
    if (Cause.isInterruptedOnly(cause) || Option.exists(failure, HttpServerRespondable.isRespondable)) {
      return Effect.failCause(cause)
    }
    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.as(
        Effect.logError(`AgentServer: ${request.method} ${request.url} failed unexpectedly (500)`, cause),
        HttpServerResponse.unsafeJson(internalError, { status: 500 })
      ))
  })

const sseHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

const encodeStreamError = Schema.encodeUnknown(AgentApi.StreamError)
const encodeDagStreamError = Schema.encodeUnknown(AgentApi.DagStreamError)

/**
 * The `error` event that ends a stream: the encoded typed error; for a
 * defect (or an error that does not encode), an `InternalError` that says
 * nothing more, and the cause goes to the log.
 */
const errorEvent = (
  agent: string,
  cause: Cause.Cause<unknown>,
  encode: (error: unknown) => Effect.Effect<unknown, unknown> = encodeStreamError
): Effect.Effect<Uint8Array> => {
  const failure = Cause.failureOption(cause)
  const encoded: Effect.Effect<unknown, unknown> = Option.isSome(failure)
    ? encode(failure.value)
    : Effect.failCause(cause)
  return encoded.pipe(
    Effect.map((data) => Sse.encode("error", data)),
    Effect.catchAllCause((unexpected) =>
      Effect.as(
        Effect.logError(`AgentServer: the streamed run of ${JSON.stringify(agent)} failed unexpectedly`, unexpected),
        Sse.encode("error", internalError)
      )
    )
  )
}

/**
 * A run's events as Server-Sent Events: one per event, named by its tag.
 * Every stream ends with `RunCompleted` or with an `error` event.
 */
const eventStream = (
  agent: string,
  events: Stream.Stream<Wire.AnyRunEvent, AgentApi.StreamError>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(
    events.pipe(
      Stream.map((event) => Sse.encode(event._tag, Wire.event(event))),
      Stream.catchAllCause((cause) => Stream.fromEffect(errorEvent(agent, cause)))
    ),
    { contentType: "text/event-stream", headers: sseHeaders }
  )

/**
 * A DAG's events as Server-Sent Events, as {@link eventStream}: every
 * stream ends with `DagCompleted` or with an `error` event.
 */
const dagEventStream = (
  dag: string,
  events: Stream.Stream<Dag.DagEvent, AgentApi.DagStreamError>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(
    events.pipe(
      Stream.map((event) => Sse.encode(event._tag, Wire.dagEvent(event))),
      Stream.catchAllCause((cause) => Stream.fromEffect(errorEvent(dag, cause, encodeDagStreamError)))
    ),
    { contentType: "text/event-stream", headers: sseHeaders }
  )

/** A tool's Effect needs the services of the registry's context; once they are provided it needs nothing. */
const provideTools = (
  effect: Effect.Effect<unknown, ToolError, unknown>,
  context: Context.Context<never>
): Effect.Effect<unknown, ToolError> => Effect.provide(effect, context) as Effect.Effect<unknown, ToolError>

interface Settings {
  readonly registry: Registry.Service
  /** The durable runs of the server, when it was given them. */
  readonly durable: Option.Option<DurableRuns.Service>
  /** Where runs suspended for approval wait: the server's, whatever the request's context. */
  readonly runs: RunStore.Service
  readonly approvalWait: Duration.Duration
  /** The store of the sessions runs continue, when the server was given one. */
  readonly sessions: Option.Option<SessionStore.Service>
  readonly drain: Drain.Drain
  readonly batches: Batches.Batches
  /** The detached runs, and their event logs. */
  readonly logs: RunLogs.RunLogs
  readonly batchConcurrency: number
  readonly maxBatchInputs: number
}

/** The store of the sessions runs continue, or `SessionsNotServed`. */
const sessionStore = (sessions: Settings["sessions"]) =>
  Option.match(sessions, {
    onNone: () => Effect.fail(new AgentApi.SessionsNotServed()),
    onSome: Effect.succeed
  })

/** A run's options: its id, and the session it continues. */
const runOptions = (sessions: Settings["sessions"], payload: AgentApi.RunRequest) => {
  const { runId, sessionId } = payload
  return sessionId === undefined
    ? Effect.succeed({ runId })
    : Effect.map(sessionStore(sessions), (store) => ({ runId, session: Session.make(store, sessionId) }))
}

/** A durable run of an agent: its session is not supported, its id is the request's or a new one. */
const durableRun = (settings: Settings, served: Registry.Served, payload: AgentApi.RunRequest) =>
  Option.match(settings.durable, {
    onNone: () => Effect.fail(new AgentApi.DurableNotServed({ reason: "this server runs nothing durably" })),
    onSome: (durable) =>
      payload.sessionId === undefined
        ? durable.run(served.name, payload.input, payload.runId ?? crypto.randomUUID())
        : Effect.fail(new AgentApi.DurableNotServed({ reason: "a durable run does not continue a session" }))
  })

/** Asks the store every quarter of a second whether every approval of a run is decided. */
const untilDecided = Schedule.spaced("250 millis").pipe(
  Schedule.whileInput((run: Option.Option<RunStore.SuspendedRun>) =>
    Option.isSome(run) && run.value.approvals.some((approval) => approval.decision === undefined)
  )
)

/** A served runnable that continues its suspended runs: an agent, a team. */
const resumable = (runnable: Agent.Runnable<unknown>) =>
  Agent.isAgent(runnable) || Team.isTeam(runnable) ? runnable : undefined

/**
 * A streamed run (an agent's, a team's) that suspends for approval waits, stream open, for
 * the decisions (`approvalWait` at most), then goes on in the same stream:
 * the client sees `ApprovalRequested`, then the rest of the run.
 */
const throughApprovals = (
  settings: Settings,
  served: Registry.Served,
  events: Stream.Stream<Wire.AnyRunEvent, AgentError.AgentError>
): Stream.Stream<Wire.AnyRunEvent, AgentError.AgentError> => {
  const agent = resumable(served.runnable)
  if (agent === undefined) return events
  return Stream.catchTag(events, "RunSuspended", (suspended) =>
    Stream.unwrap(
      settings.runs.get(suspended.runId).pipe(
        Effect.repeat(untilDecided),
        Effect.timeoutFail({ duration: settings.approvalWait, onTimeout: () => suspended }),
        Effect.map(() => throughApprovals(settings, served, agent.resumeStream(suspended.runId)))
      )
    ))
}

/** A detached run: 202 with its id at once, the run going on in the server (a durable run is not detached). */
const detachedRun = (settings: Settings, name: string, payload: AgentApi.RunRequest) =>
  payload.durable === true
    ? Effect.fail(new AgentApi.DurableNotServed({ reason: "a durable run is not detached: it outlives its request" }))
    : Effect.zip(Registry.runnable(settings.registry, name), runOptions(settings.sessions, payload)).pipe(
      Effect.zipLeft(settings.drain.guard),
      Effect.flatMap(([served, options]) => settings.logs.start(served, payload.input, options)),
      Effect.map((accepted) => HttpServerResponse.unsafeJson(accepted, { status: 202 }))
    )

/** A logged run's events as Server-Sent Events with their ids. */
const runLogsGroup = ({ logs }: Settings) =>
  HttpApiBuilder.group(AgentApi.Api, "runLogs", (handlers) =>
    handlers
      .handle("events", ({ headers, path }) =>
        Effect.map(logs.follow(path.id, headers["last-event-id"] ?? 0), (entries) =>
          HttpServerResponse.stream(Stream.map(entries, Sse.frame), {
            contentType: "text/event-stream",
            headers: sseHeaders
          })))
      .handle("cancel", ({ path }) => logs.cancel(path.id)))

const agentsGroup = (settings: Settings) => {
  const { drain, registry, sessions } = settings
  return HttpApiBuilder.group(AgentApi.Api, "agents", (handlers) =>
    handlers
      .handle("run", ({ path, payload }) =>
        payload.detach === true
          ? detachedRun(settings, path.name, payload)
          : Effect.zip(Registry.runnable(registry, path.name), runOptions(sessions, payload)).pipe(
            Effect.flatMap(([served, options]) =>
              drain.track(
                payload.durable === true
                  ? durableRun(settings, served, payload)
                  : served.runnable.run(payload.input, options)
              )
            ),
            Effect.map(Wire.result)
          ))
      .handle("stream", ({ path, payload }) =>
        payload.durable === true
          ? Effect.fail(new AgentApi.DurableNotServed({ reason: "durable runs are not streamed" }))
          : Effect.map(
            Effect.zip(Registry.runnable(registry, path.name), runOptions(sessions, payload)),
            ([served, options]) =>
              eventStream(
                served.name,
                drain.trackStream(throughApprovals(settings, served, served.runnable.stream(payload.input, options)))
              )
          ))
      .handle("tool", ({ path, payload }) =>
        Effect.gen(function*() {
          const served = yield* Registry.runnable(registry, path.name)
          const tool = Own.get(served.toolkit.tools, path.tool)
          if (tool === undefined) {
            return yield* new ToolNotFound({ tool: path.tool, available: Object.keys(served.toolkit.tools) })
          }
          const value = yield* drain.track(provideTools(tool.execute(payload, served.toolOptions), registry.context))
          return yield* Wire.toolResult(tool, value)
        }).pipe(
          // a defect (of a tool not made by Tool.make, say) answers as a failed tool, not an empty 500
          Effect.catchAllDefect((defect) =>
            Effect.fail(new ToolFailed({ tool: path.tool, message: Render.text(defect), error: defect }))
          )
        )))
}

const batchesGroup = ({ batchConcurrency, batches, drain, maxBatchInputs, registry }: Settings) =>
  HttpApiBuilder.group(AgentApi.Api, "batches", (handlers) =>
    handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          if (payload.inputs.length > maxBatchInputs) {
            return yield* new AgentApi.BatchTooLarge({ inputs: payload.inputs.length, limit: maxBatchInputs })
          }
          const served = yield* Registry.runnable(registry, payload.agent)
          yield* drain.guard
          return yield* batches.start(served, payload.inputs, payload.concurrency ?? batchConcurrency)
        }))
      .handle("get", ({ path, urlParams }) => batches.get(path.id, urlParams.wait === true))
      .handle("cancel", ({ path }) => batches.cancel(path.id)))

const suspendedView = (run: RunStore.SuspendedRun): AgentApi.SuspendedRun => ({
  runId: run.runId,
  agent: run.agent,
  status: "suspended",
  approvals: run.approvals,
  suspendedAt: run.suspendedAt
})

const runsGroup = ({ drain, logs, registry, runs }: Settings) => {
  const kept = (runId: string) =>
    Effect.flatMap(
      runs.get(runId),
      Option.match({
        onNone: () => Effect.fail(new RunNotFound({ runId })),
        onSome: Effect.succeed
      })
    )
  return HttpApiBuilder.group(AgentApi.Api, "runs", (handlers) =>
    handlers
      .handle("get", ({ path }) =>
        Effect.catchTag(
          Effect.map(kept(path.id), (run): AgentApi.SuspendedRun | AgentApi.LoggedRun => suspendedView(run)),
          "RunNotFound",
          (notFound) =>
            Effect.flatten(
              Effect.map(
                logs.get(path.id),
                Option.match({ onNone: () => Effect.fail(notFound), onSome: Effect.succeed })
              )
            )
        ))
      .handle("decide", ({ path, payload }) => {
        const { always, approve, by, message } = payload
        const decided = approve
          ? Agent.approve(path.id, path.approvalId, { always, by })
          : Agent.reject(path.id, path.approvalId, { message, by })
        return decided.pipe(
          Effect.zipRight(Effect.map(kept(path.id), suspendedView)),
          Effect.provideService(RunStore.RunStore, runs)
        )
      })
      .handle("resume", ({ path }) =>
        Effect.gen(function*() {
          const run = yield* kept(path.id)
          const served = yield* Registry.runnable(registry, run.agent)
          const runnable = resumable(served.runnable)
          if (runnable === undefined) {
            return yield* new AgentApi.AgentNotFound({ agent: run.agent, available: Registry.names(registry).agents })
          }
          return Wire.result(yield* drain.track(runnable.resume(path.id)))
        }).pipe(Effect.provideService(RunStore.RunStore, runs))))
}

const sessionsGroup = ({ sessions }: Settings) =>
  HttpApiBuilder.group(AgentApi.Api, "sessions", (handlers) =>
    handlers
      .handle("messages", ({ path }) =>
        Effect.flatMap(
          sessionStore(sessions),
          (store) => Effect.map(store.history(path.id, undefined), (turns) => ({ id: path.id, messages: turns.flat() }))
        ))
      .handle(
        "undo",
        ({ path }) =>
          Effect.flatMap(
            sessionStore(sessions),
            (store) => Effect.map(store.pop(path.id), (messages) => ({ id: path.id, messages }))
          )
      )
      .handle("clear", ({ path }) => Effect.flatMap(sessionStore(sessions), (store) => store.clear(path.id))))

const dagsGroup = ({ drain, registry }: Settings) =>
  HttpApiBuilder.group(AgentApi.Api, "dags", (handlers) =>
    handlers
      .handle("run", ({ path, payload }) =>
        Registry.servedDag(registry, path.name).pipe(
          Effect.flatMap((served) =>
            drain.track(served.run(payload.input, { concurrency: payload.concurrency, onFailure: payload.onFailure }))
          ),
          Effect.map(Wire.dagResult)
        ))
      .handle("stream", ({ path, payload }) =>
        Registry.servedDag(registry, path.name).pipe(
          Effect.flatMap((served) =>
            served.stream(payload.input, { concurrency: payload.concurrency, onFailure: payload.onFailure })
          ),
          Effect.map((events) => dagEventStream(path.name, drain.trackStream(events)))
        ))
      .handle(
        "get",
        ({ path }) => Effect.map(Registry.servedDag(registry, path.name), ({ name, nodes }) => ({ name, nodes }))
      ))

const systemGroup = ({ registry }: Settings) =>
  HttpApiBuilder.group(
    AgentApi.Api,
    "system",
    (handlers) =>
      handlers.handle("health", () => Effect.succeed({ status: "ok" as const, ...Registry.names(registry) }))
  )

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/** A limit that must let something through: a whole number from 1. */
const positive = (name: string, value: number): Effect.Effect<number> =>
  Number.isInteger(value) && value >= 1
    ? Effect.succeed(value)
    : Effect.dieMessage(`AgentServer: ${name} must be a whole number from 1, not ${value}`)

type Json = Record<string, unknown>

/** The document with `f` applied to each of its operations. */
const mapOperations = (spec: Json, f: (operation: Json) => Json): Json => {
  const paths = Object.entries((spec.paths ?? {}) as Record<string, Record<string, Json>>).map(([path, methods]) =>
    [path, Object.fromEntries(Object.entries(methods).map(([method, operation]) => [method, f(operation)]))] as const
  )
  return { ...spec, paths: Object.fromEntries(paths) }
}

/** An operation that never answers with `status`. */
const withoutResponse = (operation: Json, status: string): Json => {
  const { [status]: _answer, ...answered } = (operation.responses ?? {}) as Json
  return { ...operation, responses: answered }
}

/** An OpenAPI document without authentication: no security scheme, no `security`, no 401. */
const withoutAuthentication = (spec: Json): Json => {
  const { security: _security, ...document } = spec
  const { securitySchemes: _schemes, ...components } = (spec.components ?? {}) as Json
  return mapOperations({ ...document, components }, (operation) => {
    const { security: _operationSecurity, ...rest } = operation
    return withoutResponse(rest, "401")
  })
}

/** An OpenAPI document without the Host check (a token protects the server): no 403. */
const withoutHostCheck = (spec: Json): Json => mapOperations(spec, (operation) => withoutResponse(operation, "403"))

/**
 * Starts the server on `host:port` with the `Registry` in context, and logs
 * its URL (`Effect.logInfo`) once it listens; it drains and stops when the
 * layer's scope closes.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { AgentServer, Registry } from "effect-agents/http"
 *
 * declare const RegistryLive: Layer.Layer<Registry.Registry>
 *
 * const ServerLive = AgentServer.layer({
 *   port: 8080,
 *   token: Redacted.make("s3cret"),
 *   maxBodySize: 256 * 1024,
 *   shutdownGracePeriod: "30 seconds"
 * }).pipe(Layer.provide(RegistryLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<AgentServer, HttpServerError.ServeError, Registry.Registry> =>
  Layer.scoped(
    AgentServer,
    Effect.gen(function*() {
      const host = options?.host ?? defaults.host
      const maxBodySize = options?.maxBodySize ?? defaults.maxBodySize
      const grace = options?.shutdownGracePeriod ?? defaults.shutdownGracePeriod
      if (options?.token !== undefined && Redacted.value(options.token).length === 0) {
        return yield* Effect.dieMessage("AgentServer: the bearer token must not be empty")
      }
      const registry = yield* Registry.Registry
      const mcp = yield* Effect.serviceOption(McpEndpoint.McpEndpoint)
      const drain = yield* Drain.make
      const batches = yield* Batches.make({
        drain,
        store: yield* Effect.serviceOption(BatchStore.BatchStore).pipe(
          Effect.flatMap(Option.match({ onNone: () => BatchStore.makeMemory, onSome: Effect.succeed }))
        ),
        maxRuns: yield* positive("maxBatchRuns", options?.maxBatchRuns ?? defaults.maxBatchRuns),
        batches: options?.batchRetention ?? defaults.batchRetention,
        bytes: options?.batchRetentionBytes ?? defaults.batchRetentionBytes
      })
      const settings: Settings = {
        registry,
        durable: yield* Effect.serviceOption(DurableRuns.DurableRuns),
        runs: yield* RunStore.RunStore,
        approvalWait: Duration.decode(options?.approvalWait ?? defaults.approvalWait),
        sessions: yield* Effect.serviceOption(SessionStore.SessionStore),
        drain,
        batches,
        logs: yield* RunLogs.make({
          drain,
          retention: options?.runRetention ?? defaults.runRetention,
          store: yield* Effect.serviceOption(RunLogStore.RunLogStore).pipe(
            Effect.flatMap(Option.match({ onNone: () => RunLogStore.makeMemory, onSome: Effect.succeed }))
          )
        }),
        batchConcurrency: options?.batchConcurrency ?? defaults.batchConcurrency,
        maxBatchInputs: yield* positive("maxBatchInputs", options?.maxBatchInputs ?? defaults.maxBatchInputs)
      }

      // without a token, the documents do not ask for one; with one, the Host is not checked
      const api = AgentApi.Api.annotate(
        OpenApi.Transform,
        options?.token === undefined ? withoutAuthentication : withoutHostCheck
      )
      // without a token, only requests whose Host names the server, known once it listens
      const names = yield* Deferred.make<(header: string | undefined) => boolean>()
      const hostCheck = options?.token === undefined ? Deferred.await(names) : undefined
      // mounted before the shutdown is set up, so that it closes after it (finalizers run last to first)
      const endpoint = Option.isSome(mcp)
        ? Option.some(yield* mcp.value.mount({ track: drain.track, maxBodySize }))
        : Option.none()
      const ApiLive = HttpApiBuilder.api(api).pipe(
        Layer.provide([
          agentsGroup(settings),
          batchesGroup(settings),
          sessionsGroup(settings),
          runsGroup(settings),
          runLogsGroup(settings),
          dagsGroup(settings),
          systemGroup(settings)
        ]),
        Layer.provide(authorization(options?.token))
      )
      const AppLive = Layer.mergeAll(
        HttpApiBuilder.middlewareOpenApi({ path: options?.openApiPath ?? defaults.openApiPath }),
        HttpApiScalar.layer({ path: options?.docsPath ?? defaults.docsPath }),
        options?.playground === true ? Playground.layer({ auth: options.token !== undefined }) : Layer.empty,
        guard(drain, maxBodySize, hostCheck)
      ).pipe(
        Layer.provideMerge(ApiLive),
        Layer.provideMerge(HttpApiBuilder.Router.Live),
        Layer.provideMerge(HttpApiBuilder.Middleware.layer),
        Layer.provideMerge(NodeHttpServer.layerContext)
      )
      const context = yield* Layer.build(AppLive)
      const app = yield* Effect.provide(HttpApiBuilder.httpApp, context)

      // Finalizers run last to first: the shutdown below, then the handler is
      // removed, then the server (already closed), then batches still running
      // are interrupted. Every request is counted until its response is
      // written, so the shutdown can let the last ones (503s, error events) out.
      const nodeServer = createServer()
      const server = yield* NodeHttpServer.make(() => nodeServer, { port: options?.port ?? defaults.port, host })
      // the OpenAI-compatible endpoints go in front of the API, with its checks
      const compatible = ChatCompletions.mount(app, {
        registry,
        drain,
        authorized: (provided) => options?.token === undefined || sameToken(options.token, provided),
        hostCheck,
        maxBodySize
      })
      // every run started here suspends in the server's store, whatever the request's context
      const served = Effect.provideService(compatible, RunStore.RunStore, settings.runs)
      const routed = Option.match(endpoint, {
        onNone: () => served,
        onSome: (mounted) => {
          const mcpApp = guardMcp(mounted, options?.token, Deferred.await(names), drain)
          return Effect.flatMap(
            HttpServerRequest.HttpServerRequest,
            (request) => isMcpRequest(request) ? mcpApp : served
          )
        }
      })
      yield* Effect.provide(server.serve(answerDefects(routed), drain.trackResponse), context)
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          // stop accepting connections; the idle ones are closed
          yield* Effect.sync(() => nodeServer.close())
          const interrupted = yield* drain.drain(grace)
          if (interrupted > 0) {
            yield* Effect.logWarning(`AgentServer: interrupted ${interrupted} run(s) at the end of the grace period`)
          }
          // the MCP sessions end: their open streams too
          if (Option.isSome(endpoint)) yield* endpoint.value.close
          yield* Effect.timeoutOption(Effect.interruptible(drain.awaitResponses), flushTimeout)
          // what is left is idle (kept alive) or silent
          yield* Effect.sync(() => nodeServer.closeAllConnections())
        })
      )

      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      yield* Deferred.succeed(names, Hosts.matcher({ host, port }, options?.allowedHosts ?? []))
      const url = `http://${Hosts.format(host)}:${port}`
      yield* Effect.logInfo(`AgentServer: listening on ${url}`)
      return { url, host, port, inFlight: drain.inFlight, awaitShutdown: drain.awaitDraining }
    })
  )

/**
 * {@link layer} with its settings from `Config`: `AGENT_SERVER_HOST`,
 * `AGENT_SERVER_PORT`, `AGENT_SERVER_TOKEN` (read with `Config.redacted`;
 * no token, no authentication), `AGENT_SERVER_ALLOWED_HOSTS` (names,
 * comma-separated), `AGENT_SERVER_MAX_BODY_SIZE` (bytes),
 * `AGENT_SERVER_SHUTDOWN_GRACE_PERIOD` (a duration such as `"30 seconds"`),
 * `AGENT_SERVER_MAX_BATCH_RUNS`, `AGENT_SERVER_MAX_BATCH_INPUTS`,
 * `AGENT_SERVER_BATCH_RETENTION`, `AGENT_SERVER_BATCH_RETENTION_BYTES` and
 * `AGENT_SERVER_RUN_RETENTION`.
 * Settings not in the config come from `options`, then the defaults.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentServer, Registry } from "effect-agents/http"
 *
 * declare const RegistryLive: Layer.Layer<Registry.Registry>
 *
 * // AGENT_SERVER_PORT=9000 AGENT_SERVER_TOKEN=s3cret node server.js
 * const ServerLive = AgentServer.layerConfig({ batchConcurrency: 8 }).pipe(Layer.provide(RegistryLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Options
): Layer.Layer<AgentServer, HttpServerError.ServeError | ConfigError.ConfigError, Registry.Registry> =>
  Layer.unwrapEffect(
    Config.all({
      host: Config.option(Config.string("HOST")),
      port: Config.option(Config.port("PORT")),
      token: Config.option(Config.redacted("TOKEN")),
      allowedHosts: Config.option(Config.array(Config.string(), "ALLOWED_HOSTS")),
      maxBodySize: Config.option(Config.integer("MAX_BODY_SIZE")),
      shutdownGracePeriod: Config.option(Config.duration("SHUTDOWN_GRACE_PERIOD")),
      maxBatchRuns: Config.option(Config.integer("MAX_BATCH_RUNS")),
      maxBatchInputs: Config.option(Config.integer("MAX_BATCH_INPUTS")),
      batchRetention: Config.option(Config.integer("BATCH_RETENTION")),
      batchRetentionBytes: Config.option(Config.integer("BATCH_RETENTION_BYTES")),
      runRetention: Config.option(Config.integer("RUN_RETENTION"))
    }).pipe(
      Config.nested("AGENT_SERVER"),
      Effect.map((config) =>
        layer({
          ...options,
          host: Option.getOrElse(config.host, () => options?.host),
          port: Option.getOrElse(config.port, () => options?.port),
          token: Option.getOrElse(config.token, () => options?.token),
          allowedHosts: Option.getOrElse(config.allowedHosts, () => options?.allowedHosts),
          maxBodySize: Option.getOrElse(config.maxBodySize, () => options?.maxBodySize),
          shutdownGracePeriod: Option.getOrElse(config.shutdownGracePeriod, () => options?.shutdownGracePeriod),
          maxBatchRuns: Option.getOrElse(config.maxBatchRuns, () => options?.maxBatchRuns),
          maxBatchInputs: Option.getOrElse(config.maxBatchInputs, () => options?.maxBatchInputs),
          batchRetention: Option.getOrElse(config.batchRetention, () => options?.batchRetention),
          batchRetentionBytes: Option.getOrElse(config.batchRetentionBytes, () => options?.batchRetentionBytes),
          runRetention: Option.getOrElse(config.runRetention, () => options?.runRetention)
        })
      )
    )
  )
