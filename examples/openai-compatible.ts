/**
 * openai-compatible: an agent served by AgentServer and called with the
 * official `openai` SDK, nothing of ours on the client: `model` names the
 * agent. A plain completion (the agent's tools run on the server), the same
 * answer streamed with its usage, structured output in the client's JSON
 * Schema, the models listed, and a model that is not served (404). Offline,
 * on the scripted model, on a free port of 127.0.0.1.
 *
 *   npm run example -- openai-compatible
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Schema } from "effect"
import { Agent, Tool, Toolkit } from "effect-agents"
import { AgentServer, Registry } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"
import OpenAI from "openai"

const getWeather = Tool.make("get_weather", {
  description: "Get the current weather for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => ({ city, temperatureC: 18, conditions: "sunny" })
})

const RegistryLive = Registry.layer(Effect.gen(function*() {
  const weather = yield* Agent.make({
    name: "weather",
    instructions: "Answer questions about the weather with your tools.",
    toolkit: Toolkit.make(getWeather)
  })
  return { agents: [weather] }
}))

const ServerLive = AgentServer.layer({ port: 0 }).pipe(
  Layer.provide(RegistryLive),
  Layer.provide(ScriptedModel.layer(
    ScriptedModel.useEachTool({
      arguments: { get_weather: { city: "Paris" } },
      // asked for JSON (response_format), the scripted model answers in it
      answer: (_results, request) =>
        request.responseFormat === undefined
          ? "It is 18°C and sunny in Paris."
          : JSON.stringify({ city: "Paris", temperatureC: 18 }),
      chunkInterval: "20 millis"
    })
  ))
)

/** A call of the SDK, as an Effect that the fiber's interruption aborts. */
const call = <A>(f: (signal: AbortSignal) => Promise<A>) => Effect.tryPromise(f)

const program = Effect.gen(function*() {
  const server = yield* AgentServer.AgentServer
  // any OpenAI client: the base URL, and the server's token as the API key (this one has none)
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 })
  const messages = [{ role: "user" as const, content: "What is the weather in Paris?" }]

  const models = yield* call((signal) => openai.models.list({ signal }))
  yield* Console.log(`GET /v1/models: ${models.data.map((model) => model.id).join(", ")}\n`)

  const completion = yield* call((signal) => openai.chat.completions.create({ model: "weather", messages }, { signal }))
  const choice = completion.choices[0]
  yield* Console.log(`chat.completion: ${choice?.message.content} (finish_reason: ${choice?.finish_reason})`)
  yield* Console.log(`usage of the whole run: ${JSON.stringify(completion.usage)}\n`)

  yield* Console.log("streamed, with stream_options.include_usage:")
  yield* call(async (signal) => {
    const stream = await openai.chat.completions.create({
      model: "weather",
      messages,
      stream: true,
      stream_options: { include_usage: true }
    }, { signal })
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content
      if (text) process.stdout.write(text)
      if (chunk.usage) process.stdout.write(`\n  usage: ${JSON.stringify(chunk.usage)}\n\n`)
    }
  })

  const structured = yield* call((signal) =>
    openai.chat.completions.create({
      model: "weather",
      messages,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "forecast",
          strict: true,
          schema: {
            type: "object",
            properties: { city: { type: "string" }, temperatureC: { type: "number" } },
            required: ["city", "temperatureC"],
            additionalProperties: false
          }
        }
      }
    }, { signal })
  )
  yield* Console.log(`response_format json_schema: ${structured.choices[0]?.message.content}\n`)

  const missing = yield* Effect.flip(
    call((signal) => openai.chat.completions.create({ model: "gpt-4o", messages }, { signal }))
  )
  const error = missing.error as unknown
  yield* Console.log(
    error instanceof OpenAI.APIError
      ? `a model not served: ${error.status} ${JSON.stringify(error.error)}`
      : `a model not served: ${String(error)}`
  )
})

program.pipe(Effect.provide(ServerLive), NodeRuntime.runMain)
