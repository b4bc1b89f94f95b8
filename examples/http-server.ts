/**
 * http-server: agents, a team and a DAG served over HTTP (runs, streamed runs,
 * detached runs, tools, batches, the OpenAI-compatible endpoint, health,
 * OpenAPI and docs, and the playground), on the scripted model; prints the
 * playground's URL and the curl commands to try, makes one run through the
 * typed client (`AgentClient`), and serves until Ctrl-C (which drains runs in
 * flight, then stops).
 *
 *   npm run example -- http-server
 *   PORT=9000 npm run example -- http-server
 *   AGENT_SERVER_PORT=9000 AGENT_SERVER_TOKEN=s3cret npm run example -- http-server
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Schema } from "effect"
import { Agent, Dag, Team, Tool, Toolkit } from "effect-agents"
import { AgentClient, AgentServer, Registry } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String.annotations({ description: "The city's name" }) },
  handler: ({ city }) => ({ city, temperatureC: 18, conditions: "sunny" })
})

const convert = Tool.make("convert_temperature", {
  description: "Convert a temperature from Celsius to Fahrenheit",
  parameters: { celsius: Schema.Number },
  handler: ({ celsius }) => ({ fahrenheit: celsius * 9 / 5 + 32 })
})

// What is served, built in the registry's layer (the tools' services would come from there too):
// two agents, a team of both, and a DAG whose nodes run them
const RegistryLive = Registry.layer(Effect.gen(function*() {
  const weather = yield* Agent.make({
    name: "weather",
    instructions: "Answer questions about the weather. Use your tools; answer in one sentence.",
    toolkit: Toolkit.make(getWeather, convert)
  })
  const writer = yield* Agent.make({ name: "writer", instructions: "Write short, friendly answers." })
  const desk = yield* Team.make({
    name: "desk",
    mode: "coordinate",
    leader: { instructions: "Ask the weather agent, then have the writer phrase the answer." },
    members: [weather, writer]
  })
  const content = (result: Agent.RunResult<unknown>) => result.content
  const trip = Dag.make<string>("trip").pipe(
    Dag.node("forecast", (_, city) => Effect.map(weather.run(`What is the weather in ${city}?`), content)),
    Dag.node("greeting", (_, city) => Effect.map(writer.run(`Greet a visitor to ${city}`), content)),
    Dag.node("packing", {
      dependsOn: ["forecast"],
      run: ({ forecast }) => Effect.map(writer.run(`What to pack for: ${forecast}`), content)
    }),
    Dag.node("brief", {
      dependsOn: ["greeting", "packing"],
      run: ({ greeting, packing }) => Effect.succeed(`${greeting}\n${packing}`)
    })
  )
  return { agents: [weather, writer], teams: [desk], dags: [Registry.dag(trip, Schema.String)] }
}))

// Offline: a scripted model that calls each tool once, then answers, streaming word by word.
const ModelLive = ScriptedModel.layer(
  ScriptedModel.useEachTool({
    arguments: { get_weather: { city: "Paris" }, convert_temperature: { celsius: 18 } },
    latency: "300 millis",
    chunkInterval: "40 millis"
  })
)

// AGENT_SERVER_PORT, AGENT_SERVER_HOST, AGENT_SERVER_TOKEN, … (see AgentServer.layerConfig); else the port
// in PORT; else 8080, or a free one when 8080 is taken. The playground is on here (it is off by default).
const shutdownGracePeriod = "5 seconds"
const ServerLive = Layer.unwrapEffect(Effect.map(
  Config.option(Config.port("PORT")),
  Option.match({
    onSome: (port) => AgentServer.layerConfig({ port, shutdownGracePeriod, playground: true }),
    onNone: () =>
      AgentServer.layerConfig({ port: 8080, shutdownGracePeriod, playground: true }).pipe(
        Layer.orElse(() => AgentServer.layerConfig({ port: 0, shutdownGracePeriod, playground: true }))
      )
  })
)).pipe(
  Layer.provide(RegistryLive),
  Layer.provide(ModelLive)
)

const program = Effect.gen(function*() {
  const server = yield* AgentServer.AgentServer
  const token = yield* Config.option(Config.redacted("AGENT_SERVER_TOKEN"))
  const auth = Option.isSome(token) ? ` -H "Authorization: Bearer $AGENT_SERVER_TOKEN"` : ""
  const url = server.url
  const json = `${auth} -H 'content-type: application/json'`
  yield* Console.log(
    `Serving the agents "weather" and "writer", the team "desk" and the DAG "trip" on ${url} (Ctrl-C to stop)

  Playground: ${url}/playground

  # what is served
  curl ${url}/health
  # a run, to its result
  curl${json} -d '{"input":"What is the weather in Paris?"}' ${url}/v1/agents/weather/runs
  # the same run, streamed as Server-Sent Events
  curl -N${json} -d '{"input":"What is the weather in Paris?"}' ${url}/v1/agents/weather/runs/stream
  # one tool, directly
  curl${json} -d '{"celsius":21}' ${url}/v1/agents/weather/tools/convert_temperature
  # a batch in the background, then its progress, its end (long poll) or its cancellation (use the id it answers with)
  curl${json} -d '{"agent":"writer","inputs":["Hello","Bonjour","Hola"],"concurrency":2}' ${url}/v1/batches
  curl${auth} ${url}/v1/batches/<id>
  curl${auth} '${url}/v1/batches/<id>?wait=true'
  curl${auth} -X DELETE ${url}/v1/batches/<id>
  # a DAG, streamed as Server-Sent Events of its node events; its structure
  curl -N${json} -d '{"input":"Paris"}' ${url}/v1/dags/trip/runs/stream
  curl${auth} ${url}/v1/dags/trip
  # a detached run: 202 with its id at once; its events (with ids; -H 'Last-Event-ID: 3' for those after the 3rd),
  # where it is, or its cancellation
  curl${json} -d '{"input":"What is the weather in Paris?","detach":true}' ${url}/v1/agents/weather/runs
  curl -N${auth} ${url}/v1/runs/<id>/events
  curl${auth} ${url}/v1/runs/<id>
  curl${auth} -X DELETE ${url}/v1/runs/<id>
  # any OpenAI client: model names the agent (the token, if any, is the API key)
  curl${json} -d '{"model":"weather","messages":[{"role":"user","content":"What is the weather in Paris?"}]}' ${url}/v1/chat/completions
  curl -N${json} -d '{"model":"weather","stream":true,"messages":[{"role":"user","content":"Paris?"}]}' ${url}/v1/chat/completions
  # bad input: 400 with the Schema issues
  curl${json} -d '{"input":42}' ${url}/v1/agents/weather/runs
  # the OpenAPI document, and the docs page in a browser
  curl ${url}/openapi.json
  open ${url}/docs
`
  )
  // The same API from Effect code: the typed client, generated from the API's definition
  const client = yield* AgentClient.make({ baseUrl: url, token: Option.getOrUndefined(token) })
  const result = yield* client.agents.run({
    path: { name: "weather" },
    payload: { input: "What is the weather in Paris?" }
  })
  yield* Console.log(`▸ AgentClient: ${result.content} (${result.metrics.totalTokens} tokens)`)
  return yield* Effect.never
})

program.pipe(Effect.provide([ServerLive, FetchHttpClient.layer]), NodeRuntime.runMain)
