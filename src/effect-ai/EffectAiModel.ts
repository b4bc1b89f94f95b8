/**
 * Every `@effect/ai` provider as this library's model: `fromEffectAi` turns
 * an `@effect/ai` `LanguageModel` (Anthropic's, OpenAI's, any provider's
 * of `@effect/ai` 0.37) into a `LanguageModel.Service`.
 *
 * - Tools are declared to it by their JSON Schema (the schema the agent's
 *   tools give, unchanged); the calls the model asks for come back to the
 *   agent loop, which runs them: `@effect/ai` never resolves them.
 * - `stream` streams (`streamText`), `generate` generates (`generateText`;
 *   with a response format, `generateObject`). Usage and the answering
 *   model come from the provider's finish and metadata parts.
 * - Its `AiError`s become typed `ModelError`s, so retries and fallbacks
 *   work as with the native provider: a 429 is `RateLimited` with the
 *   response's `retry-after-ms` or `retry-after`; 401 and 403
 *   `AuthenticationFailed`; 408, 409 and 5xx (Anthropic's 529 overloaded)
 *   `ModelUnavailable`; other 4xx `InvalidRequest`, with the server's
 *   message; a failed connection `ModelUnavailable`; an answer that does not
 *   decode `MalformedResponse`; an error event inside a stream by its type.
 *
 * What goes through `@effect/ai` is what it models: `parallelToolCalls` and
 * a caller's `AbortSignal` are not passed on (interruption is, and aborts
 * the request); tool-call arguments that are not JSON fail the call
 * (`MalformedResponse`) instead of reaching the loop; a provider may shape
 * structured output its own way (Anthropic's forced tool replaces the
 * agent's tools in that request).
 *
 * @example
 * ```ts
 * import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Effect, Layer } from "effect"
 * import { Agent } from "effect-agents"
 * import { EffectAiModel } from "effect-agents/effect-ai"
 *
 * const program = Effect.gen(function*() {
 *   const model = yield* EffectAiModel.make({ model: "claude-sonnet-4-5", provider: "anthropic" })
 *   const agent = yield* Agent.make({ name: "a", instructions: "Be brief.", model })
 *   return yield* agent.run("Hello")
 * }).pipe(
 *   Effect.provide(AnthropicLanguageModel.layer({ model: "claude-sonnet-4-5" })),
 *   Effect.provide(AnthropicClient.layerConfig({ apiKey: Config.redacted("ANTHROPIC_API_KEY") })),
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as AiLanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import type * as AiTool from "@effect/ai/Tool"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Bridge from "../internal/effect-ai/bridge.js"
import * as Scrub from "../internal/scrub.js"
import * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The model's name, as spans and results show it until the provider names the one that answered. */
  readonly model: string
  /** The provider's name for spans (`gen_ai.provider.name`), e.g. `"anthropic"`. */
  readonly provider?: string | undefined
  /**
   * Values taken out of every error message (replaced with `<redacted>`),
   * whole or masked as providers print them: give the API key, so that a
   * server that echoes it does not pass it on.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted | string> | undefined
}

/**
 * A model on this library's seam, with the provider it runs on.
 *
 * @since 0.1.0
 * @category models
 */
export interface EffectAiModel extends LanguageModel.Service {
  readonly provider: string | undefined
}

type Parts = ReadonlyArray<AiLanguageModel.GenerateTextResponse<Record<string, AiTool.Any>>["content"][number]>

/** The options `@effect/ai` is called with: the prompt, and the tools with our tool choice, unresolved. */
const optionsOf = (request: LanguageModel.GenerateRequest) => ({
  prompt: Bridge.toPrompt(request.messages),
  ...(request.tools.length === 0 ? {} : {
    toolkit: Bridge.toToolkit(request.tools),
    toolChoice: request.toolChoice ?? "auto",
    disableToolCallResolution: true as const
  })
})

const isOurs = (part: LanguageModel.StreamPart | ModelError): part is LanguageModel.StreamPart =>
  part._tag === "TextDelta" || part._tag === "ToolCall" || part._tag === "Finish"

/** Generated parts, assembled into our response. */
const assemble = (
  parts: Parts,
  model: string,
  scrub: (text: string) => string
): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
  const map = Bridge.makePartMapper(model, scrub)
  let text = ""
  const toolCalls: Array<LanguageModel.ToolCall> = []
  let finish: LanguageModel.FinishPart | undefined
  for (const part of parts) {
    const mapped = map(part)
    if (mapped === undefined) continue
    if (!isOurs(mapped)) return Effect.fail(mapped)
    if (mapped._tag === "TextDelta") text += mapped.text
    else if (mapped._tag === "ToolCall") toolCalls.push(mapped.toolCall)
    else finish = mapped
  }
  return Effect.succeed({
    text,
    toolCalls,
    usage: finish?.usage ?? LanguageModel.emptyUsage,
    // structured output by a forced tool call (Anthropic's) finishes for "tool calls" with none left for the loop
    finishReason: toolCalls.length > 0
      ? "tool-calls"
      : finish === undefined || finish.finishReason === "tool-calls"
      ? "stop"
      : finish.finishReason,
    model: finish?.model ?? model
  })
}

/**
 * This library's model on an `@effect/ai` `LanguageModel` service.
 *
 * @example
 * ```ts
 * import { LanguageModel as AiLanguageModel } from "@effect/ai"
 * import { Effect } from "effect"
 * import { EffectAiModel } from "effect-agents/effect-ai"
 *
 * const model = Effect.map(
 *   AiLanguageModel.LanguageModel,
 *   (service) => EffectAiModel.fromEffectAi(service, { model: "claude-haiku-4-5", provider: "anthropic" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEffectAi = (service: AiLanguageModel.Service, options: Options): EffectAiModel => {
  const scrub = Scrub.fromSecrets(options.secrets)
  const fail = <A>(error: AiError.AiError): Effect.Effect<A, ModelError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(Bridge.fromAiError(error, now, scrub)))
  const generate = (
    request: LanguageModel.GenerateRequest
  ): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
    Effect.suspend(() => {
      const base = optionsOf(request)
      const generated = request.responseFormat === undefined
        ? service.generateText(base)
        : service.generateObject({
          ...base,
          objectName: request.responseFormat.name,
          schema: Bridge.objectSchema(request.responseFormat)
        })
      return Effect.flatMap(
        Effect.catchAll(generated, fail<AiLanguageModel.GenerateTextResponse<Record<string, AiTool.Any>>>),
        (response) => assemble(response.content, options.model, scrub)
      )
    })

  const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> => {
    // `@effect/ai` streams text only: structured output is generated, then given as parts
    if (request.responseFormat !== undefined) {
      return Stream.unwrap(
        Effect.map(generate(request), (response) => Stream.fromIterable(LanguageModel.toParts(response)))
      )
    }
    return Stream.suspend(() => {
      const map = Bridge.makePartMapper(options.model, scrub)
      return service.streamText(optionsOf(request)).pipe(
        Stream.catchAll((error) => Stream.fromEffect(fail<never>(error))),
        Stream.mapEffect((part) => {
          const mapped = map(part)
          return mapped === undefined || isOurs(mapped) ? Effect.succeed(mapped) : Effect.fail(mapped)
        }),
        Stream.filter((part): part is LanguageModel.StreamPart => part !== undefined)
      )
    })
  }

  return { ...LanguageModel.make({ model: options.model, generate, stream }), provider: options.provider }
}

/**
 * This library's model on the `@effect/ai` `LanguageModel` in context (a
 * provider's layer, e.g. `AnthropicLanguageModel.layer`). Without a
 * `provider` option, the provider is the one an `@effect/ai` `Model` names
 * (`AnthropicLanguageModel.model(...)` provides `"anthropic"`).
 *
 * @example
 * ```ts
 * import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Effect, Redacted } from "effect"
 * import { EffectAiModel } from "effect-agents/effect-ai"
 *
 * // the provider's layers go to the whole program: the HTTP client lives as long as it
 * const program = Effect.gen(function*() {
 *   const model = yield* EffectAiModel.make({ model: "gpt-4.1-mini", provider: "openai" })
 *   return yield* model.generate({ messages: [{ role: "user", content: "Hi" }], tools: [] })
 * }).pipe(
 *   Effect.provide(OpenAiLanguageModel.layer({ model: "gpt-4.1-mini" })),
 *   Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-...") })),
 *   Effect.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<EffectAiModel, never, AiLanguageModel.LanguageModel> =>
  Effect.zipWith(
    AiLanguageModel.LanguageModel,
    Effect.serviceOption(AiModel.ProviderName),
    (service, provider) =>
      fromEffectAi(service, { ...options, provider: options.provider ?? Option.getOrUndefined(provider) })
  )

/**
 * A layer of this library's `LanguageModel` on the `@effect/ai` one in context.
 *
 * @example
 * ```ts
 * import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Config, Layer } from "effect"
 * import { EffectAiModel } from "effect-agents/effect-ai"
 *
 * const ModelLive = EffectAiModel.layer({ model: "claude-sonnet-4-5", provider: "anthropic" }).pipe(
 *   Layer.provide(AnthropicLanguageModel.layer({ model: "claude-sonnet-4-5" })),
 *   Layer.provide(AnthropicClient.layerConfig({ apiKey: Config.redacted("ANTHROPIC_API_KEY") })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, AiLanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(options))
