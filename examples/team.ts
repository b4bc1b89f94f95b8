/**
 * team: a research team, a searcher and an analyst under a coordinating
 * leader. The leader delegates to both at once (one tool per member, made
 * from the member), then writes the answer from theirs. Printed as it
 * streams with each member's response shown, then the same run's events as
 * a UI would get them, each with its path in the team.
 *
 *   npm run example -- team
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schema, Stream } from "effect"
import { Agent, type LanguageModel, Printer, Team, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const webSearch = Tool.make("web_search", {
  description: "Search the web",
  parameters: { query: Schema.String },
  handler: ({ query }) =>
    Effect.as(Effect.sleep("400 millis"), [
      `"${query}": Effect 3.0 was released in April 2024, with a stable API`,
      `"${query}": Effect's downloads grew tenfold in 2024`
    ])
})

const program = Effect.gen(function*() {
  const searcher = yield* Agent.make({
    name: "Web Searcher",
    instructions: "Search the web for facts and report them with their sources.",
    toolkit: Toolkit.make(webSearch)
  })
  const analyst = yield* Agent.make({
    name: "Analyst",
    instructions: "Explain what facts mean for a team choosing a technology."
  })
  const team = yield* Team.make({
    name: "Research Team",
    mode: "coordinate",
    leader: { instructions: "Research the question with your members, then answer it in two sentences." },
    members: [searcher, analyst]
  })

  yield* Printer.printResponse(team, "Is Effect ready for production?", {
    stream: true,
    showMemberResponses: true,
    showMetrics: true
  })

  yield* Console.log("\n▸ The same run as events, by path (text deltas counted)")
  let deltas = 0
  yield* team.stream("Is Effect ready for production?").pipe(
    Stream.runForEach((event) => {
      if (event._tag === "TextDelta") {
        deltas++
        return Effect.void
      }
      const where = event.path.join(" › ").padEnd(28)
      const what = event._tag === "ToolCallStarted"
        ? `${event._tag} ${event.toolCall.name}`
        : event._tag === "MemberCompleted"
        ? `${event._tag} in ${event.durationMs} ms`
        : event._tag
      return Console.log(`  ${where} ${what}`)
    })
  )
  yield* Console.log(`  (and ${deltas} text deltas, members' and leader's interleaved as they arrived)`)
})

// Offline: one scripted model for the three agents, answering as each of them would.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""

const ModelLive = ScriptedModel.layer((request) => {
  const system = systemOf(request)
  if (system.includes("You lead the team")) {
    return ScriptedModel.useEachTool({
      arguments: {
        Web_Searcher: { input: "Find facts about Effect's maturity: releases and adoption." },
        Analyst: { input: "What should a team weigh before adopting a TypeScript library like Effect?" }
      },
      latency: "300 millis",
      chunkInterval: "30 millis",
      answer: () =>
        "Yes: Effect 3.0 has had a stable API since April 2024 and its adoption grew tenfold in 2024. " +
        "Plan for its learning curve and start with one service."
    })(request)
  }
  if (system.startsWith("Search the web")) {
    return ScriptedModel.useEachTool({
      arguments: { web_search: { query: "Effect TypeScript production" } },
      latency: "250 millis",
      chunkInterval: "20 millis",
      answer: ([results]) =>
        `Found: ${(JSON.parse(results!.content) as Array<string>).map((line) => line.split(": ")[1]).join("; ")}.`
    })(request)
  }
  return {
    text: "Weigh the learning curve against typed errors and structured concurrency; adopt it service by service.",
    latency: "500 millis",
    chunkInterval: "25 millis"
  }
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
