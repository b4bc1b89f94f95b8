import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Deferred, Effect, Exit } from "effect"
import * as PgTest from "./fixtures/postgres.js"

// The Postgres of test/fixtures/postgres.ts, end to end through @effect/sql-pg
// (test/postgresSetup.test.ts: how its start fails).

const count = (table: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`
    return rows[0]?.n
  })

PgTest.describe("PgTest.describe", (it) => {
  it.effect("creates a table, inserts and selects in a transaction, which a failure rolls back", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)`
      const rows = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO notes ${sql.insert([{ body: "one" }, { body: "two" }])}`
        return yield* sql<{ readonly body: string }>`SELECT body FROM notes ORDER BY id`
      }))
      expect(rows).toEqual([{ body: "one" }, { body: "two" }])
      const failed = yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO notes ${sql.insert({ body: "three" })}`
        return yield* Effect.fail("changed my mind")
      })).pipe(Effect.exit)
      expect(failed).toEqual(Exit.fail("changed my mind"))
      expect(yield* count("notes")).toBe(2)
    }))

  it.effect("runs two transactions at once: neither sees the other's rows before it commits", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE events (id serial PRIMARY KEY)`
      const inserted = yield* Deferred.make<void>()
      const looked = yield* Deferred.make<number | undefined>()
      const writer = sql.withTransaction(Effect.gen(function*() {
        yield* sql`INSERT INTO events DEFAULT VALUES`
        yield* Deferred.succeed(inserted, undefined)
        yield* Deferred.await(looked)
      }))
      const reader = sql.withTransaction(Effect.gen(function*() {
        yield* Deferred.await(inserted)
        yield* Deferred.succeed(looked, yield* count("events"))
      }))
      yield* Effect.all([writer, reader], { concurrency: 2 })
      expect(yield* Deferred.await(looked)).toBe(0)
      expect(yield* count("events")).toBe(1)
    }))

  it.scoped("holds one session for a scope: a reserved connection", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const connection = yield* sql.reserve
      const pid = connection.executeRaw("SELECT pg_backend_pid() AS pid", [])
      expect(yield* pid).toEqual(yield* pid)
      const rows = yield* sql<{ readonly database: string }>`SELECT current_database() AS database`
      expect(rows[0]?.database).toMatch(/^test_[0-9a-f]{32}$/)
    }))
})

PgTest.describe("PgTest.describe, again", (it) => {
  it.effect("has a database of its own: the other block's table is not there", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ readonly name: string | null }>`SELECT to_regclass('notes')::text AS name`
      expect(rows).toEqual([{ name: null }])
    }))

  it.effect("gives a layer of its own to a test that provides PgTest.layer", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ readonly database: string }>`SELECT current_database() AS database`
      return rows[0]?.database
    }).pipe(
      Effect.provide(PgTest.layer),
      Effect.flatMap((inner) =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ readonly database: string }>`SELECT current_database() AS database`
          expect(inner).toMatch(/^test_/)
          expect(inner).not.toBe(rows[0]?.database)
          const left = yield* sql<
            { readonly n: number }
          >`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${inner}`
          expect(left).toEqual([{ n: 0 }])
        })
      )
    ))
})
