/**
 * promise: effect-agents called from Promise code (an Express handler, a
 * script, another library's callback): `Agent.runPromise` with an
 * `AbortSignal`. The agent runs on `OpenAiModel` against the library's local
 * OpenAI-compatible server, over `OpenAiClient.nodeFetch()`. When the caller
 * gives up, the run stops, its HTTP request closes at once, and the Promise
 * rejects with the signal's reason.
 *
 *   npm run example -- promise
 */
import { Context, Effect, Layer, ManagedRuntime, Redacted, Schema } from "effect"
import { Agent, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 19, conditions: "sunny" })
})

// The local server stands in for OpenAI here: each model call takes 400 ms.
class LocalServer extends Context.Tag("examples/LocalServer")<LocalServer, OpenAiCompatServer.OpenAiCompatServer>() {}
const ServerLive = Layer.scoped(
  LocalServer,
  OpenAiCompatServer.make(
    ScriptedModel.useEachTool({ arguments: { get_weather: { city: "Lisbon" } }, latency: "400 millis" })
  )
)

// In an application: OpenAiClient.layerConfig() reads OPENAI_API_KEY and OPENAI_BASE_URL.
const ModelLive = Layer.unwrapEffect(
  Effect.map(LocalServer, (server) =>
    OpenAiModel.layer({ model: "local-scripted" }).pipe(
      Layer.provide(OpenAiClient.layer({
        apiKey: Redacted.make("unused"),
        baseURL: server.url,
        fetch: OpenAiClient.nodeFetch() // Node's own HTTP client: less CPU per request than the global fetch
      }))
    ))
)

// The application's runtime and agent, built once.
const runtime = ManagedRuntime.make(Layer.provideMerge(ModelLive, ServerLive))
const agent = await runtime.runPromise(Agent.make({
  name: "Weather Agent",
  instructions: "Answer questions about the weather. Always use get_weather.",
  toolkit: Toolkit.make(getWeather)
}))

// What an Express handler would call: the signal is the request's, aborted when its client goes away.
const ask = (question: string, signal?: AbortSignal): Promise<string> =>
  Agent.runPromise(agent, question, { signal }).then((result) => result.content)

console.log("▸ A run from Promise code")
console.log(await ask("What's the weather in Lisbon?"))

console.log("\n▸ The caller gives up after 600 ms, in the middle of the second model call")
const started = performance.now()
const reason = await ask("And tomorrow?", AbortSignal.timeout(600)).then(() => undefined, (error: unknown) => error)
console.log(`rejected after ${Math.round(performance.now() - started)} ms with the signal's reason: ${String(reason)}`)
const stats = await runtime.runPromise(Effect.flatMap(LocalServer, (server) => server.awaitStats((s) => s.open === 0)))
console.log(`the server: ${stats.total} requests, ${stats.abortedByClient} closed by the client, ${stats.open} open`)

await runtime.dispose()
