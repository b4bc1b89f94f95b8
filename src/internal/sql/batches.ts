/**
 * Batches in SQL (`SqlStore.layer`): one row per batch, one per run of it
 * that ended. A running batch has a lease (`alive_until`) that the store of
 * the server running it renews; a batch whose lease ran out was left
 * running by a server that died, and reads as `interrupted` (ended when its
 * lease ran out) until retention writes it so.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { BatchStatus } from "../../http/AgentApi.js"
import type * as BatchStore from "../../http/BatchStore.js"
import { encodeItem, evictions, ItemJson } from "../http/batchStore.js"
import { failed } from "./failed.js"
import { Int64, type Tables } from "./schema.js"

/** How long a running batch lasts without renewal: a batch of a dead server is `interrupted` after this. */
const leaseMillis = 30_000

const BatchRow = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  total: Int64,
  status: BatchStatus,
  created_at: Int64,
  finished_at: Schema.NullOr(Int64),
  alive_until: Int64
})
const decodeBatchRows = Schema.decodeUnknown(Schema.Array(BatchRow))
const decodeItemRows = Schema.decodeUnknown(Schema.Array(Schema.Struct({ item: ItemJson })))
const decodeFinished = Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String, size: Int64 })))
const decodeTotals = Schema.decodeUnknown(Schema.Array(Schema.Struct({ count: Int64, bytes: Int64 })))

/** A row as a record, `interrupted` when its lease ran out. */
const record = (row: typeof BatchRow.Type, now: number): BatchStore.BatchRecord => {
  const died = row.status === "running" && row.alive_until < now
  const finishedAt = died ? row.alive_until : row.finished_at
  return {
    id: row.id,
    agent: row.agent,
    total: row.total,
    status: died ? "interrupted" : row.status,
    createdAt: DateTime.unsafeMake(row.created_at),
    ...(finishedAt === null ? {} : { finishedAt: DateTime.unsafeMake(finishedAt) })
  }
}

export const make = (t: Tables): Effect.Effect<BatchStore.Service, never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // the batches this store's server runs, whose leases it renews
    const running = new Set<string>()
    const renew = Effect.suspend(() =>
      running.size === 0 ?
        Effect.void :
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          sql`UPDATE ${sql(t.batches)} SET alive_until = ${now + leaseMillis}
          WHERE ${sql.in("id", [...running])} AND status = 'running'`)
    )
    yield* Effect.forkScoped(
      Effect.repeat(Effect.ignoreLogged(renew), Schedule.spaced(Duration.millis(leaseMillis / 3)))
    )

    // batches of dead servers end `interrupted`; then the first finished go while over the limits
    const evict = (retention: BatchStore.Retention) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* sql`UPDATE ${sql(t.batches)} SET status = 'interrupted', finished_at = alive_until
          WHERE status = 'running' AND alive_until < ${now}`
        const [totals] = yield* Effect.flatMap(
          sql`SELECT COUNT(*) AS count, COALESCE(SUM(CASE WHEN status = 'running' THEN 0 ELSE size END), 0) AS bytes
            FROM ${sql(t.batches)}`,
          decodeTotals
        )
        if (totals === undefined || (totals.count <= retention.batches && totals.bytes <= retention.bytes)) return
        const finished = yield* Effect.flatMap(
          sql`SELECT id, size FROM ${sql(t.batches)} WHERE status <> 'running' ORDER BY finished_at, id`,
          decodeFinished
        )
        const gone = evictions(finished, totals.count, retention)
        if (gone.length === 0) return
        yield* sql`DELETE FROM ${sql(t.batchItems)} WHERE ${sql.in("batch_id", gone)}`
        yield* sql`DELETE FROM ${sql(t.batches)} WHERE ${sql.in("id", gone)}`
      }).pipe(
        sql.withTransaction,
        failed("forget old batches"),
        // housekeeping: a batch is recorded, or ended, even when this fails
        Effect.catchAll((error) => Effect.logWarning("SqlStore: old batches were not forgotten", error))
      )

    const create: BatchStore.Service["create"] = (batch, retention) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* sql`INSERT INTO ${sql(t.batches)} ${
          sql.insert({
            id: batch.id,
            agent: batch.agent,
            total: batch.total,
            status: batch.status,
            created_at: DateTime.toEpochMillis(batch.createdAt),
            alive_until: now + leaseMillis,
            size: 0
          })
        }`
        running.add(batch.id)
      }).pipe(failed("record a batch"), Effect.zipLeft(evict(retention)))

    const settle: BatchStore.Service["settle"] = (id, item) =>
      Effect.flatMap(encodeItem(item), (json) =>
        Effect.all([
          sql`INSERT INTO ${sql(t.batchItems)} ${sql.insert({ batch_id: id, idx: item.index, item: json })}`,
          sql`UPDATE ${sql(t.batches)} SET size = size + ${json.length} WHERE id = ${id}`
        ], { discard: true }).pipe(sql.withTransaction, failed("record a batch run")))

    const finish: BatchStore.Service["finish"] = (id, status, finishedAt, retention) =>
      Effect.suspend(() => {
        running.delete(id)
        return sql`UPDATE ${sql(t.batches)} SET status = ${status}, finished_at = ${DateTime.toEpochMillis(finishedAt)}
          WHERE id = ${id}`
      }).pipe(failed("end a batch"), Effect.zipLeft(evict(retention)))

    const get: BatchStore.Service["get"] = (id) =>
      Effect.gen(function*() {
        const [row] = yield* Effect.flatMap(
          sql`SELECT id, agent, total, status, created_at, finished_at, alive_until FROM ${sql(t.batches)}
            WHERE id = ${id}`,
          decodeBatchRows
        )
        if (row === undefined) return Option.none()
        const items = yield* Effect.flatMap(
          sql`SELECT item FROM ${sql(t.batchItems)} WHERE batch_id = ${id} ORDER BY idx`,
          decodeItemRows
        )
        const now = yield* Clock.currentTimeMillis
        return Option.some({ batch: record(row, now), items: items.map((row) => row.item) })
      }).pipe(failed("read a batch"))

    return { create, settle, finish, get }
  })
