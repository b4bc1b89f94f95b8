/**
 * durable: a run that survives `kill -9`. A travel agent books a trip in
 * three tool calls (search, charge the card, send the confirmation), as a
 * durable run on a SQLite file. The example starts the run in a child
 * process and kills it (SIGKILL) while it sends the confirmation, then runs
 * it again here: the run goes on from its journal. The flights are not
 * searched again, the card is not charged again, the confirmation (an
 * idempotent tool) is sent again, and the answer is the one an uninterrupted
 * run gives.
 *
 *   npm run example -- durable
 */
import { Command, FileSystem } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Console, Effect, Layer, Schedule, Schema } from "effect"
import { Agent, Tool, Toolkit } from "effect-agents"
import { Durable } from "effect-agents/durable"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// the child is this file run with `--child <dir>`
const childAt = process.argv.indexOf("--child")
const child = childAt !== -1
const dir = child ? process.argv[childAt + 1]! : fs.mkdtempSync(path.join(os.tmpdir(), "effect-agents-durable-"))
const log = path.join(dir, "calls.log")
const entered = path.join(dir, "entered")

/** A tool that notes each call; the child hangs in `send_confirmation`, to be killed there. */
const step = (name: string, idempotent: boolean, answer: string) =>
  Tool.make(name, {
    description: name.replaceAll("_", " "),
    parameters: { trip: Schema.String },
    handler: () =>
      Effect.gen(function*() {
        fs.appendFileSync(log, `${name}\n`)
        if (child && name === "send_confirmation") {
          fs.writeFileSync(entered, "")
          return yield* Effect.never
        }
        return answer
      }),
    idempotent
  })

const travel = Effect.gen(function*() {
  // the next call after the results so far (a function of the request, as a real model's answer is)
  const model = yield* ScriptedModel.make((request) => {
    const done = request.messages.filter((message) => message.role === "tool").length
    const next = ["search_flights", "charge_card", "send_confirmation"][done]
    return next === undefined
      ? { text: "Booked: TP 1234 to Lisbon, paid, confirmation sent." }
      : { toolCalls: [{ id: `c${done}`, name: next, arguments: { trip: "Lisbon" } }] }
  })
  const agent = yield* Agent.make({
    name: "travel",
    instructions: "Book trips.",
    model,
    toolkit: Toolkit.make(
      step("search_flights", true, "TP 1234, 180 EUR"),
      // charging twice must not happen: not idempotent, so at most once
      step("charge_card", false, "charged 180 EUR"),
      step("send_confirmation", true, "sent")
    )
  })
  return Durable.make(agent)
})

/** The durable engine on the SQLite file, with the agent's workflow registered. */
const run = Effect.gen(function*() {
  const durable = yield* travel
  return yield* durable.run("Book me a flight to Lisbon", { runId: "lisbon" }).pipe(
    Effect.provide(durable.layer.pipe(Layer.provideMerge(Durable.layerSingleRunner()))),
    Effect.provide(SqliteClient.layer({ filename: path.join(dir, "runs.db") }))
  )
})

const main = Effect.gen(function*() {
  const files = yield* FileSystem.FileSystem
  yield* Console.log("a child process starts the durable run…")
  yield* Effect.scoped(Effect.gen(function*() {
    const process = yield* Command.start(
      Command.make(
        globalThis.process.execPath,
        ...globalThis.process.execArgv,
        fileURLToPath(import.meta.url),
        "--child",
        dir
      )
    )
    yield* files.exists(entered).pipe(Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (yes) => yes }))
    yield* process.kill("SIGKILL")
    yield* Console.log(`…and is killed (SIGKILL) while it sends the confirmation; calls so far: ${calls()}`)
  }))
  const result = yield* run
  yield* Console.log(`this process runs it again: "${result.content}"`)
  yield* Console.log(`every call, both processes: ${calls()}`)
}).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true }))))

const calls = () => fs.readFileSync(log, "utf8").trim().split("\n").join(", ")

if (child) NodeRuntime.runMain(Effect.asVoid(run))
else NodeRuntime.runMain(main.pipe(Effect.provide(NodeContext.layer)))
