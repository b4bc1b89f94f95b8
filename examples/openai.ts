/**
 * openai: an agent on OpenAI's Chat Completions through the official SDK.
 * With OPENAI_API_KEY set it uses the real API (OPENAI_BASE_URL for any
 * OpenAI-compatible server, OPENAI_MODEL for the model, default gpt-4o-mini);
 * without it, it starts the library's local OpenAI-compatible server and runs
 * the same agent against it over real HTTP, offline.
 *
 *   npm run example -- openai
 *   OPENAI_API_KEY=sk-... npm run example -- openai
 *   OPENAI_API_KEY=unused OPENAI_BASE_URL=http://127.0.0.1:11434/v1 OPENAI_MODEL=llama3.2 npm run example -- openai
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Agent, Printer, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 21, conditions: "clear skies" })
})

const Forecast = Schema.Struct({
  city: Schema.String,
  temperatureC: Schema.Number,
  advice: Schema.String
})

// The real API when there is a key, else the local server over real HTTP.
const ModelLive = Layer.unwrapScoped(Effect.gen(function*() {
  const key = yield* Config.option(Config.redacted("OPENAI_API_KEY"))
  if (Option.isSome(key)) {
    const model = yield* Config.string("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini"))
    yield* Console.log(`▸ Using ${model} (OPENAI_API_KEY is set)\n`)
    return OpenAiModel.layer({ model }).pipe(Layer.provide(OpenAiClient.layerConfig()))
  }
  const server = yield* OpenAiCompatServer.make(
    ScriptedModel.useEachTool({
      arguments: { get_weather: { city: "Barcelona" } },
      answer: (_, request) =>
        request.responseFormat === undefined
          ? "It is 21°C with clear skies in Barcelona: a fine day for a walk by the sea."
          : JSON.stringify({ city: "Barcelona", temperatureC: 21, advice: "Clear skies: take a walk by the sea." }),
      latency: "150 millis",
      chunkInterval: "20 millis"
    })
  )
  yield* Console.log(`▸ No OPENAI_API_KEY: using the local OpenAI-compatible server at ${server.url}\n`)
  return OpenAiModel.layer({ model: "local-scripted" }).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("unused"), baseURL: server.url }))
  )
}))

const program = Effect.gen(function*() {
  const agent = yield* Agent.make({
    name: "Weather Agent",
    instructions: "Answer questions about the weather. Always use get_weather. Be brief.",
    toolkit: Toolkit.make(getWeather)
  })
  yield* Printer.printResponse(agent, "What's the weather like in Barcelona?", { stream: true, showMetrics: true })

  // Structured output through response_format: json_schema
  const forecaster = yield* Agent.make({
    name: "Forecaster",
    instructions: "Use get_weather, then answer with the city, the temperature and one line of advice.",
    toolkit: Toolkit.make(getWeather),
    output: Forecast
  })
  const { output } = yield* forecaster.run("Barcelona today?")
  yield* Console.log("▸ Structured output")
  yield* Console.log(output)
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
