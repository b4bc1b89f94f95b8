import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, RunState, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})

/** A model that answers from the conversation alone: resumed anywhere, it goes on as it would have. */
const script = (request: LanguageModel.GenerateRequest): ScriptedModel.Turn => {
  const results = request.messages.filter((message) => message.role === "tool").length
  if (results === 0) {
    return {
      toolCalls: [
        { id: "c1", name: "add", arguments: { a: 1, b: 2 } },
        { id: "c2", name: "Helper", arguments: { input: "3 + 4?" } }
      ]
    }
  }
  if (results === 2) return { toolCalls: [{ id: "c3", name: "add", arguments: { a: 3, b: 7 } }] }
  // a first answer that does not decode, corrected once
  const corrected = request.messages.at(-1)?.role === "user"
  return { text: corrected ? "{\"total\":10}" : "ten" }
}

const makeAgent = Effect.gen(function*() {
  const model = yield* ScriptedModel.make(script)
  const helper = yield* Agent.make({
    name: "Helper",
    instructions: "Answer sums.",
    model: yield* ScriptedModel.make(() => ({ text: "7", usage: { inputTokens: 5, outputTokens: 1 } }))
  })
  const agent = yield* Agent.make({
    name: "Accountant",
    instructions: "Add things up.",
    model,
    toolkit: Toolkit.make(add, helper.asTool()),
    output: Schema.Struct({ total: Schema.Number })
  })
  return { agent, model }
})

describe("RunState", () => {
  it.effect("a run stopped after any half-step, encoded, decoded and resumed, ends as the whole run did", () =>
    Effect.gen(function*() {
      const saved: Array<string> = []
      const keep = (state: RunState.RunState) =>
        Effect.orDie(Effect.map(Schema.encode(RunState.RunState)(state), (json) => {
          saved.push(JSON.stringify(json))
        }))
      const first = yield* makeAgent
      const whole = yield* first.agent.run("What is 1 + 2 + 3 + 4?", { onState: keep })
      const modelCalls = (yield* first.model.requests).length
      expect(whole.output).toEqual({ total: 10 })
      // two steps with tool calls (two halves each), the answer that did not decode, the answer
      expect(saved.length).toBe(6)
      expect(whole.metrics).toMatchObject({ steps: 5, toolCalls: 3, inputTokens: expect.any(Number) })
      for (const json of saved) {
        const state = yield* Schema.decode(Schema.parseJson(RunState.RunState))(json)
        const { agent, model } = yield* makeAgent
        expect(yield* agent.resume(state)).toEqual(whole)
        // it went on from the state: only the model calls the state had not made yet were made
        const made = state.steps.length + (state.pending === undefined ? 0 : 1)
        expect((yield* model.requests).length).toBe(modelCalls - made)
      }
    }))

  it.effect("a state decodes only as version 1, and resumes only the agent it is of", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent
      const state = RunState.initial({ runId: "r1", agent: "Someone else", instructions: "", input: "Hi" })
      const error = yield* Effect.flip(agent.resume(state))
      expect(error).toBeInstanceOf(AgentError.InputInvalid)
      const encoded = yield* Schema.encode(RunState.RunState)(state)
      const future = Schema.decodeUnknownEither(RunState.RunState)({ ...encoded, version: 2 })
      expect(Either.isLeft(future)).toBe(true)
    }))
})
