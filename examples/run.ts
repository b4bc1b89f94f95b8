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
  "mcp": "an agent using an MCP server's tools: the reference server over stdio, its tools prefixed",
  "openai": "an agent on OpenAiModel: the real API with OPENAI_API_KEY, else a local server",
  "promise": "Agent.runPromise from Promise code; a caller that gives up stops the run",
  "chat": "a terminal chat whose conversation is a session in a SQLite file: it remembers across restarts",
  "resume": "a run stopped after its first step, stored as JSON, resumed by a fresh agent",
  "approval": "a tool that needs approval: the run suspends, a second process approves, the run finishes",
  "durable": "a durable run killed (SIGKILL) mid-run and run again: no call that ended is made again",
  "http-server": "two agents served over HTTP: curl commands, the typed client, until Ctrl-C",
  "openai-compatible": "an agent served over HTTP, called with the openai SDK: completions, streams, JSON Schema",
  "batches": "a server's batches in a SQLite file: one survives its server's stop, interrupted, its results kept",
  "task-group": "three fetches in a TaskGroup; then one fails and the others are interrupted",
  "dag": "a sales report as a DAG: analyses side by side, makespans, node events",
  "team": "a research team under a coordinating leader, printed as it streams",
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
