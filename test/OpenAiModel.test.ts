import { describe, expect, it } from "@effect/vitest"
import {
  Chunk,
  ConfigProvider,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Redacted,
  Schedule,
  Schema,
  Stream,
  TestClock
} from "effect"
import type { Policy } from "effect-agents"
import { Agent, AgentError, LanguageModel, RunEvent, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, type ScriptedModel } from "effect-agents/testing"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { inspect } from "node:util"
import { gzipSync } from "node:zlib"

const apiKey = "sk-test-4f9a0c1d2e3b"

const setupWith = (
  script: ScriptedModel.Script,
  options?: {
    readonly server?: OpenAiCompatServer.Options
    readonly model?: Partial<OpenAiModel.Options>
    readonly fetch?: typeof fetch | undefined
  }
) =>
  Effect.gen(function*() {
    const server = yield* OpenAiCompatServer.make(script, options?.server)
    const model = yield* OpenAiModel.make({ model: "sim", ...options?.model }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseURL: server.url, fetch: options?.fetch }))
    )
    return { server, model }
  })

const agentOn = (model: LanguageModel.Service, options?: { toolkit?: Toolkit.Any; policy?: Policy.Options }) =>
  Agent.make({ name: "tester", instructions: "Be brief.", model, toolkit: options?.toolkit, policy: options?.policy })

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})

const question = (text: string): LanguageModel.GenerateRequest => ({ messages: [LanguageModel.user(text)], tools: [] })

/** A quick retry for tests: the wait comes from retry-after, not from the schedule. */
const quickRetry = { retry: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3))) }

// every behaviour holds for both transports: the global fetch and OpenAiClient.nodeFetch
describe.each(
  [
    ["the global fetch", undefined],
    ["OpenAiClient.nodeFetch", OpenAiClient.nodeFetch()]
  ] as const
)("OpenAiModel over the openai SDK, with %s", (_, fetch) => {
  const setup = (script: ScriptedModel.Script, options?: Parameters<typeof setupWith>[1]) =>
    setupWith(script, { ...options, fetch })

  it.scopedLive("answers with text and reports usage", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ text: "Hello there.", usage: { inputTokens: 12, outputTokens: 3 } }])
      const response = yield* model.generate(question("Hi"))
      expect(response).toEqual({
        text: "Hello there.",
        toolCalls: [],
        usage: { inputTokens: 12, outputTokens: 3 },
        finishReason: "stop",
        model: "sim"
      })
      const [request] = yield* server.requests
      expect(request!.body).toEqual({ model: "sim", messages: [{ role: "user", content: "Hi" }] })
    }))

  it.scopedLive("reports the cached input tokens (priced apart), generated and streamed", () =>
    Effect.gen(function*() {
      const usage = { inputTokens: 1000, outputTokens: 10, cachedInputTokens: 600 }
      const { model } = yield* setup([{ text: "a", usage }, { text: "b", usage }])
      expect((yield* model.generate(question("Hi"))).usage).toEqual(usage)
      const parts = Chunk.toArray(yield* Stream.runCollect(model.stream(question("Hi"))))
      expect(parts.at(-1)).toMatchObject({ _tag: "Finish", usage })
    }))

  it.scopedLive("runs a tool-call round trip inside Agent.run", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([
        { toolCalls: [{ name: "add", arguments: { a: 2, b: 3 } }] },
        { text: "2 + 3 = 5" }
      ], { model: { parallelToolCalls: true, temperature: 0 } })
      const agent = yield* agentOn(model, { toolkit: Toolkit.make(add) })
      const result = yield* agent.run("2 + 3?")
      expect(result.content).toBe("2 + 3 = 5")
      const [first, second] = yield* server.requests
      expect(first!.body).toMatchObject({
        temperature: 0,
        parallel_tool_calls: true,
        tools: [{
          type: "function",
          function: {
            name: "add",
            description: "Add two numbers",
            strict: true,
            parameters: {
              type: "object",
              required: ["a", "b"],
              properties: { a: { type: "number" }, b: { type: "number" } },
              additionalProperties: false
            }
          }
        }]
      })
      expect(second!.body).toMatchObject({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "2 + 3?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_0_0",
              type: "function",
              function: { name: "add", arguments: "{\"a\":2,\"b\":3}" }
            }]
          },
          { role: "tool", tool_call_id: "call_0_0", content: "5" }
        ]
      })
      // the server reads the tool result back with its call's name, which the wire does not carry
      expect(second!.request.messages.at(-1)).toMatchObject({ role: "tool", toolCallId: "call_0_0", name: "add" })
    }))

  it.scopedLive("streams text deltas that add up to the text, while the response is still open", () =>
    Effect.gen(function*() {
      const text = "Streams arrive piece by piece over the wire."
      const { model, server } = yield* setup([
        { text, chunkInterval: "15 millis", usage: { inputTokens: 9, outputTokens: 8 } }
      ])
      const agent = yield* agentOn(model)
      const openAtFirstDelta: Array<number> = []
      const events = yield* agent.stream("Tell me").pipe(
        Stream.tap((event) =>
          event._tag === "TextDelta" && openAtFirstDelta.length === 0
            ? Effect.map(server.stats, (stats) => openAtFirstDelta.push(stats.open))
            : Effect.void
        ),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      const deltas = events.filter(RunEvent.is("TextDelta"))
      expect(deltas.length).toBe(8)
      expect(deltas.map((delta) => delta.text).join("")).toBe(text)
      expect(openAtFirstDelta).toEqual([1])
      const completed = events.at(-1)
      if (completed?._tag !== "RunCompleted") return expect.fail("the stream ends with RunCompleted")
      expect(completed.result.metrics.inputTokens).toBe(9)
      expect(completed.result.metrics.outputTokens).toBe(8)
      expect(completed.result.metrics.timeToFirstTokenMs).toBeGreaterThanOrEqual(0)
      const [request] = yield* server.requests
      expect(request!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    }))

  it.scopedLive("assembles tool-call arguments streamed in pieces", () =>
    Effect.gen(function*() {
      const sums: ScriptedModel.Turn = {
        toolCalls: [{ name: "add", arguments: { a: 40, b: 2 } }, { name: "add", arguments: { a: 1, b: 1 } }]
      }
      // one call for model.stream, then the agent's two
      const { model } = yield* setup([sums, sums, { text: "42 and 2" }])
      const parts = yield* Stream.runCollect(model.stream({ ...question("sums"), tools: [add.definition] }))
      expect(Chunk.toReadonlyArray(parts).filter((part) => part._tag === "ToolCall")).toEqual([
        { _tag: "ToolCall", toolCall: { id: "call_0_0", name: "add", arguments: "{\"a\":40,\"b\":2}" } },
        { _tag: "ToolCall", toolCall: { id: "call_0_1", name: "add", arguments: "{\"a\":1,\"b\":1}" } }
      ])
      const agent = yield* agentOn(model, { toolkit: Toolkit.make(add) })
      const streamed = yield* Stream.runCollect(agent.stream("sums"))
      const results = Chunk.toReadonlyArray(streamed).filter(RunEvent.is("ToolCallCompleted"))
      expect(results.map((event) => event.call.result)).toEqual(["42", "2"])
    }))

  it.scopedLive("asks for structured output with a strict json_schema response format", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ text: "{\"city\":\"Oslo\",\"celsius\":9}" }])
      const agent = yield* Agent.make({
        name: "weather",
        instructions: "",
        model,
        output: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
      })
      const result = yield* agent.run("Oslo?")
      expect(result.output).toEqual({ city: "Oslo", celsius: 9 })
      const [request] = yield* server.requests
      expect(request!.body).toMatchObject({
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "weather",
            strict: true,
            schema: { type: "object", required: ["city", "celsius"], additionalProperties: false }
          }
        }
      })
    }))

  it.scopedLive("a 429 is retried no sooner than its retry-after", () =>
    Effect.gen(function*() {
      for (const headers of ["both", "ms"] as const) {
        const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.millis(80) })
        const { model, server } = yield* setup([{ fail: { error: limited }, text: "ok" }], {
          server: { retryAfterHeaders: headers }
        })
        const agent = yield* agentOn(model, { policy: quickRetry })
        const result = yield* agent.run("hi")
        expect(result.content).toBe("ok")
        expect(result.metrics.retries).toBe(1)
        const [first, second] = yield* server.requests
        expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(80)
      }
    }))

  it.scopedLive("a 429 without retry-after backs off by the policy's schedule", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down" })
      const { model, server } = yield* setup([{ fail: { error: limited, times: 2 }, text: "ok" }])
      const error = yield* Effect.flip(model.generate(question("hi")))
      expect(error).toStrictEqual(new AgentError.RateLimited({ message: "slow down" }))
      const agent = yield* agentOn(model, {
        policy: { retry: Schedule.spaced("60 millis").pipe(Schedule.intersect(Schedule.recurs(1))) }
      })
      expect((yield* agent.run("hi")).content).toBe("ok")
      const [, second, third] = yield* server.requests
      expect(third!.receivedAt - second!.receivedAt).toBeGreaterThanOrEqual(60)
    }))

  it.scopedLive("a 500 is retried; a 400 is not, and carries the server's message", () =>
    Effect.gen(function*() {
      const down = new AgentError.ModelUnavailable({ message: "overloaded", status: 500 })
      const bad = new AgentError.InvalidRequest({ message: "'messages' is too long", status: 400 })
      const { model, server } = yield* setup([{ fail: { error: down }, text: "recovered" }, { fail: { error: bad } }])
      const agent = yield* agentOn(model, { policy: quickRetry })
      expect((yield* agent.run("one")).content).toBe("recovered")
      expect(yield* Effect.flip(agent.run("two"))).toStrictEqual(bad)
      expect((yield* server.requests).length).toBe(3)
    }))

  it.scopedLive("maps every failure to its ModelError", () =>
    Effect.gen(function*() {
      // a function script fails every call whose turn has `fail`
      const turns: ReadonlyArray<ScriptedModel.Turn> = [
        { fail: { error: new AgentError.AuthenticationFailed({ message: "Incorrect API key provided" }) } },
        { fail: { error: new AgentError.AuthenticationFailed({ message: "no access", status: 403 }) } },
        { fail: { error: new AgentError.InvalidRequest({ message: "no such model", status: 404 }) } },
        { fail: { error: new AgentError.ModelUnavailable({ message: "timeout", status: 408 }) } },
        { fail: { error: new AgentError.ModelUnavailable({ message: "conflict", status: 409 }) } },
        { fail: { error: new AgentError.MalformedResponse({ message: "" }) } },
        { text: "cut", cutAfter: 0 }
      ]
      const { model } = yield* setup((_, index) => turns[index]!)
      const errors = yield* Effect.forEach(Array.from({ length: 7 }), () => Effect.flip(model.generate(question("x"))))
      expect(errors.map((error) => [error._tag, "status" in error ? error.status : undefined])).toEqual([
        ["AuthenticationFailed", 401],
        ["AuthenticationFailed", 403],
        ["InvalidRequest", 404],
        ["ModelUnavailable", 408],
        ["ModelUnavailable", 409],
        ["MalformedResponse", undefined],
        ["ModelUnavailable", undefined]
      ])
      expect(errors[0]!.message).toBe("Incorrect API key provided")
      expect(errors[5]!.message).toMatch(/^the response is not valid JSON/)
    }))

  it.scopedLive("a stream cut in the middle fails with ModelUnavailable after its first deltas", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ text: "one two three four five", cutAfter: 2 }])
      const parts: Array<LanguageModel.StreamPart> = []
      const exit = yield* model.stream(question("x")).pipe(
        Stream.runForEach((part) => Effect.sync(() => parts.push(part))),
        Effect.exit
      )
      expect(parts).toEqual([{ _tag: "TextDelta", text: "one " }, { _tag: "TextDelta", text: "two " }])
      const error = yield* Effect.flip(exit)
      expect(error._tag).toBe("ModelUnavailable")
      expect((yield* server.awaitStats((stats) => stats.open === 0)).cutByServer).toBe(1)
    }))

  it.scopedLive("a hanging request cut by Effect.timeout is aborted: the server sees the client go", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ hang: true }])
      const exit = yield* Effect.exit(Effect.timeout(model.generate(question("x")), "100 millis"))
      expect(Exit.isFailure(exit)).toBe(true)
      const stats = yield* server.awaitStats((stats) => stats.open === 0)
      expect(stats).toMatchObject({ total: 1, open: 0, abortedByClient: 1, completed: 0 })
    }))

  it.scopedLive("the policy's model timeout stops a hanging request: ModelTimeout, then a retry", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ hang: true }, { text: "second time" }, { hang: true }])
      const agent = yield* agentOn(model, { policy: { modelTimeout: "100 millis", ...quickRetry } })
      const result = yield* agent.run("x")
      expect(result.content).toBe("second time")
      expect(result.metrics.retries).toBe(1)
      const timeout = Duration.millis(50)
      expect(yield* Effect.flip(model.generate({ ...question("y"), timeout }))).toStrictEqual(
        new AgentError.ModelTimeout({ timeout })
      )
      const stats = yield* server.awaitStats((stats) => stats.open === 0)
      expect(stats).toMatchObject({ total: 3, abortedByClient: 2, completed: 1 })
    }))

  it.scopedLive("the caller's signal aborts a request in flight by itself, interruption or not", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ hang: true }, { hang: true }])
      for (const call of [model.generate(question("x")), Stream.runDrain(model.stream(question("y")))]) {
        const controller = new AbortController()
        // an uninterruptible call: only the signal can stop its request
        const fiber = yield* Effect.fork(
          Effect.locally(Effect.uninterruptible(Effect.exit(call)), LanguageModel.currentAbortSignal, controller.signal)
        )
        yield* server.awaitStats((stats) => stats.open === 1)
        controller.abort()
        yield* server.awaitStats((stats) => stats.open === 0)
        expect(Exit.isFailure(yield* Fiber.join(fiber))).toBe(true)
      }
      expect((yield* server.stats).abortedByClient).toBe(2)
    }))

  it.scopedLive("Agent.runPromise: a signal stops the run and its request", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ hang: true }])
      const agent = yield* agentOn(model)
      const controller = new AbortController()
      const settled = Agent.runPromise(agent, "x", { signal: controller.signal }).then(
        () => "resolved",
        (error: unknown) => error
      )
      yield* server.awaitStats((stats) => stats.open === 1)
      const reason = new Error("the caller went away")
      controller.abort(reason)
      // rejected with the signal's reason, as fetch is
      expect(yield* Effect.promise(() => settled)).toBe(reason)
      expect((yield* server.awaitStats((stats) => stats.open === 0)).abortedByClient).toBe(1)
    }))

  it.scopedLive("interrupting a fiber mid-stream aborts the request", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([{ text: "a b c d e f g h i j", chunkInterval: "50 millis" }])
      const agent = yield* agentOn(model)
      const fiber = yield* agent.stream("go").pipe(
        Stream.filter(RunEvent.is("TextDelta")),
        Stream.runForEach(() => Effect.void),
        Effect.fork
      )
      yield* server.awaitStats((stats) => stats.open === 1)
      yield* Fiber.interrupt(fiber)
      const stats = yield* server.awaitStats((stats) => stats.open === 0)
      expect(stats).toMatchObject({ total: 1, abortedByClient: 1, completed: 0 })
    }))

  describe("a server that stalls", () => {
    // headers, then nothing; one chunk, then nothing; a non-streamed answer's headers, then no body
    const stalls = [
      ["a stream, after its headers", { stallAfter: 0 }, true],
      ["a stream, after its first chunk", { stallAfter: 1 }, true],
      ["an answer, after its headers", { stallAfter: 0 }, false]
    ] as const

    /**
     * The stalled call, on the transport under test, and an Effect that waits until the client
     * holds all the server will ever send: the response's headers, and its first chunk when
     * there is one.
     */
    const stalledCall = (turn: ScriptedModel.Turn, streamed: boolean, timeout?: Duration.Duration) =>
      Effect.gen(function*() {
        const headers = yield* Deferred.make<void>()
        const firstChunk = yield* Deferred.make<void>()
        const base = fetch ?? globalThis.fetch
        const watched = ((input: string | URL | Request, init?: RequestInit) =>
          base(input, init).then((response) => {
            Deferred.unsafeDone(headers, Exit.void)
            return response
          })) as typeof globalThis.fetch
        const { model, server } = yield* setupWith([{ text: "never seen", ...turn }], { fetch: watched })
        const request = { ...question("x"), timeout }
        const call = streamed
          ? Stream.runDrain(Stream.tap(model.stream(request), () => Deferred.succeed(firstChunk, undefined)))
          : Effect.asVoid(model.generate(request))
        // nodeFetch hands the SDK a JSON answer once its body is read: never, here
        const stalled = !streamed && fetch !== undefined
          ? server.awaitStats((stats) => stats.open === 1)
          : Effect.zipRight(Deferred.await(headers), turn.stallAfter === 0 ? Effect.void : Deferred.await(firstChunk))
        return { call, stalled, server }
      })

    it.scoped.each(stalls)(
      "%s: the model timeout ends the call with ModelTimeout at its deadline",
      ([, turn, streamed]) =>
        Effect.gen(function*() {
          const timeout = Duration.seconds(30)
          const { call, server, stalled } = yield* stalledCall(turn, streamed, timeout)
          const fiber = yield* Effect.fork(Effect.flip(call))
          yield* stalled
          yield* TestClock.adjust(Duration.subtract(timeout, Duration.millis(1)))
          expect(fiber.unsafePoll()).toBeNull()
          yield* TestClock.adjust(Duration.millis(1))
          expect(yield* Fiber.join(fiber)).toStrictEqual(new AgentError.ModelTimeout({ timeout }))
          const stats = yield* server.awaitStats((stats) => stats.open === 0)
          expect(stats).toMatchObject({ total: 1, abortedByClient: 1, completed: 0 })
        })
    )

    it.scoped.each(stalls)(
      "%s: interrupting the call returns at once and closes the request",
      ([, turn, streamed]) =>
        Effect.gen(function*() {
          const { call, server, stalled } = yield* stalledCall(turn, streamed)
          const fiber = yield* Effect.fork(call)
          yield* stalled
          yield* Fiber.interrupt(fiber)
          const stats = yield* server.awaitStats((stats) => stats.open === 0)
          expect(stats).toMatchObject({ total: 1, abortedByClient: 1, completed: 0 })
        })
    )
  })

  it.scopedLive("maxConcurrentRequests bounds the requests open at the server, across 200 runs", () =>
    Effect.gen(function*() {
      const runAll = (model: LanguageModel.Service, runs: number) =>
        Effect.flatMap(agentOn(model), (agent) =>
          Effect.forEach(
            Array.from({ length: runs }, (_, i) => `run ${i}`),
            (input) => agent.run(input),
            { concurrency: "unbounded" }
          ))
      // without a limit, all 50 are open at once; with one, 8 are, and the others wait
      for (const limit of [undefined, 8]) {
        const { model, server } = yield* setup(() => ({ hang: true }), { model: { maxConcurrentRequests: limit } })
        const hanging = yield* Effect.fork(runAll(model, 50))
        yield* server.awaitStats((stats) => stats.open === (limit ?? 50))
        yield* Fiber.interrupt(hanging)
      }

      // 200 runs through 8 slots: never more than 8 open, every run answered
      const { model, server } = yield* setup(() => ({ text: "ok", latency: "25 millis" }), {
        model: { maxConcurrentRequests: 8 }
      })
      const results = yield* runAll(model, 200)
      expect(results.every((result) => result.content === "ok")).toBe(true)
      const stats = yield* server.stats
      expect(stats.total).toBe(200)
      expect(stats.peakOpen).toBeLessThanOrEqual(8)
    }))

  it.scopedLive("the API key never appears in errors, logs or the client's printed form", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup([
        { fail: { error: new AgentError.AuthenticationFailed({ message: "Incorrect API key provided" }) } }
      ])
      const logs: Array<string> = []
      const logger = Logger.make(({ message, cause }) => logs.push(inspect(message, { depth: 8 }) + inspect(cause)))
      const error = yield* Effect.flip(model.generate(question("x")))
      yield* Effect.logError("model call failed", error).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const client = OpenAiClient.make({ apiKey: Redacted.make(apiKey), baseURL: server.url })
      const printed = [
        String(error),
        JSON.stringify(error),
        inspect(error, { depth: 8 }),
        ...logs,
        String(client),
        JSON.stringify(client),
        inspect(client, { depth: 8 })
      ]
      expect(logs.length).toBe(1)
      for (const text of printed) expect(text).not.toContain(apiKey)
      expect(inspect(client)).toContain("<redacted>")
    }))
})

describe("OpenAiModel requestsPerMinute", () => {
  it.scoped("holds over any window of 60 seconds: requests are spread, not sent in a burst", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setupWith(() => ({ text: "ok" }), { model: { requestsPerMinute: 60 } })
      const calls = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 90 }), () => model.generate(question("x")), { concurrency: "unbounded" })
      )
      // each second of the clock lets the next request go; it reaches the server over real HTTP
      for (let sent = 1; sent <= 90; sent++) {
        yield* server.awaitStats((stats) => stats.total >= sent)
        yield* TestClock.adjust("1 second")
      }
      yield* Fiber.join(calls)
      const times = (yield* server.requests).map((request) => request.receivedAt).sort((a, b) => a - b)
      const busiestMinute = Math.max(
        ...times.map((start) => times.filter((t) => t >= start && t < start + 60_000).length)
      )
      expect(busiestMinute).toBe(60)
      expect((yield* server.stats).peakOpen).toBe(1)
    }))
})

describe("OpenAiClient.layerConfig", () => {
  const run = (env: Record<string, string>) =>
    OpenAiClient.OpenAiClient.pipe(
      Effect.provide(
        OpenAiClient.layerConfig().pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
        )
      )
    )

  it.effect("reads the key and the base URL from configuration", () =>
    Effect.gen(function*() {
      const client = yield* run({ OPENAI_API_KEY: apiKey, OPENAI_BASE_URL: "http://127.0.0.1:1234/v1" })
      expect(client.baseURL).toBe("http://127.0.0.1:1234/v1")
      expect(client.client.maxRetries).toBe(0)
    }))

  it.effect("fails with a ConfigError that says OPENAI_API_KEY is not set, and what to do, without it", () =>
    Effect.gen(function*() {
      for (const env of [{}, { OPENAI_API_KEY: "" }]) {
        const error = yield* Effect.flip(run(env))
        if (error._op !== "MissingData") return expect.fail(`MissingData, not ${error._op}`)
        expect(error.path).toEqual(["OPENAI_API_KEY"])
        expect(error.message).toMatch(/^OPENAI_API_KEY is not set/)
        expect(error.message).toContain("OPENAI_API_KEY=sk-")
        expect(error.message).toContain("ScriptedModel")
        expect(String(error)).not.toContain("<redacted>")
      }
    }))
})

describe("OpenAiModel.retryAfter", () => {
  const now = Date.parse("2026-11-23T10:00:00Z")
  it("reads retry-after-ms, retry-after in seconds and as an HTTP date", () => {
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after-ms": "250" }), now)).toStrictEqual(Duration.millis(250))
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after": "2" }), now)).toStrictEqual(Duration.millis(2000))
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after": "0.5" }), now)).toStrictEqual(Duration.millis(500))
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after": "Mon, 23 Nov 2026 10:00:03 GMT" }), now))
      .toStrictEqual(Duration.millis(3000))
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after-ms": "100", "retry-after": "9" }), now))
      .toStrictEqual(Duration.millis(100))
    expect(OpenAiModel.retryAfter(new Headers({}), now)).toBeUndefined()
    expect(OpenAiModel.retryAfter(new Headers({ "retry-after": "soon" }), now)).toBeUndefined()
  })

  it.scopedLive("a 429 with an HTTP date or whole seconds reaches the RateLimited error", () =>
    Effect.gen(function*() {
      for (const headers of ["seconds", "date"] as const) {
        const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(2) })
        const { model } = yield* setupWith([{ fail: { error: limited } }], { server: { retryAfterHeaders: headers } })
        const error = yield* Effect.flip(model.generate(question("x")))
        if (error._tag !== "RateLimited") return expect.fail("a 429 is RateLimited")
        // an HTTP date has whole seconds: between 1 and 2 seconds are left of it
        expect(Duration.toMillis(error.retryAfter!)).toBeGreaterThan(1000)
        expect(Duration.toMillis(error.retryAfter!)).toBeLessThanOrEqual(2000)
      }
    }))
})

describe("OpenAiClient.nodeFetch", () => {
  const nodeFetch = OpenAiClient.nodeFetch()

  /** Starts a bare node:http server on 127.0.0.1 for the test's scope; gives its port. */
  const listen = (server: Server) =>
    Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
        })
    )

  it.scopedLive("decompresses a compressed answer", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ hello: "world" })
      const server = createServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
        response.end(gzipSync(body))
      })
      const port = yield* listen(server)
      const response = yield* Effect.promise(() => nodeFetch(`http://127.0.0.1:${port}/`, { method: "GET" }))
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.json())).toEqual({ hello: "world" })
    }))

  it.scopedLive("a refused connection is a retryable ModelUnavailable, as with the global fetch", () =>
    Effect.gen(function*() {
      const model = yield* OpenAiModel.make({ model: "sim" }).pipe(
        Effect.provide(OpenAiClient.layer({
          apiKey: Redacted.make(apiKey),
          baseURL: "http://127.0.0.1:1/v1",
          fetch: nodeFetch
        }))
      )
      const error = yield* Effect.flip(model.generate(question("x")))
      expect(error._tag).toBe("ModelUnavailable")
      expect(AgentError.isRetryable(error)).toBe(true)
    }))

  it.scopedLive("hands what it is not made for to the global fetch: a streamed body", () =>
    Effect.gen(function*() {
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => response.end(Buffer.concat(chunks)))
      })
      const port = yield* listen(server)
      const body = new Blob(["streamed ", "body"]).stream()
      const response = yield* Effect.promise(() =>
        nodeFetch(`http://127.0.0.1:${port}/`, { method: "POST", body, duplex: "half" } as RequestInit)
      )
      expect(yield* Effect.promise(() => response.text())).toBe("streamed body")
    }))
})
