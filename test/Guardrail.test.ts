import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Redacted, Ref, Schema, Stream, TestClock, Tracer } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, Guardrail, RunEvent, Team, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

/** Model calls answered and interrupted in flight. */
interface Probe {
  answered: number
  interrupted: number
}

const watched = (model: LanguageModel.Service, probe: Probe): LanguageModel.Service => ({
  model: model.model,
  generate: (request) =>
    model.generate(request).pipe(
      Effect.tap(() => Effect.sync(() => probe.answered++)),
      Effect.onInterrupt(() => Effect.sync(() => probe.interrupted++))
    ),
  stream: (request) =>
    model.stream(request).pipe(
      Stream.tap((part) => part._tag === "Finish" ? Effect.sync(() => probe.answered++) : Effect.void),
      Stream.ensuringWith((exit) => Exit.isInterrupted(exit) ? Effect.sync(() => probe.interrupted++) : Effect.void)
    )
})

/** A run's failure (a trip beside other work comes with the interruption of that work). */
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** An input guardrail that decides after `latency`: trips on inputs that mention homework. */
const noHomework = (mode: "blocking" | "parallel", latency: Duration.DurationInput = "1 second") =>
  Guardrail.input({
    name: "no_homework",
    mode,
    check: ({ input }) =>
      Effect.as(
        Effect.sleep(latency),
        input.includes("homework") ? Guardrail.trip({ reason: "homework" }) : Guardrail.pass
      )
  })

const tripped = (kind: "input" | "output" | "tool", guardrail: string, agent: string, info: unknown) =>
  new AgentError.GuardrailTripped({ guardrail, kind, agent, info })

// -----------------------------------------------------------------------------
// Input
// -----------------------------------------------------------------------------

describe("input guardrails", () => {
  it.effect("parallel: a trip interrupts the model call in flight and fails the run", () =>
    Effect.gen(function*() {
      const probe: Probe = { answered: 0, interrupted: 0 }
      const model = yield* ScriptedModel.make([{ text: "the answer to your homework", latency: "5 seconds" }])
      const agent = yield* Agent.make({
        name: "tutor",
        instructions: "",
        model: watched(model, probe),
        guardrails: { input: [noHomework("parallel")] }
      })
      const fiber = yield* Effect.fork(agent.run("do my homework"))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toEqual(tripped("input", "no_homework", "tutor", { reason: "homework" }))
      expect(probe).toEqual({ answered: 0, interrupted: 1 })
      // the model was asked: the check ran beside the call
      expect(yield* model.requests).toHaveLength(1)
    }))

  it.scopedLive("parallel: the request in flight is aborted at the server when the guardrail trips", () =>
    Effect.gen(function*() {
      const server = yield* OpenAiCompatServer.make([{ hang: true }])
      const model = yield* OpenAiModel.make({ model: "sim" }).pipe(
        Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-test-guard"), baseURL: server.url }))
      )
      // the check trips once the model's request is open at the server
      const whileAsked = Guardrail.input({
        name: "while_asked",
        check: () => Effect.as(server.awaitStats((stats) => stats.open === 1), Guardrail.trip("late"))
      })
      const agent = yield* Agent.make({ name: "a", instructions: "", model, guardrails: { input: [whileAsked] } })
      const exit = yield* Effect.exit(agent.run("hello"))
      expect(failureOf(exit)).toEqual(tripped("input", "while_asked", "a", "late"))
      const stats = yield* server.awaitStats((stats) => stats.open === 0)
      expect(stats).toMatchObject({ total: 1, abortedByClient: 1, completed: 0 })
    }))

  it.effect("parallel: a call that answers first waits for the checks before its tools run", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<Array<number>>([])
      const tool = Tool.make("look_up", {
        description: "",
        parameters: {},
        handler: () =>
          Effect.flatMap(
            Effect.clockWith((clock) => clock.currentTimeMillis),
            (now) => Effect.as(Ref.update(ran, (times) => [...times, now]), "found")
          )
      })
      const model = yield* ScriptedModel.make([
        { toolCalls: [{ name: "look_up" }], latency: "100 millis" },
        { text: "done" }
      ])
      const agent = yield* Agent.make({
        name: "a",
        instructions: "",
        model,
        toolkit: Toolkit.make(tool),
        guardrails: { input: [noHomework("parallel", "3 seconds")] }
      })
      const fiber = yield* Effect.fork(agent.run("a question"))
      yield* TestClock.adjust("3 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.content).toBe("done")
      expect(yield* Ref.get(ran)).toEqual([3000])
    }))

  it.effect("blocking: runs before the first model call, which never starts when it trips", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "x" }])
      const agent = yield* Agent.make({
        name: "tutor",
        instructions: "",
        model,
        guardrails: { input: [noHomework("blocking")] }
      })
      const fiber = yield* Effect.fork(agent.run("homework please"))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toMatchObject({ _tag: "GuardrailTripped", kind: "input" })
      expect(yield* model.requests).toHaveLength(0)
      const passed = yield* Effect.fork(agent.run("a question"))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(passed)).content).toBe("x")
    }))

  it.effect("a streamed run emits GuardrailTripped, then fails; each check is a span", () =>
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
      const model = yield* ScriptedModel.make([{ text: "x", latency: "5 seconds" }])
      const agent = yield* Agent.make({
        name: "tutor",
        instructions: "",
        model,
        guardrails: { input: [noHomework("parallel")] }
      })
      const fiber = yield* Effect.fork(
        Effect.withTracer(Stream.runCollect(Stream.either(agent.stream("homework"))), recording)
      )
      yield* TestClock.adjust("1 second")
      const events = Chunk.toArray(yield* Fiber.join(fiber))
      expect(events.map((event) => event._tag === "Right" ? event.right._tag : event.left._tag)).toEqual([
        "RunStarted",
        "GuardrailTripped",
        "GuardrailTripped"
      ])
      const event = events[1]!
      if (event._tag === "Right" && RunEvent.is("GuardrailTripped")(event.right)) {
        expect(event.right).toMatchObject({ guardrail: "no_homework", kind: "input", path: ["tutor"] })
      } else expect.fail("a GuardrailTripped event")
      const check = spans.find((span) => span.name === "guardrail.check")
      expect(Object.fromEntries(check!.attributes)).toMatchObject({
        "guardrail.name": "no_homework",
        "guardrail.kind": "input"
      })
    }))
})

// -----------------------------------------------------------------------------
// Output
// -----------------------------------------------------------------------------

describe("output guardrails", () => {
  const noEmails = (onTrip: "fail" | "correct") =>
    Guardrail.output({
      name: "no_emails",
      onTrip,
      check: ({ content }) =>
        /\S+@\S+/.test(content) ? Guardrail.trip("email", "Answer again without email addresses.") : Guardrail.pass
    })

  it.effect("a trip fails the run", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "write to ada@example.com" }])
      const agent = yield* Agent.make({
        name: "a",
        instructions: "",
        model,
        guardrails: { output: [noEmails("fail")] }
      })
      const exit = yield* Effect.exit(agent.run("who?"))
      expect(failureOf(exit)).toEqual(tripped("output", "no_emails", "a", "email"))
    }))

  it.effect("onTrip: correct asks the model once, with the guardrail's message; a second trip fails", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "ada@example.com" }, { text: "Ada, at her office" }])
      const agent = yield* Agent.make({
        name: "a",
        instructions: "",
        model,
        guardrails: { output: [noEmails("correct")] }
      })
      const result = yield* agent.run("who?")
      expect(result.content).toBe("Ada, at her office")
      const requests = yield* model.requests
      expect(requests[1]?.messages.at(-1)).toEqual({ role: "user", content: "Answer again without email addresses." })

      const stubborn = yield* Agent.make({
        name: "b",
        instructions: "",
        model: yield* ScriptedModel.make([{ text: "ada@example.com" }, { text: "still ada@example.com" }]),
        guardrails: { output: [noEmails("correct")] }
      })
      const exit = yield* Effect.exit(stubborn.run("who?"))
      expect(failureOf(exit)).toEqual(tripped("output", "no_emails", "b", "email"))
    }))

  it.effect("checks the typed output", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([{ text: "{\"age\": -3}" }])
      const agent = yield* Agent.make({
        name: "ages",
        instructions: "",
        model,
        output: Schema.Struct({ age: Schema.Number }),
        guardrails: {
          output: [
            Guardrail.output<{ readonly age: number }>({
              name: "plausible",
              check: ({ output }) => output.age < 0 ? Guardrail.trip({ age: output.age }) : Guardrail.pass
            })
          ]
        }
      })
      const exit = yield* Effect.exit(agent.run("how old?"))
      expect(failureOf(exit)).toEqual(tripped("output", "plausible", "ages", { age: -3 }))
    }))
})

// -----------------------------------------------------------------------------
// Tools
// -----------------------------------------------------------------------------

describe("tool guardrails", () => {
  const shell = (ran: Ref.Ref<Array<string>>) =>
    Tool.make("shell", {
      description: "",
      parameters: { command: Schema.String },
      handler: ({ command }) => Effect.as(Ref.update(ran, (commands) => [...commands, command]), `ran ${command}`)
    })

  const scriptFor = (command: string): ScriptedModel.Script => [
    { toolCalls: [{ name: "shell", arguments: { command } }] },
    { text: "done" }
  ]

  it.effect("before: a rejection is what the model reads, and the tool does not run", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<Array<string>>([])
      const model = yield* ScriptedModel.make(scriptFor("rm -rf /"))
      const agent = yield* Agent.make({
        name: "ops",
        instructions: "",
        model,
        toolkit: Toolkit.make(shell(ran)),
        guardrails: {
          tool: [Guardrail.tool({
            name: "read_only",
            tools: ["shell"],
            before: (call) => call.arguments.includes("rm ") ? Guardrail.reject("Only read commands.") : Guardrail.pass
          })]
        }
      })
      const result = yield* agent.run("clean up")
      expect(yield* Ref.get(ran)).toEqual([])
      expect(result.steps[0]?.toolCalls[0]).toMatchObject({ result: "Only read commands.", isError: true })
      expect((yield* model.requests)[1]?.messages.at(-1)).toMatchObject({
        role: "tool",
        content: "Only read commands.",
        isError: true
      })
    }))

  it.effect("after: a rejection replaces the result the model reads; a streamed run shows the replacement", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<Array<string>>([])
      const model = yield* ScriptedModel.make(scriptFor("cat secrets"))
      const agent = yield* Agent.make({
        name: "ops",
        instructions: "",
        model,
        toolkit: Toolkit.make(shell(ran)),
        guardrails: {
          tool: [Guardrail.tool({
            name: "redact",
            after: (_, result) => result.content.includes("secrets") ? Guardrail.reject("[redacted]") : Guardrail.pass
          })]
        }
      })
      const events = Chunk.toArray(yield* Stream.runCollect(agent.stream("show")))
      expect(yield* Ref.get(ran)).toEqual(["cat secrets"])
      const completed = events.filter(RunEvent.is("ToolCallCompleted"))
      expect(completed.map((event) => event.call.result)).toEqual(["[redacted]"])
      expect((yield* model.requests)[1]?.messages.at(-1)).toMatchObject({ role: "tool", content: "[redacted]" })
    }))

  it.effect("a trip fails the run", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make<Array<string>>([])
      const agent = yield* Agent.make({
        name: "ops",
        instructions: "",
        model: yield* ScriptedModel.make(scriptFor("shutdown")),
        toolkit: Toolkit.make(shell(ran)),
        guardrails: {
          tool: [Guardrail.tool({ name: "no_shutdown", before: () => Effect.succeed(Guardrail.trip("shutdown")) })]
        }
      })
      const exit = yield* Effect.exit(agent.run("stop"))
      expect(failureOf(exit)).toEqual(tripped("tool", "no_shutdown", "ops", "shutdown"))
      expect(yield* Ref.get(ran)).toEqual([])
    }))
})

// -----------------------------------------------------------------------------
// Teams
// -----------------------------------------------------------------------------

describe("a team's guardrails", () => {
  it.effect("apply to the team's input (a parallel trip interrupts its members) and its answer", () =>
    Effect.gen(function*() {
      const probe: Probe = { answered: 0, interrupted: 0 }
      const member = yield* Agent.make({
        name: "Member",
        instructions: "",
        model: watched(yield* ScriptedModel.make([{ text: "slow", latency: "10 seconds" }]), probe)
      })
      const leader = yield* ScriptedModel.make((request) =>
        request.messages.at(-1)?.role === "tool"
          ? { text: "the team's answer: ada@example.com" }
          : { toolCalls: [{ name: "Member", arguments: { input: "go" } }] }
      )
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leader },
        members: [member],
        guardrails: {
          input: [noHomework("parallel", "2 seconds")],
          output: [Guardrail.output({
            name: "no_emails",
            check: ({ content }) => content.includes("@") ? Guardrail.trip("email") : Guardrail.pass
          })]
        }
      })
      const fiber = yield* Effect.fork(team.run("my homework"))
      yield* TestClock.adjust("2 seconds")
      expect(failureOf(yield* Fiber.await(fiber))).toEqual(tripped("input", "no_homework", "T", { reason: "homework" }))
      expect(probe).toEqual({ answered: 0, interrupted: 1 })

      const second = yield* Effect.fork(team.run("a question"))
      yield* TestClock.adjust("10 seconds")
      expect(failureOf(yield* Fiber.await(second))).toEqual(tripped("output", "no_emails", "T", "email"))
    }))
})
