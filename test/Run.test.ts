import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { Agent, AgentError, Run, Team, Tool, Toolkit } from "effect-agents"
import { AgentApi } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"
import * as Wire from "../src/internal/http/wire.js"

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})

/** A team whose result holds every part of a run's data: steps, tool calls, a member's result, a cost and a failure. */
const richTeamResult = Effect.gen(function*() {
  const counter = yield* Agent.make({
    name: "Counter",
    instructions: "Count.",
    model: yield* ScriptedModel.make([
      { toolCalls: [{ name: "add", arguments: { a: 40, b: 2 } }], usage: { inputTokens: 7, outputTokens: 2 } },
      { text: "42", usage: { inputTokens: 9, outputTokens: 1 } }
    ], { model: "gpt-4o-mini" }),
    toolkit: Toolkit.make(add)
  })
  const archivist = yield* Agent.make({
    name: "Archivist",
    instructions: "Look it up.",
    model: yield* ScriptedModel.make([{ fail: { error: new AgentError.InvalidRequest({ message: "closed" }) } }]),
    policy: { retry: false }
  })
  const team = yield* Team.make({
    name: "Desk",
    mode: "coordinate",
    leader: {
      instructions: "Delegate.",
      model: yield* ScriptedModel.make([
        {
          toolCalls: [{ name: "Counter", arguments: { input: "40 + 2?" } }, {
            name: "Archivist",
            arguments: { input: "?" }
          }]
        },
        { text: "It is 42." }
      ])
    },
    members: [counter, archivist]
  })
  return yield* team.run("What is 40 + 2?")
})

/** Every key of every object in a JSON value. */
const keysOf = (value: unknown, into = new Set<string>()): Set<string> => {
  if (Array.isArray(value)) value.forEach((item) => keysOf(item, into))
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      into.add(key)
      keysOf(item, into)
    }
  }
  return into
}

describe("Run: one data model, on the wire as in memory", () => {
  it.effect("every field of a run's result reaches the HTTP wire and comes back unchanged", () =>
    Effect.gen(function*() {
      const result = yield* richTeamResult
      if (!Run.isTeamResult(result)) return expect.fail("a team's result")
      const json = JSON.stringify(yield* Schema.encode(AgentApi.RunResult)(Wire.result(result)))
      const back = yield* Schema.decode(Schema.parseJson(AgentApi.RunResult))(json)
      // nothing added, nothing lost (but a key whose value is undefined, which JSON cannot hold);
      // outputs are text here, so the wire form is the result itself
      expect(back).toEqual(Wire.result(result))
      expect(back).toEqual(result)
      // every field the core declares is on the wire
      const declared = [
        ...Object.keys(Run.runResult(Schema.Unknown).fields),
        ...Object.keys(Run.RunMetrics.fields),
        ...Object.keys(Run.Step.fields),
        ...Object.keys(Run.ToolCallRecord.fields),
        "mode",
        "leader",
        "members",
        "member",
        "startedAtMs",
        "result",
        "error"
      ]
      const sent = keysOf(JSON.parse(json))
      expect(declared.filter((key) => !sent.has(key))).toEqual([])
      const archivist = result.members.find((run) => run.member === "Archivist")!
      expect(archivist.outcome).toStrictEqual(Either.left(new AgentError.InvalidRequest({ message: "closed" })))
    }))

  it.effect("a run's events are the core's Schemas on the wire", () =>
    Effect.gen(function*() {
      const event = { _tag: "TextDelta" as const, runId: "r", agent: "a", path: ["a"], step: 0, text: "Hi" }
      expect(yield* Schema.decodeUnknown(AgentApi.RunEvent)(yield* Schema.encode(AgentApi.RunEvent)(event))).toEqual(
        event
      )
    }))

  it("sumMetrics adds counts; emptyMetrics spends nothing", () => {
    const one: Run.RunMetrics = { ...Run.emptyMetrics, inputTokens: 3, outputTokens: 1, totalTokens: 4, steps: 1 }
    expect(Run.sumMetrics([one, one, Run.emptyMetrics])).toStrictEqual({
      ...Run.emptyMetrics,
      inputTokens: 6,
      outputTokens: 2,
      totalTokens: 8,
      steps: 2
    })
  })

  it("decodeInput: a string, a conversation, or InputInvalid naming the type", () => {
    expect(Run.decodeInput("a", "hi")).toStrictEqual(Either.right("hi"))
    const invalid = Run.decodeInput("a", { input: "hi" })
    expect(Either.isLeft(invalid) && invalid.left.issues[0]?.message).toBe(
      "Expected a string or an array of messages, actual object"
    )
  })
})
