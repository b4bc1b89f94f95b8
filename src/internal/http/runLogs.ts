/**
 * Detached runs and their event logs: a run started with `"detach": true`
 * goes on in the server's scope, without its client; each of its events is
 * logged with an id (1, 2, …) as it comes, so a client follows it from the
 * start or from the last event it received (`Last-Event-ID`), then live.
 * The logs are kept in memory, the finished ones within a retention (the
 * first finished go first).
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { RunNotFound } from "../../AgentError.js"
import * as AgentApi from "../../http/AgentApi.js"
import type * as Registry from "../../http/Registry.js"
import type * as Runnable from "../../Runnable.js"
import type { Drain } from "./drain.js"
import * as Wire from "./wire.js"

/** One logged event: its id, its SSE name (its tag, or `error`) and its data as JSON text. */
export interface Entry {
  readonly id: number
  readonly event: string
  readonly data: string
}

/** A run's log: its entries, and its view as the API shows it once it has ended. */
interface Log {
  readonly runId: string
  readonly agent: string
  readonly startedAt: number
  readonly entries: Array<Entry>
  /** How many entries there are, and whether the run has ended: what a follower waits on. */
  readonly progress: SubscriptionRef.SubscriptionRef<{ readonly count: number; readonly ended: boolean }>
  ended: Deferred.Deferred<void>
  view: AgentApi.LoggedRun
  cancelled: boolean
}

/** The detached runs of a server. */
export interface RunLogs {
  /** Starts a detached run of `served`: its id at once. */
  readonly start: (
    served: Registry.Served,
    input: AgentApi.Input,
    options: Runnable.RunOptions
  ) => Effect.Effect<AgentApi.RunAccepted>
  /** A logged run as the API shows it. */
  readonly get: (runId: string) => Effect.Effect<Option.Option<AgentApi.LoggedRun>>
  /** A logged run's entries after `after` (0: from the start), then the live rest until it ends. */
  readonly follow: (runId: string, after: number) => Effect.Effect<Stream.Stream<Entry>, RunNotFound>
  /** Interrupts a running run; answers it once it has ended. */
  readonly cancel: (runId: string) => Effect.Effect<AgentApi.LoggedRun, RunNotFound>
}

const encodeError = Schema.encode(AgentApi.StreamError)

/** How a run ended, as its log keeps it. */
const ending = (
  exit: Exit.Exit<AgentApi.RunResult | undefined, AgentApi.StreamError>,
  cancelled: boolean
): Effect.Effect<{ readonly status: AgentApi.LoggedRun["status"]; readonly error?: unknown }> => {
  if (Exit.isSuccess(exit)) return Effect.succeed({ status: "completed" })
  if (cancelled) return Effect.succeed({ status: "cancelled" })
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) {
    return Cause.isInterruptedOnly(exit.cause)
      ? Effect.succeed({ status: "interrupted" })
      : Effect.as(Effect.logError("AgentServer: a detached run died", exit.cause), {
        status: "failed",
        error: { _tag: "InternalError", message: "internal server error" }
      })
  }
  if (failure.value._tag === "ServerShuttingDown") return Effect.succeed({ status: "interrupted" })
  return Effect.map(
    Effect.orElseSucceed(
      encodeError(failure.value),
      () => ({ _tag: "InternalError", message: "internal server error" })
    ),
    (error) => ({ status: "failed", error })
  )
}

/** The error event that ends the log of a run that did not complete. */
const lastWords = (status: AgentApi.LoggedRun["status"], error: unknown): unknown =>
  status === "failed"
    ? error
    : status === "cancelled"
    ? { _tag: "InternalError", message: "the run was cancelled" }
    : { _tag: "ServerShuttingDown" }

export const make = (
  options: { readonly drain: Drain; readonly retention: number }
): Effect.Effect<RunLogs, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { drain } = options
    const fibers = yield* FiberMap.make<string>()
    const logs = new Map<string, Log>()
    // finished runs, the first finished first: what retention forgets
    const finished: Array<string> = []

    const append = (log: Log, event: string, data: string) =>
      SubscriptionRef.update(log.progress, ({ count, ended }) => {
        log.entries.push({ id: count + 1, event, data })
        return { count: count + 1, ended }
      })

    const forget = Effect.sync(() => {
      while (finished.length > options.retention) logs.delete(finished.shift()!)
    })

    const end = (log: Log, exit: Exit.Exit<AgentApi.RunResult | undefined, AgentApi.StreamError>) =>
      Effect.gen(function*() {
        const { error, status } = yield* ending(exit, log.cancelled)
        if (status !== "completed") yield* append(log, "error", JSON.stringify(lastWords(status, error)))
        const result = Exit.isSuccess(exit) ? exit.value : undefined
        log.view = {
          ...log.view,
          status,
          events: log.entries.length,
          finishedAt: yield* Clock.currentTimeMillis,
          ...(result === undefined ? {} : { result }),
          ...(error === undefined ? {} : { error: error as AgentApi.LoggedRun["error"] })
        }
        yield* SubscriptionRef.update(log.progress, (progress) => ({ ...progress, ended: true }))
        finished.push(log.runId)
        yield* forget
        yield* Deferred.succeed(log.ended, undefined)
      })

    const start: RunLogs["start"] = (served, input, runOptions) =>
      Effect.gen(function*() {
        const runId = runOptions.runId ?? crypto.randomUUID()
        const startedAt = yield* Clock.currentTimeMillis
        const log: Log = {
          runId,
          agent: served.name,
          startedAt,
          entries: [],
          progress: yield* SubscriptionRef.make({ count: 0, ended: false }),
          ended: yield* Deferred.make<void>(),
          view: { runId, agent: served.name, status: "running", events: 0, startedAt },
          cancelled: false
        }
        logs.set(runId, log)
        let result: AgentApi.RunResult | undefined
        const run = served.runnable.stream(input, { ...runOptions, runId }).pipe(
          Stream.runForEach((event) => {
            const wire = Wire.event(event)
            if (wire._tag === "RunCompleted") result = wire.result
            return append(log, wire._tag, JSON.stringify(wire))
          }),
          Effect.map(() => result),
          drain.track,
          Effect.onExit((exit) => end(log, exit))
        )
        yield* FiberMap.run(fibers, runId, run)
        return { runId, agent: served.name }
      })

    const logOf = (runId: string) =>
      Effect.suspend(() => {
        const log = logs.get(runId)
        return log === undefined ? Effect.fail(new RunNotFound({ runId })) : Effect.succeed(log)
      })

    const viewOf = (log: Log): AgentApi.LoggedRun =>
      log.view.status === "running" ? { ...log.view, events: log.entries.length } : log.view

    const follow: RunLogs["follow"] = (runId, after) =>
      Effect.map(logOf(runId), (log) =>
        log.progress.changes.pipe(
          Stream.takeUntil((progress) => progress.ended),
          Stream.mapAccum(after, (sent, { count }): [number, ReadonlyArray<Entry>] => [
            Math.max(sent, count),
            log.entries.slice(sent, count)
          ]),
          Stream.flattenIterables
        ))

    const cancel: RunLogs["cancel"] = (runId) =>
      Effect.flatMap(logOf(runId), (log) =>
        Effect.suspend(() => {
          if (log.view.status !== "running") return Effect.succeed(viewOf(log))
          log.cancelled = true
          return FiberMap.remove(fibers, runId).pipe(
            Effect.zipRight(Deferred.await(log.ended)),
            Effect.map(() => viewOf(log))
          )
        }))

    return {
      start,
      get: (runId) => Effect.sync(() => Option.map(Option.fromNullable(logs.get(runId)), viewOf)),
      follow,
      cancel
    }
  })
