/**
 * The OpenAI-compatible endpoints of an agent server: `POST
 * /v1/chat/completions`, whose `model` names a served agent or team, and
 * `GET /v1/models`. They answer in OpenAI's shapes, errors included (`{
 * "error": { "message", "type", "param", "code" } }`), so any OpenAI client
 * talks to the agents. They sit in front of the server's own API, with its
 * checks: the `Host` (without a token), the bearer token, the drain, the
 * body's size, type and depth.
 */
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Agent from "../../Agent.js"
import type { AgentError } from "../../AgentError.js"
import type { ServerShuttingDown } from "../../http/AgentApi.js"
import type * as Registry from "../../http/Registry.js"
import type * as LanguageModel from "../../LanguageModel.js"
import type * as Run from "../../Run.js"
import type { RunEvent } from "../../RunEvent.js"
import * as JsonSchemaValidate from "../jsonSchemaValidate.js"
import * as Wire from "../openai/wire.js"
import * as Body from "./body.js"
import type * as Drain from "./drain.js"

/** What the endpoints need of their server. */
export interface Settings {
  readonly registry: Registry.Service
  readonly drain: Drain.Drain
  /** Whether a bearer token lets a request in (always, on a server without a token). */
  readonly authorized: (token: Redacted.Redacted) => boolean
  /** Without a token: whether a `Host` header names the server, known once it listens. */
  readonly hostCheck: Effect.Effect<(header: string | undefined) => boolean> | undefined
  readonly maxBodySize: number
}

/** A request answered with an error, in OpenAI's shape and with its status. */
class Refused extends Data.TaggedError("Refused")<{
  readonly status: number
  readonly message: string
  readonly type: string
  readonly code: string | null
  readonly param?: string | undefined
  readonly headers?: Record<string, string> | undefined
}> {}

const invalid = (message: string, code: string | null = null, param?: string) =>
  new Refused({ status: 400, message, type: "invalid_request_error", code, param })

const respond = (refused: Refused) =>
  HttpServerResponse.unsafeJson(
    Wire.errorBody(refused.message, refused.type, refused.code, refused.param ?? null),
    { status: refused.status, headers: refused.headers ?? {} }
  )

// -----------------------------------------------------------------------------
// Admission: host, drain, token, body
// -----------------------------------------------------------------------------

const bearer = (header: string | undefined): Redacted.Redacted | undefined => {
  const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim())
  return match === null ? undefined : Redacted.make(match[1]!)
}

/** Before anything is read: the `Host` (without a token), the drain, the token. */
const admit = (settings: Settings, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    if (settings.hostCheck !== undefined && !(yield* settings.hostCheck)(request.headers.host)) {
      return yield* new Refused({
        status: 403,
        message: "the Host header does not name this server",
        type: "invalid_request_error",
        code: "host_not_allowed"
      })
    }
    if (yield* settings.drain.isDraining) {
      return yield* new Refused({
        status: 503,
        message: "the server is shutting down",
        type: "server_error",
        code: "server_shutting_down"
      })
    }
    const token = bearer(request.headers.authorization)
    if (!settings.authorized(token ?? Redacted.make(""))) {
      return yield* new Refused({
        status: 401,
        message: token === undefined ? "no bearer token was given" : "the bearer token is not valid",
        type: "invalid_request_error",
        code: "invalid_api_key"
      })
    }
  })

const tooLarge = (limit: number) =>
  new Refused({
    status: 413,
    message: `the request body is larger than ${limit} bytes`,
    type: "invalid_request_error",
    code: "request_too_large"
  })

const causeMessage = (error: unknown): string =>
  Predicate.hasProperty(error, "cause") && Predicate.hasProperty(error.cause, "message") &&
    typeof error.cause.message === "string"
    ? error.cause.message
    : ""

/** The first issue of a body that does not decode, as a message and the parameter it is about. */
const decodeRefusal = (error: ParseResult.ParseError): Refused => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const param = issue === undefined || issue.path.length === 0 ? undefined : issue.path.join(".")
  const message = issue === undefined ? error.message : `${param ?? "the body"}: ${issue.message}`
  return invalid(message, "invalid_body", param)
}

const decodeRequest = Schema.decodeUnknownEither(Wire.ChatRequest)

/** The body: JSON by its type, within the size limit, not nested too deep, decoded. */
const readRequest = (request: HttpServerRequest.HttpServerRequest, maxBodySize: number) =>
  Effect.gen(function*() {
    if (Number(request.headers["content-length"] ?? "0") > maxBodySize) return yield* tooLarge(maxBodySize)
    const contentType = request.headers["content-type"]
    if (!Body.isJson(contentType)) {
      return yield* new Refused({
        status: 415,
        message: `the request body must be application/json, not ${contentType ?? "untyped"}`,
        type: "invalid_request_error",
        code: "unsupported_media_type"
      })
    }
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(maxBodySize)),
      Effect.mapError((error) =>
        causeMessage(error) === "maxBytes exceeded"
          ? tooLarge(maxBodySize)
          : invalid(`the body could not be read: ${causeMessage(error)}`)
      )
    )
    if (Body.nestedDeeperThan(text, Body.maxDepth)) {
      return yield* invalid(`the body is JSON nested deeper than ${Body.maxDepth} levels`, "invalid_body")
    }
    const json = Either.try(() => JSON.parse(text) as unknown)
    if (Either.isLeft(json)) return yield* invalid("the body is not valid JSON", "invalid_json")
    return yield* Either.mapLeft(decodeRequest(json.right, { errors: "all" }), decodeRefusal)
  })

// -----------------------------------------------------------------------------
// What runs: the model's runnable, the conversation, the response format
// -----------------------------------------------------------------------------

const modelNotFound = (model: string) =>
  new Refused({
    status: 404,
    message: `The model \`${model}\` does not exist or you do not have access to it.`,
    type: "invalid_request_error",
    code: "model_not_found",
    param: "model"
  })

const servedModel = (registry: Registry.Service, model: string) => {
  const served = registry.runnables.get(model)
  return served === undefined ? Effect.fail(modelNotFound(model)) : Effect.succeed(served)
}

/** The request's messages as the run's input: a conversation, without system messages. */
const conversation = (request: Wire.ChatRequest): Effect.Effect<Run.Input, Refused> => {
  const system = request.messages.findIndex((message) => message.role === "system" || message.role === "developer")
  if (system !== -1) {
    return Effect.fail(invalid(
      "system messages are not accepted: the agent's own instructions come first",
      "system_message_not_supported",
      `messages.${system}.role`
    ))
  }
  if ((request.tools ?? []).length > 0) {
    return Effect.fail(invalid("the agent runs its own tools: a request's tools are not accepted", null, "tools"))
  }
  if (request.n != null && request.n !== 1) return Effect.fail(invalid("only one choice is made (n: 1)", null, "n"))
  return Effect.succeed(Wire.toMessages(request.messages))
}

/**
 * An output Schema from a JSON Schema: any JSON the JSON Schema accepts (see
 * `jsonSchemaValidate`), and the JSON Schema itself for the model.
 */
const jsonOutput = (jsonSchema: Readonly<Record<string, unknown>>): Schema.Schema<unknown> => {
  const { $schema: _, ...schema } = jsonSchema
  return Schema.Unknown.pipe(
    Schema.filter((value) => {
      const issues = JsonSchemaValidate.validate(schema, value)
      return issues.length === 0 ||
        issues.map((issue) => ({ path: issue.path === "(root)" ? [] : issue.path.split("."), message: issue.message }))
    }, { jsonSchema: schema })
  )
}

/**
 * The runnable that answers: an agent asked for JSON (`json_object`, or
 * `json_schema` with its schema) answers with structured output, unless it
 * has an output Schema of its own, which decides; a team cannot be asked.
 */
const formatted = (
  served: Registry.Served,
  format: Wire.ChatRequest["response_format"]
): Effect.Effect<Agent.Runnable<unknown>, Refused> => {
  if (format == null || format.type === "text") return Effect.succeed(served.runnable)
  const agent = served.runnable
  if (!Agent.isAgent(agent)) {
    return Effect.fail(invalid(
      `"${served.name}" is a team: only an agent answers in a response_format`,
      null,
      "response_format"
    ))
  }
  if (agent.outputFormat !== undefined) return Effect.succeed(agent)
  const schema = format.type === "json_object" ? { type: "object" } : format.json_schema.schema ?? {}
  return Effect.succeed(agent.withOutput(jsonOutput(schema)))
}

// -----------------------------------------------------------------------------
// Failures of a run, as OpenAI reports its own
// -----------------------------------------------------------------------------

const snake = (tag: string) => tag.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()

const retryAfter = (after: Duration.Duration | undefined): Record<string, string> => {
  if (after === undefined) return {}
  const ms = Math.ceil(Duration.toMillis(after))
  return { "retry-after": String(Math.ceil(ms / 1000)), "retry-after-ms": String(ms) }
}

/** A run's failure: 429 when the model was rate-limited, 502 for the model's other failures, 504 for timeouts. */
export const refusalOf = (error: AgentError | ServerShuttingDown): Refused => {
  const { message } = error
  const code = snake(error._tag)
  switch (error._tag) {
    case "RateLimited":
      return new Refused({
        status: 429,
        message,
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
        headers: retryAfter(error.retryAfter)
      })
    case "ModelUnavailable":
    case "InvalidRequest":
    case "AuthenticationFailed":
    case "MalformedResponse":
      return new Refused({ status: 502, message, type: "api_error", code })
    case "ModelTimeout":
    case "RunTimeout":
    case "ToolTimeout":
      return new Refused({ status: 504, message, type: "api_error", code })
    case "InputInvalid":
      return invalid(message, code, "messages")
    case "RunSuspended":
    case "SessionBusy":
      return new Refused({ status: 409, message, type: "invalid_request_error", code })
    case "ServerShuttingDown":
    case "StoreFailed":
      return new Refused({ status: 503, message, type: "server_error", code })
    default:
      return new Refused({ status: 500, message, type: "server_error", code })
  }
}

// -----------------------------------------------------------------------------
// Answers
// -----------------------------------------------------------------------------

const finishOf = (result: Run.RunResult<unknown>): Wire.FinishReason => {
  const last = result.steps[result.steps.length - 1]
  return last === undefined ? "stop" : Wire.toFinishReason(last.finishReason)
}

const tokensOf = (result: Run.RunResult<unknown>): LanguageModel.Usage => ({
  inputTokens: result.metrics.inputTokens,
  outputTokens: result.metrics.outputTokens
})

const answer = (head: Wire.Head, result: Run.RunResult<unknown>) =>
  Wire.completion(head, {
    text: result.content,
    toolCalls: [],
    finishReason: finishOf(result),
    usage: tokensOf(result)
  })

interface Streaming {
  readonly head: Wire.Head
  readonly name: string
  readonly includeUsage: boolean
}

/**
 * A run's events as chunks: the text the runnable itself streams (its own
 * path, a team's leader included), as it comes; at the end, its answer when
 * none streamed (a team whose member answered), the finish reason, the usage
 * when asked for, and `[DONE]`.
 */
const chunksOf = (
  events: Stream.Stream<RunEvent<unknown>, AgentError | ServerShuttingDown>,
  streaming: Streaming
): Stream.Stream<Uint8Array, AgentError | ServerShuttingDown> => {
  const { head, includeUsage } = streaming
  const usage = includeUsage ? null : undefined
  const delta = (content: string) => Wire.event(Wire.chunk(head, { content }, null, usage))
  return events.pipe(
    Stream.mapAccum(false, (streamed, event): [boolean, ReadonlyArray<Uint8Array>] => {
      if (event._tag === "TextDelta" && event.path.length === 1 && event.text.length > 0) {
        return [true, [delta(event.text)]]
      }
      if (event._tag !== "RunCompleted") return [streamed, []]
      const { result } = event
      return [streamed, [
        ...(streamed || result.content.length === 0 ? [] : [delta(result.content)]),
        Wire.event(Wire.chunk(head, {}, finishOf(result), usage)),
        ...(includeUsage ? [Wire.event(Wire.usageChunk(head, tokensOf(result)))] : []),
        Wire.done()
      ]]
    }),
    Stream.flattenIterables
  )
}

const sseHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

/**
 * A streamed answer. The response waits for the first text (or the end): a
 * run that fails before it answers with its error's status, as OpenAI does;
 * a failure after that is an `error` event, which ends the stream.
 */
const streamed = (
  events: Stream.Stream<RunEvent<unknown>, AgentError | ServerShuttingDown>,
  streaming: Streaming,
  headers: Record<string, string>
): Effect.Effect<HttpServerResponse.HttpServerResponse, Refused, Scope.Scope> =>
  Effect.gen(function*() {
    // pulled by hand: `Stream.peel` turns a failure after the first element into a defect
    const pull = yield* Stream.toPull(chunksOf(events, streaming))
    const first = yield* pull.pipe(
      Effect.repeat({ until: Chunk.isNonEmpty }),
      Effect.catchAll(Option.match({ onNone: () => Effect.succeed(Chunk.empty()), onSome: Effect.fail })),
      Effect.mapError(refusalOf)
    )
    const usage = streaming.includeUsage ? null : undefined
    const role = Wire.event(Wire.chunk(streaming.head, { role: "assistant", content: "" }, null, usage))
    const rest = Chunk.isEmpty(first) ? Stream.empty : Stream.repeatEffectChunkOption(pull)
    const body = Stream.concat(Stream.make(role), Stream.fromChunk(first)).pipe(
      Stream.concat(rest),
      Stream.catchAll((error) => {
        const refused = refusalOf(error)
        return Stream.make(Wire.event(Wire.errorBody(refused.message, refused.type, refused.code)))
      })
    )
    return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: { ...sseHeaders, ...headers } })
  })

/** `POST /v1/chat/completions`. */
const completions = (settings: Settings, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    yield* admit(settings, request)
    const body = yield* readRequest(request, settings.maxBodySize)
    const served = yield* servedModel(settings.registry, body.model)
    const input = yield* conversation(body)
    const runnable = yield* formatted(served, body.response_format)
    const runId = crypto.randomUUID()
    const head: Wire.Head = {
      id: `chatcmpl-${runId}`,
      created: Math.floor((yield* Clock.currentTimeMillis) / 1000),
      model: served.name
    }
    const headers = { "x-request-id": runId }
    if (body.stream === true) {
      const events = settings.drain.trackStream(runnable.stream(input, { runId }))
      const includeUsage = body.stream_options?.include_usage === true
      return yield* streamed(events, { head, name: served.name, includeUsage }, headers)
    }
    const result = yield* settings.drain.track(runnable.run(input, { runId })).pipe(Effect.mapError(refusalOf))
    return HttpServerResponse.unsafeJson(answer(head, result), { headers })
  })

/** `GET /v1/models`, or `GET /v1/models/{id}`: the agents and teams served. */
const models = (settings: Settings, request: HttpServerRequest.HttpServerRequest, id: string | undefined) =>
  Effect.gen(function*() {
    yield* admit(settings, request)
    const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const model = (served: Registry.Served) => Wire.model(served.name, created, "effect-agents")
    if (id === undefined) {
      return HttpServerResponse.unsafeJson({
        object: "list",
        data: Array.from(settings.registry.runnables.values(), model)
      })
    }
    return HttpServerResponse.unsafeJson(model(yield* servedModel(settings.registry, id)))
  })

const modelsPrefix = "/v1/models/"

/** The endpoint a request is for, if it is one of these. */
const route = (settings: Settings, request: HttpServerRequest.HttpServerRequest) => {
  const path = request.url.split("?")[0]!
  if (request.method === "POST" && path === "/v1/chat/completions") return completions(settings, request)
  if (request.method === "GET" && path === "/v1/models") return models(settings, request, undefined)
  if (request.method === "GET" && path.startsWith(modelsPrefix) && path.length > modelsPrefix.length) {
    return Either.match(Either.try(() => decodeURIComponent(path.slice(modelsPrefix.length))), {
      onLeft: () => Effect.fail(modelNotFound(path.slice(modelsPrefix.length))),
      onRight: (id) => models(settings, request, id)
    })
  }
  return undefined
}

const internalError = Wire.errorBody("internal server error", "server_error", "internal_error")

/**
 * `app` with the OpenAI-compatible endpoints in front of it. Their refusals
 * answer in OpenAI's shape; a defect answers a 500 that says no more, and
 * is logged; an interruption (the client went away) goes on as it is.
 */
export const mount = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>,
  settings: Settings
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest | Scope.Scope> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (
    request
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | Scope.Scope> => {
    const endpoint = route(settings, request)
    if (endpoint === undefined) return app
    // the server answers in an uninterruptible region: a run must be interruptible (its races, a disconnect)
    return Effect.interruptible(endpoint).pipe(
      Effect.catchTag("Refused", (refused) => Effect.succeed(respond(refused))),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.as(
            Effect.logError(`AgentServer: ${request.method} ${request.url} failed unexpectedly (500)`, cause),
            HttpServerResponse.unsafeJson(internalError, { status: 500 })
          )
      )
    )
  })
