/**
 * The Chat Completions wire format, for the OpenAI provider: requests out,
 * completions and chunks in, decoded with Schema from whatever the server
 * sent.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type OpenAI from "openai"
import type * as LanguageModel from "../../LanguageModel.js"
import type { ModelError } from "../../ModelError.js"
import { MalformedResponse } from "../../ModelError.js"

type Params = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming
type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam

/** Settings sent with every request of a model: `OpenAiModel.Options` without its limits. */
export interface RequestSettings {
  /** The model's name, e.g. `"gpt-4o-mini"`, or whatever a compatible server serves. */
  readonly model: string
  readonly temperature?: number | undefined
  readonly topP?: number | undefined
  /** Sent as `max_completion_tokens`. */
  readonly maxTokens?: number | undefined
  readonly seed?: number | undefined
  /** Whether the model may ask for several tool calls in one step (the API's default: yes). */
  readonly parallelToolCalls?: boolean | undefined
}

// A JSON Schema as the SDK types it: a plain JSON object.
const jsonObject = (schema: JSONSchema.JsonSchema7Root): Record<string, unknown> =>
  schema as unknown as Record<string, unknown>

const toMessage = (message: LanguageModel.Message): MessageParam => {
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content: message.content }
    case "assistant":
      return message.toolCalls.length === 0
        ? { role: "assistant", content: message.content }
        : {
          role: "assistant",
          content: message.content.length > 0 ? message.content : null,
          tool_calls: message.toolCalls.map((call) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: call.arguments }
          }))
        }
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content }
  }
}

const toToolChoice = (choice: LanguageModel.ToolChoice): OpenAI.Chat.Completions.ChatCompletionToolChoiceOption =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.tool } }

/** The body of a Chat Completions request. */
export const toBody = (request: LanguageModel.GenerateRequest, defaults: RequestSettings): Params => {
  const body: Params = { model: defaults.model, messages: request.messages.map(toMessage) }
  if (defaults.temperature !== undefined) body.temperature = defaults.temperature
  if (defaults.topP !== undefined) body.top_p = defaults.topP
  if (defaults.maxTokens !== undefined) body.max_completion_tokens = defaults.maxTokens
  if (defaults.seed !== undefined) body.seed = defaults.seed
  if (request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        description: tool.description,
        parameters: jsonObject(tool.parameters),
        ...(tool.strict ? { strict: true } : {})
      }
    }))
    const parallel = request.parallelToolCalls ?? defaults.parallelToolCalls
    if (parallel !== undefined) body.parallel_tool_calls = parallel
    if (request.toolChoice !== undefined) body.tool_choice = toToolChoice(request.toolChoice)
  }
  if (request.responseFormat !== undefined) {
    body.response_format = {
      type: "json_schema",
      json_schema: {
        name: request.responseFormat.name,
        schema: jsonObject(request.responseFormat.schema),
        strict: request.responseFormat.strict
      }
    }
  }
  return body
}

/** Our name for a finish reason. */
export const finishReason = (reason: string | null | undefined): LanguageModel.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "length":
      return "length"
    case "content_filter":
      return "content-filter"
    default:
      return "other"
  }
}

// -----------------------------------------------------------------------------
// What comes back: the wire format, decoded. Lenient where real servers
// legitimately differ (optional and null fields, extra fields ignored),
// strict where our data would be corrupted (the types of text, ids, names,
// token counts). Nothing is ever indexed by a value from the wire.
// -----------------------------------------------------------------------------

const OptionalString = Schema.optional(Schema.NullOr(Schema.String))
const TokenCount = Schema.optional(Schema.NullOr(Schema.NonNegativeInt))

const Usage = Schema.Struct({
  prompt_tokens: TokenCount,
  completion_tokens: TokenCount,
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: TokenCount })))
}).annotations({ identifier: "Usage" })

/** A tool call of a completion: any call with a `function` is one, with or without its `type`. */
const ToolCall = Schema.Struct({
  id: OptionalString,
  type: OptionalString,
  function: Schema.optional(Schema.NullOr(
    Schema.Struct({ name: Schema.NonEmptyString, arguments: OptionalString }).annotations({ identifier: "Function" })
  ))
}).annotations({ identifier: "ToolCall" })

const Message = Schema.Struct({
  content: OptionalString,
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall)))
}).annotations({ identifier: "Message" })

const Completion = Schema.Struct({
  model: OptionalString,
  choices: Schema.Array(
    Schema.Struct({ message: Message, finish_reason: OptionalString }).annotations({ identifier: "Choice" })
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
}).annotations({ identifier: "ChatCompletion" })

/**
 * A piece of a streamed tool call. OpenAI numbers the calls (`index`); some
 * servers do not (Gemini), or repeat the name in every piece (MiniMax).
 */
const ToolCallDelta = Schema.Struct({
  index: Schema.optional(Schema.NullOr(Schema.NonNegativeInt)),
  id: OptionalString,
  type: OptionalString,
  function: Schema.optional(Schema.NullOr(
    Schema.Struct({ name: OptionalString, arguments: OptionalString }).annotations({ identifier: "FunctionDelta" })
  ))
}).annotations({ identifier: "ToolCallDelta" })

type ToolCallDelta = typeof ToolCallDelta.Type

const Delta = Schema.Struct({
  content: OptionalString,
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCallDelta)))
}).annotations({ identifier: "Delta" })

const ChatCompletionChunk = Schema.Struct({
  model: OptionalString,
  choices: Schema.optional(Schema.NullOr(Schema.Array(
    Schema.Struct({ delta: Schema.optional(Schema.NullOr(Delta)), finish_reason: OptionalString }).annotations({
      identifier: "ChunkChoice"
    })
  ))),
  usage: Schema.optional(Schema.NullOr(Usage))
}).annotations({ identifier: "ChatCompletionChunk" })

const decodeCompletion = Schema.decodeUnknownEither(Completion)
const decodeChunk = Schema.decodeUnknownEither(ChatCompletionChunk)

/**
 * What is wrong with a body, where: the first issue's path and what was
 * expected there, never the value found (it may be anything, a key included).
 */
const malformed = (what: string, error: ParseResult.ParseError): MalformedResponse => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const at = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`
  const expected = issue === undefined ? "" : `: ${issue.message.split(", actual ")[0]}`
  return new MalformedResponse({ message: `the ${what} is not in the Chat Completions format${at}${expected}` })
}

const noCalls = (what: string) =>
  new MalformedResponse({ message: `the model finished for tool calls, but the ${what} has none` })

const toUsage = (usage: typeof Usage.Type | null | undefined): LanguageModel.Usage => {
  const counted = { inputTokens: usage?.prompt_tokens ?? 0, outputTokens: usage?.completion_tokens ?? 0 }
  const cached = usage?.prompt_tokens_details?.cached_tokens
  return cached === undefined || cached === null || cached === 0 ? counted : { ...counted, cachedInputTokens: cached }
}

/** A completion (anything the SDK handed over) as our response, or what is wrong with it. */
export const fromCompletion = (
  completion: unknown,
  model: string
): LanguageModel.GenerateResponse | MalformedResponse => {
  const decoded = decodeCompletion(completion)
  if (Either.isLeft(decoded)) return malformed("completion", decoded.left)
  const choice = decoded.right.choices[0]
  if (choice === undefined) return new MalformedResponse({ message: "the completion has no choices" })
  const toolCalls: Array<LanguageModel.ToolCall> = []
  for (const call of choice.message.tool_calls ?? []) {
    if (call.function != null) {
      toolCalls.push({
        id: call.id || `call_${toolCalls.length}`,
        name: call.function.name,
        arguments: call.function.arguments ?? ""
      })
    }
  }
  const reason = finishReason(choice.finish_reason)
  if (reason === "tool-calls" && toolCalls.length === 0) return noCalls("completion")
  return {
    text: choice.message.content ?? "",
    toolCalls,
    usage: toUsage(decoded.right.usage),
    finishReason: reason,
    model: decoded.right.model ?? model
  }
}

interface PartialCall {
  id: string
  name: string
  arguments: string
}

/**
 * Turns a stream of chunks into stream parts: text deltas at once, tool calls
 * assembled from their deltas and emitted with the finish part once the
 * stream ends, with the usage of its last chunk.
 *
 * A delta belongs to the call of its `index`, or without one to the last
 * call; a delta with an id that call does not have starts a new call (the
 * call of that id, when there is one). A name is assigned, arguments are
 * appended.
 */
export const makeChunkAssembler = (model: string) => {
  const calls: Array<PartialCall> = []
  const byIndex = new Map<number, PartialCall>()
  const byId = new Map<string, PartialCall>()
  let last: PartialCall | undefined
  let reason: string | null = null
  let usage: typeof Usage.Type | null | undefined
  let answeredBy = model

  const callOf = (delta: ToolCallDelta): PartialCall => {
    const index = delta.index ?? undefined
    const id = delta.id || undefined
    let call = index === undefined ? last : byIndex.get(index)
    if (id !== undefined && call !== undefined && call.id !== "" && call.id !== id) call = byId.get(id)
    if (call === undefined) {
      call = { id: "", name: "", arguments: "" }
      calls.push(call)
    }
    if (index !== undefined) byIndex.set(index, call)
    if (id !== undefined && call.id === "") {
      call.id = id
      byId.set(id, call)
    }
    return call
  }

  const push = (chunk: unknown): ReadonlyArray<LanguageModel.StreamPart> | MalformedResponse => {
    const decoded = decodeChunk(chunk)
    if (Either.isLeft(decoded)) return malformed("stream chunk", decoded.left)
    const { choices, model, usage: chunkUsage } = decoded.right
    if (model) answeredBy = model
    if (chunkUsage) usage = chunkUsage
    const choice = choices?.[0]
    if (choice === undefined) return []
    if (choice.finish_reason) reason = choice.finish_reason
    for (const delta of choice.delta?.tool_calls ?? []) {
      const call = callOf(delta)
      if (delta.function?.name) call.name = delta.function.name
      if (delta.function?.arguments) call.arguments += delta.function.arguments
      last = call
    }
    const text = choice.delta?.content
    return text ? [{ _tag: "TextDelta", text }] : []
  }

  return {
    /** The parts of a chunk of the SDK's chunks, or the first one's failure to decode. */
    push: (chunks: Chunk.Chunk<unknown>): Effect.Effect<Chunk.Chunk<LanguageModel.StreamPart>, MalformedResponse> => {
      const parts: Array<LanguageModel.StreamPart> = []
      for (const chunk of chunks) {
        const pushed = push(chunk)
        if (pushed instanceof MalformedResponse) return Effect.fail(pushed)
        parts.push(...pushed)
      }
      return Effect.succeed(Chunk.unsafeFromArray(parts))
    },
    end: (): ReadonlyArray<LanguageModel.StreamPart> | ModelError => {
      if (reason === null) return new MalformedResponse({ message: "the stream ended before the model finished" })
      if (calls.some((call) => call.name === "")) {
        return new MalformedResponse({ message: "a streamed tool call has no name" })
      }
      const finish = finishReason(reason)
      if (finish === "tool-calls" && calls.length === 0) return noCalls("stream")
      const parts: Array<LanguageModel.StreamPart> = calls.map((call, i) => ({
        _tag: "ToolCall",
        toolCall: { id: call.id || `call_${i}`, name: call.name, arguments: call.arguments }
      }))
      parts.push({ _tag: "Finish", usage: toUsage(usage), finishReason: finish, model: answeredBy })
      return parts
    }
  }
}
