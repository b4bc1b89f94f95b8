import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Logger, Metric, Option, Ref, Stream, TestClock } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, AgentMetrics, Dag, Pricing, Team, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

/** What the models of a test did: calls answered, calls interrupted in flight. */
interface Probe {
  answered: Array<string>
  interrupted: Array<string>
}

const makeProbe = (): Probe => ({ answered: [], interrupted: [] })

/** A model that reports each call to the probe, under `name`. */
const watched = (model: LanguageModel.Service, probe: Probe, name: string): LanguageModel.Service => ({
  model: model.model,
  generate: (request) =>
    model.generate(request).pipe(
      Effect.tap(() => Effect.sync(() => probe.answered.push(name))),
      Effect.onInterrupt(() => Effect.sync(() => probe.interrupted.push(name)))
    ),
  stream: (request) =>
    model.stream(request).pipe(
      Stream.tap((part) => part._tag === "Finish" ? Effect.sync(() => probe.answered.push(name)) : Effect.void),
      Stream.onEnd(Effect.void)
    )
})

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens })

const agentOf = (
  name: string,
  script: ScriptedModel.Script,
  options?: {
    readonly probe?: Probe
    readonly toolkit?: Toolkit.Any
    readonly budget?: Agent.Options<string, string, Toolkit.Any>["policy"]
    readonly model?: string
  }
) =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedModel.make(script, { model: options?.model })
    const model = options?.probe === undefined ? scripted : watched(scripted, options.probe, name)
    return yield* Agent.make({
      name,
      instructions: `You are ${name}.`,
      model,
      toolkit: options?.toolkit,
      policy: { retry: false, ...options?.budget }
    })
  })

const delegate = (tool: string, input: string): ScriptedModel.ScriptedToolCall => ({ name: tool, arguments: { input } })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

// -----------------------------------------------------------------------------
// One agent
// -----------------------------------------------------------------------------

describe("an agent's budget", () => {
  const counter = Tool.make("count", {
    description: "Counts",
    parameters: {},
    handler: () => "1"
  })

  it.effect("the model call that crosses the token limit fails the run, and no tool call follows", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(0)
      const tool = Tool.make("count", {
        description: "Counts",
        parameters: {},
        handler: () => Effect.as(Ref.update(ran, (n) => n + 1), "1")
      })
      const agent = yield* agentOf("counter", [
        { toolCalls: [{ name: "count", arguments: {} }], usage: usage(40, 10) },
        { toolCalls: [{ name: "count", arguments: {} }], usage: usage(60, 10) },
        { text: "done", usage: usage(80, 10) }
      ], { toolkit: Toolkit.make(tool), budget: { budget: { tokens: 100 } } })
      const exit = yield* Effect.exit(agent.run("count"))
      expect(failureOf(exit)).toEqual(
        new AgentError.BudgetExceeded({ limit: "tokens", max: 100, spent: 120, path: ["counter"] })
      )
      expect(yield* Ref.get(ran)).toBe(1)
    }))

  it.effect("modelCalls and toolCalls: a call over the limit does not start", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const loop = { toolCalls: [{ name: "count", arguments: {} }] }
      const byModel = yield* agentOf("a", [loop, loop, loop, { text: "done" }], {
        probe,
        toolkit: Toolkit.make(counter),
        budget: { budget: { modelCalls: 2 } }
      })
      const models = yield* Effect.exit(byModel.run("go"))
      expect(failureOf(models)).toMatchObject({ _tag: "BudgetExceeded", limit: "modelCalls", max: 2, spent: 3 })
      expect(probe.answered).toEqual(["a", "a"])

      const byTool = yield* agentOf("b", [{ toolCalls: [loop.toolCalls[0]!, loop.toolCalls[0]!] }, { text: "x" }], {
        toolkit: Toolkit.make(counter)
      })
      const tools = yield* Effect.exit(byTool.run("go", { policy: { budget: { toolCalls: 1 } } }))
      expect(failureOf(tools)).toMatchObject({ _tag: "BudgetExceeded", limit: "toolCalls", max: 1, spent: 2 })
    }))

  it.effect("a fiber forked away from a budgeted run that ended does not hang when it crosses the budget", () =>
    Effect.gen(function*() {
      const inner = yield* agentOf("inner", [{ text: "late", usage: usage(500, 0), latency: "1 second" }])
      const forked = yield* Ref.make<Option.Option<Fiber.RuntimeFiber<unknown, unknown>>>(Option.none())
      const detach = Tool.make("detach", {
        description: "",
        parameters: {},
        handler: () => Effect.flatMap(Effect.forkDaemon(inner.run("x")), (fiber) => Ref.set(forked, Option.some(fiber)))
      })
      const outer = yield* agentOf("outer", [{ toolCalls: [{ name: "detach", arguments: {} }] }, { text: "done" }], {
        toolkit: Toolkit.make(detach),
        budget: { budget: { tokens: 100 } }
      })
      expect((yield* outer.run("go")).content).toBe("done")
      yield* TestClock.adjust("1 second")
      const fiber = Option.getOrThrow(yield* Ref.get(forked))
      expect(Exit.isInterrupted(yield* Fiber.await(fiber))).toBe(true)
    }))

  it.effect("a run's budget joins the agent's, limit by limit", () =>
    Effect.gen(function*() {
      const agent = yield* agentOf("a", [{ text: "hello", usage: usage(30, 5) }], {
        budget: { budget: { tokens: 1000 } }
      })
      expect(agent.policy.budget).toEqual({ tokens: 1000 })
      const exit = yield* Effect.exit(agent.run("hi", { policy: { budget: { modelCalls: 5, tokens: 20 } } }))
      expect(failureOf(exit)).toMatchObject({ limit: "tokens", max: 20, spent: 35 })
    }))

  it.effect("duration: like a run timeout, with BudgetExceeded", () =>
    Effect.gen(function*() {
      const agent = yield* agentOf("slow", [{ text: "late", latency: "1 minute" }], {
        budget: { budget: { duration: "10 seconds" } }
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("10 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toEqual(
        new AgentError.BudgetExceeded({ limit: "duration", max: 10_000, spent: 10_000, path: ["slow"] })
      )
    }))
})

// -----------------------------------------------------------------------------
// A tree
// -----------------------------------------------------------------------------

describe("a team's budget", () => {
  it.effect("members that together cross the token budget stop the team within the call that crossed it", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const fast = yield* agentOf("Fast", [{ text: "fast answer", usage: usage(300, 50), latency: "1 second" }], {
        probe
      })
      const slow = yield* agentOf("Slow", [{ text: "slow answer", usage: usage(300, 50), latency: "5 seconds" }], {
        probe
      })
      const leaderModel = yield* ScriptedModel.make([
        { toolCalls: [delegate("Fast", "part 1"), delegate("Slow", "part 2")], usage: usage(100, 20) },
        { text: "synthesis", usage: usage(500, 50) }
      ])
      const team = yield* Team.make({
        name: "Research",
        mode: "coordinate",
        leader: { instructions: "Delegate.", model: watched(leaderModel, probe, "leader") },
        members: [fast, slow],
        policy: { retry: false, budget: { tokens: 400 } }
      })
      const fiber = yield* Effect.fork(team.run("research"))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      // 120 (leader) + 350 (Fast) crossed 400 when Fast's call ended: Slow's call was in flight
      expect(failureOf(exit)).toEqual(
        new AgentError.BudgetExceeded({ limit: "tokens", max: 400, spent: 470, path: ["Research"] })
      )
      expect(probe.answered).toEqual(["leader", "Fast"])
      expect(probe.interrupted).toEqual(["Slow"])
      // nothing is spent after: the leader is not called again
      yield* TestClock.adjust("1 minute")
      expect(probe.answered).toEqual(["leader", "Fast"])
    }))

  it.effect("a tool call in flight elsewhere in the tree is interrupted too, and its finalizer runs", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const stuck = Tool.make("wait", {
        description: "Waits",
        parameters: {},
        handler: () => Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
      })
      const waiter = yield* agentOf("Waiter", [{ toolCalls: [{ name: "wait", arguments: {} }] }], {
        toolkit: Toolkit.make(stuck)
      })
      const spender = yield* agentOf("Spender", [{ text: "big", usage: usage(900, 200), latency: "1 second" }])
      const leaderModel = yield* ScriptedModel.make([
        { toolCalls: [delegate("Waiter", "wait"), delegate("Spender", "spend")], usage: usage(10, 10) }
      ])
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leaderModel },
        members: [waiter, spender],
        policy: { retry: false, budget: { tokens: 1000 } }
      })
      const fiber = yield* Effect.fork(team.run("go"))
      yield* TestClock.adjust("1 second")
      expect(failureOf(yield* Fiber.await(fiber))).toMatchObject({
        _tag: "BudgetExceeded",
        limit: "tokens",
        path: ["T"]
      })
      expect(yield* Ref.get(finalized)).toBe(1)
    }))

  it.effect("a member's own budget applies inside the team's: its crossing fails the member, the team goes on", () =>
    Effect.gen(function*() {
      const member = yield* agentOf("Member", [{ text: "long answer", usage: usage(300, 50) }], {
        budget: { budget: { tokens: 100 } }
      })
      const leaderModel = yield* ScriptedModel.make([
        { toolCalls: [delegate("Member", "go")], usage: usage(10, 10) },
        { text: "the member ran out", usage: usage(10, 10) }
      ])
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leaderModel },
        members: [member],
        policy: { retry: false, budget: { tokens: 1000 } }
      })
      const result = yield* team.run("go")
      expect(result.content).toBe("the member ran out")
      const [run] = result.members
      expect(run?.outcome).toMatchObject({ _tag: "Left", left: { _tag: "BudgetExceeded", path: ["Member"] } })
      // the member's tokens counted in the team's budget too
      expect(result.metrics.totalTokens).toBe(390)
    }))

  it.effect("duration bounds the whole tree", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const member = yield* agentOf("Member", [{ text: "late", latency: "1 minute" }], { probe })
      const leaderModel = yield* ScriptedModel.make([{ toolCalls: [delegate("Member", "go")] }, { text: "x" }])
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leaderModel },
        members: [member],
        policy: { budget: { duration: "30 seconds" } }
      })
      const fiber = yield* Effect.fork(team.run("go"))
      yield* TestClock.adjust("30 seconds")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toMatchObject({ _tag: "BudgetExceeded", limit: "duration", path: ["T"] })
      expect(probe.interrupted).toEqual(["Member"])
    }))
})

describe("a DAG's budget", () => {
  it.effect("stops its nodes: the node in flight is interrupted, the nodes after it never run", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const first = yield* agentOf("first", [{ text: "a", usage: usage(500, 100), latency: "1 second" }], { probe })
      const second = yield* agentOf("second", [{ text: "b", latency: "10 seconds" }], { probe })
      const third = yield* agentOf("third", [{ text: "c" }], { probe })
      const dag = Dag.make<string>("pipeline").pipe(
        Dag.node("first", (_, input) => Effect.map(first.run(input), (r) => r.content)),
        Dag.node("second", (_, input) => Effect.map(second.run(input), (r) => r.content)),
        Dag.node("third", {
          dependsOn: ["first", "second"],
          run: () => Effect.map(third.run("go"), (r) => r.content)
        })
      )
      const fiber = yield* Effect.fork(Dag.run(dag, "go", { budget: { tokens: 500 } }))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(failureOf(exit)).toEqual(
        new AgentError.BudgetExceeded({ limit: "tokens", max: 500, spent: 600, path: ["pipeline"] })
      )
      expect(probe.answered).toEqual(["first"])
      expect(probe.interrupted).toEqual(["second"])
    }))
})

// -----------------------------------------------------------------------------
// Cost
// -----------------------------------------------------------------------------

describe("cost", () => {
  it("the price table finds dated snapshots and ignores a provider prefix; cached input is cheaper", () => {
    expect(Pricing.lookup(Pricing.openAi, "gpt-4o-mini-2024-07-18")).toBe(Pricing.openAi["gpt-4o-mini"])
    expect(Pricing.lookup(Pricing.openAi, "gpt-4o-2024-08-06")).toBe(Pricing.openAi["gpt-4o"])
    expect(Pricing.lookup(Pricing.openAi, "openai/gpt-5-mini")).toBe(Pricing.openAi["gpt-5-mini"])
    expect(Pricing.lookup(Pricing.openAi, "scripted")).toBeUndefined()
    const price = { input: 2, cachedInput: 0.5, output: 8 }
    expect(Pricing.cost(price, { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 500_000 })).toBe(1.25)
    expect(Pricing.cost(price, { inputTokens: 0, outputTokens: 1_000_000 })).toBe(8)
  })

  it.effect("RunMetrics.costUsd when the model has a price, summed over the tree; the cost counter", () =>
    Effect.gen(function*() {
      const member = yield* agentOf("Priced", [{ text: "m", usage: usage(1_000_000, 0) }], { model: "gpt-4o-mini" })
      const unpriced = yield* agentOf("Unpriced", [{ text: "u", usage: usage(10, 10) }])
      expect((yield* unpriced.run("x")).metrics.costUsd).toBeUndefined()
      const leaderModel = yield* ScriptedModel.make([
        { toolCalls: [delegate("Priced", "go")], usage: usage(0, 1_000_000) },
        { text: "done", usage: usage(0, 0) }
      ], { model: "gpt-4o-mini-2024-07-18" })
      const team = yield* Team.make({
        name: "Costly",
        mode: "coordinate",
        leader: { instructions: "", model: leaderModel },
        members: [member]
      })
      const before = (yield* Metric.value(AgentMetrics.costUsd.pipe(Metric.tagged("agent", "Priced")))).count
      const result = yield* team.run("go")
      // 1M input tokens at 0.15, 1M output tokens at 0.60
      expect(result.metrics.costUsd).toBeCloseTo(0.75, 10)
      expect(result.members[0]?.metrics.costUsd).toBeCloseTo(0.15, 10)
      const after = (yield* Metric.value(AgentMetrics.costUsd.pipe(Metric.tagged("agent", "Priced")))).count
      expect(after - before).toBeCloseTo(0.15, 10)
    }))

  it.effect("a budget in dollars, with a price table of one's own", () =>
    Effect.gen(function*() {
      const agent = yield* agentOf("a", [{ text: "x", usage: usage(1000, 1000) }], {
        model: "house-model",
        budget: { budget: { costUsd: 0.01 } }
      }).pipe(Effect.provide(Pricing.layer({ "house-model": { input: 5, output: 10 } })))
      const exit = yield* Effect.exit(agent.run("hi"))
      expect(failureOf(exit)).toMatchObject({ _tag: "BudgetExceeded", limit: "costUsd", max: 0.01 })
      expect((failureOf(exit) as AgentError.BudgetExceeded).spent).toBeCloseTo(0.015, 10)
    }))
})

describe("an unpriced model under a dollar budget", () => {
  it.effect("is told once, as a warning: its calls count nothing", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`))
      const agent = yield* agentOf("a", [{ text: "x" }, { text: "y" }], {
        model: "no-such-model",
        budget: { budget: { costUsd: 1 } }
      })
      yield* agent.run("one").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      yield* agent.run("two").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(logs).toEqual([
        "WARN the model \"no-such-model\" has no price: its calls count nothing in a costUsd budget (see Pricing.layer)"
      ])
    }))
})

describe("BudgetExceeded", () => {
  it("says what was crossed where", () => {
    const error = new AgentError.BudgetExceeded({ limit: "tokens", max: 1000, spent: 1180, path: ["research"] })
    expect(error.message).toBe("research crossed its budget of 1000 tokens (spent 1180)")
    expect(Duration.toMillis(Duration.seconds(1))).toBe(1000)
  })
})
