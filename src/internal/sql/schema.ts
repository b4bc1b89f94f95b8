/**
 * The store's tables, created by `@effect/sql`'s migrator when the layer
 * starts, each name behind the configured prefix. Column types are the ones
 * SQLite and Postgres share, but for times in milliseconds (`BIGINT` in
 * Postgres, which its driver reads as a string: see `Millis`).
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
}

export const tables = (prefix: string): Tables => ({
  migrations: `${prefix}migrations`,
  sessions: `${prefix}sessions`,
  messages: `${prefix}session_messages`,
  holds: `${prefix}session_holds`
})

/** A time in milliseconds as either driver reads it. */
export const Millis = Schema.Union(Schema.Number, Schema.NumberFromString)

const sessions = (t: Tables) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const millis = sql.onDialectOrElse({ pg: () => sql.literal("BIGINT"), orElse: () => sql.literal("INTEGER") })
    return Effect.all([
      sql`CREATE TABLE ${sql(t.sessions)} (
        id TEXT PRIMARY KEY,
        user_id TEXT,
        next_turn INTEGER NOT NULL,
        created_at ${millis} NOT NULL,
        updated_at ${millis} NOT NULL
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
        expires_at ${millis} NOT NULL
      )`
    ], { discard: true })
  })

/**
 * Brings the tables up to date. Processes that start together race for the
 * migrator's lock: the one that loses tries again once the winner is done.
 */
export const migrate = (t: Tables): Effect.Effect<void, Migrator.MigrationError | SqlError, SqlClient.SqlClient> =>
  Migrator.make({})({
    loader: Migrator.fromRecord({ "1_sessions": sessions(t) }),
    table: t.migrations
  }).pipe(
    Effect.retry({
      while: (error) => error._tag === "MigrationError" && (error.reason === "locked" || error.reason === "duplicates"),
      schedule: Schedule.spaced("100 millis"),
      times: 50
    }),
    Effect.asVoid
  )
