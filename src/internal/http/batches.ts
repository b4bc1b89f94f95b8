import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Agent from "../../Agent.js"
import type { AgentError, StoreFailed } from "../../AgentError.js"
import type * as AgentApi from "../../http/AgentApi.js"
import type { ServerShuttingDown } from "../../http/AgentApi.js"
import { BatchNotFound, BatchRunsElsewhere } from "../../http/AgentApi.js"
import type * as BatchStore from "../../http/BatchStore.js"
import type * as Registry from "../../http/Registry.js"
import type { Drain } from "./drain.js"
import * as Slots from "./slots.js"
import * as Wire from "./wire.js"

/** The batches of a server: started in the background, kept in its store. */
export interface Batches {
  readonly start: (
    served: Registry.Served,
    inputs: ReadonlyArray<AgentApi.Input>,
    concurrency: number
  ) => Effect.Effect<AgentApi.BatchAccepted, StoreFailed>
  /** The batch now, or once it has ended with `wait`. */
  readonly get: (id: string, wait: boolean) => Effect.Effect<AgentApi.Batch, BatchNotFound | StoreFailed>
  /** Interrupts the batch's runs and answers once they have ended. */
  readonly cancel: (id: string) => Effect.Effect<AgentApi.Batch, BatchNotFound | BatchRunsElsewhere | StoreFailed>
}

/** A batch running in this server: which of its runs are running, and whether it was cut short. */
interface Live {
  readonly running: Set<number>
  /** Done once its end is in the store. */
  readonly ended: Deferred.Deferred<void>
  /** Cancelled by `DELETE /v1/batches/{id}`. */
  cancelled: boolean
  /** A run did not end by itself: cancelled, or stopped by a shutdown. */
  cut: boolean
}

/** The limits of a server's batches. */
export interface Limits extends BatchStore.Retention {
  /** Runs in flight at once, all batches together; the others wait in line. */
  readonly maxRuns: number
}

/** Asks the store every second whether a batch running on another server has ended; the last answer. */
const untilEnded = Schedule.spaced("1 second").pipe(
  Schedule.whileInput((now: BatchStore.Stored) => now.batch.status === "running"),
  Schedule.passthrough
)

/** A stored batch as the API shows it: every run, the ones not in the store pending, running or cancelled. */
const snapshot = ({ batch, items }: BatchStore.Stored, running: ReadonlySet<number>): AgentApi.Batch => {
  const progress = { done: 0, failed: 0, pending: 0, running: 0, cancelled: 0 }
  const ended = new Map(items.map((item) => [item.index, item]))
  const unended: AgentApi.ItemStatus = batch.status === "running" ? "pending" : "cancelled"
  const results = Array.from({ length: batch.total }, (_, index): AgentApi.BatchItem => {
    const item = ended.get(index) ?? { index, status: running.has(index) ? "running" : unended }
    progress[item.status]++
    return item
  })
  return { ...batch, progress, results }
}

/** How a run ended, as the store keeps it; `undefined` when it did not end by itself (cancelled). */
const outcome = (
  index: number,
  exit: Exit.Exit<Agent.RunResult<unknown>, AgentError | ServerShuttingDown>
): AgentApi.BatchItem | undefined => {
  if (Exit.isSuccess(exit)) return { index, status: "done", result: Wire.result(exit.value) }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    return failure.value._tag === "ServerShuttingDown"
      ? undefined
      : { index, status: "failed", error: failure.value }
  }
  return Cause.isInterruptedOnly(exit.cause) ? undefined : { index, status: "failed" }
}

/**
 * Batches run in a `FiberMap` keyed by id, in the server's scope: cancelling
 * one removes its fiber (interrupting its runs, and taking those waiting out
 * of the line), and closing the scope interrupts every batch still running,
 * which ends `interrupted`. Each run waits for one of `maxRuns` slots, first
 * come first served, then runs tracked by `drain`, so a shutdown gives batch
 * runs the same grace period as requests, and starts no pending run. The
 * store keeps each batch and each run's outcome as it ends; this server
 * knows only which runs are running.
 */
export const make = (
  options: Limits & { readonly drain: Drain; readonly store: BatchStore.Service }
): Effect.Effect<Batches, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { drain, store } = options
    const retention: BatchStore.Retention = { batches: options.batches, bytes: options.bytes }
    const fibers = yield* FiberMap.make<string>()
    const slots = yield* Slots.make(options.maxRuns)
    const lives = new Map<string, Live>()

    // an outcome the store cannot keep is kept as that failure; if even that fails, it is logged
    const settle = (id: string, item: AgentApi.BatchItem) =>
      store.settle(id, item).pipe(
        Effect.catchAll((error) => store.settle(id, { index: item.index, status: "failed", error })),
        Effect.catchAll((error) => Effect.logError("AgentServer: a batch run's outcome was not stored", error))
      )

    const runItem = (served: Registry.Served, input: AgentApi.Input, index: number, id: string, live: Live) =>
      Effect.suspend(() => {
        live.running.add(index)
        return drain.track(served.runnable.run(input))
      }).pipe(
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            live.running.delete(index)
            const item = outcome(index, exit)
            if (item === undefined) {
              live.cut = true
              return Effect.void
            }
            // a run that died of a defect is failed without an error, and logged
            const died = Exit.isFailure(exit) && item.error === undefined && item.status === "failed"
              ? Effect.logError("AgentServer: a batch run died", exit.cause)
              : Effect.void
            return Effect.zipRight(died, settle(id, item))
          })
        ),
        slots.withSlot,
        Effect.exit
      )

    const end = (id: string, live: Live, exit: Exit.Exit<void>) =>
      Effect.gen(function*() {
        const status = live.cancelled ? "cancelled" : Exit.isSuccess(exit) && !live.cut ? "completed" : "interrupted"
        yield* store.finish(id, status, yield* DateTime.now, retention).pipe(
          Effect.retry(Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3)))),
          Effect.catchAll((error) => Effect.logError("AgentServer: a batch's end was not stored", error))
        )
        lives.delete(id)
        yield* Deferred.succeed(live.ended, undefined)
      })

    const start: Batches["start"] = (served, inputs, concurrency) =>
      Effect.gen(function*() {
        const id = crypto.randomUUID()
        const total = inputs.length
        yield* store.create(
          { id, agent: served.name, total, status: "running", createdAt: yield* DateTime.now },
          retention
        )
        const live: Live = { running: new Set(), ended: yield* Deferred.make<void>(), cancelled: false, cut: false }
        lives.set(id, live)
        const batch = Effect.forEach(inputs, (input, index) => runItem(served, input, index, id, live), {
          concurrency,
          discard: true
        }).pipe(Effect.onExit((exit) => end(id, live, exit)))
        yield* FiberMap.run(fibers, id, batch)
        return { id, agent: served.name, total }
      })

    const stored = (id: string) =>
      Effect.flatMap(
        store.get(id),
        Option.match({
          onNone: () => Effect.fail(new BatchNotFound({ id })),
          onSome: Effect.succeed
        })
      )

    // a batch of another server (sharing the store) is asked for until it has ended
    const ended = (id: string) =>
      Effect.suspend(() => {
        const live = lives.get(id)
        if (live !== undefined) return Effect.zipRight(Deferred.await(live.ended), stored(id))
        return Effect.repeat(stored(id), untilEnded)
      })

    const get: Batches["get"] = (id, wait) =>
      Effect.map(wait ? ended(id) : stored(id), (now) => snapshot(now, lives.get(id)?.running ?? new Set()))

    const cancel: Batches["cancel"] = (id) =>
      Effect.suspend(() => {
        const live = lives.get(id)
        if (live === undefined) {
          return Effect.filterOrFail(
            get(id, false),
            (batch) => batch.status !== "running",
            () => new BatchRunsElsewhere({ id })
          )
        }
        live.cancelled = true
        return Effect.zipRight(FiberMap.remove(fibers, id), get(id, true))
      })

    return { start, get, cancel }
  })
