import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option, TestClock } from "effect"
import { AgentError, LanguageModel, Session, SessionStore } from "effect-agents"
import { type AgentApi, BatchStore } from "effect-agents/http"
import { SqlStore } from "effect-agents/sql"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { approvalSuite, threeProcesses } from "./fixtures/approvalSuite.js"
import { batchSuite } from "./fixtures/batchSuite.js"
import { runLogSuite } from "./fixtures/runLogSuite.js"
import { sessionSuite, twoProcesses } from "./fixtures/sessionSuite.js"

const sqlite = (filename: string, options?: SqlStore.Options) =>
  SqlStore.layer(options).pipe(Layer.provideMerge(SqliteClient.layer({ filename })))

sessionSuite("SQLite", () => sqlite(":memory:"))
batchSuite("SQLite", () => sqlite(":memory:"))
runLogSuite("SQLite", () => sqlite(":memory:"))
approvalSuite("SQLite", () => sqlite(":memory:"))

describe("SqlStore on a SQLite file", () => {
  const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-")), "agents.db")

  it.effect("creates its tables behind the prefix once, beside a user's own, and keeps turns across restarts", () =>
    Effect.gen(function*() {
      const filename = file()
      const turn = [LanguageModel.user("hi"), LanguageModel.assistant("hello")]
      yield* Effect.flatMap(SessionStore.SessionStore, (store) => store.append("s", "ada", turn)).pipe(
        Effect.provide(sqlite(filename, { prefix: "bot_" }))
      )
      // a second start migrates nothing and reads what the first wrote
      const tables = yield* Effect.gen(function*() {
        expect(yield* Session.make(yield* SessionStore.SessionStore, "s").messages).toEqual(turn)
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
      }).pipe(Effect.provide(sqlite(filename, { prefix: "bot_" })))
      expect(tables.map((table) => table.name)).toEqual(
        [
          "bot_batch_items",
          "bot_batches",
          "bot_migrations",
          "bot_run_events",
          "bot_run_logs",
          "bot_session_holds",
          "bot_session_messages",
          "bot_sessions",
          "bot_suspended_runs"
        ]
      )
    }))

  it.effect("a stored message that no longer decodes is a typed StoreFailed, not a defect", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      yield* store.append("s", undefined, [LanguageModel.user("hi")])
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE agents_session_messages SET message = '{"role":"robot"}'`
      const error = yield* Effect.flip(store.history("s", undefined))
      expect(error._tag).toBe("StoreFailed")
      expect(error.message).toContain("read a session's history")
    }).pipe(Effect.provide(sqlite(":memory:"))))

  it.live(
    "two processes on one file: their runs take turns, each reads every turn before it, none is lost",
    () =>
      Effect.gen(function*() {
        const filename = file()
        // the tables exist before the processes race
        yield* Effect.provide(SessionStore.SessionStore, sqlite(filename))
        yield* twoProcesses(`sqlite:${filename}`, sqlite(filename))
      }),
    60_000
  )

  it.effect("a batch left running by a store that stopped is interrupted once its lease runs out; a live one's is not", () =>
    Effect.gen(function*() {
      const filename = file()
      const retention = { batches: 100, bytes: Infinity }
      const createdAt = yield* DateTime.now
      const done: AgentApi.BatchItem = {
        index: 0,
        status: "failed",
        error: new AgentError.InvalidRequest({ message: "no" })
      }
      // the first server records a batch and one run's end, then dies without ending it
      yield* Effect.gen(function*() {
        const store = yield* BatchStore.BatchStore
        yield* store.create({ id: "orphan", agent: "echo", total: 2, status: "running", createdAt }, retention)
        yield* store.settle("orphan", done)
      }).pipe(Effect.provide(sqlite(filename)))

      yield* Effect.gen(function*() {
        const store = yield* BatchStore.BatchStore
        yield* store.create({ id: "live", agent: "echo", total: 1, status: "running", createdAt }, retention)
        const status = (id: string) => Effect.map(store.get(id), (stored) => Option.getOrThrow(stored).batch.status)
        expect(yield* status("orphan")).toBe("running")
        yield* TestClock.adjust("31 seconds")
        const orphan = Option.getOrThrow(yield* store.get("orphan"))
        expect(orphan.batch).toEqual({
          id: "orphan",
          agent: "echo",
          total: 2,
          status: "interrupted",
          createdAt,
          finishedAt: DateTime.add(createdAt, { seconds: 30 })
        })
        expect(orphan.items).toEqual([done])
        // this store renews the lease of the batch it runs
        yield* TestClock.adjust("5 minutes")
        expect(yield* status("live")).toBe("running")
        // retention writes the orphan's end
        yield* store.finish("live", "completed", yield* DateTime.now, retention)
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ id: string; status: string }>`SELECT id, status FROM agents_batches ORDER BY id`
        expect(rows).toEqual([{ id: "live", status: "completed" }, { id: "orphan", status: "interrupted" }])
      }).pipe(Effect.provide(sqlite(filename)))
    }))

  it.live(
    "a run suspends in one process, is approved in a second and finishes in a third",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-"))
        const filename = path.join(dir, "agents.db")
        yield* Effect.provide(SessionStore.SessionStore, sqlite(filename))
        yield* threeProcesses(`sqlite:${filename}`, path.join(dir, "sent.txt"))
      }),
    60_000
  )
})
