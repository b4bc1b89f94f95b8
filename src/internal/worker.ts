import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import * as Render from "./render.js"

/**
 * The worker's code, evaluated as CommonJS in a fresh thread. It imports the
 * module that holds the blocking function, calls it once with the arguments
 * and posts the result, or what it threw, back. What structured clone cannot
 * copy (a function in the result, say) is posted as the reason instead: a
 * throw in a callback here would only end the thread with an error event.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
const { inspect } = require("node:util")
const post = (reply, orElse) => {
  try {
    parentPort.postMessage(reply)
  } catch (error) {
    parentPort.postMessage(orElse(error))
  }
}
const shown = (value) => {
  try {
    return inspect(value, { depth: 4, breakLength: Infinity })
  } catch {
    return "a value that cannot be read"
  }
}
const reason = (error) => typeof error?.message === "string" ? error.message : shown(error)
import(workerData.module)
  .then((mod) => {
    const fn = mod[workerData.exportName]
    if (typeof fn !== "function") {
      throw new TypeError("module " + workerData.module + " has no function export named " + workerData.exportName)
    }
    return fn(workerData.args)
  })
  .then(
    (value) => post({ ok: true, value }, (error) => ({ ok: false, error: "the result cannot leave the worker thread: " + reason(error) })),
    (error) => post({ ok: false, error }, () => ({ ok: false, error: shown(error) }))
  )
`

type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

/** The worker posts nothing else, but the blocking function runs there too and might. */
const isReply = (u: unknown): u is Reply =>
  typeof u === "object" && u !== null && "ok" in u && (u.ok === true ? "value" in u : u.ok === false && "error" in u)

/** Accepts a file URL, an absolute path or a package specifier. */
export const moduleSpecifier = (module: string | URL): string =>
  module instanceof URL ? module.href : module.startsWith("/") ? pathToFileURL(module).href : module

/**
 * Runs `module[exportName](args)` on a worker thread of its own, so a
 * blocking function leaves the event loop free. Interruption terminates the
 * thread: the blocking work really stops, and the effect returns only once
 * the thread is gone. Fails with the message of what went wrong (what the
 * function threw, as readable text).
 */
export const runInWorker = (
  module: string,
  exportName: string,
  args: unknown
): Effect.Effect<unknown, string> =>
  Effect.async<unknown, string>((resume) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { module, exportName, args } })
    let settled = false
    const settle = (effect: Effect.Effect<unknown, string>) => {
      if (settled) return
      settled = true
      resume(effect)
    }
    worker.once("message", (reply: unknown) => {
      if (!isReply(reply)) settle(Effect.fail("the worker thread answered with something else than a result"))
      else settle(reply.ok ? Effect.succeed(reply.value) : Effect.fail(Render.text(reply.error)))
      void worker.terminate()
    })
    worker.on("error", (error: unknown) => settle(Effect.fail(Render.text(error))))
    worker.once("exit", (code) => settle(Effect.fail(`worker thread exited with code ${code} before answering`)))
    return Effect.promise(() => worker.terminate())
  })
