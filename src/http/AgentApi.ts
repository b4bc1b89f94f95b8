/**
 * The HTTP API of an agent server, defined once with `@effect/platform`'s
 * `HttpApi`: the server implements it (`AgentServer`), the typed client calls
 * it (`AgentClient`), and the OpenAPI document and the docs page are generated
 * from it.
 *
 * | endpoint | does |
 * | --- | --- |
 * | `POST /v1/agents/{name}/runs` | runs an agent (or a team) to its result |
 * | `POST /v1/agents/{name}/runs/stream` | the same run as Server-Sent Events of its `RunEvent`s |
 * | `POST /v1/agents/{name}/tools/{tool}` | runs one tool of an agent with JSON arguments |
 * | `POST /v1/batches` | starts runs in the background (202 with the batch id) |
 * | `GET /v1/batches/{id}` | a batch's progress and results (`?wait=true`: once it has ended) |
 * | `DELETE /v1/batches/{id}` | cancels a batch: its runs are interrupted |
 * | `GET /v1/sessions/{id}/messages`, `POST /v1/sessions/{id}/undo`, `DELETE /v1/sessions/{id}` | a session's history, undo, clear |
 * | `GET /v1/runs/{id}` | a run suspended for approval, and its approvals; or a detached run: its status, its result when done |
 * | `GET /v1/runs/{id}/events` | a detached run's events as Server-Sent Events with ids, from `Last-Event-ID` on |
 * | `DELETE /v1/runs/{id}` | cancels a detached run |
 * | `POST /v1/runs/{id}/approvals/{approvalId}` | approves or rejects a call a suspended run waits for |
 * | `POST /v1/runs/{id}/resume` | resumes a suspended run to its result |
 * | `POST /v1/dags/{name}/runs` | runs a DAG with a JSON input to its `DagResult` |
 * | `POST /v1/dags/{name}/runs/stream` | the same run as Server-Sent Events of its `DagEvent`s |
 * | `GET /v1/dags/{name}` | a DAG's nodes and what each depends on, to draw it |
 * | `GET /health` | the names of what is served |
 *
 * Every error is a `Schema.TaggedError` with its HTTP status: a body that
 * does not match the Schema is a 400 `HttpApiDecodeError` with the issues, an
 * unknown agent, tool or batch a 404, a missing or wrong bearer token a 401,
 * a `Host` that is not the server's (without a token) a 403, a body over the
 * size limit a 413, a body that is not JSON a 415, a defect a 500
 * `InternalError`, a server shutting down a 503, and a run that fails
 * answers with its typed `AgentError` (502 for model errors, 504 for
 * timeouts, 409 for a run suspended for approval, 500 for the rest).
 *
 * @example
 * ```ts
 * import { OpenApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * const spec = OpenApi.fromApi(AgentApi.Api)
 * console.log(Object.keys(spec.paths))
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import * as AgentError from "../AgentError.js"
import * as Approval from "../Approval.js"
import * as Dag from "../Dag.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Run from "../Run.js"
import * as RunEventModule from "../RunEvent.js"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * No agent (or team) of that name is served. `available` lists the names
 * that are.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.AgentNotFound({ agent: "writer", available: ["researcher"] })
 * console.log(error.message) // 'no agent named "writer"; served: researcher'
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>()("AgentNotFound", {
  agent: Schema.String,
  available: Schema.Array(Schema.String)
}, HttpApiSchema.annotations({ status: 404, description: "No agent or team of that name is served" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no agent named "${this.agent}"; served: ${this.available.join(", ") || "(none)"}`
  }
}

/**
 * No batch of that id (it never existed, or it was evicted).
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.BatchNotFound({ id: "0d6c…" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  id: Schema.String
}, HttpApiSchema.annotations({ status: 404, description: "No batch of that id" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no batch with id "${this.id}"`
  }
}

/**
 * The batch runs on another server sharing the store: only that server can
 * cancel it.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.BatchRunsElsewhere({ id: "0d6c…" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchRunsElsewhere extends Schema.TaggedError<BatchRunsElsewhere>()("BatchRunsElsewhere", {
  id: Schema.String
}, HttpApiSchema.annotations({ status: 409, description: "The batch runs on another server" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `batch "${this.id}" runs on another server; only that one can cancel it`
  }
}

/**
 * The request has no bearer token, or not the right one.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.Unauthorized({ message: "missing or invalid bearer token" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 401, description: "A valid bearer token is required" })) {}

/**
 * The request's body is larger than the server accepts; it was not read.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.PayloadTooLarge({ limit: 1_048_576 })
 * console.log(error.message) // "the request body is larger than 1048576 bytes"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limit: Schema.Number
}, HttpApiSchema.annotations({ status: 413, description: "The request body is over the size limit" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `the request body is larger than ${this.limit} bytes`
  }
}

/**
 * The request has a body that is not `application/json` (parameters such as
 * `; charset=utf-8` are fine). Every endpoint with a body takes JSON only:
 * a web page can send a form, a multipart or a text body to any server
 * without asking, but not JSON.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.UnsupportedMediaType({ message: "the body must be application/json, not text/plain" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 415, description: "The request body is not application/json" })) {}

/**
 * The request's `Host` header does not name the server: without a bearer
 * token, a server answers only to its own names (its host, `localhost`,
 * `127.0.0.1` and `[::1]`, at its port) and to its `allowedHosts`, so that a
 * web page whose name resolves to the server's address (DNS rebinding)
 * cannot call it.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.HostNotAllowed({ message: "the Host \"evil.example\" does not name this server" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HostNotAllowed extends Schema.TaggedError<HostNotAllowed>()("HostNotAllowed", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 403, description: "The Host header does not name this server" })) {}

/**
 * The server failed in a way it did not expect (a defect: a bug). The answer
 * says no more; the server logs the defect.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.InternalError({ message: "internal server error" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 500, description: "The server failed unexpectedly; it logged why" })) {}

/**
 * The server is shutting down: it takes no new requests, and a run still
 * going when the grace period ends is interrupted with this error.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.ServerShuttingDown()
 * console.log(error.message) // "the server is shutting down"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerShuttingDown extends Schema.TaggedError<ServerShuttingDown>()(
  "ServerShuttingDown",
  {},
  HttpApiSchema.annotations({ status: 503, description: "The server is shutting down" })
) {
  /** @since 0.1.0 */
  override get message(): string {
    return "the server is shutting down"
  }
}

const withStatus = <A>(status: number) => HttpApiSchema.annotations<A>({ status })

/**
 * A `ToolFailed` over HTTP: its `tool` and `message`, never the `error` it
 * holds in memory (what the handler failed with, such as an HTTP client's
 * error with the request's credentials). Decoded, it is a `ToolFailed`
 * without `error`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentError } from "effect-agents"
 * import { AgentApi } from "effect-agents/http"
 *
 * const failure = new AgentError.ToolFailed({ tool: "fetch", message: "401", error: { authorization: "Bearer …" } })
 * const body = Schema.encodeSync(AgentApi.ToolFailed)(failure)
 * // { _tag: "ToolFailed", tool: "fetch", message: "401" }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ToolFailed = Schema.transform(
  Schema.TaggedStruct("ToolFailed", { tool: Schema.String, message: Schema.String }),
  Schema.typeSchema(AgentError.ToolFailed),
  {
    strict: true,
    decode: ({ message, tool }) => new AgentError.ToolFailed({ tool, message }),
    encode: ({ message, tool }) => ({ _tag: "ToolFailed" as const, tool, message })
  }
).annotations({ identifier: "ToolFailed", ...withStatus(500) })

/**
 * What running a tool directly can fail with: the `ToolError`s, each with
 * its status: an unknown tool 404, arguments that do not decode 400 (with
 * the Schema issues), a failed handler 500 (its message only: see
 * {@link ToolFailed}), a timeout 504.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentError } from "effect-agents"
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = Schema.decodeUnknownSync(AgentApi.ToolError)({ _tag: "ToolNotFound", tool: "x", available: [] })
 * console.log(error instanceof AgentError.ToolNotFound) // true
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const ToolError = Schema.Union(
  AgentError.ToolNotFound.annotations(withStatus(404)),
  AgentError.ToolInputInvalid.annotations(withStatus(400)),
  ToolFailed,
  AgentError.ToolTimeout.annotations(withStatus(504))
)

/**
 * What a run can fail with over HTTP: every `AgentError`, each with its
 * status. Model errors are 502 (the model upstream failed), timeouts 504,
 * the tool errors as in {@link ToolError}, `InputInvalid` 400 (the API's
 * own Schema rejects such an input first), `GuardrailTripped` 422 (a check
 * refused the input or the answer), and the rest 500 (`BudgetExceeded`
 * included: a limit the run was given, not a rate to retry after). The body is the
 * encoded error, so clients get the typed error back.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentError } from "effect-agents"
 * import { AgentApi } from "effect-agents/http"
 *
 * const body = Schema.encodeSync(AgentApi.RunError)(new AgentError.MaxStepsExceeded({ agent: "a", maxSteps: 3 }))
 * // { _tag: "MaxStepsExceeded", agent: "a", maxSteps: 3 }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const RunError = Schema.Union(
  AgentError.RateLimited.annotations(withStatus(502)),
  AgentError.ModelUnavailable.annotations(withStatus(502)),
  AgentError.InvalidRequest.annotations(withStatus(502)),
  AgentError.AuthenticationFailed.annotations(withStatus(502)),
  AgentError.MalformedResponse.annotations(withStatus(502)),
  AgentError.ModelTimeout.annotations(withStatus(504)),
  ...ToolError.members,
  AgentError.MaxStepsExceeded.annotations(withStatus(500)),
  AgentError.RunTimeout.annotations(withStatus(504)),
  AgentError.OutputInvalid.annotations(withStatus(500)),
  AgentError.InputInvalid.annotations(withStatus(400)),
  AgentError.SessionBusy.annotations(withStatus(409)),
  AgentError.StoreFailed.annotations(withStatus(503)),
  AgentError.RunSuspended.annotations(withStatus(409)),
  AgentError.RunNotFound.annotations(withStatus(404)),
  AgentError.BudgetExceeded.annotations(withStatus(500)),
  AgentError.GuardrailTripped.annotations(withStatus(422)),
  AgentError.MaxHandoffsExceeded.annotations(withStatus(500))
)

/**
 * An error event of a stream: the run's typed error, the server's shutting
 * down, or an `InternalError` (the run died of a defect, which the server
 * logged).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = Schema.decodeUnknownSync(AgentApi.StreamError)({ _tag: "ServerShuttingDown" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const StreamError = Schema.Union(...RunError.members, ServerShuttingDown, InternalError)

/**
 * @since 0.1.0
 * @category errors
 */
export type StreamError = typeof StreamError.Type

// -----------------------------------------------------------------------------
// Runs
// -----------------------------------------------------------------------------

/**
 * A message of a conversation sent as input. System messages are not
 * accepted: the agent's own instructions always come first.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const message = Schema.decodeUnknownSync(AgentApi.InputMessage)({ role: "user", content: "Hi" })
 * ```
 *
 * @since 0.1.0
 * @category runs
 */
export const InputMessage = Schema.Union(
  LanguageModel.UserMessage,
  LanguageModel.AssistantMessage,
  LanguageModel.ToolMessage
).annotations({ identifier: "InputMessage" })

/**
 * What a run starts from: the user's message, or a conversation to continue.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const input = Schema.decodeUnknownSync(AgentApi.Input)([{ role: "user", content: "Hi" }])
 * ```
 *
 * @since 0.1.0
 * @category runs
 */
export const Input = Schema.Union(
  Schema.String,
  Schema.Array(InputMessage).pipe(Schema.minItems(1))
).annotations({ identifier: "Input", description: "A message, or a conversation without system messages" })

/**
 * @since 0.1.0
 * @category runs
 */
export type Input = typeof Input.Type

/**
 * The body of a run: its input, and optionally the run's id (for your logs;
 * default a random UUID) and the session it continues (the server needs a
 * `SessionStore`).
 *
 * @since 0.1.0
 * @category runs
 */
const Id = Schema.String.pipe(Schema.pattern(/^[\w.:-]{1,128}$/)).annotations({
  description: "Letters, digits, '_', '-', '.', ':' (at most 128)"
})

export const RunRequest = Schema.Struct({
  input: Input,
  runId: Schema.optional(Id),
  sessionId: Schema.optional(Id.annotations({
    description: "The session the run continues: its history goes before the input, its turn is appended"
  })),
  durable: Schema.optional(Schema.Boolean.annotations({
    description: "Run durably: the run survives a restart of the server; the same runId again is the same run"
  })),
  detach: Schema.optional(Schema.Boolean.annotations({
    description: "Answer 202 with the run's id at once (RunAccepted): the run goes on without the client; " +
      "GET /v1/runs/{id}/events follows it, DELETE /v1/runs/{id} cancels it"
  }))
}).annotations({ identifier: "RunRequest" })

/**
 * @since 0.1.0
 * @category runs
 */
export type RunRequest = typeof RunRequest.Type

/**
 * A run's result over HTTP: the core's `Run` result (an agent's, or a
 * team's with its leader and members, flat), its `output` as JSON (the
 * encoded form of a typed output) and a failed member's error as the wire's
 * `RunError`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * declare const body: unknown
 * const result = Schema.decodeUnknownSync(AgentApi.RunResult)(body)
 * ```
 *
 * @since 0.1.0
 * @category runs
 */
export const RunResult = Run.anyRunResult(Schema.Unknown, RunError)

/**
 * @since 0.1.0
 * @category runs
 */
export type RunResult = typeof RunResult.Type

/**
 * The events of a streamed run over HTTP, one Server-Sent Event each, named
 * by their tag: the core's `RunEvent`s, `RunCompleted` with a
 * {@link RunResult}.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const event = Schema.decodeUnknownSync(AgentApi.RunEvent)({
 *   _tag: "TextDelta", runId: "r1", agent: "assistant", path: ["assistant"], step: 0, text: "Hel"
 * })
 * ```
 *
 * @since 0.1.0
 * @category runs
 */
export const RunEvent = RunEventModule.schema(RunResult)

/**
 * @since 0.1.0
 * @category runs
 */
export type RunEvent = typeof RunEvent.Type

// -----------------------------------------------------------------------------
// Tools
// -----------------------------------------------------------------------------

/**
 * What a tool run directly answered: its result as JSON (encoded with the
 * tool's `success` Schema when it has one) and the text a model would read.
 *
 * @since 0.1.0
 * @category tools
 */
export const ToolResult = Schema.Struct({
  tool: Schema.String,
  result: Schema.Unknown,
  content: Schema.String
}).annotations({ identifier: "ToolResult" })

/**
 * @since 0.1.0
 * @category tools
 */
export type ToolResult = typeof ToolResult.Type

// -----------------------------------------------------------------------------
// Batches
// -----------------------------------------------------------------------------

/**
 * The body of a batch: one agent, the inputs to run it on, and how many run
 * at once (default: the server's `batchConcurrency`).
 *
 * @since 0.1.0
 * @category batches
 */
export const BatchRequest = Schema.Struct({
  agent: Schema.String,
  inputs: Schema.Array(Input).pipe(Schema.minItems(1)).annotations({
    description: "At most the server's maxBatchInputs (default 1000); more is a 413 BatchTooLarge"
  }),
  concurrency: Schema.optional(Schema.Int.pipe(Schema.between(1, 64)))
}).annotations({ identifier: "BatchRequest" })

/**
 * @since 0.1.0
 * @category batches
 */
export type BatchRequest = typeof BatchRequest.Type

/**
 * The batch has more inputs than the server takes in one (its
 * `maxBatchInputs`); nothing ran.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.BatchTooLarge({ inputs: 5000, limit: 1000 })
 * console.log(error.message) // "a batch takes at most 1000 inputs; this one has 5000"
 * ```
 *
 * @since 0.1.0
 * @category batches
 */
export class BatchTooLarge extends Schema.TaggedError<BatchTooLarge>()("BatchTooLarge", {
  inputs: Schema.Number,
  limit: Schema.Number
}, HttpApiSchema.annotations({ status: 413, description: "The batch has more inputs than the server takes" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `a batch takes at most ${this.limit} inputs; this one has ${this.inputs}`
  }
}

/**
 * The answer to a new batch (202): its id, to ask for its progress.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const id = client.batches.create({ payload: { agent: "summariser", inputs: ["one", "two"] } }).pipe(
 *   Effect.map((accepted) => accepted.id)
 * )
 * ```
 *
 * @since 0.1.0
 * @category batches
 */
export const BatchAccepted = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  total: Schema.Number
}).annotations({ identifier: "BatchAccepted" })

/**
 * @since 0.1.0
 * @category batches
 */
export type BatchAccepted = typeof BatchAccepted.Type

/**
 * Where one run of a batch is.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const isStatus = Schema.is(AgentApi.ItemStatus)
 * ```
 *
 * @since 0.1.0
 * @category batches
 */
export const ItemStatus = Schema.Literal("pending", "running", "done", "failed", "cancelled")

/**
 * @since 0.1.0
 * @category batches
 */
export type ItemStatus = typeof ItemStatus.Type

/**
 * One run of a batch: `result` once done, `error` once failed.
 *
 * @since 0.1.0
 * @category batches
 */
export const BatchItem = Schema.Struct({
  index: Schema.Number,
  status: ItemStatus,
  result: Schema.optional(RunResult),
  error: Schema.optional(RunError)
}).annotations({ identifier: "BatchItem" })

/**
 * @since 0.1.0
 * @category batches
 */
export type BatchItem = typeof BatchItem.Type

/**
 * Where a batch is: `running` until every run has ended (`completed`), or
 * `cancelled` (`DELETE /v1/batches/{id}`), or `interrupted`: its server
 * stopped (or died) while it ran; the runs that had ended keep their
 * results, the others are `cancelled`.
 *
 * @since 0.1.0
 * @category batches
 */
export const BatchStatus = Schema.Literal("running", "completed", "cancelled", "interrupted")

/**
 * @since 0.1.0
 * @category batches
 */
export type BatchStatus = typeof BatchStatus.Type

/**
 * A batch: its status, counts per item status, and every item in input order.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const progress = client.batches.get({ path: { id: "…" }, urlParams: {} }).pipe(Effect.map((batch) => batch.progress))
 * ```
 *
 * @since 0.1.0
 * @category batches
 */
export const Batch = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  status: BatchStatus,
  total: Schema.Number,
  progress: Schema.Struct({
    done: Schema.Number,
    failed: Schema.Number,
    pending: Schema.Number,
    running: Schema.Number,
    cancelled: Schema.Number
  }),
  results: Schema.Array(BatchItem),
  createdAt: Schema.DateTimeUtc,
  finishedAt: Schema.optional(Schema.DateTimeUtc)
}).annotations({ identifier: "Batch" })

/**
 * @since 0.1.0
 * @category batches
 */
export type Batch = typeof Batch.Type

// -----------------------------------------------------------------------------
// DAGs
// -----------------------------------------------------------------------------

/**
 * No DAG of that name is served. `available` lists the names that are.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.DagNotFound({ dag: "report", available: ["etl"] })
 * console.log(error.message) // 'no DAG named "report"; served: etl'
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export class DagNotFound extends Schema.TaggedError<DagNotFound>()("DagNotFound", {
  dag: Schema.String,
  available: Schema.Array(Schema.String)
}, HttpApiSchema.annotations({ status: 404, description: "No DAG of that name is served" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no DAG named "${this.dag}"; served: ${this.available.join(", ") || "(none)"}`
  }
}

/**
 * The input does not decode with the DAG's input Schema; nothing ran.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.DagInputInvalid({ dag: "report", issues: [{ path: "quarter", message: "is missing" }] })
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export class DagInputInvalid extends Schema.TaggedError<DagInputInvalid>()("DagInputInvalid", {
  dag: Schema.String,
  issues: Schema.Array(AgentError.Issue)
}, HttpApiSchema.annotations({ status: 400, description: "The input does not match the DAG's input Schema" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `the input of DAG "${this.dag}" is invalid: ${
      this.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")
    }`
  }
}

/**
 * What a DAG's run can fail with over HTTP, before any node runs: a mistake
 * in a DAG built from names known only at run time (500). A node's failure
 * is not an error of the request: it is in the result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = Schema.decodeUnknownSync(AgentApi.DagError)({ _tag: "DuplicateNode", dag: "d", node: "n" })
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export const DagError = Schema.Union(
  Dag.DuplicateNode.annotations(withStatus(500)),
  Dag.UnknownDependency.annotations(withStatus(500))
)

/**
 * A request to run a DAG: its input as JSON (decoded by the DAG's input
 * Schema), and `Dag.run`'s options.
 *
 * @since 0.1.0
 * @category dags
 */
export const DagRunRequest = Schema.Struct({
  input: Schema.Unknown.annotations({ description: "The DAG's input, as its input Schema encodes it" }),
  concurrency: Schema.optional(
    Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)).annotations({ description: "Nodes running at once" })
  ),
  onFailure: Schema.optional(Schema.Literal("fail-fast", "continue"))
}).annotations({ identifier: "DagRunRequest" })

/**
 * @since 0.1.0
 * @category dags
 */
export type DagRunRequest = typeof DagRunRequest.Type

/**
 * A node of a DAG's result, as `Dag.NodeResult` on the wire (`Run.nodeResult`):
 * `output` and `error` as JSON (an error as its fields, with its `_tag` and
 * `message`).
 *
 * @since 0.1.0
 * @category dags
 */
export const DagNodeResult = Run.nodeResult(Schema.Unknown, Schema.Unknown)

/**
 * @since 0.1.0
 * @category dags
 */
export type DagNodeResult = typeof DagNodeResult.Type

/**
 * The result of a DAG's run, as `Dag.DagResult` on the wire.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const status = client.dags.run({ path: { name: "report" }, payload: { input: "Q3" } }).pipe(
 *   Effect.map((result) => result.status)
 * )
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export const DagResult = Run.dagResult(Schema.Unknown, Schema.Unknown)

/**
 * @since 0.1.0
 * @category dags
 */
export type DagResult = typeof DagResult.Type

/**
 * A served DAG's structure, to draw it: its nodes in the order they were
 * added (every node after its dependencies), each with the nodes it depends on.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentClient } from "effect-agents/http"
 *
 * declare const client: AgentClient.Client
 * const edges = client.dags.get({ path: { name: "report" } }).pipe(
 *   Effect.map((info) => info.nodes.flatMap((node) => node.dependsOn.map((from) => [from, node.name])))
 * )
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export const DagInfo = Schema.Struct({
  name: Schema.String,
  nodes: Schema.Array(Schema.Struct({ name: Schema.String, dependsOn: Schema.Array(Schema.String) }))
}).annotations({ identifier: "DagInfo" })

/**
 * @since 0.1.0
 * @category dags
 */
export type DagInfo = typeof DagInfo.Type

/**
 * The events of a streamed DAG run over HTTP (`Dag.stream`'s), one
 * Server-Sent Event each, named by their tag: the node events (a failed
 * node's error as JSON, as in {@link DagResult}), the events of the agents
 * running inside nodes (paths like `[dag, node, agent]`), and last
 * `DagCompleted` with the {@link DagResult}.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const event = Schema.decodeUnknownSync(AgentApi.DagEvent)({
 *   _tag: "NodeStarted", dag: "report", node: "ingest", path: ["report", "ingest"], startMs: 0
 * })
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export const DagEvent = Schema.Union(
  RunEventModule.NodeStarted,
  RunEventModule.NodeCompleted,
  RunEventModule.NodeFailed,
  RunEventModule.NodeInterrupted,
  RunEventModule.NodeSkipped,
  Schema.TaggedStruct("DagCompleted", { dag: Schema.String, path: Schema.Array(Schema.String), result: DagResult }),
  RunEventModule.RunStarted,
  RunEventModule.TextDelta,
  RunEventModule.ToolCallStarted,
  RunEventModule.ToolProgress,
  RunEventModule.ToolCallCompleted,
  RunEventModule.StepCompleted,
  RunEventModule.MemberCompleted,
  RunEventModule.ApprovalRequested,
  RunEventModule.GuardrailTripped,
  RunEventModule.Handoff
).annotations({ identifier: "DagEvent" })

/**
 * @since 0.1.0
 * @category dags
 */
export type DagEvent = typeof DagEvent.Type

/**
 * The `error` event that ends a streamed DAG run: a mistake in a DAG built
 * from names known only at run time, the server's shutting down, or an
 * `InternalError` (a defect, which the server logged). A node's failure is
 * not one: it is a `NodeFailed` event, and in the result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = Schema.decodeUnknownSync(AgentApi.DagStreamError)({ _tag: "ServerShuttingDown" })
 * ```
 *
 * @since 0.1.0
 * @category dags
 */
export const DagStreamError = Schema.Union(...DagError.members, ServerShuttingDown, InternalError)

/**
 * @since 0.1.0
 * @category dags
 */
export type DagStreamError = typeof DagStreamError.Type

// -----------------------------------------------------------------------------
// Health
// -----------------------------------------------------------------------------

/**
 * What `GET /health` answers: the names of what is served, by kind.
 *
 * @since 0.1.0
 * @category health
 */
export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  agents: Schema.Array(Schema.String),
  teams: Schema.Array(Schema.String),
  dags: Schema.Array(Schema.String)
}).annotations({ identifier: "Health" })

/**
 * @since 0.1.0
 * @category health
 */
export type Health = typeof Health.Type

// -----------------------------------------------------------------------------
// Security
// -----------------------------------------------------------------------------

/**
 * The bearer-token check of the agent and batch endpoints. The server's
 * implementation lets every request through when no token is configured.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * console.log(AgentApi.Authorization.key) // "effect-agents/http/Authorization"
 * ```
 *
 * @since 0.1.0
 * @category security
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("effect-agents/http/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

// -----------------------------------------------------------------------------
// Endpoints
// -----------------------------------------------------------------------------

const NamePath = Schema.Struct({ name: Schema.String })

/**
 * The request names a session, and the server has no `SessionStore`.
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.SessionsNotServed()
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionsNotServed extends Schema.TaggedError<SessionsNotServed>()(
  "SessionsNotServed",
  {},
  HttpApiSchema.annotations({ status: 501, description: "The server keeps no sessions (it has no SessionStore)" })
) {
  /** @since 0.1.0 */
  override get message(): string {
    return "this server keeps no sessions: give its layer a SessionStore"
  }
}

/**
 * The request asks for a durable run that the server cannot make: it runs
 * nothing durably (its layer was given no `Durable.layerServed`), the run
 * is streamed or continues a session (durable runs do not).
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.DurableNotServed({ reason: "durable runs are not streamed" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class DurableNotServed extends Schema.TaggedError<DurableNotServed>()(
  "DurableNotServed",
  { reason: Schema.String },
  HttpApiSchema.annotations({ status: 501, description: "The server cannot run this durably" })
) {
  /** @since 0.1.0 */
  override get message(): string {
    return `no durable run: ${this.reason}`
  }
}

/**
 * A detached run was asked for with the id of a run the server already
 * logs: nothing ran (a new run would hide the first's log).
 *
 * @example
 * ```ts
 * import { AgentApi } from "effect-agents/http"
 *
 * const error = new AgentApi.RunExists({ runId: "story-1" })
 * console.log(error.message) // 'a run with id "story-1" is already logged'
 * ```
 *
 * @since 0.1.0
 * @category detached runs
 */
export class RunExists extends Schema.TaggedError<RunExists>()("RunExists", {
  runId: Schema.String
}, HttpApiSchema.annotations({ status: 409, description: "A run with this id is already logged" })) {
  /** @since 0.1.0 */
  override get message(): string {
    return `a run with id "${this.runId}" is already logged`
  }
}

/**
 * The runs and tools of agents (and teams, which are served like agents).
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * // the agents' endpoints, in an API of your own
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.Agents) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class Agents extends HttpApiGroup.make("agents")
  .add(
    HttpApiEndpoint.post("run", "/v1/agents/:name/runs")
      .setPath(NamePath)
      .setPayload(RunRequest)
      .addSuccess(RunResult)
      .addError(AgentNotFound)
      .addError(SessionsNotServed)
      .addError(DurableNotServed)
      .addError(RunExists)
      .addError(RunError)
      .annotate(OpenApi.Summary, "Run an agent to its result")
  )
  .add(
    HttpApiEndpoint.post("stream", "/v1/agents/:name/runs/stream")
      .setPath(NamePath)
      .setPayload(RunRequest)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(AgentNotFound)
      .addError(SessionsNotServed)
      .addError(DurableNotServed)
      .annotate(OpenApi.Summary, "Run an agent, streaming its events")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events: one event per RunEvent, named by its _tag (data: the event as JSON), " +
          "ending with RunCompleted; a failed run ends with an `error` event whose data is the encoded error " +
          "(InternalError when the run died of a defect)."
      )
  )
  .add(
    HttpApiEndpoint.post("tool", "/v1/agents/:name/tools/:tool")
      .setPath(Schema.Struct({ name: Schema.String, tool: Schema.String }))
      .setPayload(Schema.Unknown.annotations({ description: "The tool's arguments" }))
      .addSuccess(ToolResult)
      .addError(AgentNotFound)
      .addError(ToolError)
      .annotate(OpenApi.Summary, "Run one tool of an agent")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Agents")
  .annotate(OpenApi.Description, "Runs of agents and teams, and their tools")
{}

/**
 * A session's messages, oldest first.
 *
 * @since 0.1.0
 * @category sessions
 */
export const SessionMessages = Schema.Struct({
  id: Schema.String,
  messages: Schema.Array(LanguageModel.Message)
}).annotations({ identifier: "SessionMessages" })

const SessionPath = Schema.Struct({ id: Id })

/**
 * The conversations runs continue (`sessionId` on a run).
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.Sessions) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class Sessions extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.get("messages", "/v1/sessions/:id/messages")
      .setPath(SessionPath)
      .addSuccess(SessionMessages)
      .addError(SessionsNotServed)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "A session's history (empty for a session that has none)")
  )
  .add(
    HttpApiEndpoint.post("undo", "/v1/sessions/:id/undo")
      .setPath(SessionPath)
      // a JSON body, even empty, as every POST here: a browser cannot send one across sites
      .setPayload(Schema.Struct({}))
      .addSuccess(SessionMessages.annotations({ description: "The turn removed" }))
      .addError(SessionsNotServed)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Remove a session's last turn, and give it back")
  )
  .add(
    HttpApiEndpoint.del("clear", "/v1/sessions/:id")
      .setPath(SessionPath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(SessionsNotServed)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Forget a session")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Sessions")
{}

const IdPath = Schema.Struct({ id: Schema.String })

// -----------------------------------------------------------------------------
// Detached runs and their event logs
// -----------------------------------------------------------------------------

/**
 * The answer to a detached run (`"detach": true`, 202): its id, to follow it.
 *
 * @since 0.1.0
 * @category detached runs
 */
export const RunAccepted = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String
}).annotations({ identifier: "RunAccepted" })

/**
 * @since 0.1.0
 * @category detached runs
 */
export type RunAccepted = typeof RunAccepted.Type

/**
 * Where a logged run is: `running`, or how it ended: `completed`, `failed`
 * (with its error), `cancelled` (`DELETE /v1/runs/{id}`) or `interrupted`
 * (its server stopped while it ran).
 *
 * @since 0.1.0
 * @category detached runs
 */
export const LoggedRunStatus = Schema.Literal("running", "completed", "failed", "cancelled", "interrupted")

/**
 * A run whose events the server logs: its status, how many events it has,
 * its result once completed or its error once failed.
 *
 * @since 0.1.0
 * @category detached runs
 */
export const LoggedRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  status: LoggedRunStatus,
  events: Schema.Number,
  result: Schema.optional(RunResult),
  error: Schema.optional(StreamError),
  /** Milliseconds since the epoch. */
  startedAt: Schema.Number,
  finishedAt: Schema.optional(Schema.Number)
}).annotations({ identifier: "LoggedRun" })

/**
 * @since 0.1.0
 * @category detached runs
 */
export type LoggedRun = typeof LoggedRun.Type

// -----------------------------------------------------------------------------
// Runs suspended for approval
// -----------------------------------------------------------------------------

/**
 * A run suspended for approval: its approvals, decided or not.
 *
 * @since 0.1.0
 * @category runs
 */
export const SuspendedRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  status: Schema.Literal("suspended"),
  approvals: Schema.Array(Approval.Approval),
  /** When it suspended (milliseconds since the epoch). */
  suspendedAt: Schema.Number
}).annotations({ identifier: "SuspendedRun" })

/**
 * @since 0.1.0
 * @category runs
 */
export type SuspendedRun = typeof SuspendedRun.Type

/**
 * A person's decision on one approval: `approve` (with `always`: every
 * later call of the tool in the run), or not (the model reads `message`).
 *
 * @since 0.1.0
 * @category runs
 */
export const DecisionRequest = Schema.Struct({
  approve: Schema.Boolean,
  always: Schema.optional(Schema.Boolean),
  message: Schema.optional(Schema.String.pipe(Schema.maxLength(10_000))),
  by: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
}).annotations({ identifier: "DecisionRequest" })

/**
 * @since 0.1.0
 * @category runs
 */
export type DecisionRequest = typeof DecisionRequest.Type

const ApprovalPath = Schema.Struct({ id: Schema.String, approvalId: Schema.String })

/**
 * Runs suspended for approval: what they wait for, the decisions, and
 * resuming them.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.Runs) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class Runs extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.get("get", "/v1/runs/:id")
      .setPath(IdPath)
      .addSuccess(SuspendedRun)
      .addSuccess(LoggedRun)
      .addError(AgentError.RunNotFound.annotations(withStatus(404)))
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(
        OpenApi.Summary,
        "A suspended run and the approvals it waits for, or a logged run: its status and result"
      )
  )
  .add(
    HttpApiEndpoint.post("decide", "/v1/runs/:id/approvals/:approvalId")
      .setPath(ApprovalPath)
      .setPayload(DecisionRequest)
      .addSuccess(SuspendedRun)
      .addError(AgentError.RunNotFound.annotations(withStatus(404)))
      .addError(AgentError.ApprovalNotPending.annotations(withStatus(409)))
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Approve or reject a tool call a suspended run waits for")
  )
  .add(
    HttpApiEndpoint.post("resume", "/v1/runs/:id/resume")
      .setPath(IdPath)
      .setPayload(Schema.Struct({}))
      .addSuccess(RunResult)
      .addError(AgentNotFound)
      .addError(RunError)
      .annotate(
        OpenApi.Summary,
        "Resume a suspended run with the decisions given: its result, or 409 if it suspends again"
      )
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Runs")
{}

/**
 * The logs of detached runs: their events from the start or from a
 * `Last-Event-ID`, and cancelling them.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.RunLogs) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class RunLogs extends HttpApiGroup.make("runLogs")
  .add(
    HttpApiEndpoint.get("events", "/v1/runs/:id/events")
      .setPath(IdPath)
      .setHeaders(Schema.Struct({
        "last-event-id": Schema.optional(
          Schema.NumberFromString.annotations({ description: "The id of the last event received: those after it" })
        )
      }))
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(AgentError.RunNotFound.annotations(withStatus(404)))
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "A logged run's events, from the start or after Last-Event-ID, then live")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events as on POST …/runs/stream, each with its `id` (1, 2, …): a client that reconnects " +
          "with the Last-Event-ID header gets every event after it, then the live rest; the stream ends with " +
          "RunCompleted or an `error` event (ServerShuttingDown for a run interrupted by its server's stop, " +
          "InternalError for a cancelled one)."
      )
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/runs/:id")
      .setPath(IdPath)
      .addSuccess(LoggedRun)
      .addError(AgentError.RunNotFound.annotations(withStatus(404)))
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Cancel a detached run: it is interrupted; answers it once it has ended")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Detached runs")
{}

/**
 * Background batches of runs.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.Batches) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class Batches extends HttpApiGroup.make("batches")
  .add(
    HttpApiEndpoint.post("create", "/v1/batches")
      .setPayload(BatchRequest)
      .addSuccess(BatchAccepted, { status: 202 })
      .addError(AgentNotFound)
      .addError(BatchTooLarge)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Start a batch of runs in the background")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/batches/:id")
      .setPath(IdPath)
      .setUrlParams(Schema.Struct({
        wait: Schema.optional(
          Schema.BooleanFromString.annotations({ description: "true: answer once the batch has ended (long poll)" })
        )
      }))
      .addSuccess(Batch)
      .addError(BatchNotFound)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "A batch's progress and results")
  )
  .add(
    HttpApiEndpoint.del("cancel", "/v1/batches/:id")
      .setPath(IdPath)
      .addSuccess(Batch)
      .addError(BatchNotFound)
      .addError(BatchRunsElsewhere)
      .addError(AgentError.StoreFailed.annotations(withStatus(503)))
      .annotate(OpenApi.Summary, "Cancel a batch: its runs are interrupted")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Batches")
{}

/**
 * Runs of DAGs.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.Dags) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class Dags extends HttpApiGroup.make("dags")
  .add(
    HttpApiEndpoint.post("run", "/v1/dags/:name/runs")
      .setPath(NamePath)
      .setPayload(DagRunRequest)
      .addSuccess(DagResult)
      .addError(DagNotFound)
      .addError(DagInputInvalid)
      .addError(DagError)
      .annotate(OpenApi.Summary, "Run a DAG to its result")
      .annotate(
        OpenApi.Description,
        "Every node starts as soon as its dependencies are done. The answer is 200 with the result, " +
          "whatever the nodes did: a failed node is in the result (status failed or partial)."
      )
  )
  .add(
    HttpApiEndpoint.post("stream", "/v1/dags/:name/runs/stream")
      .setPath(NamePath)
      .setPayload(DagRunRequest)
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(DagNotFound)
      .addError(DagInputInvalid)
      .annotate(OpenApi.Summary, "Run a DAG, streaming its events")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events: one event per DagEvent, named by its _tag (data: the event as JSON), " +
          "ending with DagCompleted; a run that cannot start ends with an `error` event whose data is a DagStreamError."
      )
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/dags/:name")
      .setPath(NamePath)
      .addSuccess(DagInfo)
      .addError(DagNotFound)
      .annotate(OpenApi.Summary, "A DAG's nodes and their dependencies")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "DAGs")
{}

/**
 * `GET /health`, without authentication.
 *
 * @example
 * ```ts
 * import { HttpApi } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * class MyApi extends HttpApi.make("my-api").add(AgentApi.System) {}
 * ```
 *
 * @since 0.1.0
 * @category groups
 */
export class System extends HttpApiGroup.make("system", { topLevel: true })
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Health)
      .annotate(OpenApi.Summary, "What is served")
  )
  .annotate(OpenApi.Title, "System")
{}

/**
 * The whole API. Errors of every endpoint: a body that does not decode (400), a `Host` that does not name the server when it has
 * no token (403), a body over the size limit (413), a body that is not
 * `application/json` (415), a defect (500 `InternalError`), a server shutting
 * down (503).
 *
 * @example
 * ```ts
 * import { HttpApiClient } from "@effect/platform"
 * import { AgentApi } from "effect-agents/http"
 *
 * const client = HttpApiClient.make(AgentApi.Api, { baseUrl: "http://127.0.0.1:8080" })
 * ```
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends HttpApi.make("effect-agents")
  .add(Agents)
  .add(Batches)
  .add(Sessions)
  .add(Runs)
  .add(RunLogs)
  .add(Dags)
  .add(System)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .addError(HostNotAllowed)
  .addError(ServerShuttingDown)
  .addError(InternalError)
  .annotate(OpenApi.Title, "effect-agents")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.Description, "Agents, teams, DAGs and batches of runs over HTTP")
{}
