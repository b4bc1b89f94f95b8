/**
 * Sessions in SQL (`SqlStore.layer`): one row per session, one per message
 * (numbered by turn and by place in the turn), and one per session held by a
 * run: a lease that its holder renews while it runs and that expires if the
 * holder's process dies, so a crash never leaves a session busy for good.
 * Every write that reads first is one statement (an upsert, a delete that
 * returns), so two processes on one SQLite file or one Postgres interleave
 * safely.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { SessionBusy, type StoreFailed } from "../../AgentError.js"
import * as LanguageModel from "../../LanguageModel.js"
import type * as SessionStore from "../../SessionStore.js"
import { failed } from "./failed.js"
import { Int64, type Tables } from "./schema.js"

/** How long a hold lasts without renewal: a crashed holder frees its session after this. */
const leaseMillis = 30_000

const MessageJson = Schema.parseJson(LanguageModel.Message)
const encodeMessage = Schema.encode(MessageJson)
const Row = Schema.Struct({ turn: Schema.Number, seq: Schema.Number, message: MessageJson })
const decodeRows = Schema.decodeUnknown(Schema.Array(Row))
const Info = Schema.Struct({
  id: Schema.String,
  user_id: Schema.NullOr(Schema.String),
  turns: Int64,
  updated_at: Int64
})
const decodeInfos = Schema.decodeUnknown(Schema.Array(Info))

/** Rows of one session, newest first, as turns oldest first. */
const toTurns = (rows: ReadonlyArray<typeof Row.Type>) => {
  const turns: Array<Array<LanguageModel.Message>> = []
  let current: number | undefined
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!
    if (row.turn !== current) {
      turns.push([])
      current = row.turn
    }
    turns[turns.length - 1]!.push(row.message)
  }
  return turns
}

export const make = (t: Tables): Effect.Effect<SessionStore.Service, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql): SessionStore.Service => {
    const select = (session: string, limit: number | undefined) =>
      Effect.flatMap(
        limit === undefined
          ? sql`SELECT turn, seq, message FROM ${sql(t.messages)} WHERE session_id = ${session}
              ORDER BY turn DESC, seq DESC`
          : sql`SELECT turn, seq, message FROM ${sql(t.messages)} WHERE session_id = ${session}
              ORDER BY turn DESC, seq DESC LIMIT ${limit}`,
        decodeRows
      )
    const wholeTurn = (session: string, turn: number) =>
      Effect.flatMap(
        sql`SELECT turn, seq, message FROM ${sql(t.messages)} WHERE session_id = ${session} AND turn = ${turn}
          ORDER BY seq DESC`,
        decodeRows
      )

    // the last `limit` messages, less the oldest turn if it is cut (the last turn always, whole)
    const history = (session: string, lastMessages: number | undefined) =>
      Effect.flatMap(select(session, lastMessages), (rows) => {
        const oldest = rows.at(-1)
        if (lastMessages === undefined || oldest === undefined || oldest.seq === 0) return Effect.succeed(toTurns(rows))
        const whole = rows.filter((row) => row.turn !== oldest.turn)
        return whole.length > 0 ? Effect.succeed(toTurns(whole)) : Effect.map(wholeTurn(session, oldest.turn), toTurns)
      }).pipe(failed("read a session's history"))

    const append = (session: string, userId: string | undefined, turn: ReadonlyArray<LanguageModel.Message>) =>
      turn.length === 0 ? Effect.void : Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const messages = yield* Effect.forEach(turn, (message) => encodeMessage(message))
        // the upsert takes the write lock first, and numbers the turn
        const [numbered] = yield* sql<{ readonly turn: number }>`
          INSERT INTO ${sql(t.sessions)} (id, user_id, next_turn, created_at, updated_at)
          VALUES (${session}, ${userId ?? null}, 1, ${now}, ${now})
          ON CONFLICT (id) DO UPDATE SET next_turn = ${sql(t.sessions)}.next_turn + 1, updated_at = ${now}
          RETURNING next_turn - 1 AS turn`
        const rows = messages.map((message, seq) => ({ session_id: session, turn: numbered!.turn, seq, message }))
        yield* sql`INSERT INTO ${sql(t.messages)} ${sql.insert(rows)}`
      }).pipe(sql.withTransaction, failed("append a turn"))

    const pop = (session: string) =>
      sql`DELETE FROM ${sql(t.messages)} WHERE session_id = ${session}
        AND turn = (SELECT MAX(turn) FROM ${sql(t.messages)} WHERE session_id = ${session})
        RETURNING turn, seq, message`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => [...rows].sort((a, b) => a.seq - b.seq).map((row) => row.message)),
        failed("undo a turn")
      )

    const clear = (session: string) =>
      Effect.all([
        sql`DELETE FROM ${sql(t.messages)} WHERE session_id = ${session}`,
        sql`DELETE FROM ${sql(t.sessions)} WHERE id = ${session}`
      ], { discard: true }).pipe(sql.withTransaction, failed("clear a session"))

    const list = (userId: string) =>
      sql`SELECT s.id, s.user_id, s.updated_at,
          (SELECT COUNT(DISTINCT turn) FROM ${sql(t.messages)} m WHERE m.session_id = s.id) AS turns
        FROM ${sql(t.sessions)} s WHERE s.user_id = ${userId} ORDER BY s.updated_at DESC`.pipe(
        Effect.flatMap(decodeInfos),
        Effect.map((rows) =>
          rows.map((row): SessionStore.SessionInfo => ({
            id: row.id,
            userId: row.user_id ?? undefined,
            turns: row.turns,
            updatedAt: row.updated_at
          }))
        ),
        failed("list sessions")
      )

    return { history, append, pop, clear, list, hold: (session, waitFor) => hold(sql, t, session, waitFor) }
  })

/**
 * Holds `session` for the scope: takes its lease (or waits, polling, for it
 * to be freed or to expire, `waitFor` at most), renews it while the scope is
 * open, and gives it back when the scope closes.
 */
const hold = (
  sql: SqlClient.SqlClient,
  t: Tables,
  session: string,
  waitFor: Duration.Duration
): Effect.Effect<void, SessionBusy | StoreFailed, Scope.Scope> => {
  const holder = crypto.randomUUID()
  // no row back: another holder's lease has not expired
  const take = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const expires = now + leaseMillis
    return sql`INSERT INTO ${sql(t.holds)} (session_id, holder, expires_at) VALUES (${session}, ${holder}, ${expires})
      ON CONFLICT (session_id) DO UPDATE SET holder = ${holder}, expires_at = ${expires}
      WHERE ${sql(t.holds)}.expires_at < ${now}
      RETURNING holder`.pipe(failed("hold a session"), Effect.map((rows) => rows.length === 1))
  })
  const renew = Effect.flatMap(
    Clock.currentTimeMillis,
    (now) =>
      sql`UPDATE ${sql(t.holds)} SET expires_at = ${now + leaseMillis}
      WHERE session_id = ${session} AND holder = ${holder}`
  )
  const release = sql`DELETE FROM ${sql(t.holds)} WHERE session_id = ${session} AND holder = ${holder}`
  const polled = Effect.repeat(take, { schedule: Schedule.spaced("100 millis"), until: (held) => held })
  return Effect.timeoutFail(polled, { duration: waitFor, onTimeout: () => new SessionBusy({ session, waitFor }) }).pipe(
    // a lease taken as the wait timed out is given back
    Effect.tapErrorTag("SessionBusy", () => Effect.ignoreLogged(release)),
    Effect.zipRight(Effect.addFinalizer(() => Effect.ignoreLogged(release))),
    Effect.zipRight(
      Effect.forkScoped(Effect.repeat(Effect.ignoreLogged(renew), Schedule.spaced(Duration.millis(leaseMillis / 3))))
    ),
    Effect.asVoid
  )
}
