/**
 * recording: record a run once, replay it in tests. The agent runs on
 * `OpenAiModel` against the library's local OpenAI-compatible server (a real
 * provider in your own project), wrapped in `Recording`, which writes every
 * model call to a JSON file; the server stops; `ScriptedModel.replay` then
 * answers the same run from the file, with no server and no key; a changed
 * prompt is caught.
 *
 *   npm run example -- recording
 */
import { FileSystem } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Redacted, Schema } from "effect"
import { Agent, type LanguageModel, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, Recording, ScriptedModel } from "effect-agents/testing"
import * as path from "node:path"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 19, conditions: "light rain" })
})

const agentOn = (model: LanguageModel.Service) =>
  Agent.make({
    name: "Weather Agent",
    instructions: "Answer questions about the weather. Always use get_weather.",
    model,
    toolkit: Toolkit.make(getWeather)
  })

const apiKey = Redacted.make("sk-local-not-a-real-key")

// 1. Record: a real model (here the local server over HTTP), every call written to the file.
const record = (file: string) =>
  Effect.gen(function*() {
    const server = yield* OpenAiCompatServer.make(ScriptedModel.useEachTool({
      arguments: { get_weather: { city: "Dublin" } },
      answer: () => "19°C and light rain in Dublin: take an umbrella."
    }))
    const live = yield* OpenAiModel.make({ model: "local-scripted" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey, baseURL: server.url }))
    )
    const model = yield* Recording.make(live, { path: file, secrets: [apiKey] })
    const result = yield* Effect.flatMap(agentOn(model), (agent) => agent.run("Weather in Dublin?"))
    yield* Console.log(`recorded: "${result.content}" (${(yield* server.stats).total} requests to the server)`)
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const file = path.join(yield* fs.makeTempDirectoryScoped(), "weather.json")
  yield* record(file)
  const json = JSON.parse(yield* fs.readFileString(file)) as Recording.File
  yield* Console.log(
    `the file: ${json.format} version ${json.version}, ${json.calls.length} calls (${
      json.calls.map((call) => call.method).join(", ")
    }), no key in it: ${!(yield* fs.readFileString(file)).includes(Redacted.value(apiKey))}`
  )

  // 2. Replay: no server, no key; the same run, the same answer.
  const replayed = yield* ScriptedModel.replay(file)
  const result = yield* Effect.flatMap(agentOn(replayed), (agent) => agent.run("Weather in Dublin?"))
  yield* Console.log(`replayed: "${result.content}" (${result.metrics.toolCalls} tool call, no server)`)

  // 3. A changed prompt is caught, not answered.
  const changed = yield* Effect.flatMap(ScriptedModel.replay(file), agentOn)
  const error = yield* Effect.flip(changed.run("Weather in Cork?"))
  yield* Console.log(`changed prompt: ${error._tag}: ${error.message.replace(file, "weather.json")}`)
})

program.pipe(Effect.scoped, Effect.provide(NodeContext.layer), NodeRuntime.runMain)
