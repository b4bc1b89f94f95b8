import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Schema, Stream, TestClock } from "effect"
import { Agent, AgentError, LanguageModel, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const request = (
  text: string,
  tools: ReadonlyArray<LanguageModel.ToolDefinition> = []
): LanguageModel.GenerateRequest => ({
  messages: [LanguageModel.user(text)],
  tools
})

describe("ScriptedModel", () => {
  it.effect("serves turns in order, then fails with InvalidRequest", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { text: "first" },
        { toolCalls: [{ name: "search", arguments: { q: "x" } }] }
      ])
      const first = yield* model.generate(request("a"))
      const second = yield* model.generate(request("b"))
      expect([first.text, first.finishReason]).toEqual(["first", "stop"])
      expect(second.toolCalls).toEqual([{ id: "call_1_0", name: "search", arguments: "{\"q\":\"x\"}" }])
      expect(second.finishReason).toBe("tool-calls")
      const error = yield* Effect.flip(model.generate(request("c")))
      expect(error).toStrictEqual(
        new AgentError.InvalidRequest({ message: "ScriptedModel: the script has no turn left (2 served)" })
      )
      expect((yield* model.requests).map((r) => r.messages[0]!.content)).toEqual(["a", "b", "c"])
    }))

  it.effect("keeps no requests with record: false", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "a" }, { text: "b" }], { record: false })
      expect((yield* model.generate(request("1"))).text).toBe("a")
      expect((yield* model.generate(request("2"))).toolCalls).toEqual([])
      expect(yield* model.requests).toEqual([])
    }))

  it.effect("waits its latency on Effect's clock", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "late", latency: "2 seconds" }])
      const fiber = yield* Effect.fork(model.generate(request("a")))
      yield* TestClock.adjust("1999 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).text).toBe("late")
    }))

  it.effect("fails the first attempts of a turn, then answers", () =>
    Effect.gen(function*() {
      const error = new AgentError.ModelUnavailable({ message: "down" })
      const model = yield* ScriptedModel.make([{ fail: { error, times: 2 }, text: "up again" }])
      expect(yield* Effect.flip(model.generate(request("1")))).toBe(error)
      expect(yield* Effect.flip(model.generate(request("2")))).toBe(error)
      expect((yield* model.generate(request("3"))).text).toBe("up again")
    }))

  it.effect("streams text word by word, or in the chunks asked for, then tool calls and the finish", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { text: "one two three four" },
        {
          text: "one two three four",
          chunks: 2,
          toolCalls: [{ name: "t", id: "c1" }],
          usage: { inputTokens: 7, outputTokens: 3 }
        }
      ])
      const parts = (r: LanguageModel.GenerateRequest) =>
        Effect.map(Stream.runCollect(model.stream(r)), Chunk.toReadonlyArray)
      const words = yield* parts(request("a"))
      expect(words.filter((part) => part._tag === "TextDelta").map((part) => part.text)).toEqual([
        "one ",
        "two ",
        "three ",
        "four"
      ])
      expect(yield* parts(request("b"))).toEqual([
        { _tag: "TextDelta", text: "one two " },
        { _tag: "TextDelta", text: "three four" },
        { _tag: "ToolCall", toolCall: { id: "c1", name: "t", arguments: "{}" } },
        { _tag: "Finish", usage: { inputTokens: 7, outputTokens: 3 }, finishReason: "tool-calls", model: "scripted" }
      ])
    }))

  it.effect("cutAfter breaks a stream after that many chunks, and fails a generate call", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "one two three", cutAfter: 2 }, { text: "x", cutAfter: 0 }])
      const parts: Array<LanguageModel.StreamPart> = []
      const error = yield* Effect.flip(
        Stream.runForEach(model.stream(request("a")), (part) => Effect.sync(() => parts.push(part)))
      )
      expect(parts).toEqual([{ _tag: "TextDelta", text: "one " }, { _tag: "TextDelta", text: "two " }])
      expect(error).toStrictEqual(
        new AgentError.ModelUnavailable({ message: "ScriptedModel: the stream of call 0 was cut off" })
      )
      expect((yield* Effect.flip(model.generate(request("b"))))._tag).toBe("ModelUnavailable")
    }))

  it.effect("stops a call at the request's timeout with ModelTimeout, on Effect's clock", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { text: "late", latency: "5 seconds" },
        { text: "one two three four", latency: "1 second", chunkInterval: "1 second" }
      ])
      const timeout = Duration.millis(2500)
      const slow = yield* Effect.fork(Effect.flip(model.generate({ ...request("a"), timeout })))
      yield* TestClock.adjust("2499 millis")
      expect(slow.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(slow)).toStrictEqual(new AgentError.ModelTimeout({ timeout }))

      // the stream gets its first two chunks (at 1 s and 2 s), then times out at 2.5 s
      const parts: Array<LanguageModel.StreamPart> = []
      const streamed = yield* Effect.fork(
        Effect.flip(
          Stream.runForEach(model.stream({ ...request("b"), timeout }), (part) => Effect.sync(() => parts.push(part)))
        )
      )
      yield* TestClock.adjust("2500 millis")
      expect(yield* Fiber.join(streamed)).toStrictEqual(new AgentError.ModelTimeout({ timeout }))
      expect(parts.map((part) => part._tag === "TextDelta" && part.text)).toEqual(["one ", "two "])
    }))

  it.effect("estimates usage at four characters a token", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "12345678" }])
      const response = yield* model.generate(request("1234567890123456"))
      expect(response.usage).toEqual({ inputTokens: 4, outputTokens: 2 })
    }))
})

describe("ScriptedModel.useEachTool", () => {
  const weather = Tool.make("get_weather", {
    description: "Weather in a city",
    parameters: { city: Schema.String, days: Schema.Int },
    handler: ({ city, days }) => `${city}: sunny for ${days} day(s)`
  })
  const news = Tool.make("get_news", {
    description: "Headlines about a topic",
    parameters: { topic: Schema.String },
    handler: ({ topic }) => [`${topic} is trending`]
  })

  it.effect("calls every tool once with sampled or given arguments, then answers from the results", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(
        ScriptedModel.useEachTool({ arguments: { get_weather: { city: "Oslo", days: 2 } } })
      )
      const agent = yield* Agent.make({
        name: "assistant",
        instructions: "",
        model,
        toolkit: Toolkit.make(weather, news)
      })
      const result = yield* agent.run("AI")
      expect(result.steps[0]!.toolCalls.map((call) => [call.name, call.arguments])).toEqual([
        ["get_weather", "{\"city\":\"Oslo\",\"days\":2}"],
        ["get_news", "{\"topic\":\"AI\"}"]
      ])
      expect(result.content).toBe(
        "Here is what I found:\n- get_weather: Oslo: sunny for 2 day(s)\n- get_news: [\"AI is trending\"]"
      )
    }))

  it.effect("looks names up among its own: a tool named constructor, a property named __proto__", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(
        ScriptedModel.useEachTool({ arguments: { get_weather: { city: "Oslo", days: 2 } } })
      )
      const response = yield* model.generate(request("AI", [{
        name: "constructor",
        description: "",
        strict: false,
        parameters: {
          type: "object",
          properties: JSON.parse("{\"__proto__\":{\"type\":\"string\"}}") as Record<string, never>,
          required: ["__proto__"],
          additionalProperties: false,
          $defs: {}
        }
      }]))
      expect(response.toolCalls.map((call) => [call.name, call.arguments])).toEqual([
        ["constructor", "{\"__proto__\":\"AI\"}"]
      ])
    }))

  it.effect("answers structured output with a sample that decodes", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(ScriptedModel.useEachTool())
      const Report = Schema.Struct({
        title: Schema.String,
        score: Schema.Number,
        tags: Schema.Array(Schema.String),
        level: Schema.Literal("low", "high")
      })
      const agent = yield* Agent.make({ name: "reporter", instructions: "", model, output: Report })
      const result = yield* agent.run("quarterly")
      expect(result.output).toEqual({ title: "quarterly", score: 1, tags: ["quarterly"], level: "low" })
    }))

  it.effect("answers plainly when there are no tools", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(ScriptedModel.useEachTool())
      const response = yield* model.generate(request("hello"))
      expect(response.text).toBe("You asked: \"hello\". This is the scripted model's answer.")
    }))
})
