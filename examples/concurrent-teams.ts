/**
 * concurrent-teams: a morning briefing from three teams run at once with
 * `Agent.runAll` (teams are runnables like agents), one of each mode:
 * a markets desk that coordinates two analysts, a tech desk that asks a
 * panel (broadcast), and a help desk that routes a customer's question.
 * Their results are combined into one briefing, with the tokens of every
 * model call of the three trees; then the same three one after another.
 *
 *   npm run example -- concurrent-teams
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import { Agent, type LanguageModel, Team } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const member = (name: string, instructions: string) => Agent.make({ name, instructions })

const program = Effect.gen(function*() {
  const markets = yield* Team.make({
    name: "Markets Desk",
    mode: "coordinate",
    leader: { instructions: "Brief on the markets in one sentence." },
    members: [
      yield* member("Equities", "Follow the stock markets."),
      yield* member("Rates", "Follow interest rates and bonds.")
    ]
  })
  const tech = yield* Team.make({
    name: "Tech Desk",
    mode: "broadcast",
    leader: { instructions: "Weigh the panel's views in one sentence." },
    members: [
      yield* member("Optimist", "See what a new technology makes possible."),
      yield* member("Skeptic", "See what a new technology puts at risk.")
    ]
  })
  const help = yield* Team.make({
    name: "Help Desk",
    mode: "route",
    leader: { instructions: "Send each customer question to the right desk." },
    members: [
      yield* member("Billing", "Answer questions about invoices and payments."),
      yield* member("Support", "Troubleshoot the product.")
    ]
  })
  const runs = [
    [markets, "How did the markets open?"],
    [tech, "Should we move our services to Effect?"],
    [help, "I was charged twice this month."]
  ] as const

  const [elapsed, results] = yield* Effect.timed(Agent.runAll(runs, { concurrency: "unbounded" }))

  yield* Console.log("▸ Morning briefing\n")
  for (const result of results) {
    // runAll gives RunResults; a team's has its mode and its members' runs
    if (!Team.isTeamResult(result)) continue
    yield* Console.log(`${result.agent} (${result.mode}: ${result.members.map((run) => run.member).join(", ")})`)
    yield* Console.log(`  ${result.content}\n`)
  }
  const tokens = results.reduce((total, result) => total + result.metrics.totalTokens, 0)
  const calls = results.reduce((total, result) => total + result.metrics.steps, 0)
  yield* Console.log(`${calls} model calls in three trees, ${tokens} tokens in all`)

  const [sequential] = yield* Effect.timed(Agent.runAll(runs, { concurrency: 1 }))
  yield* Console.log(`three teams at once:        ${Math.round(Duration.toMillis(elapsed))} ms`)
  yield* Console.log(`the same, one after another: ${Math.round(Duration.toMillis(sequential))} ms`)
})

// Offline: one scripted model answering as each leader and member would.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""

const answers: Record<string, string> = {
  "Follow the stock markets.": "Stocks opened 0.4% higher, led by chip makers.",
  "Follow interest rates and bonds.": "Ten-year yields slipped to 4.1% ahead of the rate decision.",
  "See what a new technology makes possible.":
    "Typed errors and structured concurrency would remove a class of outages.",
  "See what a new technology puts at risk.": "The learning curve is real; migrate one service first.",
  "Answer questions about invoices and payments.": "Sorry about that: the duplicate charge is refunded within 3 days.",
  "Troubleshoot the product.": "Please restart the app and try again."
}

const ModelLive = ScriptedModel.layer((request) => {
  const system = systemOf(request)
  if (system.includes("You lead the team \"Markets Desk\"")) {
    return ScriptedModel.useEachTool({
      arguments: { Equities: { input: "How did stocks open?" }, Rates: { input: "Where are yields?" } },
      latency: "200 millis",
      answer: () => "Stocks opened higher on chip makers while yields slipped to 4.1% before the rate decision."
    })(request)
  }
  if (system.includes("You lead the team \"Tech Desk\"")) {
    return { text: "Worth it for the outages it prevents, if we start with one service.", latency: "200 millis" }
  }
  if (system.includes("You lead the team \"Help Desk\"")) {
    const question = request.messages.findLast((message) => message.role === "user")?.content ?? ""
    return {
      text: JSON.stringify({ member: /charge|invoice/.test(question) ? "Billing" : "Support" }),
      latency: "200 millis"
    }
  }
  const role = Object.keys(answers).find((instructions) => system.startsWith(instructions))
  return { text: role === undefined ? "No idea." : answers[role], latency: "600 millis" }
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
