/**
 * Suspended runs in SQL (`SqlStore.layer`): one row per run, its record as
 * JSON (`RunStore.SuspendedRun`'s Schema). A change reads the row's
 * `version` and writes only if no one wrote since, else reads again: two
 * processes deciding at once both count. Taking a run is one `DELETE …
 * RETURNING`: of two takers, one gets it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { RunNotFound } from "../../AgentError.js"
import * as RunStore from "../../RunStore.js"
import { failed } from "./failed.js"
import { Int64, type Tables } from "./schema.js"

const RecordJson = Schema.parseJson(RunStore.SuspendedRun)
const encodeRecord = Schema.encode(RecordJson)
const decodeRows = Schema.decodeUnknown(Schema.Array(Schema.Struct({ record: RecordJson, version: Int64 })))

/** Someone else changed the run between our read and our write. */
class Raced extends Data.TaggedError("Raced") {}

export const make = (t: Tables): Effect.Effect<RunStore.Service, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql): RunStore.Service => {
    const read = (runId: string) =>
      Effect.map(
        Effect.flatMap(sql`SELECT record, version FROM ${sql(t.suspendedRuns)} WHERE run_id = ${runId}`, decodeRows),
        (rows) => Option.fromNullable(rows[0])
      )

    const save: RunStore.Service["save"] = (run) =>
      Effect.flatMap(
        encodeRecord(run),
        (record) =>
          sql`INSERT INTO ${sql(t.suspendedRuns)} (run_id, agent, record, version, suspended_at)
          VALUES (${run.runId}, ${run.agent}, ${record}, 1, ${run.suspendedAt})
          ON CONFLICT (run_id) DO UPDATE SET agent = ${run.agent}, record = ${record},
            version = ${sql(t.suspendedRuns)}.version + 1, suspended_at = ${run.suspendedAt}`
      ).pipe(
        failed("keep a suspended run")
      )

    const modify: RunStore.Service["modify"] = <E>(
      runId: string,
      f: (run: RunStore.SuspendedRun) => Either.Either<RunStore.SuspendedRun, E>
    ) =>
      Effect.gen(function*() {
        const row = yield* read(runId).pipe(failed("read a suspended run"))
        if (Option.isNone(row)) return yield* new RunNotFound({ runId })
        const changed = f(row.value.record)
        if (Either.isLeft(changed)) return yield* Effect.fail(changed.left)
        const record = yield* encodeRecord(changed.right).pipe(failed("change a suspended run"))
        const written = yield* sql`UPDATE ${sql(t.suspendedRuns)} SET record = ${record}, version = version + 1
          WHERE run_id = ${runId} AND version = ${row.value.version} RETURNING run_id`.pipe(
          failed("change a suspended run")
        )
        if (written.length === 0) return yield* new Raced()
        return changed.right
      }).pipe(
        Effect.retry({ while: (error) => error instanceof Raced, schedule: Schedule.recurs(20) }),
        // twenty writers in a row got there first: the store is too busy to say
        Effect.catchIf(
          (error): error is Raced => error instanceof Raced,
          () => failed("change a suspended run")(Effect.fail(new Error("too many changes at once")))
        )
      )

    const take: RunStore.Service["take"] = (runId) =>
      sql`DELETE FROM ${sql(t.suspendedRuns)} WHERE run_id = ${runId} RETURNING record, version`.pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.record)),
        failed("take a suspended run")
      )

    return {
      save,
      get: (runId) => Effect.map(read(runId), Option.map((row) => row.record)).pipe(failed("read a suspended run")),
      modify,
      take
    }
  })
