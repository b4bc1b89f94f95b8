/**
 * The store's cost, on the scripted model (no HTTP): a run on a session of 50
 * turns against the same run without one (a SQLite file; Postgres at
 * DATABASE_URL, or the embedded one the tests start), and 200 concurrent runs
 * on 200 sessions, checked afterwards. Sends its figures to the parent over
 * IPC.
 */
import { NodeContext } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import { Agent, LanguageModel, Session, SessionStore } from "effect-agents"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { embeddedBinaries, start } from "../test/fixtures/postgresSetup.js"

const runs = 300

const quantile = (values: ReadonlyArray<number>, q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!

/** Per-run latency in ms of `runs` sequential runs (`after` each, untimed), the first 50 as warm-up. */
const latencies = async (run: (i: number) => Promise<unknown>, after?: () => Promise<unknown>) => {
  for (let i = 0; i < 50; i++) await run(i).then(after)
  const ms: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await run(i)
    ms.push(performance.now() - start)
    await after?.()
  }
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) }
}

const onStore = async (store: Layer.Layer<SessionStore.SessionStore, unknown>) => {
  const runtime = ManagedRuntime.make(
    Layer.merge(store, ScriptedModel.layer(() => ({ text: "ok" }), { record: false }))
  )
  const agent = await runtime.runPromise(Agent.make({ name: "bench", instructions: "Answer." }))
  const session = await runtime.runPromise(Effect.map(SessionStore.SessionStore, (s) => Session.make(s, "fifty")))
  await runtime.runPromise(session.clear)
  for (let turn = 0; turn < 50; turn++) {
    await runtime.runPromise(
      session.append([LanguageModel.user(`question ${turn}`), LanguageModel.assistant("answer")])
    )
  }
  const plain = await latencies((i) => runtime.runPromise(agent.run(`q ${i}`)))
  // each run's turn is undone after it, so every run reads 50 turns
  const withSession = await latencies(
    (i) => runtime.runPromise(agent.run(`q ${i}`, { session })),
    () => runtime.runPromise(session.pop)
  )
  const sessions = Array.from({ length: 200 }, (_, i) => `concurrent-${i}`)
  const started = performance.now()
  await runtime.runPromise(
    Effect.forEach(
      sessions,
      (id) => Effect.flatMap(SessionStore.SessionStore, (s) => agent.run("hello", { session: Session.make(s, id) })),
      { concurrency: "unbounded", discard: true }
    )
  )
  const concurrentMs = performance.now() - started
  const kept = await runtime.runPromise(
    Effect.forEach(sessions, (id) => Effect.flatMap(SessionStore.SessionStore, (s) => s.history(id, undefined)))
  )
  await runtime.runPromise(
    Effect.forEach(sessions, (id) => Effect.flatMap(SessionStore.SessionStore, (s) => s.clear(id)))
  )
  await runtime.dispose()
  return { plain, withSession, concurrentMs, allKept: kept.every((turns) => turns.length === 1) }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-bench-"))
const sqlite = await onStore(
  SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: path.join(dir, "bench.db") })))
)
const scope = Effect.runSync(Scope.make())
const url = process.env.DATABASE_URL ?? await Effect.runPromise(
  Effect.flatMap(embeddedBinaries, (binaries) => start(binaries)).pipe(
    Effect.map((started) => started.url),
    Effect.catchTag("PostgresUnavailable", () => Effect.succeed(undefined)),
    Scope.extend(scope),
    Effect.provide(NodeContext.layer)
  )
)
const postgres = url === undefined
  ? undefined
  : await onStore(SqlStore.layer({ prefix: "bench_" }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url) }))))
await Effect.runPromise(Scope.close(scope, Exit.void))
fs.rmSync(dir, { recursive: true, force: true })

// disconnect once the message is out, or it may be lost
process.send?.({ result: { sqlite, postgres } }, () => process.disconnect())
