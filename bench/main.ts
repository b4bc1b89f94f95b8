/**
 * `npm run bench`: effect-agents measured against the same agent loop
 * written by hand on the `openai` SDK (the floor), over real HTTP to an
 * OpenAI-compatible server in another process; then framework-only figures
 * on the scripted model. Every measurement runs in a fresh process. Prints a
 * progress line per measurement on stderr and one table on stdout.
 */
import { fork } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const tsx = ["--import", "tsx", "--expose-gc"]

const spawn = (file: string, args: ReadonlyArray<string>): ChildProcess =>
  fork(here(file), [...args], { execArgv: tsx, stdio: ["ignore", "inherit", "inherit", "ipc"] })

const next = <A>(child: ChildProcess, key: string): Promise<A> =>
  new Promise((resolve, reject) => {
    const onMessage = (message: Record<string, unknown>) => {
      if (!(key in message)) return
      child.off("message", onMessage).off("exit", onExit)
      resolve(message[key] as A)
    }
    const onExit = (code: number | null) => {
      child.off("message", onMessage)
      reject(new Error(`${child.spawnargs.slice(-3).join(" ")} exited (${code}) before "${key}"`))
    }
    child.on("message", onMessage).once("exit", onExit)
  })

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once("exit", resolve))

const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`)

const withServer = async <A>(scenario: string, f: (url: string, server: ChildProcess) => Promise<A>): Promise<A> => {
  const server = spawn("server.ts", [scenario])
  try {
    const url = await next<string>(server, "url")
    return await f(url, server)
  } finally {
    server.send("stop")
    await exited(server)
  }
}

const client = async <A>(impl: string, scenario: string, url: string) => {
  progress(`${impl} / ${scenario}`)
  const child = spawn("client.ts", [impl, scenario, url])
  const result = await next<A>(child, "result")
  await exited(child)
  return result
}

interface Overhead {
  readonly meanUs: number
  readonly p50Us: number
  readonly cpuUsPerRun: number
}
interface Fanout {
  readonly wallMs: number
  readonly rssKBPerRun: number
}
interface Cancel {
  readonly settledMs: number
  readonly rejected: number
  readonly serverIdleMs: number
}

const cancel = (impl: string) =>
  withServer("hang", async (url, server) => {
    progress(`${impl} / cancel`)
    const child = spawn("client.ts", [impl, "cancel", url])
    await next(child, "started")
    // abort once the server holds every request open
    for (;;) {
      server.send("stats")
      const stats = await next<{ open: number }>(server, "stats")
      if (stats.open >= 200) break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    // listen before aborting: the runs may settle before the server is idle
    const result = next<Omit<Cancel, "serverIdleMs">>(child, "result")
    const idle = next(server, "idle")
    const abortedAt = performance.now()
    child.send("abort")
    server.send("idle")
    await idle
    const serverIdleMs = performance.now() - abortedAt
    await exited(child)
    return { ...(await result), serverIdleMs }
  })

const started = performance.now()
// the overhead of one process moves by up to ~20 % from the next: three processes each, the median's figures
const medianOf = async (impl: string, url: string): Promise<Overhead> => {
  const results: Array<Overhead> = []
  for (let i = 0; i < 3; i++) results.push(await client<Overhead>(impl, "overhead", url))
  return results.sort((a, b) => a.meanUs - b.meanUs)[1]!
}
const overhead = await withServer("steps", async (url) => ({
  library: await medianOf("library", url),
  nodefetch: await medianOf("nodefetch", url),
  baseline: await medianOf("baseline", url)
}))
const fanout = await withServer("fanout", async (url) => ({
  library: await client<Fanout>("library", "fanout", url),
  nodefetch: await client<Fanout>("nodefetch", "fanout", url),
  baseline: await client<Fanout>("baseline", "fanout", url)
}))
// one cancel moves by tens of ms from the next: three rounds, each the median of its three
const cancels: Record<"library" | "nodefetch" | "baseline", Array<Cancel>> = {
  library: [],
  nodefetch: [],
  baseline: []
}
for (let round = 0; round < 3; round++) {
  for (const impl of ["library", "nodefetch", "baseline"] as const) cancels[impl].push(await cancel(impl))
}
const medianCancel = (results: Array<Cancel>): Cancel => results.sort((a, b) => a.serverIdleMs - b.serverIdleMs)[1]!
const cancelled = {
  library: medianCancel(cancels.library),
  nodefetch: medianCancel(cancels.nodefetch),
  baseline: medianCancel(cancels.baseline)
}
progress("framework")
const frameworkChild = spawn("framework.ts", [])
const framework = await next<{
  readonly stepUs: number
  readonly forkUs: { readonly taskGroup: number; readonly effectFork: number }
  readonly concurrent: {
    readonly agent: { readonly wallMs: number; readonly heapKBPerRun: number }
    readonly bare: { readonly wallMs: number; readonly heapKBPerRun: number }
  }
}>(frameworkChild, "result")
await exited(frameworkChild)

interface Latency {
  readonly p50: number
  readonly p99: number
}
interface StoreFigures {
  readonly plain: Latency
  readonly withSession: Latency
  readonly concurrentMs: number
  readonly allKept: boolean
}
progress("sessions")
const sessionsChild = spawn("sessions.ts", [])
const sessions = await next<{ readonly sqlite: StoreFigures; readonly postgres: StoreFigures | undefined }>(
  sessionsChild,
  "result"
)
await exited(sessionsChild)

const n = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`
const row = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

const cpu = cpus()
console.log(`# effect-agents benchmark — ${new Date().toISOString().slice(0, 10)}\n`)
console.log(
  `${cpu.length} × ${cpu[0]?.model.trim() ?? "cpu"}, Node ${process.version}; ${
    n((performance.now() - started) / 1000, 0)
  } s in all.\n`
)
console.log("## Over HTTP: the library against a hand-written `openai` SDK loop (the floor)\n")
console.log(
  "One run = three tool-call steps and the final answer (4 model calls), against an OpenAI-compatible server in another process.\n"
)
console.log(row(["scenario", "figure", "effect-agents", "÷ floor", "with nodeFetch", "÷ floor", "floor"]))
console.log(row(["---", "---", "---:", "---:", "---:", "---:", "---:"]))
const compare = (
  scenario: string,
  figure: string,
  values: { readonly library: number; readonly nodefetch: number; readonly baseline: number },
  format: (value: number) => string,
  relation: (a: number, b: number) => string
) => {
  console.log(row([
    scenario,
    figure,
    format(values.library),
    relation(values.library, values.baseline),
    format(values.nodefetch),
    relation(values.nodefetch, values.baseline),
    format(values.baseline)
  ]))
}
const times = (a: number, b: number) => ratio(a, b)
const plus = (a: number, b: number) => `${a >= b ? "+" : "−"}${n(Math.abs(a - b), 1)} ms`
const of = <A>(results: { library: A; nodefetch: A; baseline: A }, f: (a: A) => number) => ({
  library: f(results.library),
  nodefetch: f(results.nodefetch),
  baseline: f(results.baseline)
})
compare(
  "overhead: 300 sequential runs, no latency (median of 3 processes)",
  "mean µs per run",
  of(overhead, (r) => r.meanUs),
  (v) => n(v),
  times
)
compare("", "CPU µs per run", of(overhead, (r) => r.cpuUsPerRun), (v) => n(v), times)
compare(
  "fanout: 1 000 concurrent runs, 50 ms per call",
  "wall ms (ideal 200)",
  of(fanout, (r) => r.wallMs),
  (v) => n(v),
  times
)
compare("", "RSS growth KB per run", of(fanout, (r) => r.rssKBPerRun), (v) => n(v), times)
compare(
  "cancel: 200 hanging runs aborted (median of 3 processes)",
  "ms until the server holds no request",
  of(cancelled, (r) => r.serverIdleMs),
  (v) => n(v, 1),
  plus
)
compare("", "ms until every run settled", of(cancelled, (r) => r.settledMs), (v) => n(v, 1), plus)
compare("", "runs rejected (of 200)", of(cancelled, (r) => r.rejected), (v) => n(v), () => "")
console.log("\n## Framework only: the scripted model, no HTTP\n")
console.log(row(["figure", "effect-agents", "reference"]))
console.log(row(["---", "---:", "---"]))
console.log(row(["µs per agent step (4-step runs, one tool call a step)", n(framework.stepUs, 1), ""]))
console.log(
  row([
    "µs per TaskGroup fork + join (1 000 tasks)",
    n(framework.forkUs.taskGroup, 1),
    `Effect.fork + Fiber.join: ${n(framework.forkUs.effectFork, 1)}`
  ])
)
const agentWall = framework.concurrent.agent.wallMs
const bareWall = framework.concurrent.bare.wallMs
console.log(
  row([
    "10 000 concurrent 4-step runs, 50 ms per call: wall ms",
    `${n(agentWall)} (${(agentWall / 200).toFixed(2)}× ideal)`,
    `bare Effect, same shape: ${n(bareWall)} (${(bareWall / 200).toFixed(2)}× ideal)`
  ])
)
console.log(
  row([
    "heap KB per run in flight",
    n(framework.concurrent.agent.heapKBPerRun, 1),
    `bare Effect: ${n(framework.concurrent.bare.heapKBPerRun, 1)}`
  ])
)

console.log("\n## Sessions: the store's cost per run (scripted model, a session of 50 turns)\n")
console.log(row(["store", "ms added per run, p50 / p99", "200 concurrent runs on 200 sessions"]))
console.log(row(["---", "---:", "---"]))
const storeRow = (name: string, figures: StoreFigures | undefined) =>
  console.log(row(
    figures === undefined
      ? [name, "skipped (no server: set DATABASE_URL)", ""]
      : [
        name,
        `${n(figures.withSession.p50 - figures.plain.p50, 2)} / ${n(figures.withSession.p99 - figures.plain.p99, 2)}`,
        `${n(figures.concurrentMs)} ms, ${figures.allKept ? "every turn kept" : "TURNS MISSING"}`
      ]
  ))
storeRow("SQLite (a file)", sessions.sqlite)
storeRow("Postgres", sessions.postgres)
