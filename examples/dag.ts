/**
 * dag: a sales report as a DAG. `ingest` loads the quarter's sales (a tool
 * call); `stats`, `patterns` and `analysis` (three agents) work on them in
 * parallel; `report` (a fourth agent) writes the report from their answers.
 * The DAG runs one node at a time, then with every node starting the moment
 * its own dependencies are done: the makespan is the critical path,
 * ingest → analysis → report. The parallel run is streamed (node events and
 * the agents' text as it arrives), and both runs are drawn as timelines. Last,
 * the analysis agent's provider rejects the request: with
 * `onFailure: "continue"` the other branches finish and only the report is
 * skipped.
 *
 *   npm run example -- dag
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, type Duration, Effect, Schema, Stream } from "effect"
import { Agent, AgentError, Dag, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const loadSales = Tool.make("load_sales", {
  description: "Load a quarter's sales, one row per region",
  parameters: { quarter: Schema.String },
  handler: ({ quarter }) =>
    Effect.as(Effect.sleep("300 millis"), [
      { quarter, region: "north", revenue: 120_000 },
      { quarter, region: "south", revenue: 95_000 },
      { quarter, region: "east", revenue: 143_000 },
      { quarter, region: "west", revenue: 88_000 }
    ])
})

// Each agent answers from its own scripted model, after the latency a real model might take.
const makeAgent = (name: string, latency: Duration.DurationInput, text: string, fail?: AgentError.ModelError) =>
  Effect.flatMap(
    ScriptedModel.make(() => ({ text, latency, chunks: 2, ...(fail === undefined ? {} : { fail: { error: fail } }) })),
    (model) => Agent.make({ name, instructions: `You are the ${name}. Be brief.`, model, policy: { retry: false } })
  )

const makeReport = (analysisFails?: AgentError.ModelError) =>
  Effect.gen(function*() {
    const toolkit = Toolkit.make(loadSales)
    const statistician = yield* makeAgent("statistician", "400 millis", "Total 446k; mean 111.5k; east leads.")
    const patternFinder = yield* makeAgent("pattern-finder", "600 millis", "East and north grow; west slips.")
    const analyst = yield* makeAgent(
      "analyst",
      "900 millis",
      "Growth follows the new east office; west needs a partner.",
      analysisFails
    )
    const writer = yield* makeAgent("writer", "300 millis", "Q3: 446k (+8%). East leads; west needs a partner.")
    const ask = (agent: Agent.Agent, prompt: string) => Effect.map(agent.run(prompt), (result) => result.content)

    return Dag.make<string>("sales-report").pipe(
      Dag.node("ingest", (_, quarter) => toolkit.execute("load_sales", { quarter })),
      Dag.node("stats", {
        dependsOn: ["ingest"],
        run: ({ ingest }) => ask(statistician, `Summarise: ${JSON.stringify(ingest)}`)
      }),
      Dag.node("patterns", {
        dependsOn: ["ingest"],
        run: ({ ingest }) => ask(patternFinder, `Find patterns: ${JSON.stringify(ingest)}`)
      }),
      Dag.node("analysis", {
        dependsOn: ["ingest"],
        run: ({ ingest }) => ask(analyst, `Explain: ${JSON.stringify(ingest)}`),
        timeout: "5 seconds"
      }),
      Dag.node("report", {
        dependsOn: ["stats", "patterns", "analysis"],
        run: ({ analysis, patterns, stats }) =>
          ask(writer, `Write the report.\nStats: ${stats}\nPatterns: ${patterns}\nAnalysis: ${analysis}`)
      })
    )
  })

const program = Effect.gen(function*() {
  const dag = yield* makeReport()
  yield* Console.log(`▸ The graph (Mermaid)\n${Dag.toMermaid(dag, { direction: "LR" })}\n`)

  yield* Console.log("▸ One node at a time (concurrency: 1, topological order)")
  const sequential = yield* Dag.run(dag, "Q3", { concurrency: 1 })
  yield* Printer.printTimeline(sequential)

  yield* Console.log("\n▸ Every node as soon as its inputs are ready (streamed)")
  const parallel = yield* Dag.stream(dag, "Q3").pipe(
    Stream.tap((event) => {
      switch (event._tag) {
        case "NodeStarted":
          return Console.log(`  ${String(event.startMs).padStart(5)} ms  ▶ ${event.node}`)
        case "NodeCompleted":
          return Console.log(`  ${String(event.startMs + event.durationMs).padStart(5)} ms  ✓ ${event.node}`)
        // the agents inside the nodes stream too, with their path [dag, node, agent]
        case "RunStarted":
          return Console.log(`            ↳ ${event.path.join(" › ")} runs`)
        case "TextDelta":
          return event.path[1] === "report"
            ? Console.log(`            ↳ ${event.agent} writes “${event.text.trim()}”`)
            : Effect.void
        default:
          return Effect.void
      }
    }),
    Stream.filter(Dag.is("DagCompleted")),
    Stream.runLast,
    Effect.flatMap(Effect.orDieWith(() => new Error("the stream ended without DagCompleted"))),
    Effect.map((event) => event.result)
  )
  yield* Printer.printTimeline(parallel)

  const critical = Dag.criticalPath(dag, parallel)
  yield* Console.log(`\nsequential makespan: ${sequential.durationMs} ms`)
  yield* Console.log(`parallel makespan:   ${parallel.durationMs} ms`)
  yield* Console.log(`critical path:       ${critical.durationMs} ms (${critical.nodes.join(" → ")})`)
  yield* Console.log(`speed-up:            ${(sequential.durationMs / parallel.durationMs).toFixed(2)}×`)
  if (parallel.nodes.report.status === "completed") yield* Console.log(`\n${parallel.nodes.report.output}`)

  yield* Console.log("\n▸ The analyst's provider rejects the request (onFailure: \"continue\")")
  const broken = yield* makeReport(new AgentError.AuthenticationFailed({ message: "invalid API key", status: 401 }))
  const partial = yield* Dag.run(broken, "Q3", { onFailure: "continue" })
  yield* Printer.printTimeline(partial)
  const analysis = partial.nodes.analysis
  if (analysis.status === "failed") {
    yield* Console.log(`analysis failed: ${analysis.error._tag}: ${analysis.error.message}`)
  }
})

program.pipe(NodeRuntime.runMain)
