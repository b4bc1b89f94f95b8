/**
 * providers: `@effect/ai` providers as agents' models (effect-agents/effect-ai),
 * offline: `@effect/ai-anthropic` against the library's local
 * Anthropic-compatible server, `@effect/ai-openai` (the Responses API) against
 * its local OpenAI-compatible server; then a fallback chain across providers:
 * OpenAI is down (every request a 503), the agent's policy falls back to
 * Anthropic.
 *
 *   npm run example -- providers
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { Agent, AgentError, Tool, Toolkit } from "effect-agents"
import { EffectAiModel } from "effect-agents/effect-ai"
import { AnthropicCompatServer, OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 21, conditions: "clear skies" })
})

const script = ScriptedModel.useEachTool({
  arguments: { get_weather: { city: "Lisbon" } },
  answer: () => "It is 21°C with clear skies in Lisbon."
})

const apiKey = Redacted.make("unused")

const program = Effect.gen(function*() {
  const anthropicServer = yield* AnthropicCompatServer.make(script)
  const openAiServer = yield* OpenAiCompatServer.make(script)
  const down = yield* OpenAiCompatServer.make(() => ({
    fail: { error: new AgentError.ModelUnavailable({ message: "The server is overloaded", status: 503 }) }
  }))

  // Each provider's layers are built once, in the program's scope: their HTTP clients live as long as it.
  const anthropicLayer = AnthropicLanguageModel.layer({ model: "claude-local" }).pipe(
    Layer.provide(AnthropicClient.layer({ apiKey, apiUrl: anthropicServer.url }))
  )
  const openAiLayer = (url: string) =>
    OpenAiLanguageModel.layer({ model: "gpt-local" }).pipe(Layer.provide(OpenAiClient.layer({ apiKey, apiUrl: url })))
  const modelOn = (options: EffectAiModel.Options, layer: typeof anthropicLayer) =>
    Effect.flatMap(
      Layer.build(Layer.provide(layer, NodeHttpClient.layerUndici)),
      (context) => Effect.provide(EffectAiModel.make(options), context)
    )
  const anthropic = yield* modelOn({ model: "claude-local", provider: "anthropic" }, anthropicLayer)
  const openai = yield* modelOn({ model: "gpt-local", provider: "openai" }, openAiLayer(openAiServer.url))
  const openaiDown = yield* modelOn({ model: "gpt-local", provider: "openai" }, openAiLayer(down.url))

  const agentOn = (model: EffectAiModel.EffectAiModel, fallback: ReadonlyArray<EffectAiModel.EffectAiModel> = []) =>
    Agent.make({
      name: "Weather Agent",
      instructions: "Answer questions about the weather. Always use get_weather.",
      model,
      toolkit: Toolkit.make(getWeather),
      policy: { fallback, retry: Schedule.spaced("50 millis").pipe(Schedule.intersect(Schedule.recurs(1))) }
    })

  for (const model of [anthropic, openai]) {
    const result = yield* Effect.flatMap(agentOn(model), (agent) => agent.run("Weather in Lisbon?"))
    yield* Console.log(
      `▸ @effect/ai-${model.provider}: "${result.content}" (${result.metrics.steps} steps, ${result.metrics.toolCalls} tool call)`
    )
  }

  // OpenAI is down: two attempts on it, then the fallback answers, for each model call of the run.
  const resilient = yield* agentOn(openaiDown, [anthropic])
  const result = yield* resilient.run("Weather in Lisbon?")
  const models = result.steps.map((step) => step.model).join(", ")
  yield* Console.log(
    `▸ fallback: OpenAI answered 503 ${(yield* down.stats).total} times; "${result.content}" (steps by ${models})`
  )
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
