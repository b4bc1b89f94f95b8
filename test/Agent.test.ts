import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Effect,
  Either,
  Exit,
  Fiber,
  Metric,
  Option,
  Ref,
  Schema,
  Stream,
  TestClock,
  Tracer
} from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, AgentMetrics, RunEvent, Runnable, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})

const sleeper = (name: string, ms: number) =>
  Tool.make(name, {
    description: `Sleeps ${ms} ms`,
    parameters: {},
    handler: () => Effect.as(Effect.sleep(ms), `${name} done`)
  })

const scripted = <Tk extends Toolkit.Any = Toolkit.Toolkit<{}>>(
  script: ScriptedModel.Script,
  options?: Partial<Agent.Options<string, string, Tk>>
) =>
  Effect.gen(function*() {
    const model = yield* ScriptedModel.make(script)
    const agent = yield* Agent.make({ name: "tester", instructions: "Be helpful.", ...options, model })
    return { agent, model }
  })

const toolMessages = (request: LanguageModel.GenerateRequest) =>
  request.messages.filter((message) => message.role === "tool")

describe("Agent.run", () => {
  it.effect("calls tools and feeds their results back until the model answers", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }] },
        { text: "1 + 2 = 3" }
      ], { toolkit: Toolkit.make(add) })
      const result = yield* agent.run("What is 1 + 2?")
      expect(result.content).toBe("1 + 2 = 3")
      expect(result.output).toBe("1 + 2 = 3")
      expect(result.messages.map((message) => [message.role, message.content])).toEqual([
        ["system", "Be helpful."],
        ["user", "What is 1 + 2?"],
        ["assistant", ""],
        ["tool", "3"],
        ["assistant", "1 + 2 = 3"]
      ])
      expect(result.steps.map((step) => step.toolCalls.map((call) => [call.name, call.result]))).toEqual([
        [["add", "3"]],
        []
      ])
      const requests = yield* model.requests
      expect(requests).toHaveLength(2)
      expect(requests[0]!.tools.map((tool) => tool.name)).toEqual(["add"])
      expect(toolMessages(requests[1]!)).toEqual([
        { role: "tool", toolCallId: "call_0_0", name: "add", content: "3", isError: false }
      ])
    }))

  it.effect("runs the tool calls of one step concurrently: the step takes the time of the slowest", () =>
    Effect.gen(function*() {
      const toolkit = Toolkit.make(sleeper("a", 100), sleeper("b", 300), sleeper("c", 200))
      const script: ScriptedModel.Script = [
        { toolCalls: [{ name: "a" }, { name: "b" }, { name: "c" }] },
        { text: "done" }
      ]
      const { agent } = yield* scripted(script, { toolkit })
      const fiber = yield* Effect.fork(agent.run("go"))
      yield* TestClock.adjust("300 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.metrics.durationMs).toBe(300)
      expect(result.steps[0]!.toolCalls.map((call) => call.durationMs)).toEqual([100, 300, 200])

      const serial = yield* scripted(script, { toolkit, toolConcurrency: 1 })
      const serialFiber = yield* Effect.fork(serial.agent.run("go"))
      yield* TestClock.adjust("600 millis")
      expect((yield* Fiber.join(serialFiber)).metrics.durationMs).toBe(600)
    }))

  it.effect("reports invalid arguments to the model with the issues, and the corrected call succeeds", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "add", arguments: { a: "1" } }] },
        { toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }] },
        { text: "3" }
      ], { toolkit: Toolkit.make(add) })
      const result = yield* agent.run("1 + 2?")
      expect(result.content).toBe("3")
      const [, second, third] = yield* model.requests
      const [rejected] = toolMessages(second!)
      expect(rejected!.isError).toBe(true)
      expect(rejected!.content).toBe(
        "Error: invalid arguments for tool \"add\": a: Expected number, actual \"1\"; b: is missing"
      )
      expect(toolMessages(third!).at(-1)!.content).toBe("3")
      expect(result.steps[0]!.toolCalls[0]!.isError).toBe(true)
    }))

  it.effect("reports an unknown tool and arguments that are not JSON to the model", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "multiply", arguments: {} }, { name: "add", arguments: "{\"a\": 1," }] },
        { text: "sorry" }
      ], { toolkit: Toolkit.make(add) })
      yield* agent.run("2 * 3?")
      const [unknown, broken] = toolMessages((yield* model.requests)[1]!)
      expect(unknown!.content).toBe("Error: no tool named \"multiply\"; available tools: add")
      expect(broken!.content).toMatch(
        /^Error: invalid arguments for tool "add": \(root\): arguments are not valid JSON/
      )
    }))

  it.effect("a model asking for constructor, __proto__ or toString reads ToolNotFound, and the run completes", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "constructor" }, { name: "__proto__" }, { name: "toString" }] },
        { text: "no such tools" }
      ], { toolkit: Toolkit.make(add) })
      const result = yield* agent.run("call them")
      expect(result.content).toBe("no such tools")
      expect(toolMessages((yield* model.requests)[1]!).map((message) => [message.content, message.isError])).toEqual([
        ["Error: no tool named \"constructor\"; available tools: add", true],
        ["Error: no tool named \"__proto__\"; available tools: add", true],
        ["Error: no tool named \"toString\"; available tools: add", true]
      ])
    }))

  it.effect("a tool whose result or failure JSON cannot represent is a failure the model reads", () =>
    Effect.gen(function*() {
      const loop: Record<string, unknown> = { name: "loop" }
      loop.self = loop
      const toolkit = Toolkit.make(
        Tool.make("big", { description: "", parameters: {}, handler: () => ({ total: 2n ** 64n }) }),
        Tool.make("dies", { description: "", parameters: {}, handler: () => Effect.die(loop) })
      )
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "big" }, { name: "dies" }] },
        { text: "both failed" }
      ], { toolkit })
      const result = yield* agent.run("try them")
      expect(result.content).toBe("both failed")
      expect(toolMessages((yield* model.requests)[1]!).map((message) => [message.content, message.isError])).toEqual([
        ["Error: the result is not JSON: it holds a BigInt at total", true],
        ["Error: <ref *1> { name: 'loop', self: [Circular *1] }", true]
      ])
    }))

  it.effect("a throwing sync tool and a rejecting async tool become failures the model sees", () =>
    Effect.gen(function*() {
      const toolkit = Toolkit.make(
        Tool.make("sync_boom", {
          description: "",
          parameters: {},
          handler: (): string => {
            throw new TypeError("cannot read the file")
          }
        }),
        Tool.make("async_boom", {
          description: "",
          parameters: {},
          handler: () => Promise.reject(new Error("connection refused"))
        })
      )
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "sync_boom" }, { name: "async_boom" }] },
        { text: "both tools failed" }
      ], { toolkit })
      const result = yield* agent.run("try them")
      expect(result.content).toBe("both tools failed")
      expect(toolMessages((yield* model.requests)[1]!).map((message) => [message.content, message.isError])).toEqual([
        ["Error: cannot read the file", true],
        ["Error: connection refused", true]
      ])
    }))

  it.effect("fails with MaxStepsExceeded when the model never answers", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted(() => ({ toolCalls: [{ name: "add", arguments: { a: 1, b: 1 } }] }), {
        toolkit: Toolkit.make(add),
        maxSteps: 3
      })
      const error = yield* Effect.flip(agent.run("loop"))
      expect(error).toStrictEqual(new AgentError.MaxStepsExceeded({ agent: "tester", maxSteps: 3 }))
      expect(yield* model.requests).toHaveLength(3)
      const perCall = yield* Effect.flip(agent.run("loop", { maxSteps: 1 }))
      expect(perCall).toStrictEqual(new AgentError.MaxStepsExceeded({ agent: "tester", maxSteps: 1 }))
    }))

  it.effect("continues a conversation given as messages", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([{ text: "You are Ada." }])
      yield* agent.run([
        { role: "user", content: "My name is Ada." },
        { role: "assistant", content: "Hello Ada!", toolCalls: [] },
        { role: "user", content: "What is my name?" }
      ])
      expect((yield* model.requests)[0]!.messages.map((message) => message.role)).toEqual([
        "system",
        "user",
        "assistant",
        "user"
      ])
    }))
})

describe("an input that is neither a string nor a conversation", () => {
  // what untyped code can pass: a request body's missing field, a number, the body itself, bad messages
  const invalid: ReadonlyArray<readonly [input: unknown, issues: ReadonlyArray<AgentError.Issue>]> = [
    [undefined, [{ path: "(root)", message: "Expected a string or an array of messages, actual undefined" }]],
    [null, [{ path: "(root)", message: "Expected a string or an array of messages, actual null" }]],
    [42, [{ path: "(root)", message: "Expected a string or an array of messages, actual number" }]],
    [{ question: "hi" }, [{ path: "(root)", message: "Expected a string or an array of messages, actual object" }]],
    [[{ role: "user" }], [{ path: "0.content", message: "is missing" }]],
    [[{ role: "user", content: "hi" }, "hi"], [{ path: "1", message: "Expected Message, actual \"hi\"" }]]
  ]

  it.effect("fails run and stream with InputInvalid, before any model call", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([{ text: "never" }])
      for (const [input, issues] of invalid) {
        const expected = new AgentError.InputInvalid({ agent: "tester", issues })
        expect(yield* Effect.flip(agent.run(input as Agent.Input))).toStrictEqual(expected)
        expect(yield* Effect.flip(Agent.run(agent, input as Agent.Input))).toStrictEqual(expected)
        expect(yield* Effect.flip(Stream.runCollect(agent.stream(input as Agent.Input)))).toStrictEqual(expected)
      }
      expect(yield* model.requests).toEqual([])
    }))

  it("Agent.runPromise rejects with InputInvalid", async () => {
    const model = await Effect.runPromise(ScriptedModel.make([{ text: "never" }]))
    const agent = await Effect.runPromise(Agent.make({ name: "promised", instructions: "", model }))
    const body: { question?: string } = {}
    await expect(Agent.runPromise(agent, body.question as Agent.Input)).rejects.toStrictEqual(
      new AgentError.InputInvalid({
        agent: "promised",
        issues: [{ path: "(root)", message: "Expected a string or an array of messages, actual undefined" }]
      })
    )
  })

  it.effect("a valid conversation is decoded: fields a message does not have are dropped", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* scripted([{ text: "ok" }])
      const input = [{ role: "user", content: "hi", extra: "dropped" }] as unknown as Agent.Input
      yield* agent.run(input)
      expect((yield* model.requests)[0]!.messages).toEqual([
        { role: "system", content: "Be helpful." },
        { role: "user", content: "hi" }
      ])
    }))
})

describe("structured output", () => {
  const Weather = Schema.Struct({ city: Schema.String, celsius: Schema.Number })

  it.effect("decodes the final answer into result.output and asks the model for JSON", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "{\"city\":\"Paris\",\"celsius\":18}" }])
      const agent = yield* Agent.make({ name: "Weather Bot", instructions: "", model, output: Weather })
      const result = yield* agent.run("Paris?")
      expectTypeOf(result.output).toEqualTypeOf<{ readonly city: string; readonly celsius: number }>()
      expect(result.output).toEqual({ city: "Paris", celsius: 18 })
      const [request] = yield* model.requests
      expect(request!.responseFormat).toEqual({
        name: "Weather_Bot",
        strict: true,
        schema: {
          type: "object",
          required: ["city", "celsius"],
          properties: { city: { type: "string" }, celsius: { type: "number" } },
          additionalProperties: false
        }
      })
    }))

  it.effect("re-asks once with the issues, then succeeds", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { text: "It is 18 degrees in Paris." },
        { text: "{\"city\":\"Paris\",\"celsius\":18}" }
      ])
      const agent = yield* Agent.make({ name: "weather", instructions: "", model, output: Weather })
      const result = yield* agent.run("Paris?")
      expect(result.output).toEqual({ city: "Paris", celsius: 18 })
      const correction = (yield* model.requests)[1]!.messages.at(-1)!
      expect(correction.role).toBe("user")
      expect(correction.content).toContain("(root): the answer is not valid JSON")
    }))

  it.effect("fails with OutputInvalid when the corrected answer does not decode either", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "{\"city\":1}" }, { text: "{\"city\":\"Paris\"}" }])
      const agent = yield* Agent.make({ name: "weather", instructions: "", model, output: Weather })
      const error = yield* Effect.flip(agent.run("Paris?"))
      expect(error).toStrictEqual(
        new AgentError.OutputInvalid({
          agent: "weather",
          content: "{\"city\":\"Paris\"}",
          issues: [{ path: "celsius", message: "is missing" }]
        })
      )
      expect((yield* model.requests)[1]!.messages.at(-1)!.content).toContain("- city: Expected string, actual 1")
    }))
})

describe("Agent.withOutput", () => {
  const Weather = Schema.Struct({ city: Schema.String, celsius: Schema.Number })

  it.effect("the same agent, its tools and instructions kept, answering in a Schema given later", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(ScriptedModel.useEachTool())
      const plain = yield* Agent.make({ name: "weather", instructions: "Answer.", model, toolkit: Toolkit.make(add) })
      expect(plain.outputFormat).toBeUndefined()
      const structured = plain.withOutput(Weather)
      expect(structured.outputFormat?.name).toBe("weather")
      expect(structured.toolkit).toBe(plain.toolkit)
      const result = yield* structured.run("Paris?")
      expectTypeOf(result.output).toEqualTypeOf<{ readonly city: string; readonly celsius: number }>()
      expect(Object.keys(result.output).sort()).toEqual(["celsius", "city"])
      const requests = yield* model.requests
      expect(requests[0]!.tools.map((tool) => tool.name)).toEqual(["add"])
      expect(requests.at(-1)!.responseFormat).toEqual(structured.outputFormat)
      // the agent it came from still answers in text
      expect((yield* plain.run("Paris?")).output).toBeTypeOf("string")
    }))
})

describe("Agent.stream", () => {
  const script: ScriptedModel.Script = [
    { text: "Let me add.", toolCalls: [{ name: "add", arguments: { a: 2, b: 3 } }] },
    { text: "The sum is 5." }
  ]

  it.effect("yields the run's events in order, with the same content as run", () =>
    Effect.gen(function*() {
      const { agent } = yield* scripted(script, { toolkit: Toolkit.make(add) })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(agent.stream("2 + 3?", { runId: "r1" })))
      expect(events.map((event) => event._tag)).toEqual([
        "RunStarted",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "ToolCallStarted",
        "ToolCallCompleted",
        "StepCompleted",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "StepCompleted",
        "RunCompleted"
      ])
      expect(events.every((event) => event.runId === "r1" && event.agent === "tester")).toBe(true)
      expect(events.every((event) => event.path.length === 1 && event.path[0] === "tester")).toBe(true)
      const deltas = events.filter(RunEvent.is("TextDelta"))
      expect(deltas.filter((delta) => delta.step === 1).map((delta) => delta.text).join("")).toBe("The sum is 5.")
      const completed = events.at(-1)
      if (completed?._tag !== "RunCompleted") return expect.fail("the last event is RunCompleted")

      const { agent: again } = yield* scripted(script, { toolkit: Toolkit.make(add) })
      const result = yield* again.run("2 + 3?", { runId: "r1" })
      expect(completed.result.content).toBe(result.content)
      expect(completed.result.messages).toEqual(result.messages)
      expect(completed.result.metrics).toEqual(result.metrics)
    }))

  it.effect("stopping the stream interrupts the run: its tools' finalizers run and no event follows", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const slow = Tool.make("slow", {
        description: "",
        parameters: {},
        handler: () => Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
      })
      const { agent } = yield* scripted([{ toolCalls: [{ name: "slow" }] }], { toolkit: Toolkit.make(slow) })
      const events = yield* agent.stream("go").pipe(
        Stream.takeUntil((event) => event._tag === "ToolCallStarted"),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(events).map((event) => event._tag)).toEqual(["RunStarted", "ToolCallStarted"])
      expect(yield* Ref.get(finalized)).toBe(1)
    }))

  it.effect("fails the stream with the run's error", () =>
    Effect.gen(function*() {
      const { agent } = yield* scripted([{ text: "" }], { maxSteps: 0 })
      const error = yield* Effect.flip(Stream.runDrain(agent.stream("go")))
      expect(error._tag).toBe("MaxStepsExceeded")
    }))
})

describe("metrics", () => {
  it.effect("usage and metrics add up over the steps", () =>
    Effect.gen(function*() {
      const { agent } = yield* scripted([
        {
          toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }, { name: "add", arguments: { a: 3, b: 4 } }],
          usage: { inputTokens: 100, outputTokens: 20 },
          latency: "250 millis"
        },
        { text: "3 and 7", usage: { inputTokens: 150, outputTokens: 5 }, latency: "100 millis" }
      ], { toolkit: Toolkit.make(add) })
      const fiber = yield* Effect.fork(agent.run("sums"))
      yield* TestClock.adjust("350 millis")
      const { metrics, steps } = yield* Fiber.join(fiber)
      expect(metrics).toEqual({
        inputTokens: 250,
        outputTokens: 25,
        totalTokens: 275,
        durationMs: 350,
        timeToFirstTokenMs: 350,
        steps: 2,
        toolCalls: 2,
        retries: 0
      })
      expect(steps.map((step) => step.usage)).toEqual([
        { inputTokens: 100, outputTokens: 20 },
        { inputTokens: 150, outputTokens: 5 }
      ])
    }))

  it.effect("measures the time to first token of a stream at its first text delta", () =>
    Effect.gen(function*() {
      const { agent } = yield* scripted([
        { text: "Hello there, friend.", latency: "120 millis", chunkInterval: "10 millis" }
      ])
      const fiber = yield* Effect.fork(Stream.runLast(agent.stream("hi")))
      yield* TestClock.adjust("1 second")
      const last = Option.getOrThrow(yield* Fiber.join(fiber))
      if (last._tag !== "RunCompleted") return expect.fail("the last event is RunCompleted")
      expect(last.result.metrics.timeToFirstTokenMs).toBe(120)
      expect(last.result.metrics.durationMs).toBe(140)
    }))
})

describe("Agent.runPromise", () => {
  it("resolves with the result, and rejects with the run's typed error", async () => {
    const model = await Effect.runPromise(
      ScriptedModel.make([{ text: "hello" }, { fail: { error: new AgentError.InvalidRequest({ message: "no" }) } }])
    )
    const agent = await Effect.runPromise(Agent.make({ name: "promised", instructions: "", model }))
    expect((await Agent.runPromise(agent, "hi")).content).toBe("hello")
    await expect(Agent.runPromise(agent, "again", { policy: { retry: false } })).rejects.toStrictEqual(
      new AgentError.InvalidRequest({ message: "no" })
    )
  })
})

describe("Agent.runAll", () => {
  it.effect("runs agents concurrently and, with mode either, keeps every outcome", () =>
    Effect.gen(function*() {
      const make = (name: string, turn: ScriptedModel.Turn) =>
        Effect.flatMap(ScriptedModel.make([turn]), (model) => Agent.make({ name, instructions: "", model }))
      const a = yield* make("a", { text: "A", latency: "1 second" })
      const b = yield* make("b", {
        fail: { error: new AgentError.InvalidRequest({ message: "bad request" }) },
        latency: "1 second"
      })
      const c = yield* make("c", { text: "C", latency: "1 second" })
      const fiber = yield* Effect.fork(
        Agent.runAll([[a, "x"], [b, "y"], [c, "z"]], { concurrency: "unbounded", mode: "either" })
      )
      yield* TestClock.adjust("1 second")
      const outcomes = yield* Fiber.join(fiber)
      expect(outcomes.map(Either.map((result) => result.content))).toEqual([
        Either.right("A"),
        Either.left(new AgentError.InvalidRequest({ message: "bad request" })),
        Either.right("C")
      ])
    }))

  it.effect("in the default mode, fails with the first failure", () =>
    Effect.gen(function*() {
      const ok = yield* Effect.flatMap(ScriptedModel.make([{ text: "ok" }]), (model) =>
        Agent.make({ name: "ok", instructions: "", model }))
      const broken = yield* Effect.flatMap(ScriptedModel.make([]), (model) =>
        Agent.make({ name: "broken", instructions: "", model }))
      const error = yield* Effect.flip(Agent.runAll([[ok, "1"], [broken, "2"]], { concurrency: 2 }))
      expect(error._tag).toBe("InvalidRequest")
    }))

  it.effect("in the default mode, the first failure interrupts the other runs; the Cause holds the failures once", () =>
    Effect.gen(function*() {
      const make = (name: string, turn: ScriptedModel.Turn) =>
        Effect.flatMap(ScriptedModel.make([turn]), (model) => Agent.make({ name, instructions: "", model }))
      const hanging = yield* make("hanging", { hang: true })
      const late = yield* make("late", {
        fail: { error: new AgentError.ModelUnavailable({ message: "late" }), times: 99 }
      })
      const early = yield* make("early", {
        fail: { error: new AgentError.InvalidRequest({ message: "early" }) },
        latency: "1 second"
      })
      const fiber = yield* Effect.fork(
        Agent.runAll([[hanging, "1"], [early, "2"], [late, "3"]], { concurrency: "unbounded" }).pipe(Effect.exit)
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(fiber)
      if (Exit.isSuccess(exit)) return expect.fail("runAll fails")
      // "late" was still retrying with backoff, "hanging" waiting: both were interrupted, neither is a failure
      expect(Chunk.toReadonlyArray(Cause.failures(exit.cause))).toStrictEqual([
        new AgentError.InvalidRequest({ message: "early" })
      ])
      expect(Cause.isInterrupted(exit.cause)).toBe(false)
    }))

  it.effect("with mode validate, runs every agent and fails with every failure in place", () =>
    Effect.gen(function*() {
      const make = (name: string, turn: ScriptedModel.Turn) =>
        Effect.flatMap(ScriptedModel.make([turn]), (model) => Agent.make({ name, instructions: "", model }))
      const a = yield* make("a", { text: "A" })
      const b = yield* make("b", { fail: { error: new AgentError.InvalidRequest({ message: "b" }) } })
      const c = yield* make("c", { text: "C", latency: "1 second" })
      const fiber = yield* Effect.fork(Agent.runAll([[a, "x"], [b, "y"], [c, "z"]], { mode: "validate" }))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toStrictEqual([
        Option.none(),
        Option.some(new AgentError.InvalidRequest({ message: "b" })),
        Option.none()
      ])
      const all = yield* Agent.runAll([[a, "x"], [a, "x"]], { mode: "validate", concurrency: "inherit" }).pipe(
        Effect.flip,
        Effect.map((failures) => failures.map(Option.isSome))
      )
      expect(all).toEqual([true, true]) // a's script has one turn: its second and third runs fail
    }))
})

describe("Agent.asTool", () => {
  it.effect("lets an agent call another agent", () =>
    Effect.gen(function*() {
      const researcher = yield* Effect.flatMap(
        ScriptedModel.make([{ text: "Effect was first released in 2020." }]),
        (model) => Agent.make({ name: "Web Researcher", instructions: "Find facts.", model })
      )
      const delegate = researcher.asTool()
      expect(delegate.name).toBe("Web_Researcher")
      expect(delegate.definition.description).toBe("Delegate a task to the agent \"Web Researcher\": Find facts.")
      const { agent, model } = yield* scripted([
        { toolCalls: [{ name: "Web_Researcher", arguments: { input: "When was Effect released?" } }] },
        { text: "In 2020." }
      ], { toolkit: Toolkit.make(delegate) })
      const result = yield* agent.run("When was Effect released?")
      expect(result.content).toBe("In 2020.")
      expect(toolMessages((yield* model.requests)[1]!)[0]!.content).toBe("Effect was first released in 2020.")
    }))

  it.effect("the caller's metrics add what its callees spent, a failed callee's up to its failure", () =>
    Effect.gen(function*() {
      const researcher = yield* Effect.flatMap(
        ScriptedModel.make(() => ({
          text: "Effect was first released in 2020.",
          usage: { inputTokens: 11, outputTokens: 7 }
        })),
        (model) => Agent.make({ name: "researcher", instructions: "", model })
      )
      // keeps calling its tool: two steps, then MaxStepsExceeded
      const digger = yield* Effect.flatMap(
        ScriptedModel.make(() => ({
          toolCalls: [{ name: "add", arguments: { a: 1, b: 1 } }],
          usage: { inputTokens: 4, outputTokens: 1 }
        })),
        (model) => Agent.make({ name: "digger", instructions: "", model, toolkit: Toolkit.make(add), maxSteps: 2 })
      )
      const { agent } = yield* scripted((request) =>
        request.messages.at(-1)?.role === "tool"
          ? { text: "In 2020.", usage: { inputTokens: 50, outputTokens: 9 } }
          : {
            toolCalls: [
              { name: "researcher", arguments: { input: "When?" } },
              { name: "digger", arguments: { input: "Dig" } }
            ],
            usage: { inputTokens: 30, outputTokens: 10 }
          }, { toolkit: Toolkit.make(researcher.asTool(), digger.asTool()) })
      const result = yield* agent.run("When was Effect released?")
      expect(result.steps.length).toBe(2)
      expect(result.metrics).toMatchObject({
        inputTokens: 30 + 50 + 11 + 4 + 4,
        outputTokens: 10 + 9 + 7 + 1 + 1,
        totalTokens: 80 + 19 + 11 + 7 + 8 + 2,
        steps: 2 + 1 + 2,
        toolCalls: 2 + 2
      })
      // streamed, the same
      const streamed = yield* Stream.runLast(Stream.filter(agent.stream("Again?"), RunEvent.is("RunCompleted")))
      expect(Option.map(streamed, (event) => event.result.metrics.inputTokens)).toEqual(Option.some(99))
    }))
})

describe("nested runs", () => {
  it.effect("an agent called as a tool streams into its caller's stream, below it, ending with MemberCompleted", () =>
    Effect.gen(function*() {
      const researcher = yield* Effect.flatMap(
        ScriptedModel.make([{ toolCalls: [{ name: "add", arguments: { a: 1, b: 1 } }] }, { text: "Two." }]),
        (model) => Agent.make({ name: "researcher", instructions: "", model, toolkit: Toolkit.make(add) })
      )
      const { agent } = yield* scripted([
        { toolCalls: [{ name: "researcher", arguments: { input: "1 + 1?" } }] },
        { text: "It is two." }
      ], { toolkit: Toolkit.make(researcher.asTool()) })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(agent.stream("1 + 1?")))
      const inner = events.filter((event) => event.path.length === 2)
      expect(inner.every((event) => event.path[0] === "tester" && event.path[1] === "researcher")).toBe(true)
      expect(inner.map((event) => event._tag)).toEqual([
        "RunStarted",
        "ToolCallStarted",
        "ToolCallCompleted",
        "StepCompleted",
        "TextDelta",
        "StepCompleted",
        "MemberCompleted"
      ])
      const completed = events.findIndex(RunEvent.is("MemberCompleted"))
      expect(events[completed]).toMatchObject({ agent: "researcher", input: "1 + 1?", content: "Two.", isError: false })
      expect(events[completed]!.runId).toBe(inner[0]!.runId)
      // the member's answer is there before its caller goes on
      expect(events.findIndex((event) => event._tag === "ToolCallCompleted" && event.path.length === 1))
        .toBeGreaterThan(completed)
      expect(events.filter(RunEvent.is("RunCompleted")).map((event) => event.path)).toEqual([["tester"]])
      expect(events.at(-1)?._tag).toBe("RunCompleted")
    }))

  it.effect("a run that is not streamed emits nothing, nested runs included", () =>
    Effect.gen(function*() {
      const inner = yield* Effect.flatMap(
        ScriptedModel.make([{ text: "inner" }, { text: "inner" }]),
        (model) => Agent.make({ name: "inner", instructions: "", model })
      )
      const delegate: ScriptedModel.Turn = { toolCalls: [{ name: "inner", arguments: { input: "x" } }] }
      const { agent, model } = yield* scripted([delegate, { text: "outer" }, delegate, { text: "outer" }], {
        toolkit: Toolkit.make(inner.asTool())
      })
      const events: Array<RunEvent.Forwarded> = []
      const sink: Runnable.Sink = { path: [], emit: (event) => Effect.sync(() => events.push(event)) }
      expect((yield* agent.run("go")).content).toBe("outer")
      expect(events).toEqual([])
      // under a sink, the same run streams into it
      yield* agent.run("go").pipe(Runnable.withSink(sink))
      expect(new Set(events.map((event) => event.path.join("/")))).toEqual(new Set(["tester", "tester/inner"]))
      expect((yield* model.requests).length).toBe(4)
    }))
})

describe("observability", () => {
  it.effect("every run updates the library's metrics once, tagged with its agent (and outcome)", () =>
    Effect.gen(function*() {
      const name = `metered-${crypto.randomUUID()}`
      const agentOn = (script: ScriptedModel.Script) =>
        Effect.flatMap(
          ScriptedModel.make(script),
          (model) => Agent.make({ name, instructions: "", model, toolkit: Toolkit.make(add), policy: { retry: false } })
        )
      const succeeds = yield* agentOn([
        { toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }], usage: { inputTokens: 10, outputTokens: 2 } },
        { text: "3", usage: { inputTokens: 20, outputTokens: 1 }, latency: "40 millis" }
      ])
      const fails = yield* agentOn([{ fail: { error: new AgentError.InvalidRequest({ message: "no" }) } }])
      const hangs = yield* agentOn([{ text: "late", latency: "1 second" }])
      const fiber = yield* Effect.fork(succeeds.run("1 + 2?"))
      yield* TestClock.adjust("40 millis")
      yield* Fiber.join(fiber)
      yield* Effect.flip(fails.run("again"))
      const stopped = yield* Effect.fork(hangs.run("stop"))
      yield* TestClock.adjust("10 millis")
      yield* Fiber.interrupt(stopped)

      const count = (metric: Metric.Metric.Counter<number>, ...outcome: Array<string>) =>
        Effect.map(
          Metric.value(
            outcome.length === 0 ? metric.pipe(Metric.tagged("agent", name)) : metric.pipe(
              Metric.tagged("agent", name),
              Metric.tagged("outcome", outcome[0]!)
            )
          ),
          (state) => state.count
        )
      expect(yield* count(AgentMetrics.runs, "success")).toBe(1)
      expect(yield* count(AgentMetrics.runs, "failure")).toBe(1)
      expect(yield* count(AgentMetrics.runs, "interrupted")).toBe(1)
      expect(yield* count(AgentMetrics.inputTokens)).toBe(30)
      expect(yield* count(AgentMetrics.outputTokens)).toBe(3)
      expect(yield* count(AgentMetrics.modelCalls)).toBe(2)
      expect(yield* count(AgentMetrics.toolCalls)).toBe(1)
      const durations = yield* Metric.value(AgentMetrics.runDuration.pipe(Metric.tagged("agent", name)))
      expect([durations.count, durations.sum]).toEqual([3, 40 + 0 + 10])
    }))

  it.effect("spans exist only where a tracer can see them: none under Effect's built-in tracer", () =>
    Effect.gen(function*() {
      const seen: Array<Option.Option<string>> = []
      const probe = Tool.make("probe", {
        description: "",
        parameters: {},
        handler: () =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => {
            seen.push(Option.map(span, (span) => span.name))
            return "ok"
          })
      })
      const script: ScriptedModel.Script = (request) =>
        request.messages.at(-1)?.role === "tool" ? { text: "done" } : { toolCalls: [{ name: "probe" }] }
      const { agent } = yield* scripted(script, { toolkit: Toolkit.make(probe) })
      yield* agent.run("built-in tracer")
      const base = yield* Effect.tracer
      const recording = Tracer.make({ span: (...args) => base.span(...args), context: base.context })
      yield* Effect.withTracer(agent.run("recording tracer"), recording)
      expect(seen).toEqual([Option.none(), Option.some("execute_tool probe")])
    }))

  it.effect("every run, step, model call and tool call is a span", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.Span> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        span: (...args) => {
          const span = base.span(...args)
          spans.push(span)
          return span
        },
        context: base.context
      })
      const { agent } = yield* scripted([
        { toolCalls: [{ name: "add", arguments: { a: 1, b: 2 } }], usage: { inputTokens: 10, outputTokens: 3 } },
        { text: "3", usage: { inputTokens: 20, outputTokens: 1 } }
      ], { toolkit: Toolkit.make(add) })
      yield* Effect.withTracer(agent.run("1 + 2?"), recording)

      const parentName = (span: Tracer.Span) =>
        Option.match(span.parent, { onNone: () => "(root)", onSome: (parent) => (parent as Tracer.Span).name })
      expect(spans.map((span) => [span.name, parentName(span)])).toEqual([
        ["invoke_agent tester", "(root)"],
        ["agent.step", "invoke_agent tester"],
        ["chat scripted", "agent.step"],
        ["execute_tool add", "agent.step"],
        ["agent.step", "invoke_agent tester"],
        ["chat scripted", "agent.step"]
      ])
      const attributes = (name: string) => Object.fromEntries(spans.find((span) => span.name === name)!.attributes)
      expect(attributes("invoke_agent tester")).toMatchObject({
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "scripted",
        "gen_ai.agent.name": "tester",
        "gen_ai.request.model": "scripted",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 4
      })
      expect(attributes("chat scripted")).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "scripted",
        "gen_ai.request.model": "scripted",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 3
      })
      expect(attributes("execute_tool add")).toMatchObject({
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_0_0"
      })
    }))
})
