/**
 * The runner behind `npm run example -- <name>`: runs `examples/<name>.ts`;
 * without a name, or with one it does not know, it lists the examples.
 *
 *   npm run example
 *   npm run example -- team
 */

/** Every example, with what it shows in one line. */
export const examples: Readonly<Record<string, string>> = {
  "showcase": "a travel agent with two tools, streamed with metrics; three trips at once (npm start)",
  "basic": "agent.run and Printer.printResponse, then the AgentMetrics its runs updated",
  "streaming": "agent.stream consumed by hand; printResponse with stream: true",
  "concurrent-agents": "three agents at once vs one after another; a failing one with mode: \"either\"",
  "resilience": "retries with backoff and retry-after, model and run timeouts, a fallback model",
  "tools": "plain, Promise, Effect and blocking tools; toolkit.execute",
  "mcp":
    "MCP both ways: an agent using the reference server's tools over stdio, then serving itself over HTTP to the SDK's client",
  "openai": "an agent on OpenAiModel: the real API with OPENAI_API_KEY, else a local server",
  "providers": "@effect/ai providers (Anthropic, OpenAI) as models, offline; a fallback from OpenAI to Anthropic",
  "promise": "Agent.runPromise from Promise code; a caller that gives up stops the run",
  "chat": "a terminal chat whose conversation is a session in a SQLite file: it remembers across restarts",
  "recording":
    "a run recorded to a JSON file against the local server, replayed with no server; a changed prompt caught",
  "resume": "a run stopped after its first step, stored as JSON, resumed by a fresh agent",
  "approval": "a tool that needs approval: the run suspends, a second process approves, the run finishes",
  "durable": "a durable run killed (SIGKILL) mid-run and run again: no call that ended is made again",
  "durable-dag": "a durable DAG whose node waits for approval across an engine restart; no model call twice",
  "http-server":
    "agents, a team and a DAG served over HTTP: the playground, curl commands, the typed client, until Ctrl-C",
  "openai-compatible": "an agent served over HTTP, called with the openai SDK: completions, streams, JSON Schema",
  "batches": "a server's batches in a SQLite file: one survives its server's stop, interrupted, its results kept",
  "tracing":
    "a run's spans (invoke_agent, chat, execute_tool) with GenAI attributes, on OpenTelemetry's console exporter",
  "task-group": "three fetches in a TaskGroup; then one fails and the others are interrupted",
  "dag": "a sales report as a DAG: analyses side by side, makespans, node events",
  "team": "a research team under a coordinating leader, printed as it streams",
  "budgets": "a team stopped by its token budget, its member in flight interrupted; a dollar budget priced",
  "guardrails": "an input guardrail trips beside the model call and interrupts it; an answer corrected; rm rejected",
  "handoffs": "a triage agent hands the conversation over to one of two specialists, streamed with who speaks",
  "concurrent-teams": "three teams at once (coordinate, broadcast, route) with Agent.runAll",
  "multi-agent-workflow": "three searchers at once, an analyst, then a writer; a rate-limited searcher retried"
}

const list = (): string => {
  const width = Math.max(...Object.keys(examples).map((name) => name.length))
  return Object.entries(examples).map(([name, shows]) => `  ${name.padEnd(width)}  ${shows}`).join("\n")
}

const name = process.argv[2]
if (name !== undefined && Object.hasOwn(examples, name)) {
  await import(`./${name}.ts`)
} else {
  if (name !== undefined) {
    console.error(`npm run example: no example "${name}".\n`)
    process.exitCode = 1
  }
  const out = name === undefined ? console.log : console.error
  out(`Usage: npm run example -- <name>   (each runs offline)\n\n${list()}`)
}
