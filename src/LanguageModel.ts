/**
 * The language model service: the one seam every provider implements.
 *
 * A provider gives a {@link Service} with `generate` (one request, one
 * response) and `stream` (the same response as {@link StreamPart}s). Requests
 * and responses are provider-neutral: messages, tool definitions with their
 * JSON Schema, an optional response JSON Schema for structured output.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel } from "effect-agents"
 *
 * const program = Effect.gen(function*() {
 *   const response = yield* LanguageModel.generate({
 *     messages: [LanguageModel.system("Be brief."), LanguageModel.user("Hello!")],
 *     tools: []
 *   })
 *   return response.text
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import type * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { ModelError } from "./ModelError.js"
import { ModelTimeout } from "./ModelError.js"

// -----------------------------------------------------------------------------
// Messages
// -----------------------------------------------------------------------------

/**
 * A tool call asked for by the model. `arguments` is the raw JSON text the
 * model wrote: the tool decodes it, and reports bad JSON back to the model.
 *
 * @since 0.1.0
 * @category messages
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.String
})

/**
 * @since 0.1.0
 * @category messages
 */
export type ToolCall = typeof ToolCall.Type

/**
 * @since 0.1.0
 * @category messages
 */
export const SystemMessage = Schema.Struct({
  role: Schema.Literal("system"),
  content: Schema.String
})

/**
 * @since 0.1.0
 * @category messages
 */
export type SystemMessage = typeof SystemMessage.Type

/**
 * @since 0.1.0
 * @category messages
 */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.String
})

/**
 * @since 0.1.0
 * @category messages
 */
export type UserMessage = typeof UserMessage.Type

/**
 * What the model said: text, tool calls, or both.
 *
 * @since 0.1.0
 * @category messages
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.String,
  toolCalls: Schema.Array(ToolCall)
})

/**
 * @since 0.1.0
 * @category messages
 */
export type AssistantMessage = typeof AssistantMessage.Type

/**
 * The result of one tool call, sent back to the model. `isError` marks a
 * failed call whose `content` explains the failure.
 *
 * @since 0.1.0
 * @category messages
 */
export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  toolCallId: Schema.String,
  name: Schema.String,
  content: Schema.String,
  isError: Schema.Boolean
})

/**
 * @since 0.1.0
 * @category messages
 */
export type ToolMessage = typeof ToolMessage.Type

/**
 * @since 0.1.0
 * @category messages
 */
export const Message = Schema.Union(SystemMessage, UserMessage, AssistantMessage, ToolMessage)

/**
 * @since 0.1.0
 * @category messages
 */
export type Message = typeof Message.Type

/**
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const message = LanguageModel.system("You are terse.")
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const system = (content: string): SystemMessage => ({ role: "system", content })

/**
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const message = LanguageModel.user("What is 2 + 2?")
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const user = (content: string): UserMessage => ({ role: "user", content })

/**
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const message = LanguageModel.assistant("Let me look.", [{ id: "c1", name: "search", arguments: "{}" }])
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const assistant = (content: string, toolCalls: ReadonlyArray<ToolCall> = []): AssistantMessage => ({
  role: "assistant",
  content,
  toolCalls
})

/**
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const message = LanguageModel.toolResult({ toolCallId: "c1", name: "search", content: "3 results" })
 * ```
 *
 * @since 0.1.0
 * @category messages
 */
export const toolResult = (options: {
  readonly toolCallId: string
  readonly name: string
  readonly content: string
  readonly isError?: boolean | undefined
}): ToolMessage => ({
  role: "tool",
  toolCallId: options.toolCallId,
  name: options.name,
  content: options.content,
  isError: options.isError ?? false
})

// -----------------------------------------------------------------------------
// Requests and responses
// -----------------------------------------------------------------------------

/**
 * A tool as the model sees it: a name, what it does, and the JSON Schema of
 * its parameters. `strict` asks providers that support it to constrain the
 * arguments to the schema.
 *
 * @since 0.1.0
 * @category requests
 */
export interface ToolDefinition {
  readonly name: string
  readonly description: string
  readonly parameters: JSONSchema.JsonSchema7Root
  readonly strict: boolean
}

/**
 * Whether and which tool the model must call.
 *
 * @since 0.1.0
 * @category requests
 */
export type ToolChoice = "auto" | "none" | "required" | { readonly tool: string }

/**
 * Structured output: the model answers with JSON matching `schema`.
 *
 * @since 0.1.0
 * @category requests
 */
export interface ResponseFormat {
  readonly name: string
  readonly schema: JSONSchema.JsonSchema7Root
  readonly strict: boolean
}

/**
 * @since 0.1.0
 * @category requests
 */
export interface GenerateRequest {
  readonly messages: ReadonlyArray<Message>
  readonly tools: ReadonlyArray<ToolDefinition>
  readonly toolChoice?: ToolChoice | undefined
  readonly parallelToolCalls?: boolean | undefined
  readonly responseFormat?: ResponseFormat | undefined
  /**
   * How long the call may take. A provider stops a call that runs longer
   * (aborting its request) and fails it with `ModelTimeout`; for a stream,
   * the limit covers the whole stream. Providers built with {@link make}
   * get this for free.
   */
  readonly timeout?: Duration.Duration | undefined
}

/**
 * Tokens spent by one or more model calls.
 *
 * @since 0.1.0
 * @category responses
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  /** Of the input tokens, those the provider served from its prompt cache (where it says). */
  cachedInputTokens: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category responses
 */
export type Usage = typeof Usage.Type

/**
 * @since 0.1.0
 * @category responses
 */
export const emptyUsage: Usage = { inputTokens: 0, outputTokens: 0 }

/**
 * Adds two usages.
 *
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const total = LanguageModel.addUsage({ inputTokens: 10, outputTokens: 2 }, { inputTokens: 5, outputTokens: 1 })
 * // { inputTokens: 15, outputTokens: 3 }
 * ```
 *
 * @since 0.1.0
 * @category responses
 */
export const addUsage = (self: Usage, that: Usage): Usage => {
  const sum = {
    inputTokens: self.inputTokens + that.inputTokens,
    outputTokens: self.outputTokens + that.outputTokens
  }
  return self.cachedInputTokens === undefined && that.cachedInputTokens === undefined
    ? sum
    : { ...sum, cachedInputTokens: (self.cachedInputTokens ?? 0) + (that.cachedInputTokens ?? 0) }
}

/**
 * Why the model stopped.
 *
 * @since 0.1.0
 * @category responses
 */
export const FinishReason = Schema.Literal("stop", "tool-calls", "length", "content-filter", "other")

/**
 * @since 0.1.0
 * @category responses
 */
export type FinishReason = typeof FinishReason.Type

/**
 * A model's whole response.
 *
 * @since 0.1.0
 * @category responses
 */
export const GenerateResponse = Schema.Struct({
  text: Schema.String,
  toolCalls: Schema.Array(ToolCall),
  usage: Usage,
  finishReason: FinishReason,
  /** The model that answered, as the provider names it. */
  model: Schema.String
}).annotations({ identifier: "GenerateResponse" })

/**
 * @since 0.1.0
 * @category responses
 */
export interface GenerateResponse extends Schema.Schema.Type<typeof GenerateResponse> {}

/**
 * A piece of a streamed response. Providers assemble tool-call arguments
 * before emitting a `ToolCallPart`; `FinishPart` comes last.
 *
 * @since 0.1.0
 * @category streaming
 */
export type StreamPart = TextDeltaPart | ToolCallPart | FinishPart

/**
 * @since 0.1.0
 * @category streaming
 */
export interface TextDeltaPart {
  readonly _tag: "TextDelta"
  readonly text: string
}

/**
 * @since 0.1.0
 * @category streaming
 */
export interface ToolCallPart {
  readonly _tag: "ToolCall"
  readonly toolCall: ToolCall
}

/**
 * @since 0.1.0
 * @category streaming
 */
export interface FinishPart {
  readonly _tag: "Finish"
  readonly usage: Usage
  readonly finishReason: FinishReason
  readonly model: string
}

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * What a provider implements.
 *
 * @since 0.1.0
 * @category service
 */
export interface Service {
  /** The model's name, used in spans and results. */
  readonly model: string
  /**
   * The provider's name, as OpenTelemetry's GenAI conventions name it
   * (`gen_ai.provider.name`: `"openai"`, `"anthropic"`, ...), when known.
   */
  readonly provider?: string | undefined
  readonly generate: (request: GenerateRequest) => Effect.Effect<GenerateResponse, ModelError>
  readonly stream: (request: GenerateRequest) => Stream.Stream<StreamPart, ModelError>
}

/**
 * The language model in context.
 *
 * @since 0.1.0
 * @category service
 */
export class LanguageModel extends Context.Tag("effect-agents/LanguageModel")<LanguageModel, Service>() {}

/**
 * Builds a {@link Service}. Without `stream`, streaming calls `generate` and
 * emits its response as parts. The request's `timeout` is enforced with
 * Effect's clock (the call is interrupted and fails with `ModelTimeout`)
 * unless the provider says it enforces it itself (`enforcesTimeout`), as a
 * provider with a cheaper way to stop a call does.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { LanguageModel } from "effect-agents"
 *
 * const echo = LanguageModel.make({
 *   model: "echo",
 *   generate: (request) =>
 *     Effect.succeed({
 *       text: request.messages.at(-1)?.content ?? "",
 *       toolCalls: [],
 *       usage: LanguageModel.emptyUsage,
 *       finishReason: "stop",
 *       model: "echo"
 *     })
 * })
 * const EchoLayer = Layer.succeed(LanguageModel.LanguageModel, echo)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly model: string
  /** The provider's name for spans (`gen_ai.provider.name`). */
  readonly provider?: string | undefined
  readonly generate: Service["generate"]
  readonly stream?: Service["stream"] | undefined
  /** Whether `generate` and `stream` stop calls at the request's `timeout` themselves. */
  readonly enforcesTimeout?: boolean | undefined
}): Service => {
  const generate = options.generate
  const stream = options.stream ??
    ((request: GenerateRequest) =>
      Stream.unwrap(Effect.map(generate(request), (response) => Stream.fromIterable(toParts(response)))))
  const named = options.provider === undefined
    ? { model: options.model }
    : { model: options.model, provider: options.provider }
  if (options.enforcesTimeout) return { ...named, generate, stream }
  const limited = (request: GenerateRequest) =>
    request.timeout !== undefined && Duration.isFinite(request.timeout) ? request.timeout : undefined
  return {
    ...named,
    generate: (request) => {
      const timeout = limited(request)
      return timeout === undefined
        ? generate(request)
        : Effect.timeoutFail(generate(request), { duration: timeout, onTimeout: () => new ModelTimeout({ timeout }) })
    },
    stream: (request) => {
      const timeout = limited(request)
      return timeout === undefined
        ? stream(request)
        : Stream.interruptWhen(stream(request), Effect.zipRight(Effect.sleep(timeout), new ModelTimeout({ timeout })))
    }
  }
}

/**
 * A response as the parts a stream of it would carry.
 *
 * @since 0.1.0
 * @category streaming
 */
export const toParts = (response: GenerateResponse): ReadonlyArray<StreamPart> => {
  const parts: Array<StreamPart> = []
  if (response.text.length > 0) parts.push({ _tag: "TextDelta", text: response.text })
  for (const toolCall of response.toolCalls) parts.push({ _tag: "ToolCall", toolCall })
  parts.push({ _tag: "Finish", usage: response.usage, finishReason: response.finishReason, model: response.model })
  return parts
}

/**
 * An `AbortSignal` the current work answers to besides interruption (set by
 * `Agent.runPromise` from its caller's signal). A provider aborts its
 * request in flight the moment the signal fires, as a hand-written `fetch`
 * would; the fiber's interruption, which follows, reaches the provider a
 * scheduler turn later and cleans up as always.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel } from "effect-agents"
 *
 * declare const call: Effect.Effect<string>
 * const controller = new AbortController()
 * const run = Effect.locally(call, LanguageModel.currentAbortSignal, controller.signal)
 * ```
 *
 * @since 0.1.0
 * @category service
 */
export const currentAbortSignal: FiberRef.FiberRef<AbortSignal | undefined> = globalValue(
  Symbol.for("effect-agents/LanguageModel/currentAbortSignal"),
  () => FiberRef.unsafeMake<AbortSignal | undefined>(undefined)
)

/**
 * Calls `generate` on the model in context.
 *
 * @example
 * ```ts
 * import { LanguageModel } from "effect-agents"
 *
 * const answer = LanguageModel.generate({ messages: [LanguageModel.user("Hi")], tools: [] })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const generate = (request: GenerateRequest): Effect.Effect<GenerateResponse, ModelError, LanguageModel> =>
  Effect.flatMap(LanguageModel, (model) => model.generate(request))

/**
 * Calls `stream` on the model in context.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { LanguageModel } from "effect-agents"
 *
 * const deltas = LanguageModel.stream({ messages: [LanguageModel.user("Hi")], tools: [] }).pipe(
 *   Stream.filter((part) => part._tag === "TextDelta")
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const stream = (request: GenerateRequest): Stream.Stream<StreamPart, ModelError, LanguageModel> =>
  Stream.unwrap(Effect.map(LanguageModel, (model) => model.stream(request)))
