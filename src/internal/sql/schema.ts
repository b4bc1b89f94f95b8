/**
 * The store's tables, created by `@effect/sql`'s migrator when the layer
 * starts, each name behind the configured prefix. Column types are the ones
 * SQLite and Postgres share, but for times in milliseconds and sizes
 * (`BIGINT` in Postgres, which its driver reads as a string: see `Int64`).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/** The names of the tables behind `prefix`. */
export interface Tables {
  readonly migrations: string
  readonly sessions: string
  readonly messages: string
  readonly holds: string
  readonly batches: string
  readonly batchItems: string
  readonly suspendedRuns: string
  readonly runLogs: string
  readonly runEvents: string
}

export const tables = (prefix: string): Tables => ({
  migrations: `${prefix}migrations`,
  sessions: `${prefix}sessions`,
  messages: `${prefix}session_messages`,
  holds: `${prefix}session_holds`,
  batches: `${prefix}batches`,
  batchItems: `${prefix}batch_items`,
  suspendedRuns: `${prefix}suspended_runs`,
  runLogs: `${prefix}run_logs`,
  runEvents: `${prefix}run_events`
})

/** A `BIGINT` (a time in milliseconds, a count, a sum) as either driver reads it: Postgres's as a string. */
export const Int64 = Schema.Union(Schema.Number, Schema.NumberFromString)

const int64Type = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })

const sessions = (t: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const int64 = int64Type(sql)
    return Effect.all([
      sql`CREATE TABLE ${sql(t.sessions)} (
        id TEXT PRIMARY KEY,
        user_id TEXT,
        next_turn INTEGER NOT NULL,
        created_at ${int64} NOT NULL,
        updated_at ${int64} NOT NULL
      )`,
      sql`CREATE INDEX ${sql(`${t.sessions}_by_user`)} ON ${sql(t.sessions)} (user_id, updated_at)`,
      sql`CREATE TABLE ${sql(t.messages)} (
        session_id TEXT NOT NULL,
        turn INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        message TEXT NOT NULL,
        PRIMARY KEY (session_id, turn, seq)
      )`,
      sql`CREATE TABLE ${sql(t.holds)} (
        session_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at ${int64} NOT NULL
      )`
    ], { discard: true })
  })

// a batch runs while `alive_until` is ahead: its server renews it; a batch's
// `size` is the length of its items' JSON, which retention counts
const batches = (t: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const int64 = int64Type(sql)
    return Effect.all([
      sql`CREATE TABLE ${sql(t.batches)} (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        total INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at ${int64} NOT NULL,
        finished_at ${int64},
        alive_until ${int64} NOT NULL,
        size ${int64} NOT NULL
      )`,
      sql`CREATE INDEX ${sql(`${t.batches}_by_status`)} ON ${sql(t.batches)} (status, finished_at)`,
      sql`CREATE TABLE ${sql(t.batchItems)} (
        batch_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (batch_id, idx)
      )`
    ], { discard: true })
  })

// a suspended run as one JSON record; `version` counts its changes, so that
// two decisions at once are both kept (each writes the version it read)
const suspendedRuns = (t: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`CREATE TABLE ${sql(t.suspendedRuns)} (
      run_id TEXT PRIMARY KEY,
      agent TEXT NOT NULL,
      record TEXT NOT NULL,
      version INTEGER NOT NULL,
      suspended_at ${int64Type(sql)} NOT NULL
    )`)

// a detached run's view as one JSON record, its status beside it for
// retention; its events one row each, by their id in the run
const runLogs = (t: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const int64 = int64Type(sql)
    return Effect.all([
      sql`CREATE TABLE ${sql(t.runLogs)} (
        run_id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        status TEXT NOT NULL,
        record TEXT NOT NULL,
        started_at ${int64} NOT NULL,
        finished_at ${int64}
      )`,
      sql`CREATE INDEX ${sql(`${t.runLogs}_by_status`)} ON ${sql(t.runLogs)} (status, finished_at)`,
      sql`CREATE TABLE ${sql(t.runEvents)} (
        run_id TEXT NOT NULL,
        id INTEGER NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, id)
      )`
    ], { discard: true })
  })

/**
 * Brings the tables up to date. Processes that start together race for the
 * migrator's lock: the one that loses tries again once the winner is done.
 */
export const migrate = (t: Tables): Effect.Effect<void, Migrator.MigrationError | SqlError, SqlClient.SqlClient> =>
  Migrator.make({})({
    loader: Migrator.fromRecord({
      "1_sessions": sessions(t),
      "2_batches": batches(t),
      "3_suspended_runs": suspendedRuns(t),
      "4_run_logs": runLogs(t)
    }),
    table: t.migrations
  }).pipe(
    Effect.retry({
      while: (error) => error._tag === "MigrationError" && (error.reason === "locked" || error.reason === "duplicates"),
      schedule: Schedule.spaced("100 millis"),
      times: 50
    }),
    Effect.asVoid
  )
