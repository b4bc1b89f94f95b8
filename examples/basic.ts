/**
 * basic: an agent with one tool, run to its answer (Agno's `arun`), then
 * printed to the terminal (`aprint_response`); last, the Effect metrics its
 * runs updated.
 *
 *   npm run example -- basic
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Metric, Schema } from "effect"
import { Agent, AgentMetrics, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String.annotations({ description: "The city's name" }) },
  handler: ({ city }) => ({ city, temperatureC: 18, conditions: "sunny" })
})

const WeatherAgent = Agent.make({
  name: "Weather Agent",
  instructions: "You answer questions about the weather. Use your tools; answer in one sentence.",
  toolkit: Toolkit.make(getWeather)
})

// Offline: a scripted model that calls each tool once, then answers.
const ModelLive = ScriptedModel.layer(
  ScriptedModel.useEachTool({
    arguments: { get_weather: { city: "Paris" } },
    answer: ([result]) => `Right now it is ${JSON.parse(result!.content).temperatureC}°C and sunny in Paris.`,
    latency: "300 millis"
  })
)

const program = Effect.gen(function*() {
  const agent = yield* WeatherAgent

  const result = yield* agent.run("What's the weather in Paris?")
  yield* Console.log(`answer:  ${result.content}`)
  yield* Console.log(`steps:   ${result.metrics.steps}, tool calls: ${result.metrics.toolCalls}`)
  yield* Console.log(`tokens:  ${result.metrics.totalTokens} in all, ${result.metrics.durationMs} ms\n`)

  yield* Printer.printResponse(agent, "Is it a good day for a picnic in Paris?", { showMetrics: true })

  // The same figures as Effect metrics, for any metrics exporter (here read in-process)
  const runs = yield* Metric.value(
    AgentMetrics.runs.pipe(Metric.tagged("agent", agent.name), Metric.tagged("outcome", "success"))
  )
  const tokens = yield* Metric.value(AgentMetrics.inputTokens.pipe(Metric.tagged("agent", agent.name)))
  yield* Console.log(`\nmetrics: effect_agents_runs ${runs.count}, effect_agents_input_tokens ${tokens.count}`)
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
