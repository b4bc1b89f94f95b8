/**
 * The Chat Completions wire format as a server speaks it, without the SDK:
 * the request a client sends (decoded with Schema) and what goes back:
 * completions, streamed chunks, model lists and errors. The test server
 * (`OpenAiCompatServer`) and the agent server's OpenAI-compatible endpoint
 * both speak it.
 */
import * as Schema from "effect/Schema"
import type * as LanguageModel from "../../LanguageModel.js"

// -----------------------------------------------------------------------------
// Requests
// -----------------------------------------------------------------------------

const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }).annotations({
  identifier: "TextPart"
})

const Content = Schema.Union(Schema.String, Schema.Array(TextPart), Schema.Null)

const ToolCallParam = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.Literal("function")),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
}).annotations({ identifier: "ToolCallParam" })

const MessageParam = Schema.Struct({
  role: Schema.Literal("system", "developer", "user", "assistant", "tool"),
  content: Schema.optional(Content),
  name: Schema.optional(Schema.String),
  tool_call_id: Schema.optional(Schema.String),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCallParam)))
}).annotations({ identifier: "MessageParam" })

/** A message of a request, as sent. */
export type MessageParam = typeof MessageParam.Type

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const ToolParam = Schema.Struct({
  type: Schema.optional(Schema.Literal("function")),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(JsonObject),
    strict: Schema.optional(Schema.NullOr(Schema.Boolean))
  })
}).annotations({ identifier: "ToolParam" })

/** `response_format`: text (the default), any JSON object, or JSON that a JSON Schema describes. */
export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text") }),
  Schema.Struct({ type: Schema.Literal("json_object") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    json_schema: Schema.Struct({
      name: Schema.String,
      description: Schema.optional(Schema.String),
      schema: Schema.optional(JsonObject),
      strict: Schema.optional(Schema.NullOr(Schema.Boolean))
    })
  })
).annotations({ identifier: "ResponseFormat" })

/**
 * The body of `POST /v1/chat/completions`. Fields a server does not use
 * (`temperature`, `user`, …) are accepted and ignored.
 */
export const ChatRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(MessageParam).pipe(Schema.minItems(1)),
  tools: Schema.optional(Schema.NullOr(Schema.Array(ToolParam))),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
  stream_options: Schema.optional(Schema.NullOr(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) }))),
  response_format: Schema.optional(Schema.NullOr(ResponseFormat)),
  n: Schema.optional(Schema.NullOr(Schema.Int))
}).annotations({ identifier: "ChatCompletionRequest" })

/** A request's body, decoded. */
export type ChatRequest = typeof ChatRequest.Type

/** A message's text: its string, or its text parts joined. */
export const text = (content: typeof Content.Type | undefined): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => part.text).join("")

/**
 * A request's messages as a conversation: `developer` messages are system
 * messages, and a tool result gets the name of the call it answers (the wire
 * carries only the call's id).
 */
export const toMessages = (messages: ReadonlyArray<MessageParam>): Array<LanguageModel.Message> => {
  const toolNames = new Map<string, string>()
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) toolNames.set(call.id, call.function.name)
  }
  return messages.map((message): LanguageModel.Message => {
    switch (message.role) {
      case "system":
      case "developer":
        return { role: "system", content: text(message.content) }
      case "user":
        return { role: "user", content: text(message.content) }
      case "assistant":
        return {
          role: "assistant",
          content: text(message.content),
          toolCalls: (message.tool_calls ?? []).map((call) => ({
            id: call.id,
            name: call.function.name,
            arguments: call.function.arguments
          }))
        }
      case "tool":
        return {
          role: "tool",
          toolCallId: message.tool_call_id ?? "",
          name: toolNames.get(message.tool_call_id ?? "") ?? "",
          content: text(message.content),
          isError: false
        }
    }
  })
}

/** A request's tools as tool definitions. */
export const toTools = (tools: ChatRequest["tools"]): Array<LanguageModel.ToolDefinition> =>
  (tools ?? []).map((tool) => ({
    name: tool.function.name,
    description: tool.function.description ?? "",
    parameters: (tool.function.parameters ?? {}) as unknown as LanguageModel.ToolDefinition["parameters"],
    strict: tool.function.strict === true
  }))

/** A request's `json_schema` response format as ours; none for text or any JSON object. */
export const toResponseFormat = (format: ChatRequest["response_format"]): LanguageModel.ResponseFormat | undefined =>
  format?.type !== "json_schema" ? undefined : {
    name: format.json_schema.name,
    schema: (format.json_schema.schema ?? {}) as unknown as LanguageModel.ResponseFormat["schema"],
    strict: format.json_schema.strict === true
  }

// -----------------------------------------------------------------------------
// Responses
// -----------------------------------------------------------------------------

/** A finish reason as OpenAI names it. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter"

/** Our finish reason as OpenAI names it (`other` is a plain stop). */
export const toFinishReason = (reason: LanguageModel.FinishReason): FinishReason => {
  switch (reason) {
    case "tool-calls":
      return "tool_calls"
    case "length":
      return "length"
    case "content-filter":
      return "content_filter"
    default:
      return "stop"
  }
}

/** Tokens as OpenAI counts them: the cached part of the input among the prompt's details, when known. */
export const usage = (tokens: LanguageModel.Usage) => ({
  prompt_tokens: tokens.inputTokens,
  completion_tokens: tokens.outputTokens,
  total_tokens: tokens.inputTokens + tokens.outputTokens,
  ...(tokens.cachedInputTokens === undefined
    ? {}
    : { prompt_tokens_details: { cached_tokens: tokens.cachedInputTokens } })
})

/** What every completion and chunk of one answer shares. */
export interface Head {
  readonly id: string
  /** Seconds since the epoch. */
  readonly created: number
  readonly model: string
}

/** A `chat.completion`: one choice, the assistant's message. */
export const completion = (head: Head, answer: {
  readonly text: string
  readonly toolCalls: ReadonlyArray<LanguageModel.ToolCall>
  readonly finishReason: FinishReason
  readonly usage: LanguageModel.Usage
}) => ({
  id: head.id,
  object: "chat.completion" as const,
  created: head.created,
  model: head.model,
  choices: [{
    index: 0,
    message: {
      role: "assistant" as const,
      content: answer.text.length > 0 || answer.toolCalls.length === 0 ? answer.text : null,
      refusal: null,
      ...(answer.toolCalls.length === 0 ? {} : {
        tool_calls: answer.toolCalls.map((call) => ({
          id: call.id,
          type: "function" as const,
          function: { name: call.name, arguments: call.arguments }
        }))
      })
    },
    logprobs: null,
    finish_reason: answer.finishReason
  }],
  usage: usage(answer.usage)
})

/**
 * A `chat.completion.chunk` of one choice: its delta and its finish reason
 * (`null` until the last). With `usage: null`, the chunk says that the
 * stream ends with a usage chunk, as OpenAI's do when asked for usage.
 */
export const chunk = (head: Head, delta: unknown, finish: FinishReason | null = null, usage?: null) => ({
  id: head.id,
  object: "chat.completion.chunk" as const,
  created: head.created,
  model: head.model,
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  ...(usage === null ? { usage } : {})
})

/** The last chunk of a stream asked for usage: no choices, the tokens. */
export const usageChunk = (head: Head, tokens: LanguageModel.Usage) => ({
  id: head.id,
  object: "chat.completion.chunk" as const,
  created: head.created,
  model: head.model,
  choices: [],
  usage: usage(tokens)
})

const encoder = new TextEncoder()

/** One Server-Sent Event as OpenAI sends them: a `data` line (JSON, or `[DONE]`), then a blank line. */
export const event = (data: unknown): Uint8Array =>
  encoder.encode(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`)

/** The event that ends a stream. */
export const done = (): Uint8Array => event("[DONE]")

/** An error body: `{ "error": { "message", "type", "param", "code" } }`. */
export const errorBody = (
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null
) => ({ error: { message, type, param, code } })

/** A model of `GET /v1/models`. */
export const model = (id: string, created: number, ownedBy: string) => ({
  id,
  object: "model" as const,
  created,
  owned_by: ownedBy
})
