import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Agent, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const capture = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    let out = ""
    const result = yield* Effect.provideService(effect, Printer.Writer, {
      write: (text) =>
        Effect.sync(() => {
          out += text
        }),
      color: false
    })
    return { out, result }
  })

const script: ScriptedModel.Script = [
  { toolCalls: [{ name: "get_weather", arguments: { city: "Paris" } }], usage: { inputTokens: 10, outputTokens: 5 } },
  { text: "It is sunny in Paris.", usage: { inputTokens: 20, outputTokens: 6 } }
]

const weather = Tool.make("get_weather", {
  description: "",
  parameters: { city: Schema.String },
  handler: ({ city }) => `sunny in ${city}`
})

const makeAgent = Effect.flatMap(
  ScriptedModel.make(script),
  (model) => Agent.make({ name: "assistant", instructions: "", model, toolkit: Toolkit.make(weather) })
)

describe("Agent.printResponse", () => {
  it.effect("prints the message, the tool calls, the response and the metrics", () =>
    Effect.gen(function*() {
      const agent = yield* makeAgent
      const { out, result } = yield* capture(Agent.printResponse(agent, "Weather in Paris?", { showMetrics: true }))
      expect(result.content).toBe("It is sunny in Paris.")
      expect(out).toBe(
        [
          "▸ Message to assistant",
          "Weather in Paris?",
          "",
          "▸ Tool calls",
          "• get_weather({\"city\":\"Paris\"}) → sunny in Paris (0 ms)",
          "",
          "▸ Response (0 ms)",
          "It is sunny in Paris.",
          "",
          "▸ Metrics",
          "tokens 30 in · 11 out · 41 total │ steps 2 │ tool calls 1 │ retries 0 │ first token 0 ms │ duration 0 ms",
          ""
        ].join("\n")
      )
    }))

  it.effect("streams the response as it arrives", () =>
    Effect.gen(function*() {
      const agent = yield* makeAgent
      const { out } = yield* capture(Agent.printResponse(agent, "Weather in Paris?", { stream: true }))
      expect(out).toBe(
        [
          "▸ Message to assistant",
          "Weather in Paris?",
          "",
          "▸ Tool calls",
          "• get_weather({\"city\":\"Paris\"}) → sunny in Paris (0 ms)",
          "",
          "▸ Response",
          "It is sunny in Paris.",
          "",
          ""
        ].join("\n")
      )
    }))

  it("formats a failed tool call with a cross", () => {
    expect(
      Printer.formatToolCall({
        id: "1",
        name: "t",
        arguments: "{}",
        result: "Error: boom",
        isError: true,
        durationMs: 1500
      })
    ).toBe("✗ t({}) → Error: boom (1.50 s)")
  })
})
