import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Schedule, Schema } from "effect"
import { Agent, AgentError, Team, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

/** The OpenTelemetry SDK, as an application installs it, exporting to memory. */
const otel = (exporter: InMemorySpanExporter) =>
  NodeSdk.layer(() => ({
    resource: { serviceName: "effect-agents-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))

const search = Tool.make("search", {
  description: "Search the web",
  parameters: { query: Schema.String },
  handler: ({ query }) => `3 results for ${query}`
})

/** Each span as `name <- parent name`, in the order they started (a step holds its model call and its tool calls). */
const tree = (spans: ReadonlyArray<ReadableSpan>) => {
  const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]))
  return [...spans]
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])
    .map((span) => {
      const parent = span.parentSpanContext === undefined ? undefined : byId.get(span.parentSpanContext.spanId)
      return `${span.name} <- ${parent?.name ?? "(root)"}`
    })
}

describe("traces through @effect/opentelemetry and the OpenTelemetry SDK", () => {
  it.live(
    "a team run with a tool call is a tree of spans with GenAI attributes; a failed model call has error.type",
    () => {
      const exporter = new InMemorySpanExporter()
      return Effect.gen(function*() {
        const searcherModel = yield* ScriptedModel.make([
          {
            fail: { error: new AgentError.ModelUnavailable({ message: "503", status: 503 }) },
            toolCalls: [{ name: "search", arguments: { query: "effect" }, id: "call_search" }],
            usage: { inputTokens: 12, outputTokens: 5 }
          },
          { text: "Effect is a TypeScript library.", usage: { inputTokens: 30, outputTokens: 7 } }
        ], { model: "searcher-model", provider: "anthropic" })
        const searcher = yield* Agent.make({
          name: "Searcher",
          instructions: "Search.",
          model: searcherModel,
          toolkit: Toolkit.make(search),
          policy: { retry: Schedule.spaced("1 millis") }
        })
        const leaderModel = yield* ScriptedModel.make([
          {
            toolCalls: [{ name: "Searcher", arguments: { input: "What is Effect?" }, id: "call_delegate" }],
            usage: { inputTokens: 20, outputTokens: 4 }
          },
          { text: "Effect is a TypeScript library.", usage: { inputTokens: 40, outputTokens: 8 } }
        ], { model: "leader-model", provider: "openai" })
        const team = yield* Team.make({
          name: "Research",
          mode: "coordinate",
          leader: { instructions: "Delegate.", model: leaderModel },
          members: [searcher]
        })
        const result = yield* team.run("What is Effect?")
        expect(result.content).toBe("Effect is a TypeScript library.")
      }).pipe(
        // read before the SDK shuts down, which empties the in-memory exporter
        Effect.andThen(Effect.sync(() => exporter.getFinishedSpans())),
        Effect.provide(otel(exporter)),
        Effect.andThen((spans) => {
          expect(tree(spans)).toEqual([
            "invoke_agent Research <- (root)",
            "invoke_agent Research <- invoke_agent Research",
            "agent.step <- invoke_agent Research",
            "chat leader-model <- agent.step",
            "execute_tool Searcher <- agent.step",
            "invoke_agent Searcher <- execute_tool Searcher",
            "agent.step <- invoke_agent Searcher",
            "chat searcher-model <- agent.step",
            "chat searcher-model <- agent.step",
            "execute_tool search <- agent.step",
            "agent.step <- invoke_agent Searcher",
            "chat searcher-model <- agent.step",
            "agent.step <- invoke_agent Research",
            "chat leader-model <- agent.step"
          ])
          const named = (name: string) => spans.filter((span) => span.name === name)
          const [failed, searched, answered] = named("chat searcher-model")
          expect(failed!.attributes).toMatchObject({
            "error.type": "ModelUnavailable",
            "gen_ai.request.model": "searcher-model"
          })
          expect(failed!.status.code).toBe(SpanStatusCode.ERROR)
          expect(searched!.attributes).toMatchObject({
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "searcher-model",
            "gen_ai.response.model": "searcher-model",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.agent.name": "Searcher"
          })
          // the library annotates the array the conventions ask for; @effect/opentelemetry 0.64 exports
          // attribute values other than strings, numbers and booleans as their JSON
          expect(JSON.parse(String(searched!.attributes["gen_ai.response.finish_reasons"]))).toEqual(["tool-calls"])
          expect(searched!.attributes).not.toHaveProperty("error.type")
          expect(searched!.kind).toBe(SpanKind.CLIENT)
          expect(answered!.attributes).toMatchObject({
            "gen_ai.usage.input_tokens": 30,
            "gen_ai.usage.output_tokens": 7
          })
          expect(named("execute_tool search")[0]!.attributes).toMatchObject({
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
            "gen_ai.tool.call.id": "call_search",
            "gen_ai.tool.type": "function"
          })
          expect(named("execute_tool Searcher")[0]!.attributes).toMatchObject({
            "gen_ai.tool.name": "Searcher",
            "gen_ai.tool.call.id": "call_delegate"
          })
          expect(named("invoke_agent Searcher")[0]!.attributes).toMatchObject({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Searcher",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "searcher-model",
            "gen_ai.usage.input_tokens": 42,
            "gen_ai.usage.output_tokens": 12
          })
          const teamSpan = spans.find((span) => span.parentSpanContext === undefined)
          expect(teamSpan!.attributes).toMatchObject({
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "Research",
            "team.mode": "coordinate"
          })
          expect(spans.every((span) => span.resource.attributes["service.name"] === "effect-agents-test")).toBe(true)
          expect(spans.every((span) => span.spanContext().traceId === teamSpan!.spanContext().traceId)).toBe(true)
        })
      )
    }
  )

  it.live("a run that fails ends its span in error with the failure's error.type", () => {
    const exporter = new InMemorySpanExporter()
    return Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { fail: { error: new AgentError.AuthenticationFailed({ message: "bad key", status: 401 }) } }
      ], { model: "m", provider: "openai" })
      const agent = yield* Agent.make({ name: "A", instructions: "", model, policy: { retry: false } })
      const error = yield* Effect.flip(agent.run("hi"))
      expect(error._tag).toBe("AuthenticationFailed")
    }).pipe(
      Effect.andThen(Effect.sync(() => exporter.getFinishedSpans())),
      Effect.provide(otel(exporter)),
      Effect.andThen((spans) => {
        expect(spans.map((span) => [span.name, span.attributes["error.type"], span.status.code])).toEqual([
          ["chat m", "AuthenticationFailed", SpanStatusCode.ERROR],
          ["agent.step", "AuthenticationFailed", SpanStatusCode.ERROR],
          ["invoke_agent A", "AuthenticationFailed", SpanStatusCode.ERROR]
        ])
      })
    )
  })
})
