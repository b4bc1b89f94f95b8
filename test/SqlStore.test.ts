import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LanguageModel, Session, SessionStore } from "effect-agents"
import { SqlStore } from "effect-agents/sql"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { sessionSuite, twoProcesses } from "./fixtures/sessionSuite.js"

const sqlite = (filename: string, options?: SqlStore.Options) =>
  SqlStore.layer(options).pipe(Layer.provideMerge(SqliteClient.layer({ filename })))

sessionSuite("SQLite", () => sqlite(":memory:"))

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
        ["bot_migrations", "bot_session_holds", "bot_session_messages", "bot_sessions"]
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
})
