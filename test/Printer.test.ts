import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Schema, TestClock } from "effect"
import { Agent, AgentError, Printer, Team, Tool, Toolkit } from "effect-agents"
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

describe("Printer.printResponse", () => {
  it.effect("prints the message, the tool calls, the response and the metrics", () =>
    Effect.gen(function*() {
      const agent = yield* makeAgent
      const { out, result } = yield* capture(Printer.printResponse(agent, "Weather in Paris?", { showMetrics: true }))
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
      const { out } = yield* capture(Printer.printResponse(agent, "Weather in Paris?", { stream: true }))
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

const makeTeam = (mode: "coordinate" | "route") =>
  Effect.gen(function*() {
    const agentOf = (name: string, instructions: string, turn: ScriptedModel.Turn) =>
      Effect.flatMap(ScriptedModel.make([turn]), (model) => Agent.make({ name, instructions, model }))
    const searcher = yield* agentOf("Web Searcher", "Search the web.", { text: "Effect 3.0 shipped in April 2024." })
    const analyst = yield* agentOf("Analyst", "Explain.", {
      fail: { error: new AgentError.InvalidRequest({ message: "refused" }) },
      latency: "10 millis"
    })
    const leader = yield* ScriptedModel.make(
      mode === "coordinate"
        ? [
          {
            toolCalls: [
              { name: "Web_Searcher", arguments: { input: "When did 3.0 ship?" } },
              { name: "Analyst", arguments: { input: "Is it mature?" } }
            ]
          },
          { text: "Effect 3.0 shipped in April 2024." }
        ]
        : [{ text: "{\"member\":\"Web Searcher\"}" }]
    )
    return yield* Team.make({
      name: "Research Team",
      mode,
      leader: { instructions: "Research.", model: leader },
      members: [searcher, analyst]
    })
  })

/** Runs a print to its end, in TestClock time. */
const printed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(capture(effect))
    yield* TestClock.adjust("1 second")
    return (yield* Fiber.join(fiber)).out
  })

describe("Printer.printResponse of a team", () => {
  const coordinated = [
    "▸ Message to Research Team",
    "Tell me about Effect 3.0",
    "",
    "▸ Tool calls",
    "• Web_Searcher({\"input\":\"When did 3.0 ship?\"}) → Effect 3.0 shipped in April 2024. (0 ms)",
    "✗ Analyst({\"input\":\"Is it mature?\"}) → Error: Analyst failed: refused (10 ms)",
    "",
    "▸ Response from Web Searcher (0 ms)",
    "Effect 3.0 shipped in April 2024.",
    "",
    "▸ Response from Analyst (10 ms)",
    "✗ refused",
    ""
  ]

  it.effect("shows the members' responses after the tool calls, with showMemberResponses", () =>
    Effect.gen(function*() {
      const team = yield* makeTeam("coordinate")
      const out = yield* printed(
        Printer.printResponse(team, "Tell me about Effect 3.0", { showMemberResponses: true })
      )
      expect(out).toBe([...coordinated, "▸ Response (10 ms)", "Effect 3.0 shipped in April 2024.", "", ""].join("\n"))
      // without it, as for an agent
      const plain = yield* printed(Printer.printResponse(yield* makeTeam("coordinate"), "Tell me about Effect 3.0"))
      expect(plain).not.toContain("Response from")
    }))

  it.effect("streamed, shows each step's members' responses once its tool calls are done", () =>
    Effect.gen(function*() {
      const team = yield* makeTeam("coordinate")
      const out = yield* printed(
        Printer.printResponse(team, "Tell me about Effect 3.0", { stream: true, showMemberResponses: true })
      )
      expect(out).toBe([...coordinated, "▸ Response", "Effect 3.0 shipped in April 2024.", "", ""].join("\n"))
    }))

  it.effect("streamed, a routing team's response is its member's", () =>
    Effect.gen(function*() {
      const team = yield* makeTeam("route")
      const out = yield* printed(
        Printer.printResponse(team, "When did Effect 3.0 ship?", { stream: true, showMemberResponses: true })
      )
      expect(out).toBe(
        [
          "▸ Message to Research Team",
          "When did Effect 3.0 ship?",
          "",
          "▸ Response from Web Searcher (0 ms)",
          "Effect 3.0 shipped in April 2024.",
          "",
          "▸ Response",
          "Effect 3.0 shipped in April 2024.",
          "",
          ""
        ].join("\n")
      )
    }))
})

describe("standard output", () => {
  // an ANSI style: ESC [ ... m
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[\\d;]*m`)

  it.effect("is styled on a terminal; NO_COLOR set to anything but the empty string turns the styles off", () =>
    Effect.gen(function*() {
      const out = yield* Command.make(
        process.execPath,
        "--import",
        "tsx",
        "--conditions=source",
        "test/fixtures/print-on-a-terminal.ts",
        "",
        "1",
        "false"
      ).pipe(Command.string, Effect.provide(NodeContext.layer))
      const [unset, empty, one, no] = out.split(/^--- NO_COLOR=.*\n/m).slice(1)
      expect(unset).toMatch(ansi)
      expect(empty).toMatch(ansi)
      expect(one).not.toMatch(ansi)
      expect(no).not.toMatch(ansi)
      expect(one).toContain("▸ Message to assistant\nHi\n\n▸ Response")
      // the same text, without the styles (timings aside)
      const plain = (text: string | undefined) => text?.replace(new RegExp(ansi, "g"), "").replace(/\d+ ms/g, "")
      expect(plain(unset)).toBe(plain(one))
    }))

  it.effect("a writer given color: true keeps its styles whatever NO_COLOR says", () =>
    Effect.gen(function*() {
      let out = ""
      const agent = yield* makeAgent
      yield* Printer.printResponse(agent, "Weather in Paris?").pipe(
        Effect.provideService(Printer.Writer, {
          write: (text) =>
            Effect.sync(() => {
              out += text
            }),
          color: true
        }),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["NO_COLOR", "1"]])))
      )
      expect(out).toMatch(ansi)
    }))
})

describe("Printer.printResponse of an input that is neither a string nor a conversation", () => {
  it.effect("fails with InputInvalid before printing anything", () =>
    Effect.gen(function*() {
      const agent = yield* makeAgent
      for (const stream of [false, true]) {
        const { out, result } = yield* capture(Effect.flip(Printer.printResponse(agent, 42 as never, { stream })))
        expect(out).toBe("")
        expect(result).toBeInstanceOf(AgentError.InputInvalid)
      }
    }))
})
