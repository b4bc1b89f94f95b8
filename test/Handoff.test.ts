import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, type Duration, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, LanguageModel as LM, RunEvent, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

/** Model calls interrupted in flight. */
const interruptions = (model: LanguageModel.Service, count: { interrupted: number }): LanguageModel.Service => ({
  model: model.model,
  generate: (request) => model.generate(request).pipe(Effect.onInterrupt(() => Effect.sync(() => count.interrupted++))),
  stream: (request) =>
    model.stream(request).pipe(
      Stream.ensuringWith((exit) => Exit.isInterrupted(exit) ? Effect.sync(() => count.interrupted++) : Effect.void)
    )
})

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** A triage agent that hands over to billing or support, and the two specialists on their own models. */
const desk = (options?: {
  readonly filter?: boolean
  readonly billingLatency?: Duration.DurationInput
  readonly count?: { interrupted: number }
}) =>
  Effect.gen(function*() {
    const billingModel = yield* ScriptedModel.make([{
      text: "Your refund of 20 EUR is on its way.",
      latency: options?.billingLatency ?? "0 millis",
      usage: { inputTokens: 30, outputTokens: 10 }
    }])
    const supportModel = yield* ScriptedModel.make([{ text: "Restart the router." }])
    const billing = yield* Agent.make({
      name: "billing",
      instructions: "You handle refunds.",
      model: options?.count === undefined ? billingModel : interruptions(billingModel, options.count)
    })
    const support = yield* Agent.make({ name: "support", instructions: "You fix devices.", model: supportModel })
    const triageModel = yield* ScriptedModel.make([{
      text: "Let me get billing.",
      toolCalls: [{ name: "transfer_to_billing", arguments: {} }],
      usage: { inputTokens: 20, outputTokens: 5 }
    }])
    const triage = yield* Agent.make({
      name: "triage",
      instructions: "Hand the customer over to the right specialist.",
      model: triageModel,
      toolkit: Toolkit.make(
        Agent.handoff(billing, { inputFilter: options?.filter === true ? Agent.removeToolCalls : undefined }),
        Agent.handoff(support)
      )
    })
    return { triage, billingModel, supportModel, triageModel }
  })

describe("Agent.handoff", () => {
  it.effect("a triage agent hands over to one of two specialists, which answers for the run", () =>
    Effect.gen(function*() {
      const { billingModel, supportModel, triage, triageModel } = yield* desk()
      const result = yield* triage.run("I want my money back")
      expect(result.agent).toBe("triage")
      expect(result.answeredBy).toEqual(["billing"])
      expect(result.content).toBe("Your refund of 20 EUR is on its way.")
      expect(result.steps.map((step) => [step.index, step.text])).toEqual([
        [0, "Let me get billing."],
        [1, "Your refund of 20 EUR is on its way."]
      ])
      expect(result.metrics).toMatchObject({ inputTokens: 50, outputTokens: 15, steps: 2, toolCalls: 1 })
      // the triage model saw both handoffs as tools
      const [asked] = yield* triageModel.requests
      expect(asked!.tools.map((tool) => tool.name)).toEqual(["transfer_to_billing", "transfer_to_support"])
      // billing continues the conversation under its own instructions, the handoff included
      const [continued] = yield* billingModel.requests
      expect(continued!.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool"])
      expect(continued!.messages[0]).toEqual(LM.system("You handle refunds."))
      expect(yield* supportModel.requests).toEqual([])
    }))

  it.effect("a filter removes the tool calls from what the target gets", () =>
    Effect.gen(function*() {
      const { billingModel, triage } = yield* desk({ filter: true })
      yield* triage.run("I want my money back")
      const [continued] = yield* billingModel.requests
      expect(continued!.messages).toEqual([
        LM.system("You handle refunds."),
        LM.user("I want my money back"),
        LM.assistant("Let me get billing.")
      ])
    }))

  it.effect("the stream shows the switch: a Handoff event, then the target's events at its path", () =>
    Effect.gen(function*() {
      const { triage } = yield* desk()
      const events = Chunk.toArray(yield* Stream.runCollect(triage.stream("I want my money back")))
      const shown = events.filter((event) => event._tag !== "TextDelta").map((event) => [event._tag, event.path])
      expect(shown).toEqual([
        ["RunStarted", ["triage"]],
        ["ToolCallStarted", ["triage"]],
        ["ToolCallCompleted", ["triage"]],
        ["StepCompleted", ["triage"]],
        ["Handoff", ["triage"]],
        ["StepCompleted", ["billing"]],
        ["RunCompleted", ["triage"]]
      ])
      const handoff = events.find(RunEvent.is("Handoff"))!
      expect(handoff).toMatchObject({ to: "billing", toPath: ["billing"] })
      // the target's turn has an id of its own, made of the run's and the handoff call's
      expect(handoff.toRunId.startsWith(`${handoff.runId}.0.`)).toBe(true)
      expect(events.filter(RunEvent.is("StepCompleted")).map((event) => event.runId)).toEqual([
        handoff.runId,
        handoff.toRunId
      ])
      const deltas = events.filter(RunEvent.is("TextDelta"))
      expect(deltas.at(-1)?.path).toEqual(["billing"])
      const completed = events.at(-1)
      if (completed?._tag !== "RunCompleted") return expect.fail("RunCompleted last")
      expect(completed.result.answeredBy).toEqual(["billing"])
      expect(completed.result.runId).toBe(handoff.runId)
    }))

  it.effect("interrupting the run during the target's turn reaches its model request", () =>
    Effect.gen(function*() {
      const count = { interrupted: 0 }
      const { triage } = yield* desk({ billingLatency: "10 seconds", count })
      const fiber = yield* Effect.fork(triage.run("I want my money back"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      expect(count.interrupted).toBe(1)
    }))

  it.effect("a run hands over at most maxHandoffs times: MaxHandoffsExceeded", () =>
    Effect.gen(function*() {
      const last = yield* Agent.make({
        name: "last",
        instructions: "",
        model: yield* ScriptedModel.make([{ text: "end" }])
      })
      const middle = yield* Agent.make({
        name: "middle",
        instructions: "",
        model: yield* ScriptedModel.make([{ toolCalls: [{ name: "transfer_to_last", arguments: {} }] }]),
        toolkit: Toolkit.make(Agent.handoff(last))
      })
      const first = yield* Agent.make({
        name: "first",
        instructions: "",
        model: yield* ScriptedModel.make((_, index) =>
          index === 0 ? { toolCalls: [{ name: "transfer_to_middle", arguments: {} }] } : { text: "x" }
        ),
        toolkit: Toolkit.make(Agent.handoff(middle)),
        maxHandoffs: 1
      })
      const exit = yield* Effect.exit(first.run("go"))
      expect(failureOf(exit)).toEqual(new AgentError.MaxHandoffsExceeded({ agent: "middle", maxHandoffs: 1 }))
    }))

  it("removeToolCalls keeps the text of the model's messages, and nothing of the tool calls", () => {
    const call = { id: "c1", name: "lookup", arguments: "{}" }
    expect(Agent.removeToolCalls([
      LM.user("hi"),
      LM.assistant("", [call]),
      LM.toolResult({ toolCallId: "c1", name: "lookup", content: "42" }),
      LM.assistant("It is 42.", [call]),
      LM.assistant("Bye.")
    ])).toEqual([LM.user("hi"), LM.assistant("It is 42."), LM.assistant("Bye.")])
  })
})
