/**
 * tracing: a run's spans through OpenTelemetry, printed by the SDK's console
 * exporter: `invoke_agent` for the run, `agent.step` for each step, `chat`
 * for each model call (a failed attempt with its `error.type`), and
 * `execute_tool` for the tool call, with their GenAI attributes. Swap the
 * console exporter for an OTLP one (see the README's Observability section)
 * and a collector (Jaeger, Tempo, Honeycomb...) shows the same tree.
 *
 *   npm run example -- tracing
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeRuntime } from "@effect/platform-node"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Logger, LogLevel, Schedule, Schema } from "effect"
import { Agent, AgentError, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "weather-service" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 24, conditions: "sunny" })
})

const program = Effect.gen(function*() {
  const model = yield* ScriptedModel.make([
    {
      // the first attempt fails with a 503: its span ends in error, the retry's succeeds
      fail: { error: new AgentError.ModelUnavailable({ message: "overloaded", status: 503 }) },
      toolCalls: [{ name: "get_weather", arguments: { city: "Rome" } }],
      usage: { inputTokens: 52, outputTokens: 11 }
    },
    { text: "24°C and sunny in Rome.", usage: { inputTokens: 80, outputTokens: 9 } }
  ], { model: "gpt-4o-mini", provider: "openai" })
  const agent = yield* Agent.make({
    name: "Weather Agent",
    instructions: "Answer questions about the weather.",
    model,
    toolkit: Toolkit.make(getWeather),
    policy: { retry: Schedule.spaced("10 millis") }
  })
  const result = yield* agent.run("Weather in Rome?")
  yield* Console.log(`answer: ${result.content}`)
})

program.pipe(
  Effect.provide(TracingLive),
  Logger.withMinimumLogLevel(LogLevel.Error),
  NodeRuntime.runMain
)
