/**
 * Run logs in SQL (`SqlStore.layer`): one row per detached run, its view as
 * JSON (`AgentApi.LoggedRun`'s Schema) with its status beside it, and one
 * row per event. Finished runs beyond the retention are deleted with their
 * events, the first finished first.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { LoggedRun } from "../../http/AgentApi.js"
import * as RunLogStore from "../../http/RunLogStore.js"
import { failed } from "./failed.js"
import { Int64, type Tables } from "./schema.js"

const RecordJson = Schema.parseJson(LoggedRun)
const encodeRecord = Schema.encode(RecordJson)
const decodeRecords = Schema.decodeUnknown(Schema.Array(Schema.Struct({ record: RecordJson })))
const decodeEntries = Schema.decodeUnknown(
  Schema.Array(Schema.Struct({ id: Int64, event: Schema.String, data: Schema.String }))
)
const decodeRunning = Schema.decodeUnknown(
  Schema.Array(Schema.Struct({ run_id: Schema.String, record: RecordJson, last: Schema.NullOr(Int64) }))
)
const decodeIds = Schema.decodeUnknown(Schema.Array(Schema.Struct({ run_id: Schema.String })))

export const make = (t: Tables): Effect.Effect<RunLogStore.Service, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql): RunLogStore.Service => {
    const write = (run: LoggedRun) =>
      Effect.flatMap(
        encodeRecord(run),
        (record) =>
          sql`INSERT INTO ${sql(t.runLogs)} (run_id, agent, status, record, started_at, finished_at)
          VALUES (${run.runId}, ${run.agent}, ${run.status}, ${record}, ${run.startedAt}, ${run.finishedAt ?? null})
          ON CONFLICT (run_id) DO UPDATE SET status = ${run.status}, record = ${record},
            finished_at = ${run.finishedAt ?? null}`
      )

    const append = (runId: string, entries: ReadonlyArray<RunLogStore.Entry>) =>
      entries.length === 0 ?
        Effect.void :
        sql`INSERT INTO ${sql(t.runEvents)} ${
          sql.insert(entries.map((entry) => ({ run_id: runId, id: entry.id, event: entry.event, data: entry.data })))
        }`.pipe(Effect.asVoid)

    // the first finished runs beyond `retention`, with their events
    const evict = (retention: number) =>
      Effect.gen(function*() {
        const gone = yield* Effect.flatMap(
          sql.onDialectOrElse({
            pg: () =>
              sql`SELECT run_id FROM ${sql(t.runLogs)} WHERE status <> 'running'
                ORDER BY finished_at DESC, run_id DESC OFFSET ${retention}`,
            orElse: () =>
              sql`SELECT run_id FROM ${sql(t.runLogs)} WHERE status <> 'running'
                ORDER BY finished_at DESC, run_id DESC LIMIT -1 OFFSET ${retention}`
          }),
          decodeIds
        )
        if (gone.length === 0) return
        const ids = gone.map((row) => row.run_id)
        yield* sql`DELETE FROM ${sql(t.runEvents)} WHERE ${sql.in("run_id", ids)}`
        yield* sql`DELETE FROM ${sql(t.runLogs)} WHERE ${sql.in("run_id", ids)}`
      })

    const interruptRunning = Effect.gen(function*() {
      const running = yield* Effect.flatMap(
        sql`SELECT l.run_id AS run_id, l.record AS record,
            (SELECT MAX(e.id) FROM ${sql(t.runEvents)} e WHERE e.run_id = l.run_id) AS last
          FROM ${sql(t.runLogs)} l WHERE l.status = 'running'`,
        decodeRunning
      )
      const now = yield* Clock.currentTimeMillis
      for (const { last, record, run_id } of running) {
        const id = (last ?? 0) + 1
        yield* append(run_id, [RunLogStore.interruptedEntry(id)])
        yield* write({ ...record, status: "interrupted", events: id, finishedAt: now })
      }
    }).pipe(sql.withTransaction)

    return {
      create: (run) => write(run).pipe(failed("record a detached run")),
      append: (runId, entries) => append(runId, entries).pipe(failed("record an event of a detached run")),
      finish: (run, retention) =>
        Effect.zipRight(write(run), evict(retention)).pipe(sql.withTransaction, failed("end a detached run")),
      get: (runId) =>
        sql`SELECT record FROM ${sql(t.runLogs)} WHERE run_id = ${runId}`.pipe(
          Effect.flatMap(decodeRecords),
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.record)),
          failed("read a detached run")
        ),
      entries: (runId, after) =>
        sql`SELECT id, event, data FROM ${sql(t.runEvents)} WHERE run_id = ${runId} AND id > ${after} ORDER BY id`.pipe(
          Effect.flatMap(decodeEntries),
          failed("read the events of a detached run")
        ),
      interruptRunning: interruptRunning.pipe(failed("end the runs interrupted by a stop"))
    }
  })
