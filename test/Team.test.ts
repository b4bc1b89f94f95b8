import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import {
  Chunk,
  Duration,
  Effect,
  Either,
  Exit,
  Fiber,
  Option,
  Ref,
  Schema,
  Stream,
  Supervisor,
  TestClock
} from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, RunEvent, Team, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

/** What the models of a test did: every model call's usage, and the calls interrupted. */
interface Probe {
  inputTokens: number
  outputTokens: number
  calls: number
  interrupted: number
}

const makeProbe = (): Probe => ({ inputTokens: 0, outputTokens: 0, calls: 0, interrupted: 0 })

/** A model that reports to the probe. */
const watched = (model: LanguageModel.Service, probe: Probe): LanguageModel.Service => {
  const count = (usage: LanguageModel.Usage) =>
    Effect.sync(() => {
      probe.calls++
      probe.inputTokens += usage.inputTokens
      probe.outputTokens += usage.outputTokens
    })
  return {
    model: model.model,
    generate: (request) =>
      model.generate(request).pipe(
        Effect.tap((response) => count(response.usage)),
        Effect.onInterrupt(() => Effect.sync(() => probe.interrupted++))
      ),
    stream: (request) =>
      model.stream(request).pipe(Stream.tap((part) => part._tag === "Finish" ? count(part.usage) : Effect.void))
  }
}

const noRetry = { retry: false } as const

/** An agent on its own scripted model. */
const agentOf = (
  name: string,
  instructions: string,
  script: ScriptedModel.Script,
  options?: { readonly probe?: Probe; readonly toolkit?: Toolkit.Any }
) =>
  Effect.gen(function*() {
    const model = yield* ScriptedModel.make(script)
    const agent = yield* Agent.make({
      name,
      instructions,
      model: options?.probe === undefined ? model : watched(model, options.probe),
      toolkit: options?.toolkit,
      policy: noRetry
    })
    return { agent, model }
  })

const leaderOf = (script: ScriptedModel.Script, probe?: Probe) =>
  Effect.gen(function*() {
    const scripted = yield* ScriptedModel.make(script)
    return { scripted, model: probe === undefined ? scripted : watched(scripted, probe) }
  })

const delegate = (tool: string, input: string): ScriptedModel.ScriptedToolCall => ({ name: tool, arguments: { input } })

const userMessages = (request: LanguageModel.GenerateRequest) =>
  request.messages.filter((message) => message.role === "user").map((message) => message.content)

const toolMessages = (request: LanguageModel.GenerateRequest) =>
  request.messages.filter((message): message is LanguageModel.ToolMessage => message.role === "tool")

/** A tool that never returns; its finalizer counts. */
const stuck = (name: string, finalized: Ref.Ref<number>) =>
  Tool.make(name, {
    description: "Waits for ever",
    parameters: {},
    handler: () => Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
  })

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens })

// -----------------------------------------------------------------------------
// Modes
// -----------------------------------------------------------------------------

describe("coordinate", () => {
  it.effect("the leader delegates through one tool per member, then synthesises their answers", () =>
    Effect.gen(function*() {
      const searcher = yield* agentOf("Web Searcher", "Search the web for facts.", [{
        text: "Effect 3.0: April 2024."
      }])
      const analyst = yield* agentOf("Analyst", "Explain what facts mean.", [
        { text: "A stable API.", latency: "10 millis" }
      ])
      const leader = yield* leaderOf([
        {
          toolCalls: [
            delegate("Web_Searcher", "When did Effect 3.0 ship?"),
            delegate("Analyst", "What does a 3.0 mean?")
          ]
        },
        { text: "Effect 3.0 shipped in April 2024: a stable API." }
      ])
      const team = yield* Team.make({
        name: "Research Team",
        mode: "coordinate",
        leader: { instructions: "Research the question, then answer it.", model: leader.model },
        members: [searcher.agent, analyst.agent]
      })
      expect(team.mode).toBe("coordinate")
      expect(team.leader.name).toBe("Research Team")

      const fiber = yield* Effect.fork(team.run("Tell me about Effect 3.0"))
      yield* TestClock.adjust("10 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.agent).toBe("Research Team")
      expect(result.content).toBe("Effect 3.0 shipped in April 2024: a stable API.")
      expect(result.output).toBe(result.content)
      expect(result.leader.content).toBe(result.content)
      expect(result.mode).toBe("coordinate")
      expect(result.members.map((run) => [run.member, run.input, Either.map(run.outcome, (r) => r.content)])).toEqual([
        ["Web Searcher", "When did Effect 3.0 ship?", Either.right("Effect 3.0: April 2024.")],
        ["Analyst", "What does a 3.0 mean?", Either.right("A stable API.")]
      ])
      expect(result.members.map((run) => [run.startedAtMs, run.durationMs])).toEqual([[0, 0], [0, 10]])

      const [first, second] = yield* leader.scripted.requests
      expect(first!.tools.map((tool) => [tool.name, tool.description])).toEqual([
        ["Web_Searcher", "Delegate a task to the agent \"Web Searcher\": Search the web for facts."],
        ["Analyst", "Delegate a task to the agent \"Analyst\": Explain what facts mean."]
      ])
      const system = first!.messages[0]!
      expect(system.role).toBe("system")
      expect(system.content).toMatch(/^Research the question, then answer it\.\n\nYou lead the team "Research Team"/)
      expect(system.content).toContain("- \"Web Searcher\": Search the web for facts.")
      expect(toolMessages(second!).map((message) => [message.name, message.content, message.isError])).toEqual([
        ["Web_Searcher", "Effect 3.0: April 2024.", false],
        ["Analyst", "A stable API.", false]
      ])
      // each member got its task, not the team's input
      expect(userMessages((yield* searcher.model.requests)[0]!)).toEqual(["When did Effect 3.0 ship?"])
    }))

  it.effect("records its own members' runs only, not the runs its members delegate to", () =>
    Effect.gen(function*() {
      const helper = yield* agentOf("Helper", "", [{ text: "42" }])
      const member = yield* agentOf("Member", "", [
        { toolCalls: [delegate("Helper", "compute")] },
        { text: "The answer is 42." }
      ], { toolkit: Toolkit.make(helper.agent.asTool()) })
      const leader = yield* leaderOf([{ toolCalls: [delegate("Member", "ask")] }, { text: "42." }])
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leader.model },
        members: [member.agent]
      })
      const result = yield* team.run("go")
      expect(result.members.map((run) => run.member)).toEqual(["Member"])
      expect(yield* helper.model.requests).toHaveLength(1)
    }))

  it.effect("three delegations in one step take the time of the slowest member; concurrency: 1 runs them in turn", () =>
    Effect.gen(function*() {
      const makeTeam = (concurrency: number | undefined) =>
        Effect.gen(function*() {
          const a = yield* agentOf("A", "", [{ text: "a", latency: "100 millis" }])
          const b = yield* agentOf("B", "", [{ text: "b", latency: "300 millis" }])
          const c = yield* agentOf("C", "", [{ text: "c", latency: "200 millis" }])
          const leader = yield* leaderOf([
            { toolCalls: [delegate("A", "x"), delegate("B", "y"), delegate("C", "z")] },
            { text: "abc" }
          ])
          return yield* Team.make({
            name: "T",
            mode: "coordinate",
            leader: { instructions: "", model: leader.model },
            members: [a.agent, b.agent, c.agent],
            concurrency
          })
        })

      const concurrent = yield* makeTeam(undefined)
      const fiber = yield* Effect.fork(concurrent.run("go"))
      yield* TestClock.adjust("300 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.metrics.durationMs).toBe(300)
      expect(result.members.map((run) => [run.member, run.startedAtMs, run.durationMs])).toEqual([
        ["A", 0, 100],
        ["C", 0, 200],
        ["B", 0, 300]
      ])

      const serial = yield* makeTeam(1)
      const serialFiber = yield* Effect.fork(serial.run("go"))
      yield* TestClock.adjust("600 millis")
      const serialResult = yield* Fiber.join(serialFiber)
      expect(serialResult.metrics.durationMs).toBe(600)
      expect(serialResult.members.map((run) => [run.member, run.startedAtMs])).toEqual([
        ["A", 0],
        ["B", 100],
        ["C", 400]
      ])
    }))

  it.effect("a member's failure goes back to the leader as an error tool result; the leader answers without it", () =>
    Effect.gen(function*() {
      const broken = yield* agentOf("Web Searcher", "", [
        { fail: { error: new AgentError.InvalidRequest({ message: "the index is offline" }) } }
      ])
      const analyst = yield* agentOf("Analyst", "", [{ text: "Probably stable." }])
      const leader = yield* leaderOf([
        { toolCalls: [delegate("Web_Searcher", "search"), delegate("Analyst", "analyse")] },
        { text: "Without search results: probably stable." }
      ])
      const team = yield* Team.make({
        name: "Research Team",
        mode: "coordinate",
        leader: { instructions: "", model: leader.model },
        members: [broken.agent, analyst.agent]
      })
      const result = yield* team.run("Is it stable?")
      expect(result.content).toBe("Without search results: probably stable.")
      const [, second] = yield* leader.scripted.requests
      expect(toolMessages(second!).map((message) => [message.content, message.isError])).toEqual([
        ["Error: Web Searcher failed: the index is offline", true],
        ["Probably stable.", false]
      ])
      const failed = result.members.find((run) => run.member === "Web Searcher")!
      expect(failed.outcome).toStrictEqual(
        Either.left(new AgentError.InvalidRequest({ message: "the index is offline" }))
      )
    }))

  it.effect("with onMemberFailure: \"fail\", a member's failure fails the team and interrupts the others", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const broken = yield* agentOf("Broken", "", [
        { fail: { error: new AgentError.InvalidRequest({ message: "refused" }) }, latency: "100 millis" }
      ])
      const busy = yield* agentOf("Busy", "", [{ toolCalls: [{ name: "wait" }] }], {
        toolkit: Toolkit.make(stuck("wait", finalized))
      })
      const leader = yield* leaderOf([{ toolCalls: [delegate("Broken", "x"), delegate("Busy", "y")] }])
      const team = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: leader.model },
        members: [broken.agent, busy.agent],
        onMemberFailure: "fail"
      })
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(Effect.supervised(Effect.exit(team.run("go")), supervisor))
      yield* TestClock.adjust("100 millis")
      const exit = yield* Fiber.join(fiber)
      expect(exit).toStrictEqual(Exit.fail(new AgentError.InvalidRequest({ message: "refused" })))
      expect(yield* Ref.get(finalized)).toBe(1)
      expect(yield* leader.scripted.requests).toHaveLength(1)
      expect(yield* supervisor.value).toHaveLength(0)

      // the leader never goes on after the failure, even with no other member to wait for
      const alone = yield* leaderOf([{ toolCalls: [delegate("Broken", "x")] }, { text: "answer without it" }])
      const strict = yield* Team.make({
        name: "T",
        mode: "coordinate",
        leader: { instructions: "", model: alone.model },
        members: [
          (yield* agentOf("Broken", "", [{ fail: { error: new AgentError.InvalidRequest({ message: "no" }) } }]))
            .agent
        ],
        onMemberFailure: "fail"
      })
      expect(yield* Effect.flip(strict.run("go"))).toStrictEqual(new AgentError.InvalidRequest({ message: "no" }))
      expect(yield* alone.scripted.requests).toHaveLength(1)
    }))
})

describe("route", () => {
  it.effect("the leader chooses one member, whose answer is the team's, unchanged", () =>
    Effect.gen(function*() {
      const Ticket = Schema.Struct({ desk: Schema.String, reply: Schema.String })
      const billingModel = yield* ScriptedModel.make([{ text: "Your invoice is attached." }])
      const billing = yield* Agent.make({
        name: "Billing",
        instructions: "Answer about invoices.",
        model: billingModel
      })
      const techModel = yield* ScriptedModel.make([
        { text: "Let me check.", toolCalls: [{ name: "ping", arguments: {} }] },
        { text: "{\"desk\":\"tech\",\"reply\":\"Restart the router.\"}" }
      ])
      const ping = Tool.make("ping", { description: "Ping the router", parameters: {}, handler: () => "timeout" })
      const tech = yield* Agent.make({
        name: "Tech",
        instructions: "Troubleshoot.",
        model: techModel,
        toolkit: Toolkit.make(ping),
        output: Ticket
      })
      const leader = yield* leaderOf([{ text: "{\"member\":\"Tech\"}" }])
      const team = yield* Team.make({
        name: "Support",
        mode: "route",
        leader: { instructions: "Send each question to the right desk.", model: leader.model },
        members: [billing, tech]
      })
      const result = yield* team.run("My internet is down")
      expectTypeOf(result.output).toEqualTypeOf<string | { readonly desk: string; readonly reply: string }>()

      const direct = yield* Effect.flatMap(
        ScriptedModel.make([
          { text: "Let me check.", toolCalls: [{ name: "ping", arguments: {} }] },
          { text: "{\"desk\":\"tech\",\"reply\":\"Restart the router.\"}" }
        ]),
        (model) =>
          Agent.make({
            name: "Tech",
            instructions: "Troubleshoot.",
            model,
            toolkit: Toolkit.make(ping),
            output: Ticket
          })
      ).pipe(Effect.flatMap((agent) => agent.run("My internet is down")))
      expect(result.content).toBe(direct.content)
      expect(result.output).toEqual({ desk: "tech", reply: "Restart the router." })
      expect(result.messages).toEqual(direct.messages)
      expect(result.steps).toEqual(direct.steps)

      // the leader answered with a choice among the members' names, and the member got the request itself
      const [decision] = yield* leader.scripted.requests
      expect(decision!.tools).toEqual([])
      expect(decision!.responseFormat?.schema).toMatchObject({
        properties: { member: { enum: ["Billing", "Tech"] } },
        required: ["member"]
      })
      expect(userMessages((yield* techModel.requests)[0]!)).toEqual(["My internet is down"])
      expect(yield* billingModel.requests).toEqual([])
      expect(result.leader.output).toEqual({ member: "Tech" })
      expect(result.members.map((run) => run.member)).toEqual(["Tech"])
    }))

  it.effect("when the routed member fails, the leader is told and routes again", () =>
    Effect.gen(function*() {
      const tech = yield* agentOf("Tech", "", [{ fail: { error: new AgentError.InvalidRequest({ message: "down" }) } }])
      const billing = yield* agentOf("Billing", "", [{ text: "Billing here: we can help." }])
      const leader = yield* leaderOf([{ text: "{\"member\":\"Tech\"}" }, { text: "{\"member\":\"Billing\"}" }])
      const team = yield* Team.make({
        name: "Support",
        mode: "route",
        leader: { instructions: "", model: leader.model },
        members: [tech.agent, billing.agent]
      })
      const result = yield* team.run("Help!")
      expect(result.content).toBe("Billing here: we can help.")
      const [, again] = yield* leader.scripted.requests
      expect(again!.messages.at(-1)).toEqual({
        role: "user",
        content: "\"Tech\" failed: down\nChoose a member again: the same one to try again, or another."
      })
      expect(result.members.map((run) => [run.member, Either.isRight(run.outcome)])).toEqual([
        ["Tech", false],
        ["Billing", true]
      ])
      expect(result.leader.steps.map((step) => [step.index, step.text])).toEqual([
        [0, "{\"member\":\"Tech\"}"],
        [1, "{\"member\":\"Billing\"}"]
      ])

      // with onMemberFailure: "fail", the first failure is the team's
      const strictLeader = yield* leaderOf([{ text: "{\"member\":\"Tech\"}" }, { text: "{\"member\":\"Billing\"}" }])
      const strict = yield* Team.make({
        name: "Support",
        mode: "route",
        leader: { instructions: "", model: strictLeader.model },
        members: [
          (yield* agentOf("Tech", "", [{ fail: { error: new AgentError.InvalidRequest({ message: "down" }) } }])).agent,
          billing.agent
        ],
        onMemberFailure: "fail"
      })
      expect(yield* Effect.flip(strict.run("Help!"))).toStrictEqual(new AgentError.InvalidRequest({ message: "down" }))
      expect(yield* strictLeader.scripted.requests).toHaveLength(1)
    }))
})

describe("broadcast", () => {
  it.effect("every member gets the task at once, then the leader synthesises their answers", () =>
    Effect.gen(function*() {
      const makeTeam = (concurrency: number | undefined) =>
        Effect.gen(function*() {
          const optimist = yield* agentOf("Optimist", "See the bright side.", [{
            text: "Great!",
            latency: "100 millis"
          }])
          const skeptic = yield* agentOf("Skeptic", "Doubt.", [{ text: "Risky.", latency: "300 millis" }])
          const realist = yield* agentOf("Realist", "Weigh.", [{ text: "Fine.", latency: "200 millis" }])
          const leader = yield* leaderOf([{ text: "On balance: fine, with risks.", latency: "50 millis" }])
          const team = yield* Team.make({
            name: "Panel",
            mode: "broadcast",
            leader: { instructions: "Conclude.", model: leader.model },
            members: [optimist.agent, skeptic.agent, realist.agent],
            concurrency
          })
          return { team, leader, optimist }
        })

      const { leader, optimist, team } = yield* makeTeam(undefined)
      const fiber = yield* Effect.fork(team.run("Should we adopt Effect?"))
      yield* TestClock.adjust("350 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.content).toBe("On balance: fine, with risks.")
      expect(result.metrics.durationMs).toBe(350)
      expect(result.members.map((run) => [run.member, run.input, run.startedAtMs])).toEqual([
        ["Optimist", "Should we adopt Effect?", 0],
        ["Realist", "Should we adopt Effect?", 0],
        ["Skeptic", "Should we adopt Effect?", 0]
      ])
      expect(userMessages((yield* optimist.model.requests)[0]!)).toEqual(["Should we adopt Effect?"])
      const [synthesis] = yield* leader.scripted.requests
      expect(synthesis!.tools).toEqual([])
      expect(userMessages(synthesis!)).toEqual([
        "Should we adopt Effect?",
        "The members of your team answered the request above:\n\n" +
        "## Optimist\nGreat!\n\n## Skeptic\nRisky.\n\n## Realist\nFine.\n\n" +
        "Answer the request with one synthesis of their answers."
      ])

      const serial = yield* makeTeam(1)
      const serialFiber = yield* Effect.fork(serial.team.run("Should we adopt Effect?"))
      yield* TestClock.adjust("650 millis")
      expect((yield* Fiber.join(serialFiber)).metrics.durationMs).toBe(650)
    }))

  it.effect("a failed member is reported to the leader; with onMemberFailure: \"fail\" it fails the team", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const makeTeam = (onMemberFailure: Team.MemberFailure) =>
        Effect.gen(function*() {
          const broken = yield* agentOf("Broken", "", [
            { fail: { error: new AgentError.InvalidRequest({ message: "refused" }) }, latency: "100 millis" }
          ])
          const busy = yield* agentOf("Busy", "", [{ toolCalls: [{ name: "wait" }] }, { text: "done" }], {
            toolkit: Toolkit.make(stuck("wait", finalized))
          })
          const fine = yield* agentOf("Fine", "", [{ text: "all good" }])
          const leader = yield* leaderOf([{ text: "Summary." }])
          const team = yield* Team.make({
            name: "Panel",
            mode: "broadcast",
            leader: { instructions: "", model: leader.model },
            members: [broken.agent, fine.agent, ...(onMemberFailure === "fail" ? [busy.agent] : [])],
            onMemberFailure
          })
          return { team, leader }
        })

      const reported = yield* makeTeam("report")
      const fiber = yield* Effect.fork(reported.team.run("Status?"))
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(fiber)).content).toBe("Summary.")
      expect(userMessages((yield* reported.leader.scripted.requests)[0]!)[1]).toContain(
        "## Broken (failed)\nError: refused\n\n## Fine\nall good"
      )

      const strict = yield* makeTeam("fail")
      const supervisor = yield* Supervisor.track
      const strictFiber = yield* Effect.fork(Effect.supervised(Effect.exit(strict.team.run("Status?")), supervisor))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(strictFiber)).toStrictEqual(
        Exit.fail(new AgentError.InvalidRequest({ message: "refused" }))
      )
      expect(yield* Ref.get(finalized)).toBe(1)
      expect(yield* strict.leader.scripted.requests).toEqual([])
      expect(yield* supervisor.value).toHaveLength(0)
    }))
})

describe("Team.make", () => {
  it.effect("a team needs members with distinct names: anything else is a programming error", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([])
      const a = (yield* agentOf("A", "", [])).agent
      const empty = yield* Effect.exit(
        Team.make({ name: "T", mode: "route", leader: { instructions: "", model }, members: [] })
      )
      expect(Exit.isFailure(empty) && Exit.causeOption(empty).pipe(Option.map(String), Option.getOrElse(() => "")))
        .toContain("the team \"T\" has no members")
      const twice = yield* Effect.exit(
        Team.make({ name: "T", mode: "coordinate", leader: { instructions: "", model }, members: [a, a] })
      )
      expect(Exit.isFailure(twice) && Exit.causeOption(twice).pipe(Option.map(String), Option.getOrElse(() => "")))
        .toContain("two members of \"T\" are named \"A\"")
    }))
})

// -----------------------------------------------------------------------------
// Trees of teams
// -----------------------------------------------------------------------------

/** A coordinating team with a searcher and a nested broadcasting team of two analysts; every model is probed. */
const researchTree = Effect.gen(function*() {
  const probe = makeProbe()
  const searcher = yield* agentOf("Web Searcher", "Search the web.", [
    { text: "Effect 3.0 shipped in April 2024.", usage: usage(11, 7), chunkInterval: "10 millis" }
  ], { probe })
  const optimist = yield* agentOf("Optimist", "", [{ text: "Mature.", usage: usage(5, 2) }], { probe })
  const skeptic = yield* agentOf("Skeptic", "", [{ text: "Young.", usage: usage(6, 3), latency: "5 millis" }], {
    probe
  })
  const innerLeader = yield* leaderOf([{ text: "Mature but young.", usage: usage(20, 4) }], probe)
  const analysts = yield* Team.make({
    name: "Analysts",
    description: "Judge the facts from several sides.",
    mode: "broadcast",
    leader: { instructions: "Weigh the views.", model: innerLeader.model },
    members: [optimist.agent, skeptic.agent]
  })
  const leader = yield* leaderOf([
    {
      toolCalls: [delegate("Web_Searcher", "When did 3.0 ship?"), delegate("Analysts", "Is Effect mature?")],
      usage: usage(30, 10)
    },
    { text: "Shipped April 2024; mature but young.", usage: usage(50, 9) }
  ], probe)
  const team = yield* Team.make({
    name: "Research Team",
    mode: "coordinate",
    leader: { instructions: "Research, then answer.", model: leader.model },
    members: [searcher.agent, analysts]
  })
  return { team, analysts, leader, probe }
})

describe("an input that is neither a string nor a conversation", () => {
  it.effect("fails the team's run and stream with InputInvalid, before its leader or members run", () =>
    Effect.gen(function*() {
      const member = yield* agentOf("Member", "", [{ text: "never" }])
      const leader = yield* leaderOf([{ text: "never" }])
      for (const mode of ["coordinate", "route", "broadcast"] as const) {
        const team = yield* Team.make({
          name: "T",
          mode,
          leader: { instructions: "", model: leader.model },
          members: [member.agent]
        })
        const expected = new AgentError.InputInvalid({
          agent: "T",
          issues: [{ path: "(root)", message: "Expected a string or an array of messages, actual object" }]
        })
        const input = { question: "hi" } as unknown as Agent.Input
        expect(yield* Effect.flip(team.run(input))).toStrictEqual(expected)
        expect(yield* Effect.flip(Stream.runCollect(team.stream(input)))).toStrictEqual(expected)
      }
      expect(yield* leader.scripted.requests).toEqual([])
      expect(yield* member.model.requests).toEqual([])
    }))
})

describe("a team of teams", () => {
  it.effect("a team is a member like an agent; usage and metrics add up over the whole tree", () =>
    Effect.gen(function*() {
      const { analysts, leader, probe, team } = yield* researchTree
      expect(analysts.asTool().definition.description).toBe(
        "Delegate a task to the team \"Analysts\": Judge the facts from several sides."
      )
      const fiber = yield* Effect.fork(team.run("Tell me about Effect 3.0"))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      expect(result.content).toBe("Shipped April 2024; mature but young.")
      expect((yield* leader.scripted.requests)[0]!.tools.map((tool) => tool.name)).toEqual(["Web_Searcher", "Analysts"])

      const inner = result.members.find((run) => run.member === "Analysts")!
      if (Either.isLeft(inner.outcome) || !Team.isTeamResult(inner.outcome.right)) {
        return expect.fail("the nested team succeeded with a team's result")
      }
      expect(inner.outcome.right.content).toBe("Mature but young.")
      expect(inner.outcome.right.members.map((run) => run.member)).toEqual(["Optimist", "Skeptic"])
      expect(inner.outcome.right.metrics).toMatchObject({ inputTokens: 31, outputTokens: 9, steps: 3 })

      // every model call, once
      expect(probe.calls).toBe(6)
      expect(result.metrics).toEqual({
        inputTokens: probe.inputTokens,
        outputTokens: probe.outputTokens,
        totalTokens: probe.inputTokens + probe.outputTokens,
        durationMs: 5,
        timeToFirstTokenMs: 0,
        steps: 6,
        toolCalls: 2,
        retries: 0
      })
      expect(probe.inputTokens).toBe(11 + 5 + 6 + 20 + 30 + 50)
    }))

  it.effect("a failed member's spending counts: an agent's up to its failure, a nested team's tree", () =>
    Effect.gen(function*() {
      const probe = makeProbe()
      const lookup = Tool.make("lookup", { description: "Look it up", parameters: {}, handler: () => "nothing" })
      // an agent that keeps calling its tool: two steps, then MaxStepsExceeded
      const model = yield* ScriptedModel.make(() => ({
        toolCalls: [{ name: "lookup", arguments: {} }],
        usage: usage(4, 1)
      }))
      const digger = yield* Agent.make({
        name: "Digger",
        instructions: "",
        model: watched(model, probe),
        toolkit: Toolkit.make(lookup),
        maxSteps: 2,
        policy: noRetry
      })
      // a team whose only member fails and which fails with it: its leader spent one call first
      const archivist = yield* agentOf("Archivist", "", [
        { fail: { error: new AgentError.InvalidRequest({ message: "archive closed" }) } }
      ], { probe })
      const archiveLeader = yield* leaderOf([{ toolCalls: [delegate("Archivist", "Look")], usage: usage(7, 2) }], probe)
      const archive = yield* Team.make({
        name: "Archive",
        mode: "coordinate",
        leader: { instructions: "", model: archiveLeader.model },
        members: [archivist.agent],
        onMemberFailure: "fail"
      })
      const leader = yield* leaderOf([
        { toolCalls: [delegate("Digger", "Dig"), delegate("Archive", "Search")], usage: usage(30, 10) },
        { text: "Nothing found.", usage: usage(50, 9) }
      ], probe)
      const team = yield* Team.make({
        name: "Research Team",
        mode: "coordinate",
        leader: { instructions: "", model: leader.model },
        members: [digger, archive]
      })
      const result = yield* team.run("Find it")
      expect(result.content).toBe("Nothing found.")
      const runs = Object.fromEntries(result.members.map((run) => [run.member, run]))
      expect(Either.isLeft(runs["Digger"]!.outcome) && runs["Digger"]!.outcome.left._tag).toBe("MaxStepsExceeded")
      expect(runs["Digger"]!.metrics).toMatchObject({ inputTokens: 8, outputTokens: 2, steps: 2, toolCalls: 2 })
      expect(Either.isLeft(runs["Archive"]!.outcome) && runs["Archive"]!.outcome.left._tag).toBe("InvalidRequest")
      // the archive's leader spent one call before its team failed
      expect(runs["Archive"]!.metrics).toMatchObject({ inputTokens: 7, outputTokens: 2, steps: 0 })
      // every model call that answered, once
      expect(probe.inputTokens).toBe(30 + 50 + 4 + 4 + 7)
      expect(result.metrics).toMatchObject({
        inputTokens: probe.inputTokens,
        outputTokens: probe.outputTokens,
        totalTokens: probe.inputTokens + probe.outputTokens
      })
    }))

  it.effect("Agent.runAll runs teams like agents", () =>
    Effect.gen(function*() {
      const one = yield* researchTree
      const two = yield* researchTree
      const fiber = yield* Effect.fork(
        Agent.runAll([[one.team, "first"], [two.team, "second"]], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("5 millis")
      const results = yield* Fiber.join(fiber)
      expect(results.map((result) => [result.agent, result.metrics.durationMs])).toEqual([
        ["Research Team", 5],
        ["Research Team", 5]
      ])
      expect(results.every(Team.isTeamResult)).toBe(true)
    }))
})

// -----------------------------------------------------------------------------
// Streaming
// -----------------------------------------------------------------------------

describe("Team.stream", () => {
  it.effect("the leader's events are at the team's path, each member's below it, as they happen", () =>
    Effect.gen(function*() {
      const { probe, team } = yield* researchTree
      const fiber = yield* Effect.fork(Stream.runCollect(team.stream("Tell me about Effect 3.0", { runId: "r1" })))
      yield* TestClock.adjust("1 second")
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      const at = (...path: Array<string>) => events.filter((event) => event.path.join("/") === path.join("/"))

      // the team's own events: its RunStarted first, its RunCompleted last, one of each
      expect(events[0]).toMatchObject({
        _tag: "RunStarted",
        runId: "r1",
        agent: "Research Team",
        path: ["Research Team"],
        input: "Tell me about Effect 3.0"
      })
      const completed = events.at(-1)
      if (completed?._tag !== "RunCompleted") return expect.fail("the last event is RunCompleted")
      expect(completed.path).toEqual(["Research Team"])
      expect(events.filter(RunEvent.is("RunCompleted"))).toHaveLength(1)
      const started = events.filter(RunEvent.is("RunStarted")).map((event) => event.path.join("/"))
      expect(started[0]).toBe("Research Team")
      expect(new Set(started)).toEqual(
        new Set([
          "Research Team",
          "Research Team/Web Searcher",
          "Research Team/Analysts",
          "Research Team/Analysts/Optimist",
          "Research Team/Analysts/Skeptic"
        ])
      )
      expect(started).toHaveLength(5)
      // the leader's events are the team's
      expect(at("Research Team").every((event) => event.runId === "r1" && event.agent === "Research Team")).toBe(true)
      expect(at("Research Team").map((event) => event._tag)).toEqual([
        "RunStarted",
        "ToolCallStarted",
        "ToolCallStarted",
        "ToolCallCompleted",
        "ToolCallCompleted",
        "StepCompleted",
        ...at("Research Team").filter(RunEvent.is("TextDelta")).map(() => "TextDelta"),
        "StepCompleted",
        "RunCompleted"
      ])
      // members, and the nested team's members, below
      expect(at("Research Team", "Analysts", "Skeptic").map((event) => event._tag)).toEqual([
        "RunStarted",
        "TextDelta",
        "StepCompleted",
        "MemberCompleted"
      ])
      const memberCompleted = events.filter(RunEvent.is("MemberCompleted")).map((event) => [
        event.path.join("/"),
        event.content,
        event.isError
      ])
      expect(memberCompleted).toEqual([
        ["Research Team/Analysts/Optimist", "Mature.", false],
        ["Research Team/Analysts/Skeptic", "Young.", false],
        ["Research Team/Analysts", "Mature but young.", false],
        ["Research Team/Web Searcher", "Effect 3.0 shipped in April 2024.", false]
      ])
      // the searcher streams word by word for 40 ms: the analysts' whole run happens meanwhile
      const searcherDeltas = events.flatMap((event, i) =>
        event._tag === "TextDelta" && event.path.join("/") === "Research Team/Web Searcher" ? [i] : []
      )
      const analystsDone = events.findIndex((event) =>
        event._tag === "MemberCompleted" && event.path.join("/") === "Research Team/Analysts"
      )
      expect(searcherDeltas.length).toBeGreaterThan(2)
      expect(searcherDeltas[0]).toBeLessThan(analystsDone)
      expect(searcherDeltas.at(-1)).toBeGreaterThan(analystsDone)

      // the same figures as run
      if (!Team.isTeamResult(completed.result)) return expect.fail("a team's RunCompleted holds a team's result")
      expect(completed.result.metrics.inputTokens).toBe(probe.inputTokens)
      expect(completed.result.members).toHaveLength(2)
    }))

  it.effect("a routing team streams its member's answer, not its leader's decision", () =>
    Effect.gen(function*() {
      const tech = yield* agentOf("Tech", "", [{ text: "Restart the router." }])
      const billing = yield* agentOf("Billing", "", [])
      const leader = yield* leaderOf([{ text: "{\"member\":\"Tech\"}" }])
      const team = yield* Team.make({
        name: "Support",
        mode: "route",
        leader: { instructions: "", model: leader.model },
        members: [billing.agent, tech.agent]
      })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(team.stream("Internet down")))
      expect(events.map((event) => [event._tag, event.path.join("/")])).toEqual([
        ["RunStarted", "Support"],
        ["StepCompleted", "Support"],
        ["RunStarted", "Support/Tech"],
        ["TextDelta", "Support/Tech"],
        ["TextDelta", "Support/Tech"],
        ["TextDelta", "Support/Tech"],
        ["StepCompleted", "Support/Tech"],
        ["MemberCompleted", "Support/Tech"],
        ["RunCompleted", "Support"]
      ])
      const last = events.at(-1)
      expect(last?._tag === "RunCompleted" && last.result.content).toBe("Restart the router.")
    }))
})

// -----------------------------------------------------------------------------
// Cancellation
// -----------------------------------------------------------------------------

/**
 * A team whose three members are busy when it is stopped: one waits on its
 * model, one in a tool call, one on a slow model.
 */
const busyTeam = (mode: "coordinate" | "broadcast", policy?: { readonly runTimeout: Duration.DurationInput }) =>
  Effect.gen(function*() {
    const probe = makeProbe()
    const finalized = yield* Ref.make(0)
    const hanging = yield* agentOf("Hanging", "", [{ hang: true }], { probe })
    const working = yield* agentOf("Working", "", [{ toolCalls: [{ name: "wait" }] }, { text: "done" }], {
      toolkit: Toolkit.make(stuck("wait", finalized)),
      probe
    })
    const slow = yield* agentOf("Slow", "", [{ text: "finally", latency: "1 hour" }], { probe })
    const leader = yield* leaderOf(
      mode === "coordinate"
        ? [{ toolCalls: [delegate("Hanging", "a"), delegate("Working", "b"), delegate("Slow", "c")] }, { text: "x" }]
        : [{ text: "x" }]
    )
    const team = yield* Team.make({
      name: "Busy Team",
      mode,
      leader: { instructions: "", model: leader.model },
      members: [hanging.agent, working.agent, slow.agent],
      policy
    })
    return { team, probe, finalized, leader }
  })

describe("cancellation", () => {
  for (const mode of ["coordinate", "broadcast"] as const) {
    it.effect(`${mode}: a team timeout interrupts every member; finalizers run once, no fiber is left`, () =>
      Effect.gen(function*() {
        const { finalized, probe, team } = yield* busyTeam(mode, { runTimeout: "2 seconds" })
        const supervisor = yield* Supervisor.track
        const fiber = yield* Effect.fork(Effect.supervised(Effect.exit(team.run("go")), supervisor))
        yield* TestClock.adjust("2 seconds")
        const exit = yield* Fiber.join(fiber)
        expect(exit).toStrictEqual(
          Exit.fail(new AgentError.RunTimeout({ agent: "Busy Team", timeout: Duration.seconds(2) }))
        )
        expect(yield* Ref.get(finalized)).toBe(1)
        // the hanging and the slow members' model calls were interrupted
        expect(probe.interrupted).toBe(2)
        expect(yield* supervisor.value).toHaveLength(0)
      }))

    it.effect(`${mode}: interrupting the team interrupts every member's model and tool calls`, () =>
      Effect.gen(function*() {
        const { finalized, leader, probe, team } = yield* busyTeam(mode)
        const supervisor = yield* Supervisor.track
        const fiber = yield* Effect.fork(Effect.supervised(team.run("go"), supervisor))
        yield* TestClock.adjust("1 second")
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(yield* Ref.get(finalized)).toBe(1)
        expect(probe.interrupted).toBe(2)
        expect(yield* supervisor.value).toHaveLength(0)
        // nothing ran after: the leader was never asked to synthesise
        expect(yield* leader.scripted.requests).toHaveLength(mode === "coordinate" ? 1 : 0)
        yield* TestClock.adjust("2 hours")
        expect(probe.calls).toBe(1) // the working member's first call, before the interruption
      }))
  }

  it.effect("stopping a team's stream interrupts its members; no event comes after", () =>
    Effect.gen(function*() {
      const { finalized, team } = yield* busyTeam("coordinate")
      const events = yield* team.stream("go").pipe(
        Stream.takeUntil((event) => event._tag === "ToolCallStarted" && event.path.length === 2),
        Stream.runCollect
      )
      expect(Chunk.last(events).pipe(Option.map((event) => event.path))).toEqual(
        Option.some(["Busy Team", "Working"])
      )
      expect(yield* Ref.get(finalized)).toBe(1)
    }))
})
