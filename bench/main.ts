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
    const abortedAt = performance.now()
    child.send("abort")
    server.send("idle")
    await next(server, "idle")
    const serverIdleMs = performance.now() - abortedAt
    const result = await next<Omit<Cancel, "serverIdleMs">>(child, "result")
    await exited(child)
    return { ...result, serverIdleMs }
  })

const started = performance.now()
const overhead = await withServer("steps", async (url) => ({
  library: await client<Overhead>("library", "overhead", url),
  baseline: await client<Overhead>("baseline", "overhead", url)
}))
const fanout = await withServer("fanout", async (url) => ({
  library: await client<Fanout>("library", "fanout", url),
  baseline: await client<Fanout>("baseline", "fanout", url)
}))
const cancelled = { library: await cancel("library"), baseline: await cancel("baseline") }
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
console.log(row(["scenario", "figure", "effect-agents", "floor", "÷ floor"]))
console.log(row(["---", "---", "---:", "---:", "---:"]))
console.log(
  row([
    "overhead: 300 sequential runs, no latency",
    "mean µs per run",
    n(overhead.library.meanUs),
    n(overhead.baseline.meanUs),
    ratio(overhead.library.meanUs, overhead.baseline.meanUs)
  ])
)
console.log(
  row([
    "",
    "CPU µs per run",
    n(overhead.library.cpuUsPerRun),
    n(overhead.baseline.cpuUsPerRun),
    ratio(overhead.library.cpuUsPerRun, overhead.baseline.cpuUsPerRun)
  ])
)
console.log(
  row([
    "fanout: 1 000 concurrent runs, 50 ms per call",
    "wall ms (ideal 200)",
    n(fanout.library.wallMs),
    n(fanout.baseline.wallMs),
    ratio(fanout.library.wallMs, fanout.baseline.wallMs)
  ])
)
console.log(
  row([
    "",
    "RSS growth KB per run",
    n(fanout.library.rssKBPerRun),
    n(fanout.baseline.rssKBPerRun),
    ratio(fanout.library.rssKBPerRun, fanout.baseline.rssKBPerRun)
  ])
)
console.log(
  row([
    "cancel: 200 hanging runs aborted",
    "ms until the server holds no request",
    n(cancelled.library.serverIdleMs, 1),
    n(cancelled.baseline.serverIdleMs, 1),
    `+${n(cancelled.library.serverIdleMs - cancelled.baseline.serverIdleMs, 1)} ms`
  ])
)
console.log(
  row([
    "",
    "ms until every run settled",
    n(cancelled.library.settledMs, 1),
    n(cancelled.baseline.settledMs, 1),
    `+${n(cancelled.library.settledMs - cancelled.baseline.settledMs, 1)} ms`
  ])
)
console.log(row(["", "runs rejected", `${cancelled.library.rejected}/200`, `${cancelled.baseline.rejected}/200`, ""]))
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
