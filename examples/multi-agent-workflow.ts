/**
 * multi-agent-workflow: the research workflow, built from agents and task
 * groups. Three searchers (the web, the news, papers) run at once; an
 * analyst reads what they found; a writer turns the analysis into a short
 * article, printed as it streams. The news source is rate-limited once: the
 * policy retries it after its retry-after, and the workflow waits only for
 * the slowest searcher.
 *
 *   npm run example -- multi-agent-workflow
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Schema } from "effect"
import { Agent, AgentError, LanguageModel, Printer, TaskGroup, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const source = (name: string, latency: Duration.DurationInput, results: ReadonlyArray<string>) =>
  Tool.make(name, {
    description: `Search ${name.replace("search_", "the ")}`,
    parameters: { query: Schema.String },
    handler: () => Effect.as(Effect.sleep(latency), results)
  })

const searcher = (name: string, tool: ReturnType<typeof source>) =>
  Agent.make({
    name,
    instructions: `Search with ${tool.name} and report what you found, one fact a line.`,
    toolkit: Toolkit.make(tool)
  })

const program = Effect.gen(function*() {
  const searchers = [
    yield* searcher(
      "Web Searcher",
      source("search_web", "500 millis", ["Effect 3.0 shipped in April 2024", "Effect has 10k GitHub stars"])
    ),
    yield* searcher(
      "News Searcher",
      source("search_news", "300 millis", ["Companies report fewer outages after adopting Effect"])
    ),
    yield* searcher(
      "Paper Searcher",
      source("search_papers", "700 millis", ["Structured concurrency prevents leaked tasks (Smith 2023)"])
    )
  ]
  const analyst = yield* Agent.make({
    name: "Analyst",
    instructions: "Read the findings and say what they mean, in three points."
  })
  const writer = yield* Agent.make({ name: "Writer", instructions: "Write a short article from an analysis." })

  const topic = "Is Effect a good choice for production TypeScript?"
  const started = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
  const since = Effect.map(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => `${now - started} ms`)

  // 1. Three searchers at once, in one task group: if one failed, the others would be interrupted.
  const findings = yield* TaskGroup.forEach(searchers, (agent) => agent.run(topic))
  yield* Console.log(`▸ 1. search (${yield* since})`)
  for (const result of findings) {
    yield* Console.log(
      `  ${result.agent.padEnd(15)} ${result.metrics.durationMs} ms, retries ${result.metrics.retries}: ${
        result.content.split("\n").join(" · ")
      }`
    )
  }

  // 2. The analyst reads them all.
  const analysis = yield* analyst.run(
    `Topic: ${topic}\n\n${findings.map((result) => `${result.agent}:\n${result.content}`).join("\n\n")}`
  )
  yield* Console.log(`\n▸ 2. analysis (${yield* since})\n${analysis.content}\n`)

  // 3. The writer writes, streamed.
  const article = yield* Printer.printResponse(
    writer,
    [LanguageModel.user(analysis.content), LanguageModel.user("Write the article from this analysis.")],
    { stream: true }
  )
  yield* Console.log(`▸ done (${yield* since})`)

  const all = [...findings, analysis, article]
  const tokens = all.reduce((total, result) => total + result.metrics.totalTokens, 0)
  const slowest = Math.max(...findings.map((result) => result.metrics.durationMs))
  yield* Console.log(
    `${all.length} agents, ${tokens} tokens; the search took ${slowest} ms, the slowest searcher's time, not the sum`
  )
})

// Offline: one scripted model for every agent. The news searcher's first call is rate-limited.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""

const analysis = [
  "1. It is mature: a stable 3.0 API since April 2024 and a large community.",
  "2. It pays off in operations: teams report fewer outages.",
  "3. Its structured concurrency is backed by research: no leaked tasks."
].join("\n")

let rateLimited = false

const ModelLive = ScriptedModel.layer((request) => {
  const system = systemOf(request)
  if (system.startsWith("Search with")) {
    const turn = ScriptedModel.useEachTool({
      latency: "200 millis",
      answer: ([results]) => (JSON.parse(results!.content) as Array<string>).join("\n")
    })(request)
    if (system.includes("search_news") && !rateLimited) {
      rateLimited = true
      return {
        ...turn,
        fail: { error: new AgentError.RateLimited({ message: "429", retryAfter: Duration.millis(250) }) }
      }
    }
    return turn
  }
  if (system.startsWith("Read the findings")) return { text: analysis, latency: "400 millis" }
  return {
    text: "Effect has grown up. Since its 3.0 release in April 2024 its API is stable, and the teams that " +
      "adopted it report fewer outages. The reason is structured concurrency: work that is cancelled really " +
      "stops, and nothing leaks. For production TypeScript it is a sound choice; start with one service.",
    latency: "300 millis",
    chunkInterval: "20 millis"
  }
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
