import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createServer } from "node:http"
import * as Script from "../internal/testing/script.js"
import type * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import type { Script as ScriptType, Turn } from "./ScriptedModel.js"

/**
 * An Anthropic-Messages-compatible server on 127.0.0.1, in your test
 * process: real HTTP for `@effect/ai-anthropic` (through
 * `effect-agents/effect-ai`), offline. It answers `POST /v1/messages`, JSON or SSE (`message_start`, content blocks for text and
 * `tool_use` with `input_json_delta`, `message_delta` with the stop reason
 * and usage, `message_stop`), answering from a `ScriptedModel` script.
 *
 * A turn's `fail` becomes Anthropic's answer: `RateLimited` → 429
 * `rate_limit_error` with `retry-after` in seconds, `ModelUnavailable` → its
 * status (529 `overloaded_error` by default, other 5xx `api_error`),
 * `InvalidRequest` → 400, `AuthenticationFailed` → 401. `cutAfter` sends
 * that many text deltas, then an `error` event (`overloaded_error`) inside
 * the 200 stream, as Anthropic does when it is overloaded mid-answer.
 * Every request is recorded with its headers.
 *
 * @example
 * ```ts
 * import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Layer, Redacted } from "effect"
 * import { EffectAiModel } from "effect-agents/effect-ai"
 * import { AnthropicCompatServer } from "effect-agents/testing"
 *
 * const program = Effect.gen(function*() {
 *   const server = yield* AnthropicCompatServer.make([{ text: "Hello from the local server" }])
 *   const provider = AnthropicLanguageModel.layer({ model: "claude-local" }).pipe(
 *     Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make("test"), apiUrl: server.url })),
 *     Layer.provide(NodeHttpClient.layerUndici)
 *   )
 *   const model = yield* Effect.provide(EffectAiModel.make({ model: "claude-local" }), yield* Layer.build(provider))
 *   return yield* model.generate({ messages: [{ role: "user", content: "Hi" }], tools: [] })
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 */
/**
 * @since 0.1.0
 * @category models
 */
export interface AnthropicCompatServer {
  /** The base URL for `AnthropicClient`'s `apiUrl`: `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly requests: Effect.Effect<ReadonlyArray<Received>>
}

/**
 * A request the server received.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received {
  readonly body: unknown
  readonly request: LanguageModel.GenerateRequest
  readonly headers: Readonly<Record<string, string>>
  readonly receivedAt: number
}

const TextBlock = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
const ToolUseBlock = Schema.Struct({
  type: Schema.Literal("tool_use"),
  id: Schema.String,
  name: Schema.String,
  input: Schema.Unknown
})
const ToolResultBlock = Schema.Struct({
  type: Schema.Literal("tool_result"),
  tool_use_id: Schema.String,
  content: Schema.optional(Schema.Union(Schema.String, Schema.Array(TextBlock))),
  is_error: Schema.optional(Schema.NullOr(Schema.Boolean))
})
const Block = Schema.Union(TextBlock, ToolUseBlock, ToolResultBlock)

const Body = Schema.Struct({
  model: Schema.String,
  max_tokens: Schema.Number,
  system: Schema.optional(Schema.Union(Schema.String, Schema.Array(TextBlock))),
  messages: Schema.Array(Schema.Struct({
    role: Schema.Literal("user", "assistant"),
    content: Schema.Union(Schema.String, Schema.Array(Block))
  })),
  tools: Schema.optional(Schema.Array(Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    input_schema: Schema.Object
  }))),
  stream: Schema.optional(Schema.Boolean)
})
type Body = typeof Body.Type

/** A tool result as the agent wrote it: `@effect/ai` sends results as JSON, a text as a JSON string. */
const resultText = (content: string): string => {
  try {
    const value: unknown = JSON.parse(content)
    return typeof value === "string" ? value : content
  } catch {
    return content
  }
}

const toRequest = (body: Body): LanguageModel.GenerateRequest => {
  const messages: Array<LanguageModel.Message> = []
  const system = typeof body.system === "string" ? body.system : body.system?.map((block) => block.text).join("")
  if (system !== undefined) messages.push({ role: "system", content: system })
  const names = new Map<string, string>()
  for (const message of body.messages) {
    const blocks = typeof message.content === "string"
      ? [{ type: "text" as const, text: message.content }]
      : message.content
    if (message.role === "assistant") {
      const text = blocks.flatMap((block) => block.type === "text" ? [block.text] : []).join("")
      const toolCalls = blocks.flatMap((block) => block.type === "tool_use" ? [block] : []).map((block) => {
        names.set(block.id, block.name)
        return { id: block.id, name: block.name, arguments: JSON.stringify(block.input) }
      })
      messages.push({ role: "assistant", content: text, toolCalls })
      continue
    }
    for (const block of blocks) {
      if (block.type === "text") messages.push({ role: "user", content: block.text })
      else if (block.type === "tool_result") {
        const content = typeof block.content === "string"
          ? block.content
          : (block.content ?? []).map((part) => part.text).join("")
        messages.push({
          role: "tool",
          toolCallId: block.tool_use_id,
          name: names.get(block.tool_use_id) ?? "",
          content: resultText(content),
          isError: block.is_error === true
        })
      }
    }
  }
  return {
    messages,
    tools: (body.tools ?? []).map((tool) => ({
      name: tool.name,
      description: tool.description ?? "",
      parameters: tool.input_schema as LanguageModel.ToolDefinition["parameters"],
      strict: false
    }))
  }
}

const stopReason = (response: LanguageModel.GenerateResponse) => response.toolCalls.length > 0 ? "tool_use" : "end_turn"

const contentOf = (response: LanguageModel.GenerateResponse) => [
  ...(response.text.length > 0 ? [{ type: "text", text: response.text }] : []),
  ...response.toolCalls.map((call) => ({
    type: "tool_use",
    id: call.id,
    name: call.name,
    input: JSON.parse(call.arguments) as unknown
  }))
]

const message = (id: string, response: LanguageModel.GenerateResponse, done: boolean) => ({
  id,
  type: "message",
  role: "assistant",
  model: response.model,
  content: done ? contentOf(response) : [],
  stop_reason: done ? stopReason(response) : null,
  stop_sequence: null,
  usage: { input_tokens: response.usage.inputTokens, output_tokens: done ? response.usage.outputTokens : 0 }
})

const encoder = new TextEncoder()
const sseEvent = (data: { readonly type: string } & Record<string, unknown>) =>
  encoder.encode(`event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`)

const errorBody = (type: string, message: string) => ({ type: "error", error: { type, message } })

const failure = (error: ModelError): HttpServerResponse.HttpServerResponse => {
  switch (error._tag) {
    case "RateLimited": {
      const headers: Record<string, string> = error.retryAfter === undefined
        ? {}
        : { "retry-after": String(Duration.toSeconds(error.retryAfter)) }
      return HttpServerResponse.unsafeJson(errorBody("rate_limit_error", error.message), { status: 429, headers })
    }
    case "ModelUnavailable": {
      const status = error.status ?? 529
      const type = status === 529 ? "overloaded_error" : "api_error"
      return HttpServerResponse.unsafeJson(errorBody(type, error.message), { status })
    }
    case "AuthenticationFailed":
      return HttpServerResponse.unsafeJson(errorBody("authentication_error", error.message), { status: 401 })
    default:
      return HttpServerResponse.unsafeJson(errorBody("invalid_request_error", error.message), { status: 400 })
  }
}

/** The SSE events of a streamed answer; after `cutAfter` text deltas, an `overloaded_error` event instead of the rest. */
const events = (id: string, response: LanguageModel.GenerateResponse, turn: Turn) => {
  type Event = { readonly type: string } & Record<string, unknown>
  const out: Array<Event> = [{ type: "message_start", message: message(id, response, false) }]
  let index = 0
  if (response.text.length > 0) {
    out.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } })
    const pieces = Script.splitText(response.text, turn.chunks)
    for (const text of pieces.slice(0, turn.cutAfter)) {
      out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text } })
    }
    if (turn.cutAfter !== undefined) {
      return [...out, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }]
    }
    out.push({ type: "content_block_stop", index: index++ })
  }
  for (const call of response.toolCalls) {
    out.push(
      {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} }
      },
      { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: call.arguments } },
      { type: "content_block_stop", index: index++ }
    )
  }
  out.push(
    {
      type: "message_delta",
      delta: { stop_reason: stopReason(response), stop_sequence: null },
      usage: { output_tokens: response.usage.outputTokens }
    },
    { type: "message_stop" }
  )
  return out
}

/**
 * Starts a server answering from `script`; it stops when the scope closes.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { AgentError } from "effect-agents"
 * import { AnthropicCompatServer } from "effect-agents/testing"
 *
 * const server = AnthropicCompatServer.make([
 *   { fail: { error: new AgentError.ModelUnavailable({ message: "Overloaded", status: 529 }) }, text: "ok" },
 *   { fail: { error: new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(1) }) }, text: "ok" }
 * ])
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  script: ScriptType
): Effect.Effect<AnthropicCompatServer, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const cursor = Script.makeCursor(script)
    const received: Array<Received> = []
    const messages = Effect.gen(function*() {
      const http = yield* HttpServerRequest.HttpServerRequest
      const body = yield* Effect.either(http.json)
      if (body._tag === "Left") {
        return HttpServerResponse.unsafeJson(errorBody("invalid_request_error", "the body is not JSON"), {
          status: 400
        })
      }
      const json = body.right
      const decoded = Schema.decodeUnknownEither(Body)(json)
      if (decoded._tag === "Left") {
        return HttpServerResponse.unsafeJson(errorBody("invalid_request_error", decoded.left.message), { status: 400 })
      }
      const request = toRequest(decoded.right)
      received.push({ body: json, request, headers: http.headers, receivedAt: yield* Clock.currentTimeMillis })
      const served = cursor.next(request)
      if (served.turn.latency !== undefined) yield* Effect.sleep(served.turn.latency)
      if (served._tag === "Fail") return failure(served.error)
      const id = `msg_${served.index}`
      const response = Script.respond(request, served.turn, served.index, decoded.right.model)
      if (decoded.right.stream !== true) return HttpServerResponse.unsafeJson(message(id, response, true))
      return HttpServerResponse.stream(Stream.fromIterable(events(id, response, served.turn).map(sseEvent)), {
        contentType: "text/event-stream"
      })
    })
    const server = yield* NodeHttpServer.make(() => createServer(), { port: 0, host: "127.0.0.1" })
    yield* server.serve(HttpRouter.empty.pipe(HttpRouter.post("/v1/messages", messages)))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}`, requests: Effect.sync(() => received.slice()) }
  })
