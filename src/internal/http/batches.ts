import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Agent from "../../Agent.js"
import type { AgentError } from "../../AgentError.js"
import type * as AgentApi from "../../http/AgentApi.js"
import type { ServerShuttingDown } from "../../http/AgentApi.js"
import { BatchNotFound } from "../../http/AgentApi.js"
import type * as Registry from "../../http/Registry.js"
import type { Drain } from "./drain.js"
import * as Slots from "./slots.js"
import * as Wire from "./wire.js"

/** The batches of a server: started in the background, kept in memory. */
export interface Batches {
  readonly start: (
    served: Registry.Served,
    inputs: ReadonlyArray<AgentApi.Input>,
    concurrency: number
  ) => Effect.Effect<AgentApi.BatchAccepted>
  /** The batch now, or once it has ended with `wait`. */
  readonly get: (id: string, wait: boolean) => Effect.Effect<AgentApi.Batch, BatchNotFound>
  /** Interrupts the batch's runs and answers once they have ended. */
  readonly cancel: (id: string) => Effect.Effect<AgentApi.Batch, BatchNotFound>
}

interface Item {
  status: AgentApi.ItemStatus
  result?: AgentApi.RunResult
  error?: AgentError
}

interface State {
  readonly id: string
  readonly agent: string
  readonly createdAt: DateTime.Utc
  readonly items: ReadonlyArray<Item>
  /** Done when the batch has ended. */
  readonly ended: Deferred.Deferred<void>
  status: AgentApi.Batch["status"]
  finishedAt?: DateTime.Utc
  /** The size of its results and errors so far, as JSON (its characters). */
  size: number
}

/** The size of a result or an error as JSON; what does not encode goes out as nothing. */
const sizeOf = (value: unknown): number =>
  Either.getOrElse(Either.try(() => JSON.stringify(value)?.length ?? 0), () => 0)

const snapshot = (state: State): AgentApi.Batch => {
  const progress = { done: 0, failed: 0, pending: 0, running: 0, cancelled: 0 }
  for (const item of state.items) progress[item.status]++
  return {
    id: state.id,
    agent: state.agent,
    status: state.status,
    total: state.items.length,
    progress,
    results: state.items.map((item, index): AgentApi.BatchItem => ({ index, ...item })),
    createdAt: state.createdAt,
    ...(state.finishedAt === undefined ? {} : { finishedAt: state.finishedAt })
  }
}

/** The limits of a server's batches. */
export interface Limits {
  /** Runs in flight at once, all batches together; the others wait in line. */
  readonly maxRuns: number
  /** Batches kept, running ones included (they are never evicted). */
  readonly retention: number
  /** The size of the results and errors of the finished batches kept, as JSON (its characters). */
  readonly retentionBytes: number
}

/**
 * Batches run in a `FiberMap` keyed by id, in the server's scope: cancelling
 * one removes its fiber (interrupting its runs, and taking those waiting out
 * of the line), and closing the scope interrupts every batch still running.
 * Each run waits for one of `maxRuns` slots, first come first served, then
 * runs tracked by `drain`, so a shutdown gives batch runs the same grace
 * period as requests, and starts no pending run. While there are more than
 * `retention` batches, or the finished ones' results are over
 * `retentionBytes`, the first finished is forgotten.
 */
export const make = (options: Limits & { readonly drain: Drain }): Effect.Effect<Batches, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const slots = yield* Slots.make(options.maxRuns)
    const store = new Map<string, State>()
    // the finished batches, in the order they finished, and the size of their results
    const finished = new Set<State>()
    let finishedBytes = 0

    const evict = () => {
      for (const oldest of finished) {
        if (store.size <= options.retention && finishedBytes <= options.retentionBytes) return
        finished.delete(oldest)
        finishedBytes -= oldest.size
        store.delete(oldest.id)
      }
    }

    const settle = (
      item: Item,
      state: State,
      exit: Exit.Exit<Agent.RunResult<unknown>, AgentError | ServerShuttingDown>
    ) =>
      Effect.suspend(() => {
        if (Exit.isSuccess(exit)) {
          item.status = "done"
          item.result = Wire.result(exit.value)
          state.size += sizeOf(item.result)
          return Effect.void
        }
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure) && failure.value._tag !== "ServerShuttingDown") {
          item.status = "failed"
          item.error = failure.value
          state.size += sizeOf(item.error)
          return Effect.void
        }
        // cancelled with the batch, or by a shutdown (before or while it ran)
        if (Option.isSome(failure) || Cause.isInterruptedOnly(exit.cause)) {
          item.status = "cancelled"
          return Effect.void
        }
        item.status = "failed"
        return Effect.logError("AgentServer: a batch run died", exit.cause)
      })

    const runItem = (served: Registry.Served, input: AgentApi.Input, item: Item, state: State) =>
      Effect.suspend(() => {
        item.status = "running"
        return options.drain.track(served.runnable.run(input))
      }).pipe(
        Effect.onExit((exit) => settle(item, state, exit)),
        slots.withSlot,
        Effect.exit
      )

    const start: Batches["start"] = (served, inputs, concurrency) =>
      Effect.gen(function*() {
        const state: State = {
          id: crypto.randomUUID(),
          agent: served.name,
          createdAt: yield* DateTime.now,
          items: inputs.map((): Item => ({ status: "pending" })),
          ended: yield* Deferred.make<void>(),
          status: "running",
          size: 0
        }
        store.set(state.id, state)
        evict()
        const batch = Effect.forEach(inputs, (input, index) => runItem(served, input, state.items[index]!, state), {
          concurrency,
          discard: true
        }).pipe(
          Effect.onExit((exit) =>
            Effect.flatMap(DateTime.now, (now) => {
              state.finishedAt = now
              state.status = Exit.isInterrupted(exit) ? "cancelled" : "completed"
              for (const item of state.items) {
                if (item.status === "pending" || item.status === "running") item.status = "cancelled"
              }
              finished.add(state)
              finishedBytes += state.size
              evict()
              return Deferred.succeed(state.ended, undefined)
            })
          )
        )
        yield* FiberMap.run(fibers, state.id, batch)
        return { id: state.id, agent: served.name, total: inputs.length }
      })

    const lookup = (id: string) =>
      Effect.suspend(() => {
        const state = store.get(id)
        return state === undefined ? Effect.fail(new BatchNotFound({ id })) : Effect.succeed(state)
      })

    return {
      start,
      get: (id, wait) =>
        lookup(id).pipe(
          Effect.tap((state) => wait ? Deferred.await(state.ended) : Effect.void),
          Effect.map(snapshot)
        ),
      cancel: (id) =>
        lookup(id).pipe(
          Effect.tap(() => FiberMap.remove(fibers, id)),
          Effect.map(snapshot)
        )
    }
  })
