import * as Effect from "effect/Effect"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"

/**
 * The worker's code, evaluated as CommonJS in a fresh thread. It imports the
 * module that holds the blocking function, calls it once with the arguments
 * and posts the result (or the failure's message) back.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads")
import(workerData.module)
  .then((mod) => {
    const fn = mod[workerData.exportName]
    if (typeof fn !== "function") {
      throw new TypeError("module " + workerData.module + " has no function export named " + workerData.exportName)
    }
    return fn(workerData.args)
  })
  .then(
    (value) => parentPort.postMessage({ ok: true, value }),
    (error) => parentPort.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) })
  )
`

type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string }

/** Accepts a file URL, an absolute path or a package specifier. */
export const moduleSpecifier = (module: string | URL): string =>
  module instanceof URL ? module.href : module.startsWith("/") ? pathToFileURL(module).href : module

/**
 * Runs `module[exportName](args)` on a worker thread of its own, so a
 * blocking function leaves the event loop free. Interruption terminates the
 * thread: the blocking work really stops, and the effect returns only once
 * the thread is gone. Fails with the message of what went wrong.
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
    worker.once("message", (reply: Reply) => {
      settle(reply.ok ? Effect.succeed(reply.value) : Effect.fail(reply.message))
      void worker.terminate()
    })
    worker.once("error", (error) => settle(Effect.fail(error.message)))
    worker.once("exit", (code) => settle(Effect.fail(`worker thread exited with code ${code} before answering`)))
    return Effect.promise(() => worker.terminate())
  })
