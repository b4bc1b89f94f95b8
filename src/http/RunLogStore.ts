/**
 * Where an agent server keeps the event logs of its detached runs: each
 * run as `GET /v1/runs/{id}` shows it, and its events with their ids. In
 * memory unless the server is given a store; in SQLite or Postgres with
 * `SqlStore.layer` (`effect-agents/sql`), where the logs outlive the server:
 * after a restart, a finished run's events are replayed as they were, and a
 * run that was in flight is `interrupted`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { AgentServer } from "effect-agents/http"
 * import { SqlStore } from "effect-agents/sql"
 *
 * // sessions, batches and run logs in one SQLite file
 * const ServerLive = AgentServer.layer({ port: 8080 }).pipe(
 *   Layer.provide(SqlStore.layer()),
 *   Layer.provide(SqliteClient.layer({ filename: "agents.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { StoreFailed } from "../AgentError.js"
import type * as AgentApi from "./AgentApi.js"

/**
 * One logged event: its id (1, 2, … in its run), its Server-Sent Event name
 * (the event's tag, or `error`) and its data as JSON text.
 *
 * @since 0.1.0
 * @category models
 */
export const Entry = Schema.Struct({
  id: Schema.Number,
  event: Schema.String,
  data: Schema.String
}).annotations({ identifier: "RunLogEntry" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry extends Schema.Schema.Type<typeof Entry> {}

/**
 * A store of run logs. `retention` is how many finished runs it keeps: past
 * it, the first finished is forgotten with its events.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RunLogStore } from "effect-agents/http"
 *
 * const replay = Effect.flatMap(RunLogStore.RunLogStore, (store) => store.entries("r1", 0))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Keeps a run that starts. */
  readonly create: (run: AgentApi.LoggedRun) => Effect.Effect<void, StoreFailed>
  /** Appends events to a run's log, in order. */
  readonly append: (runId: string, entries: ReadonlyArray<Entry>) => Effect.Effect<void, StoreFailed>
  /** Keeps how a run ended, then forgets the first finished runs beyond `retention`. */
  readonly finish: (run: AgentApi.LoggedRun, retention: number) => Effect.Effect<void, StoreFailed>
  readonly get: (runId: string) => Effect.Effect<Option.Option<AgentApi.LoggedRun>, StoreFailed>
  /** A run's events after `after` (0: all of them), in order. */
  readonly entries: (runId: string, after: number) => Effect.Effect<ReadonlyArray<Entry>, StoreFailed>
  /**
   * Ends every run still `running` as `interrupted`, with a last
   * `ServerShuttingDown` error event: what a server starting on the store
   * does, as none of them runs any more.
   */
  readonly interruptRunning: Effect.Effect<void, StoreFailed>
}

/**
 * The run logs of an agent server, when it is given some (else it keeps
 * them in memory).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentServer, RunLogStore } from "effect-agents/http"
 *
 * const ServerLive = AgentServer.layer().pipe(Layer.provide(RunLogStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class RunLogStore extends Context.Tag("effect-agents/http/RunLogStore")<RunLogStore, Service>() {}

/**
 * The error event that ends the log of a run interrupted by its server's stop.
 *
 * @since 0.1.0
 * @category models
 */
export const interruptedEntry = (id: number): Entry => ({
  id,
  event: "error",
  data: JSON.stringify({ _tag: "ServerShuttingDown" })
})

/**
 * A store in memory: what a server makes itself when it is given none.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RunLogStore } from "effect-agents/http"
 *
 * const store = Effect.runSync(RunLogStore.makeMemory)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  const runs = new Map<string, { run: AgentApi.LoggedRun; entries: Array<Entry> }>()
  const finished: Array<string> = []
  return {
    create: (run) => Effect.sync(() => void runs.set(run.runId, { run, entries: [] })),
    append: (runId, entries) => Effect.sync(() => void runs.get(runId)?.entries.push(...entries)),
    finish: (run, retention) =>
      Effect.sync(() => {
        const kept = runs.get(run.runId)
        if (kept === undefined) return
        kept.run = run
        finished.push(run.runId)
        while (finished.length > retention) runs.delete(finished.shift()!)
      }),
    get: (runId) => Effect.sync(() => Option.map(Option.fromNullable(runs.get(runId)), (kept) => kept.run)),
    entries: (runId, after) => Effect.sync(() => runs.get(runId)?.entries.filter((entry) => entry.id > after) ?? []),
    interruptRunning: Effect.void
  }
})

/**
 * The in-memory store as a layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentServer, RunLogStore } from "effect-agents/http"
 *
 * const ServerLive = AgentServer.layer().pipe(Layer.provide(RunLogStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RunLogStore> = Layer.effect(RunLogStore, makeMemory)
