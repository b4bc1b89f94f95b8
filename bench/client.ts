/**
 * One benchmark client in a fresh process: an implementation (`library`,
 * `nodefetch` for the library over `OpenAiClient.nodeFetch()`, or `baseline`)
 * against the server at a URL, in one scenario. Sends its figures
 * to the parent over IPC. For `cancel`, the parent says when to abort.
 */
import { OpenAiClient } from "effect-agents/openai"
import * as Baseline from "./baseline.js"
import * as Library from "./library.js"

/** The library's options, and the tool's JSON Schema for the hand-written loop. */
export interface BenchAgentOptions extends Library.Options {
  readonly tool: Library.Options["tool"] & { readonly jsonSchema: Record<string, unknown> }
}

export interface BenchAgent {
  readonly run: (input: string, signal?: AbortSignal) => Promise<string>
}

const [impl = "library", scenario = "overhead", baseURL = ""] = process.argv.slice(2)
const options: BenchAgentOptions = {
  baseURL,
  apiKey: "bench",
  model: "bench",
  systemPrompt: "You are a benchmark agent.",
  maxSteps: 10,
  tool: {
    name: "double",
    description: "Doubles x",
    jsonSchema: { type: "object", properties: { x: { type: "number" } }, required: ["x"], additionalProperties: false },
    execute: async ({ x }) => String(x * 2)
  }
}
const agent = impl === "baseline"
  ? Baseline.createAgent(options)
  : Library.createAgent(options, impl === "nodefetch" ? OpenAiClient.nodeFetch() : undefined)

const send = (message: unknown) => process.send?.(message)
const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length
const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const cpuMicros = (usage: NodeJS.CpuUsage) => usage.user + usage.system

const overhead = async () => {
  const warmupEnd = performance.now() + 8_000
  for (let i = 0; i < 1000 && performance.now() < warmupEnd; i++) await agent.run(`warm-up ${i}`)
  const micros: Array<number> = []
  const cpu = process.cpuUsage()
  for (let i = 0; i < 300; i++) {
    const start = performance.now()
    const text = await agent.run(`run ${i}`)
    micros.push((performance.now() - start) * 1000)
    if (!text.startsWith("Final answer after 3")) throw new Error(`bad answer: ${text}`)
  }
  return { meanUs: mean(micros), p50Us: median(micros), cpuUsPerRun: cpuMicros(process.cpuUsage(cpu)) / micros.length }
}

const fanout = async () => {
  const batch = (size: number, label: string) =>
    Promise.all(Array.from({ length: size }, (_, i) => agent.run(`${label} ${i}`)))
  for (let i = 0; i < 3; i++) await batch(100, `warm-up ${i}`)
  const walls: Array<number> = []
  let peak = 0
  const before = process.memoryUsage.rss()
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    const texts = await batch(1000, `batch ${i}`)
    walls.push(performance.now() - start)
    if (texts.some((text) => !text.startsWith("Final answer after 3"))) throw new Error("bad answer")
  }
  clearInterval(sampler)
  return { wallMs: median(walls), rssKBPerRun: (peak - before) / 1024 / 1000 }
}

const cancel = () =>
  new Promise((resolve) => {
    const controllers = Array.from({ length: 200 }, () => new AbortController())
    const settled = controllers.map((controller, i) =>
      agent.run(`hang ${i}`, controller.signal).then(() => "resolved", () => "rejected")
    )
    send({ started: controllers.length })
    process.once("message", async () => {
      const abortedAt = performance.now()
      for (const controller of controllers) controller.abort()
      const outcomes = await Promise.all(settled)
      resolve({ settledMs: performance.now() - abortedAt, rejected: outcomes.filter((o) => o === "rejected").length })
    })
  })

const scenarios: Record<string, () => Promise<unknown>> = { overhead, fanout, cancel }
const result = await scenarios[scenario]!()
// disconnect once the message is out, or it may be lost
process.send?.({ result }, () => process.disconnect())
