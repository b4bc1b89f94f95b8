/**
 * Framework-only figures on the scripted model, no HTTP: the cost of an
 * agent step, of a TaskGroup fork and join, and 10 000 concurrent 4-step runs
 * at 50 ms per model call, beside the same shape written in bare Effect (the
 * floor for any Effect program). Sends its figures to the parent over IPC.
 */
import { Effect, Fiber, Layer, ManagedRuntime, Schema } from "effect"
import { Agent, TaskGroup, Tool, Toolkit } from "effect-agents"
import type { ScriptedModel as Scripted } from "effect-agents/testing"
import { ScriptedModel } from "effect-agents/testing"

const double = Tool.make("double", {
  description: "Doubles x",
  parameters: { x: Schema.Number },
  handler: async ({ x }) => String(x * 2)
})

const toolSteps = (latency?: Scripted.Turn["latency"]): Scripted.Script => (request) => {
  const results = request.messages.filter((message) => message.role === "tool").length
  return results < 3
    ? { latency, toolCalls: [{ name: "double", arguments: { x: results + 1 } }] }
    : { latency, text: "Final answer" }
}

const agentOn = (script: Scripted.Script) => {
  const runtime = ManagedRuntime.make(ScriptedModel.layer(script, { record: false }))
  const agent = runtime.runSync(Agent.make({ name: "bench", instructions: "bench", toolkit: Toolkit.make(double) }))
  return { runtime, agent }
}

const timed = async (f: () => Promise<unknown>) => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

// µs per agent step: sequential 4-step runs, latency 0
const step = async () => {
  const { agent, runtime } = agentOn(toolSteps())
  for (let i = 0; i < 3000; i++) await runtime.runPromise(agent.run(`warm-up ${i}`))
  const runs = 3000
  const ms = await timed(async () => {
    for (let i = 0; i < runs; i++) await runtime.runPromise(agent.run(`run ${i}`))
  })
  return (ms * 1000) / runs / 4
}

// µs per child: TaskGroup fork + join against Effect.fork + Fiber.join, 1000 children
const forks = async () => {
  const runtime = ManagedRuntime.make(Layer.empty)
  const children = 1000
  const group = TaskGroup.run((group) =>
    Effect.flatMap(
      Effect.forEach(Array.from({ length: children }), () => group.fork(Effect.void)),
      (tasks) => Effect.forEach(tasks, (task) => task.join, { discard: true })
    )
  )
  const plain = Effect.flatMap(
    Effect.forEach(Array.from({ length: children }), () => Effect.fork(Effect.void)),
    (fibers) => Effect.forEach(fibers, Fiber.join, { discard: true })
  )
  const measure = async (effect: Effect.Effect<unknown, unknown>) => {
    for (let i = 0; i < 50; i++) await runtime.runPromise(effect)
    const rounds = 100
    const ms = await timed(async () => {
      for (let i = 0; i < rounds; i++) await runtime.runPromise(effect)
    })
    return (ms * 1000) / rounds / children
  }
  return { taskGroup: await measure(group), effectFork: await measure(plain) }
}

// 10 000 concurrent 4-step runs, 50 ms per model call: wall and heap per run in flight
const concurrent = async () => {
  const runs = 10_000
  const { agent, runtime } = agentOn(toolSteps("50 millis"))
  const bare = ManagedRuntime.make(Layer.empty)
  const tool = async (x: number) => String(x * 2)
  const bareRun = Effect.suspend(() => {
    const messages: Array<string> = []
    return Effect.forEach(
      [1, 2, 3, 4],
      (x) =>
        Effect.flatMap(Effect.sleep("50 millis"), () =>
          Effect.map(Effect.promise(() => tool(x)), (text) => {
            messages.push(text)
          })),
      { discard: true }
    )
  })
  const measure = async (batch: () => Promise<unknown>) => {
    await batch()
    globalThis.gc?.()
    const before = process.memoryUsage().heapUsed
    let peak = before
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5)
    const ms = await timed(batch)
    clearInterval(sampler)
    return { wallMs: ms, heapKBPerRun: (peak - before) / 1024 / runs }
  }
  return {
    agent: await measure(() =>
      Promise.all(Array.from({ length: runs }, (_, i) => runtime.runPromise(agent.run(`run ${i}`))))
    ),
    bare: await measure(() => Promise.all(Array.from({ length: runs }, () => bare.runPromise(bareRun))))
  }
}

const result = { stepUs: await step(), forkUs: await forks(), concurrent: await concurrent() }
// disconnect once the message is out, or it may be lost
process.send?.({ result }, () => process.disconnect())
