/**
 * The bridge to `@effect/ai`: our requests as its prompts and tools, its
 * response parts as ours, its `AiError`s as our `ModelError`s.
 */
import type * as AiError from "@effect/ai/AiError"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as AiTool from "@effect/ai/Tool"
import type * as AiToolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as LanguageModel from "../../LanguageModel.js"
import type { ModelError } from "../../ModelError.js"
import { InvalidRequest, MalformedResponse, ModelUnavailable } from "../../ModelError.js"
import * as ProviderErrors from "../providerErrors.js"

// -----------------------------------------------------------------------------
// Requests
// -----------------------------------------------------------------------------

/** JSON text as a value, or the text itself when it is not JSON. */
const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const toMessage = (message: LanguageModel.Message): Prompt.MessageEncoded => {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content }
    case "user":
      return { role: "user", content: [{ type: "text", text: message.content }] }
    case "assistant":
      return {
        role: "assistant",
        content: [
          ...(message.content.length > 0 ? [{ type: "text" as const, text: message.content }] : []),
          ...message.toolCalls.map((call) => ({
            type: "tool-call" as const,
            id: call.id,
            name: call.name,
            params: parsed(call.arguments),
            providerExecuted: false
          }))
        ]
      }
    case "tool":
      return {
        role: "tool",
        content: [{
          type: "tool-result",
          id: message.toolCallId,
          name: message.name,
          isFailure: message.isError,
          result: parsed(message.content),
          providerExecuted: false
        }]
      }
  }
}

/** Our conversation as an `@effect/ai` prompt. */
export const toPrompt = (messages: ReadonlyArray<LanguageModel.Message>): Prompt.Prompt =>
  Prompt.make(messages.map(toMessage))

/**
 * Parameters that decode any object as it came (an index signature keeps
 * every key), declared to the provider by the tool's own JSON Schema: the
 * schema annotation replaces the one Schema would derive.
 */
const parametersOf = (schema: object) =>
  Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
    jsonSchema: schema
  })

/** A tool as `@effect/ai` declares it: its name, description and JSON Schema; never run there. */
const toTool = (definition: LanguageModel.ToolDefinition): AiTool.Any =>
  AiTool.make(definition.name, { description: definition.description }).setParameters(
    parametersOf(definition.parameters)
  )

/** Tools keyed by name with a handler that is never called: tool calls come back to our loop. */
export type Tools = AiToolkit.WithHandler<Record<string, AiTool.Any>>

const toolkits = new WeakMap<ReadonlyArray<LanguageModel.ToolDefinition>, Tools>()

/** The toolkit of a request's tools, made once per list of definitions (an agent's list is fixed). */
export const toToolkit = (definitions: ReadonlyArray<LanguageModel.ToolDefinition>): Tools => {
  const cached = toolkits.get(definitions)
  if (cached !== undefined) return cached
  const tools: Record<string, AiTool.Any> = {}
  for (const definition of definitions) tools[definition.name] = toTool(definition)
  const toolkit: Tools = {
    tools,
    handle: (name) => Effect.dieMessage(`effect-agents: the tool ${String(name)} is run by the agent loop`)
  }
  toolkits.set(definitions, toolkit)
  return toolkit
}

/** A response format as the schema `generateObject` asks for: any object, declared by its JSON Schema. */
export const objectSchema = (format: LanguageModel.ResponseFormat) =>
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({ jsonSchema: format.schema })

// -----------------------------------------------------------------------------
// Responses
// -----------------------------------------------------------------------------

/** Our name for a finish reason. */
export const finishReason = (reason: Response.FinishReason): LanguageModel.FinishReason => {
  switch (reason) {
    case "stop":
    case "length":
    case "content-filter":
    case "tool-calls":
      return reason
    default:
      return "other"
  }
}

export const toUsage = (usage: Response.Usage): LanguageModel.Usage => ({
  inputTokens: usage.inputTokens ?? 0,
  outputTokens: usage.outputTokens ?? 0
})

/** A tool call's parameters as the JSON text our tools decode. */
export const toToolCall = (part: { readonly id: string; readonly name: string; readonly params: unknown }) => ({
  id: part.id,
  name: part.name,
  arguments: typeof part.params === "string" ? part.params : JSON.stringify(part.params)
})

/**
 * Response parts (generated or streamed) as ours: text, our tool calls (not
 * those the provider ran), the finish with its usage and the answering model.
 */
export const makePartMapper = (model: string, scrub: (text: string) => string) => {
  let answeredBy = model
  return (part: Response.AllParts<Record<string, AiTool.Any>>): LanguageModel.StreamPart | ModelError | undefined => {
    switch (part.type) {
      case "text-delta":
        return part.delta.length > 0 ? { _tag: "TextDelta", text: part.delta } : undefined
      case "text":
        return part.text.length > 0 ? { _tag: "TextDelta", text: part.text } : undefined
      case "tool-call":
        return part.providerExecuted ? undefined : { _tag: "ToolCall", toolCall: toToolCall(part) }
      case "response-metadata":
        answeredBy = Option.getOrElse(part.modelId, () => answeredBy)
        return undefined
      case "finish":
        return {
          _tag: "Finish",
          usage: toUsage(part.usage),
          finishReason: finishReason(part.reason),
          model: answeredBy
        }
      case "error":
        return fromErrorPart(part.error, scrub)
      default:
        return undefined
    }
  }
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

const ErrorBody = Schema.parseJson(Schema.Struct({
  error: Schema.Struct({ message: Schema.optional(Schema.String) })
}))
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/** The server's message in an error body (OpenAI's `{ error: { message } }`, Anthropic's alike), if any. */
const serverMessage = (body: string | undefined): string | undefined =>
  body === undefined ? undefined : Option.getOrUndefined(decodeErrorBody(body))?.error.message

/** A URL as a message may show it: without credentials, query or fragment. */
const printableUrl = (url: string): string => {
  if (!URL.canParse(url)) return "the model server"
  const { origin, pathname } = new URL(url)
  return `${origin}${pathname}`
}

/** An error sent inside a 200 event stream (Anthropic's `event: error`, OpenAI's `error` event). */
export const fromErrorPart = (error: unknown, scrub: (text: string) => string): ModelError => {
  const inner = typeof error === "object" && error !== null && "error" in error ? error.error : error
  const kind = ProviderErrors.errorKind(inner) ?? ProviderErrors.errorKind(error)
  const message = typeof inner === "object" && inner !== null && "message" in inner && typeof inner.message === "string"
    ? inner.message
    : "the model server sent an error in its stream"
  return ProviderErrors.fromKind(kind, { message: scrub(message) })
}

/**
 * The `ModelError` of an `AiError`: a response's status decides (429 with its
 * retry-after, 401/403, 5xx and 408/409, other 4xx), a transport failure is
 * `ModelUnavailable`, output that does not decode is `MalformedResponse`.
 * Messages carry the server's message, never headers (the key), with
 * `scrub` applied (it takes out the secrets it was given).
 */
export const fromAiError = (error: AiError.AiError, now: number, scrub: (text: string) => string): ModelError => {
  switch (error._tag) {
    case "HttpResponseError": {
      const status = error.response.status
      if (error.reason !== "StatusCode") {
        return new MalformedResponse({
          message: `the response to ${printableUrl(error.request.url)} could not be read`
        })
      }
      const message = scrub(serverMessage(error.body) ?? `the model server answered ${status}`)
      const kind = ProviderErrors.kindOfStatus(status) ?? "invalid-request"
      const headers = error.response.headers
      const retryAfter = kind === "rate-limit" ? ProviderErrors.retryAfter((name) => headers[name], now) : undefined
      return ProviderErrors.fromKind(kind, { message, status, retryAfter })
    }
    case "HttpRequestError":
      return error.reason === "Transport"
        ? new ModelUnavailable({
          message: scrub(
            `the connection to ${printableUrl(error.request.url)} failed${
              error.description ? `: ${error.description}` : ""
            }`
          )
        })
        : new InvalidRequest({
          message: scrub(error.description ?? `the request could not be sent (${error.reason})`)
        })
    case "MalformedInput":
      return new InvalidRequest({ message: scrub(error.description ?? "the provider could not take the request") })
    case "MalformedOutput":
      return new MalformedResponse({
        message: scrub(error.description ?? "the provider's answer could not be decoded")
      })
    case "UnknownError":
      return new ModelUnavailable({ message: scrub(error.description ?? "the provider failed") })
  }
}
