/**
 * Where an agent server keeps its background batches: each batch, and how
 * each of its runs ended. In memory unless the server is given a store
 * (`BatchStore.layerMemory` is what it makes itself); in SQLite or Postgres
 * with `SqlStore.layer` (`effect-agents/sql`), where batches outlive the
 * server: after a restart, a batch that was running is `interrupted`, with
 * the results of the runs that had ended.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { AgentServer } from "effect-agents/http"
 * import { SqlStore } from "effect-agents/sql"
 *
 * // sessions and batches in one SQLite file
 * const ServerLive = AgentServer.layer({ port: 8080 }).pipe(
 *   Layer.provide(SqlStore.layer()),
 *   Layer.provide(SqliteClient.layer({ filename: "agents.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { StoreFailed } from "../AgentError.js"
import { encodeItem, evictions } from "../internal/http/batchStore.js"
import * as AgentApi from "./AgentApi.js"

/**
 * A batch as a store keeps it, without its runs.
 *
 * @since 0.1.0
 * @category models
 */
export const BatchRecord = Schema.Struct({
  id: Schema.String,
  agent: Schema.String,
  total: Schema.Number,
  status: AgentApi.BatchStatus,
  createdAt: Schema.DateTimeUtc,
  finishedAt: Schema.optional(Schema.DateTimeUtc)
}).annotations({ identifier: "BatchRecord" })

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchRecord extends Schema.Schema.Type<typeof BatchRecord> {}

/**
 * A batch and the runs of it that have ended (`done` or `failed`), in input
 * order; a run missing is still to end, or was cancelled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stored {
  readonly batch: BatchRecord
  readonly items: ReadonlyArray<AgentApi.BatchItem>
}

/**
 * How many finished batches a store keeps: while there are more than
 * `batches` (running ones counted, never evicted), or the results of the
 * finished ones are over `bytes` (as JSON, in characters), the one that
 * finished first is forgotten.
 *
 * @since 0.1.0
 * @category models
 */
export interface Retention {
  readonly batches: number
  readonly bytes: number
}

/**
 * What a store of batches does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Records a new batch, `running` in this process, then forgets what is beyond `retention`. */
  readonly create: (batch: BatchRecord, retention: Retention) => Effect.Effect<void, StoreFailed>
  /** Records how one run of a batch ended. */
  readonly settle: (id: string, item: AgentApi.BatchItem) => Effect.Effect<void, StoreFailed>
  /** Records the end of a batch, then forgets what is beyond `retention`. */
  readonly finish: (
    id: string,
    status: Exclude<AgentApi.BatchStatus, "running">,
    finishedAt: DateTime.Utc,
    retention: Retention
  ) => Effect.Effect<void, StoreFailed>
  /** A batch and its ended runs; one left `running` by a process that died is `interrupted`. */
  readonly get: (id: string) => Effect.Effect<Option.Option<Stored>, StoreFailed>
}

/**
 * The store of batches.
 *
 * @since 0.1.0
 * @category tags
 */
export class BatchStore extends Context.Tag("effect-agents/BatchStore")<BatchStore, Service>() {}

/**
 * A store of batches in memory, gone with the process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.sync(() => {
  interface Entry {
    batch: BatchRecord
    readonly items: Map<number, AgentApi.BatchItem>
    size: number
  }
  const entries = new Map<string, Entry>()
  // the finished batches, in the order they finished
  const finished = new Set<Entry>()
  const stored = (entry: Entry): Stored => ({
    batch: entry.batch,
    items: [...entry.items.values()].sort((a, b) => a.index - b.index)
  })
  const evict = (retention: Retention) => {
    const oldestFirst = Array.from(finished, (done) => ({ id: done.batch.id, size: done.size }))
    for (const evicted of evictions(oldestFirst, entries.size, retention)) {
      finished.delete(entries.get(evicted)!)
      entries.delete(evicted)
    }
  }
  return {
    create: (batch, retention) =>
      Effect.sync(() => {
        entries.set(batch.id, { batch, items: new Map(), size: 0 })
        evict(retention)
      }),
    settle: (id, item) =>
      Effect.map(encodeItem(item), (json) => {
        const entry = entries.get(id)
        if (entry === undefined) return
        entry.items.set(item.index, item)
        entry.size += json.length
      }),
    finish: (id, status, finishedAt, retention) =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return
        entry.batch = { ...entry.batch, status, finishedAt }
        finished.add(entry)
        evict(retention)
      }),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(entries.get(id)), stored))
  }
})

/**
 * Batches in memory: what a server keeps when it is given no store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BatchStore> = Layer.effect(BatchStore, makeMemory)
