/**
 * The benchmark's OpenAI-compatible server, in a process of its own so that
 * its work is not counted as the client's: `OpenAiCompatServer` answering an
 * agent's tool loop. Started by `bench/main.ts` with a scenario:
 *
 * - `steps`: three tool-call steps, then the final answer; no latency
 * - `fanout`: the same, 50 ms per answer
 * - `hang`: never answers (until the client goes away)
 *
 * It talks to its parent over IPC: it sends `{ url }` once listening, and
 * answers `"stats"` with its counters and `"idle"` once no request is open.
 */
import { Effect } from "effect"
import type { ScriptedModel } from "effect-agents/testing"
import { OpenAiCompatServer } from "effect-agents/testing"

const toolSteps = (latency?: ScriptedModel.Turn["latency"]): ScriptedModel.Script => (request) => {
  const results = request.messages.filter((message) => message.role === "tool").length
  const tool = request.tools[0]
  return results < 3 && tool !== undefined
    ? { latency, toolCalls: [{ name: tool.name, arguments: { x: results + 1 } }] }
    : { latency, text: `Final answer after ${results} tool results.` }
}

const scripts: Record<string, ScriptedModel.Script> = {
  steps: toolSteps(),
  fanout: toolSteps("50 millis"),
  hang: () => ({ hang: true })
}

const scenario = process.argv[2] ?? "steps"
const script = scripts[scenario]
if (script === undefined) throw new Error(`unknown scenario ${scenario}`)

const send = (message: unknown) => Effect.sync(() => process.send?.(message))

const program = Effect.gen(function*() {
  const server = yield* OpenAiCompatServer.make(script, { record: false })
  yield* send({ url: server.url })
  yield* Effect.async<never>((resume) => {
    const onMessage = (message: unknown) => {
      if (message === "stats") Effect.runFork(Effect.flatMap(server.stats, (stats) => send({ stats })))
      if (message === "idle") {
        Effect.runFork(Effect.flatMap(server.awaitStats((stats) => stats.open === 0), (stats) => send({ idle: stats })))
      }
      if (message === "stop") resume(Effect.interrupt)
    }
    process.on("message", onMessage)
    return Effect.sync(() => process.off("message", onMessage))
  })
}).pipe(Effect.scoped)

Effect.runPromise(program).catch(() => undefined).finally(() => process.disconnect?.())
