/**
 * The Chat Completions wire format, for the OpenAI provider: requests out,
 * completions and chunks in.
 */
import type * as JSONSchema from "effect/JSONSchema"
import type OpenAI from "openai"
import type { ModelError } from "../AgentError.js"
import { MalformedResponse } from "../AgentError.js"
import type * as LanguageModel from "../LanguageModel.js"
import type * as OpenAiModel from "../OpenAiModel.js"

type Params = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming
type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam

/** Settings sent with every request of a model (temperature and the like). */
type RequestDefaults = Omit<OpenAiModel.Options, "maxConcurrentRequests" | "requestsPerMinute">

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
export const toBody = (request: LanguageModel.GenerateRequest, defaults: RequestDefaults): Params => {
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

const toUsage = (usage: OpenAI.CompletionUsage | null | undefined): LanguageModel.Usage => ({
  inputTokens: usage?.prompt_tokens ?? 0,
  outputTokens: usage?.completion_tokens ?? 0
})

/** A completion as our response, or what is wrong with it. */
export const fromCompletion = (
  completion: OpenAI.Chat.Completions.ChatCompletion
): LanguageModel.GenerateResponse | MalformedResponse => {
  const choice = completion.choices?.[0]
  if (choice === undefined || choice.message === undefined) {
    return new MalformedResponse({ message: "the completion has no choices" })
  }
  const toolCalls: Array<LanguageModel.ToolCall> = []
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type === "function") {
      toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments })
    }
  }
  return {
    text: choice.message.content ?? "",
    toolCalls,
    usage: toUsage(completion.usage),
    finishReason: finishReason(choice.finish_reason),
    model: completion.model
  }
}

/**
 * Turns a stream of chunks into stream parts: text deltas at once, tool calls
 * assembled from their argument deltas (by index) and emitted with the finish
 * part once the stream ends, with the usage of its last chunk.
 */
export const makeChunkAssembler = (model: string) => {
  const calls: Array<{ id: string; name: string; arguments: string }> = []
  let reason: string | null = null
  let usage: OpenAI.CompletionUsage | null | undefined
  let answeredBy = model
  return {
    push: (chunk: OpenAI.Chat.Completions.ChatCompletionChunk): ReadonlyArray<LanguageModel.StreamPart> => {
      if (chunk.model) answeredBy = chunk.model
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices?.[0]
      if (choice === undefined) return []
      if (choice.finish_reason) reason = choice.finish_reason
      for (const delta of choice.delta?.tool_calls ?? []) {
        const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" })
        if (delta.id) call.id = delta.id
        if (delta.function?.name) call.name += delta.function.name
        if (delta.function?.arguments) call.arguments += delta.function.arguments
      }
      const text = choice.delta?.content
      return text ? [{ _tag: "TextDelta", text }] : []
    },
    end: (): ReadonlyArray<LanguageModel.StreamPart> | ModelError => {
      if (reason === null) return new MalformedResponse({ message: "the stream ended before the model finished" })
      const parts: Array<LanguageModel.StreamPart> = calls
        .filter((call) => call !== undefined)
        .map((call) => ({ _tag: "ToolCall", toolCall: call }))
      parts.push({ _tag: "Finish", usage: toUsage(usage), finishReason: finishReason(reason), model: answeredBy })
      return parts
    }
  }
}
