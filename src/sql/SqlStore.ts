/**
 * The library's store on `@effect/sql`: SQLite by default
 * (`@effect/sql-sqlite-node`), Postgres for several processes or machines
 * (`@effect/sql-pg`). It keeps sessions (`SessionStore`), runs suspended
 * for approval (`RunStore`), an agent server's batches (`BatchStore`) and
 * the event logs of its detached runs (`RunLogStore`). Bring the client layer; the store runs its
 * migrations when the layer starts, in tables behind a prefix (`agents_` by
 * default) so they live beside your own.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { type Agent, Session } from "effect-agents"
 * import { SqlStore } from "effect-agents/sql"
 *
 * declare const agent: Agent.Agent
 *
 * const Store = SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: "agents.db" })))
 *
 * const program = Effect.gen(function*() {
 *   const session = yield* Session.open("chat-1")
 *   return yield* agent.run("Hello again", { session })
 * }).pipe(Effect.provide(Store))
 * ```
 *
 * @since 0.1.0
 */
import type { MigrationError } from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as BatchStore from "../http/BatchStore.js"
import * as RunLogStore from "../http/RunLogStore.js"
import * as Batches from "../internal/sql/batches.js"
import * as RunLogs from "../internal/sql/runLogs.js"
import * as Runs from "../internal/sql/runs.js"
import * as Schema from "../internal/sql/schema.js"
import * as Sessions from "../internal/sql/sessions.js"
import * as RunStore from "../RunStore.js"
import * as SessionStore from "../SessionStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** What the store's table names start with. Default: `"agents_"`. */
  readonly prefix?: string | undefined
}

/**
 * The store of sessions, suspended runs, batches and run logs on the `SqlClient` given, its tables
 * migrated first.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  SessionStore.SessionStore | BatchStore.BatchStore | RunStore.RunStore | RunLogStore.RunLogStore,
  MigrationError | SqlError,
  SqlClient.SqlClient
> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const tables = Schema.tables(options.prefix ?? "agents_")
      yield* Schema.migrate(tables)
      return Context.make(SessionStore.SessionStore, yield* Sessions.make(tables)).pipe(
        Context.add(BatchStore.BatchStore, yield* Batches.make(tables)),
        Context.add(RunStore.RunStore, yield* Runs.make(tables)),
        Context.add(RunLogStore.RunLogStore, yield* RunLogs.make(tables))
      )
    })
  )
