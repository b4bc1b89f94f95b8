import type { LanguageModel as AiLanguageModel } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { OpenAiClient as AiOpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Layer, Redacted, Schedule, Schema, Stream } from "effect"
import type { LanguageModel, Policy } from "effect-agents"
import { Agent, AgentError, RunEvent, Tool, Toolkit } from "effect-agents"
import { EffectAiModel } from "effect-agents/effect-ai"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { AnthropicCompatServer, OpenAiCompatServer, type ScriptedModel } from "effect-agents/testing"
import { inspect } from "node:util"

const apiKey = "sk-test-7c1e9b2a4d6f"

/** Our model on a provider's `@effect/ai` layer, its HTTP client open until the test's scope closes. */
const bridged = (
  options: EffectAiModel.Options,
  provider: Layer.Layer<AiLanguageModel.LanguageModel, never, HttpClient.HttpClient>
) =>
  Effect.flatMap(
    Layer.build(provider.pipe(Layer.provide(NodeHttpClient.layerUndici))),
    (context) => Effect.provide(EffectAiModel.make(options), context)
  )

/** `@effect/ai-openai` (the Responses API) against the project's OpenAI-compatible server. */
const onOpenAi = (script: ScriptedModel.Script, options?: Partial<EffectAiModel.Options>) =>
  Effect.gen(function*() {
    const server = yield* OpenAiCompatServer.make(script)
    const model = yield* bridged(
      { model: "sim", provider: "openai", ...options },
      OpenAiLanguageModel.layer({ model: "sim" }).pipe(
        Layer.provide(AiOpenAiClient.layer({ apiKey: Redacted.make(apiKey), apiUrl: server.url }))
      )
    )
    return { model, server, requests: Effect.map(server.requests, (all) => all.map((r) => r.body)) }
  })

/** `@effect/ai-anthropic` against the scripted Anthropic Messages server. */
const onAnthropic = (script: ScriptedModel.Script) =>
  Effect.gen(function*() {
    const server = yield* AnthropicCompatServer.make(script)
    const model = yield* bridged(
      { model: "claude-sim", provider: "anthropic" },
      AnthropicLanguageModel.layer({ model: "claude-sim" }).pipe(
        Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make(apiKey), apiUrl: server.url }))
      )
    )
    return { model, requests: Effect.map(server.requests, (all) => all.map((r) => r.body)), server }
  })

/** The native provider: `OpenAiModel` over the `openai` SDK, Chat Completions. */
const onNative = (script: ScriptedModel.Script) =>
  Effect.gen(function*() {
    const server = yield* OpenAiCompatServer.make(script)
    const model = yield* OpenAiModel.make({ model: "sim" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseURL: server.url }))
    )
    return { model, requests: Effect.map(server.requests, (all) => all.map((r) => r.body)) }
  })

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})
const lookup = Tool.make("lookup", {
  description: "Look a word up",
  parameters: { word: Schema.String, language: Schema.optional(Schema.Literal("en", "fr")) },
  handler: ({ word }) => ({ word, meaning: `the meaning of ${word}` })
})

const agentOn = (model: LanguageModel.Service, policy?: Policy.Options) =>
  Agent.make({ name: "tester", instructions: "Be brief.", model, toolkit: Toolkit.make(add, lookup), policy })

/** A two-step script: both tools at once, then an answer from their results. */
const script = (): ScriptedModel.Script => [
  {
    toolCalls: [
      { name: "add", arguments: { a: 2, b: 3 }, id: "call_add" },
      { name: "lookup", arguments: { word: "effect" }, id: "call_lookup" }
    ],
    usage: { inputTokens: 20, outputTokens: 6 }
  },
  { text: "2 + 3 = 5, and effect means the meaning of effect.", usage: { inputTokens: 40, outputTokens: 12 } }
]

/** What a run gives, without what differs by nature (ids, timings). */
const summary = (result: Agent.RunResult<string>) => ({
  content: result.content,
  steps: result.steps.map((step) => ({
    toolCalls: step.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments, result: call.result }))
  })),
  inputTokens: result.metrics.inputTokens,
  outputTokens: result.metrics.outputTokens,
  toolCalls: result.metrics.toolCalls
})

const providers = [["@effect/ai-openai", onOpenAi], ["@effect/ai-anthropic", onAnthropic]] as const

describe.each(providers)("EffectAiModel over %s, end to end over HTTP", (_, on) => {
  it.scopedLive("runs the same agent to the same result as the native provider, generated and streamed", () =>
    Effect.gen(function*() {
      const native = yield* onNative(script())
      const expected = summary(yield* Effect.flatMap(agentOn(native.model), (agent) => agent.run("2 + 3, and effect?")))
      const bridged = yield* on(script())
      const agent = yield* agentOn(bridged.model)
      expect(summary(yield* agent.run("2 + 3, and effect?"))).toEqual(expected)

      const streamedOn = yield* on(script())
      const events = Chunk.toReadonlyArray(
        yield* Stream.runCollect((yield* agentOn(streamedOn.model)).stream("2 + 3, and effect?"))
      )
      const completed = events.at(-1)
      if (completed?._tag !== "RunCompleted") return expect.fail("the stream ends with RunCompleted")
      expect(summary(completed.result)).toEqual(expected)
      const deltas = events.filter(RunEvent.is("TextDelta"))
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.map((delta) => delta.text).join("")).toBe(expected.content)
    }))

  it.scopedLive("declares the tools by their JSON Schema and sends the calls and results back", () =>
    Effect.gen(function*() {
      const { model, requests } = yield* on(script())
      yield* Effect.flatMap(agentOn(model), (agent) => agent.run("2 + 3, and effect?"))
      const [first, second] = yield* requests
      const tools = (first as { readonly tools: ReadonlyArray<Record<string, unknown>> }).tools
      const schemaOf = (name: string) => {
        const tool = tools.find((tool) => tool.name === name)
        return tool?.parameters ?? tool?.input_schema
      }
      expect(schemaOf("add")).toEqual(add.definition.parameters)
      expect(schemaOf("lookup")).toEqual(lookup.definition.parameters)
      expect(JSON.stringify(second)).toContain("call_add")
      expect(JSON.stringify(second)).toContain("the meaning of effect")
    }))

  it.scopedLive("a 429 is RateLimited with its retry-after, and the agent retries no sooner", () =>
    Effect.gen(function*() {
      const limited: ScriptedModel.Turn = {
        fail: { error: new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.millis(300) }) },
        text: "ok"
      }
      const { model } = yield* on([limited])
      const error = yield* Effect.flip(model.generate({ messages: [{ role: "user", content: "hi" }], tools: [] }))
      expect(error).toMatchObject({ _tag: "RateLimited", message: "slow down" })
      expect(error._tag === "RateLimited" && error.retryAfter).toStrictEqual(Duration.millis(300))

      const again = yield* on([limited])
      const agent = yield* agentOn(again.model, { retry: Schedule.spaced("10 millis") })
      const [elapsed, result] = yield* Effect.timed(agent.run("hi"))
      expect(result.content).toBe("ok")
      expect(result.metrics.retries).toBe(1)
      expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(300)
    }))

  it.scopedLive("maps 5xx, 401 and 400 to their ModelErrors, with the server's message and never the key", () =>
    Effect.gen(function*() {
      const failures = [
        new AgentError.ModelUnavailable({ message: "upstream broke", status: 503 }),
        new AgentError.AuthenticationFailed({ message: "invalid x-api-key" }),
        new AgentError.InvalidRequest({ message: "max_tokens: too large" })
      ]
      const { model } = yield* on((_, index) => ({ fail: { error: failures[index]! } }))
      const request = { messages: [{ role: "user" as const, content: "hi" }], tools: [] }
      const errors = yield* Effect.forEach([1, 2, 3], () => Effect.flip(model.generate(request)))
      expect(errors.map((error) => ({ _tag: error._tag, message: error.message, retryable: error.retryable })))
        .toEqual([
          { _tag: "ModelUnavailable", message: "upstream broke", retryable: true },
          { _tag: "AuthenticationFailed", message: "invalid x-api-key", retryable: false },
          { _tag: "InvalidRequest", message: "max_tokens: too large", retryable: false }
        ])
      expect(errors.map((error) => "status" in error && error.status)).toEqual([503, 401, 400])
      for (const error of errors) expect(inspect(error, { depth: 10 })).not.toContain(apiKey)
    }))
})

describe("EffectAiModel over @effect/ai-anthropic", () => {
  it.scopedLive("a 529 overloaded is a retryable ModelUnavailable, retried by the agent", () =>
    Effect.gen(function*() {
      const { model } = yield* onAnthropic([
        {
          fail: { error: new AgentError.ModelUnavailable({ message: "Overloaded", status: 529 }), times: 2 },
          text: "ok"
        }
      ])
      const error = yield* Effect.flip(model.generate({ messages: [{ role: "user", content: "hi" }], tools: [] }))
      expect(error).toMatchObject({ _tag: "ModelUnavailable", message: "Overloaded", status: 529 })
      const agent = yield* agentOn(model, { retry: Schedule.spaced("10 millis") })
      const result = yield* agent.run("hi")
      expect({ content: result.content, retries: result.metrics.retries }).toEqual({ content: "ok", retries: 1 })
    }))

  it.scopedLive("an overloaded_error event inside the 200 stream fails the stream with ModelUnavailable", () =>
    Effect.gen(function*() {
      const { model } = yield* onAnthropic([{ text: "one two three four", cutAfter: 2 }])
      const request = { messages: [{ role: "user" as const, content: "hi" }], tools: [] }
      const [parts, error] = yield* Effect.gen(function*() {
        const seen: Array<LanguageModel.StreamPart> = []
        const error = yield* Effect.flip(
          Stream.runForEach(model.stream(request), (part) => Effect.sync(() => seen.push(part)))
        )
        return [seen, error] as const
      })
      expect(parts.map((part) => part._tag === "TextDelta" && part.text).join("")).toBe("one two ")
      expect(error).toMatchObject({ _tag: "ModelUnavailable", message: "Overloaded" })
    }))

  it.scopedLive("sends the API key as x-api-key, which the recorded headers hold and no error shows", () =>
    Effect.gen(function*() {
      const { model, server } = yield* onAnthropic([{ text: "hello" }])
      const response = yield* model.generate({ messages: [{ role: "user", content: "hi" }], tools: [] })
      expect(response).toEqual({
        text: "hello",
        toolCalls: [],
        usage: response.usage,
        finishReason: "stop",
        model: "claude-sim"
      })
      const [received] = yield* server.requests
      expect(received!.headers["x-api-key"]).toBe(apiKey)
    }))
})

describe("EffectAiModel over @effect/ai-openai", () => {
  it.scopedLive("a server that echoes the key in its error does not pass it on: secrets are scrubbed", () =>
    Effect.gen(function*() {
      const echo = new AgentError.AuthenticationFailed({ message: `Incorrect API key provided: ${apiKey}` })
      const { model } = yield* onOpenAi([{ fail: { error: echo } }], { secrets: [Redacted.make(apiKey)] })
      const error = yield* Effect.flip(model.generate({ messages: [{ role: "user", content: "hi" }], tools: [] }))
      expect(error).toMatchObject({ _tag: "AuthenticationFailed", message: "Incorrect API key provided: <redacted>" })
    }))

  it.scopedLive("the policy's model timeout stops a hanging request: ModelTimeout, and the server sees the client go", () =>
    Effect.gen(function*() {
      const { model, server } = yield* onOpenAi([{ hang: true }])
      const agent = yield* agentOn(model, { modelTimeout: "200 millis", retry: false })
      const error = yield* Effect.flip(agent.run("hi"))
      expect(error._tag).toBe("ModelTimeout")
      const stats = yield* server.awaitStats((stats) => stats.open === 0)
      expect(stats.abortedByClient).toBe(1)
    }))

  it.scopedLive("a connection refused is a retryable ModelUnavailable naming the server", () =>
    Effect.gen(function*() {
      // the same provider, pointed at a port nothing listens on
      const closed = yield* bridged(
        { model: "sim" },
        OpenAiLanguageModel.layer({ model: "sim" }).pipe(
          Layer.provide(AiOpenAiClient.layer({ apiKey: Redacted.make(apiKey), apiUrl: "http://127.0.0.1:9/v1" }))
        )
      )
      const error = yield* Effect.flip(closed.generate({ messages: [{ role: "user", content: "hi" }], tools: [] }))
      expect(error._tag).toBe("ModelUnavailable")
      expect(error.message).toContain("http://127.0.0.1:9/v1/responses")
    }))
})

describe("structured output through generateObject", () => {
  const Forecast = Schema.Struct({ city: Schema.String, temperatureC: Schema.Number })
  const forecast = { city: "Oslo", temperatureC: -3 }
  const forecasterOn = (model: LanguageModel.Service) =>
    Agent.make({ name: "Forecaster", instructions: "Forecast.", model, output: Forecast })

  it.scopedLive("@effect/ai-openai asks for the output's JSON Schema as text.format and decodes the answer", () =>
    Effect.gen(function*() {
      const { model, requests } = yield* onOpenAi([{ text: JSON.stringify(forecast) }])
      const result = yield* Effect.flatMap(forecasterOn(model), (agent) => agent.run("Oslo?"))
      expect(result.output).toEqual(forecast)
      const [body] = yield* requests
      expect(body).toMatchObject({ text: { format: { type: "json_schema", name: "Forecaster" } } })
    }))

  it.scopedLive("@effect/ai-anthropic forces a tool named after the output, whose input is the answer", () =>
    Effect.gen(function*() {
      const { model, requests } = yield* onAnthropic((request) => ({
        toolCalls: request.tools.map((tool) => ({ name: tool.name, arguments: forecast }))
      }))
      const result = yield* Effect.flatMap(forecasterOn(model), (agent) => agent.run("Oslo?"))
      expect(result.output).toEqual(forecast)
      const [body] = yield* requests
      // the agent's own tools are not sent beside it: Anthropic's generateObject replaces them
      expect(body).toMatchObject({ tools: [{ name: "Forecaster" }], tool_choice: { type: "tool", name: "Forecaster" } })
    }))
})

describe("a fallback chain across providers", () => {
  it.scopedLive("policy.fallback: Anthropic answers after an OpenAI outage, with the same retries", () =>
    Effect.gen(function*() {
      const outage = new AgentError.ModelUnavailable({ message: "the OpenAI API is down", status: 503 })
      const openai = yield* onOpenAi([{ fail: { error: outage, times: 100 } }])
      const anthropic = yield* onAnthropic(script())
      const agent = yield* Agent.make({
        name: "tester",
        instructions: "Be brief.",
        model: openai.model,
        toolkit: Toolkit.make(add, lookup),
        policy: { fallback: [anthropic.model], retry: Schedule.recurs(1).pipe(Schedule.addDelay(() => "5 millis")) }
      })
      const result = yield* agent.run("2 + 3, and effect?")
      expect(result.content).toBe("2 + 3 = 5, and effect means the meaning of effect.")
      expect(result.steps.map((step) => step.model)).toEqual(["claude-sim", "claude-sim"])
      // two attempts on OpenAI for the first call, then Anthropic for the rest of the run
      expect((yield* openai.requests).length).toBe(4)
      expect((yield* anthropic.requests).length).toBe(2)
    }))
})
