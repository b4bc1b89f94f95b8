/**
 * budgets: limits a whole tree of agents stays inside. A coordinating team
 * with a token budget sends two researchers at once; the first to answer
 * crosses the budget, and the other one's model call, still in flight, is
 * interrupted: the team fails with `BudgetExceeded`, nothing spent after.
 * Then the same team within a dollar budget, priced with the shipped OpenAI
 * table, answers and says what it cost.
 *
 *   npm run example -- budgets
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import { Agent, type LanguageModel, Team } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const program = Effect.gen(function*() {
  const historian = yield* Agent.make({ name: "Historian", instructions: "Research the history of a topic." })
  const economist = yield* Agent.make({ name: "Economist", instructions: "Research the economics of a topic." })
  const team = yield* Team.make({
    name: "Research",
    mode: "coordinate",
    leader: { instructions: "Ask both researchers, then answer in one sentence." },
    members: [historian, economist]
  })

  yield* Console.log("▸ Within 2,500 tokens")
  const [elapsed, stopped] = yield* Effect.timed(Effect.either(team.run("Why did the Hanseatic League decline?", {
    policy: { budget: { tokens: 2_500 } }
  })))
  if (stopped._tag === "Left") yield* Console.log(`  ${stopped.left._tag}: ${stopped.left.message}`)
  // the economist takes 600 ms: its call was interrupted when the historian's crossed the budget
  yield* Console.log(`  stopped after ${Duration.toMillis(elapsed) < 600 ? "less than" : "over"} 600 ms`)

  yield* Console.log("\n▸ Within $0.01 (gpt-4o-mini's prices)")
  const result = yield* team.run("Why did the Hanseatic League decline?", { policy: { budget: { costUsd: 0.01 } } })
  yield* Console.log(`  ${result.content}`)
  const { costUsd, totalTokens } = result.metrics
  yield* Console.log(`  ${totalTokens} tokens, $${costUsd?.toFixed(6)}`)
})

// Offline: one scripted model (priced as gpt-4o-mini) for the three agents; the historian is quick
// and verbose, the economist slow.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""

const ModelLive = ScriptedModel.layer((request) => {
  const system = systemOf(request)
  if (system.includes("You lead the team")) {
    return ScriptedModel.useEachTool({
      arguments: {
        Historian: { input: "How did the League's trade change after 1450?" },
        Economist: { input: "What did Atlantic trade do to Baltic prices?" }
      },
      answer: (results) => `The League declined as ${results.length} forces met: see its members' answers.`
    })(request)
  }
  if (system.startsWith("Research the history")) {
    return {
      text: "Territorial states rose, the Dutch took the Baltic trade, and the Kontor in Novgorod closed in 1494.",
      usage: { inputTokens: 2_400, outputTokens: 400 },
      latency: "100 millis"
    }
  }
  return {
    text:
      "Atlantic routes moved the margins west; Baltic grain and herring no longer paid for the League's privileges.",
    usage: { inputTokens: 1_800, outputTokens: 300 },
    latency: "600 millis"
  }
}, { model: "gpt-4o-mini" })

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
