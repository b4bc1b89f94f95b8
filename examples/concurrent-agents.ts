/**
 * concurrent-agents: three agents at once with `Agent.runAll` (Python's
 * `asyncio.gather`), against the same three run one after another; then one
 * of them failing, with `mode: "either"` (`gather(return_exceptions=True)`).
 *
 *   npm run example -- concurrent-agents
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Either } from "effect"
import { Agent, AgentError } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

// Each agent gets its own scripted model: about 800 ms per answer.
const makeAgent = (name: string, instructions: string, turn: ScriptedModel.Turn) =>
  Effect.flatMap(
    ScriptedModel.make(() => turn),
    (model) => Agent.make({ name, instructions, model })
  )

const program = Effect.gen(function*() {
  const researcher = yield* makeAgent("Researcher", "Find facts.", {
    text: "Effect 3 shipped in April 2024.",
    latency: "800 millis"
  })
  const analyst = yield* makeAgent("Analyst", "Explain trends.", {
    text: "Adoption grows with each release.",
    latency: "800 millis"
  })
  const writer = yield* makeAgent("Writer", "Write one-liners.", {
    text: "Effect: typed errors, real concurrency.",
    latency: "800 millis"
  })
  const runs = [[researcher, "When did Effect 3 ship?"], [analyst, "How is adoption?"], [
    writer,
    "Pitch Effect in one line."
  ]] as const

  const [sequential, one] = yield* Effect.timed(Agent.runAll(runs, { concurrency: 1 }))
  const [concurrent, all] = yield* Effect.timed(Agent.runAll(runs, { concurrency: "unbounded" }))
  for (const result of all) yield* Console.log(`${result.agent.padEnd(10)} ${result.content}`)
  yield* Console.log(`\nsequential: ${Math.round(Duration.toMillis(sequential))} ms (${one.length} runs)`)
  yield* Console.log(`concurrent: ${Math.round(Duration.toMillis(concurrent))} ms`)
  yield* Console.log(`speed-up:   ${(Duration.toMillis(sequential) / Duration.toMillis(concurrent)).toFixed(1)}×\n`)

  // One agent's provider rejects the request: with mode "either" the others still answer.
  const broken = yield* makeAgent("Broken", "", {
    fail: { error: new AgentError.AuthenticationFailed({ message: "invalid API key", status: 401 }) },
    latency: "100 millis"
  })
  const outcomes = yield* Agent.runAll([[researcher, "When did Effect 3 ship?"], [broken, "Hello?"], [
    writer,
    "Pitch Effect."
  ]], { concurrency: "unbounded", mode: "either" })
  for (const outcome of outcomes) {
    yield* Either.match(outcome, {
      onRight: (result) => Console.log(`ok     ${result.agent}: ${result.content}`),
      onLeft: (error) => Console.log(`failed ${error._tag}: ${error.message}`)
    })
  }
})

program.pipe(NodeRuntime.runMain)
