/**
 * The showcase behind `npm start`: a travel agent with two tools, printed as
 * it streams (tool calls, answer, token metrics), then three trips planned at
 * once. Runs offline on the scripted model, or on a real model when
 * OPENAI_API_KEY is set (OPENAI_BASE_URL for any OpenAI-compatible server,
 * OPENAI_MODEL for the model, default gpt-4o-mini).
 *
 *   npm start
 *   OPENAI_API_KEY=sk-... npm start
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Schema } from "effect"
import { Agent, Printer, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { ScriptedModel } from "effect-agents/testing"

const forecasts: Record<string, string> = { Lisbon: "22°C, sunny", Oslo: "9°C, rain", Kyoto: "17°C, clear" }

const getWeather = Tool.make("get_weather", {
  description: "Get the weather forecast for a city",
  parameters: { city: Schema.String.annotations({ description: "The city's name" }) },
  handler: ({ city }) => forecasts[city] ?? "18°C, cloudy"
})

const searchFlights = Tool.make("search_flights", {
  description: "Search direct flights to a city",
  parameters: { to: Schema.String },
  // an async API call; the real one would pass `signal` to fetch
  handler: ({ to }) =>
    Effect.as(Effect.sleep("150 millis"), [`TP${to.length}01 08:40 €129`, `FR${to.length}22 17:05 €79`])
})

const TravelAgent = Agent.make({
  name: "Travel Agent",
  instructions: "Plan short trips. Check the weather and the flights, then answer in two sentences.",
  toolkit: Toolkit.make(getWeather, searchFlights)
})

const cityOf = (request: string) => Object.keys(forecasts).find((city) => request.includes(city)) ?? "Lisbon"

// Offline: calls both tools at once for the city in the question, then answers from what they returned.
const ScriptedLive = ScriptedModel.layer((request) => {
  const question = request.messages.findLast((message) => message.role === "user")?.content ?? ""
  const city = cityOf(question)
  return ScriptedModel.useEachTool({
    arguments: { get_weather: { city }, search_flights: { to: city } },
    latency: "350 millis",
    chunkInterval: "30 millis",
    answer: ([weather, flights]) => {
      const cheapest = (JSON.parse(flights!.content) as Array<string>).at(-1)
      return `${city} looks good: ${weather!.content}. The cheapest direct flight is ${cheapest}; book it early.`
    }
  })(request)
})

// A real model when OPENAI_API_KEY is set, else the scripted one; the first line says which, and how to switch.
const ModelLive = Layer.unwrapEffect(Effect.gen(function*() {
  const key = yield* Config.string("OPENAI_API_KEY").pipe(Config.withDefault(""))
  if (key === "") {
    yield* Console.log(
      "(offline, on the scripted model; OPENAI_API_KEY=sk-... npm start runs it on OpenAI, " +
        "add OPENAI_BASE_URL=... for a compatible server)\n"
    )
    return ScriptedLive
  }
  const model = yield* Config.string("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini"))
  const baseUrl = yield* Config.string("OPENAI_BASE_URL").pipe(Config.withDefault("the OpenAI API"))
  yield* Console.log(`(on ${model} at ${baseUrl}, since OPENAI_API_KEY is set; unset it to run offline)\n`)
  return OpenAiModel.layer({ model }).pipe(Layer.provide(OpenAiClient.layerConfig()))
}))

const program = Effect.gen(function*() {
  const agent = yield* TravelAgent

  yield* Printer.printResponse(agent, "Plan me a weekend in Lisbon.", { stream: true, showMetrics: true })

  yield* Console.log("▸ Three trips at once")
  const [elapsed, results] = yield* Effect.timed(
    Agent.runAll([
      [agent, "A weekend in Oslo?"],
      [agent, "A weekend in Kyoto?"],
      [agent, "A weekend in Lisbon?"]
    ], { concurrency: "unbounded" })
  )
  for (const result of results) yield* Console.log(`• ${result.content}`)
  const tokens = results.reduce((sum, result) => sum + result.metrics.totalTokens, 0)
  const single = results[0]!.metrics.durationMs
  yield* Console.log(
    `\n3 runs in ${Math.round(Duration.toMillis(elapsed))} ms (one alone takes ~${single} ms), ${tokens} tokens in all`
  )
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
