/**
 * streaming: a run as a backpressured Stream of events (text deltas, tool
 * calls, steps), consumed by hand, then printed as it streams.
 *
 *   npm run example -- streaming
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schema, Stream } from "effect"
import { Agent, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const searchDocs = Tool.make("search_docs", {
  description: "Search the Effect documentation",
  parameters: { query: Schema.String },
  handler: ({ query }) => [`"${query}": Stream is a lazy, backpressured sequence of values`]
})

const answer = "A Stream in Effect is a description of a program that emits zero or more values over time. " +
  "It is lazy, so nothing runs until you consume it, and backpressured, so a slow consumer " +
  "slows the producer down instead of filling memory."

// Offline: one step calling the tool, then an answer streamed word by word.
const ModelLive = ScriptedModel.layer([
  { toolCalls: [{ name: "search_docs", arguments: { query: "Stream" } }], latency: "200 millis" },
  { text: answer, latency: "300 millis", chunkInterval: "25 millis" },
  { toolCalls: [{ name: "search_docs", arguments: { query: "Stream" } }], latency: "200 millis" },
  { text: answer, latency: "300 millis", chunkInterval: "25 millis" }
])

const program = Effect.gen(function*() {
  const agent = yield* Agent.make({
    name: "Docs Agent",
    instructions: "Answer questions about Effect from its documentation.",
    toolkit: Toolkit.make(searchDocs)
  })

  yield* Console.log("— consuming agent.stream by hand —")
  yield* agent.stream("What is a Stream in Effect?").pipe(
    Stream.runForEach((event) => {
      switch (event._tag) {
        case "ToolCallStarted":
          return Console.log(`[tool] ${event.toolCall.name}(${event.toolCall.arguments})`)
        case "ToolCallCompleted":
          return Console.log(`[tool] → ${event.call.result}`)
        case "TextDelta":
          return Effect.sync(() => process.stdout.write(event.text))
        case "RunCompleted":
          return Console.log(
            `\n[done] ${event.result.metrics.totalTokens} tokens, first token after ${event.result.metrics.timeToFirstTokenMs} ms\n`
          )
        default:
          return Effect.void
      }
    })
  )

  yield* Console.log("— Printer.printResponse with stream: true —")
  yield* Printer.printResponse(agent, "What is a Stream in Effect?", { stream: true, showMetrics: true })
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
