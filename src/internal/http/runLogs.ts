/**
 * Detached runs and their event logs: a run started with `"detach": true`
 * goes on in the server's scope, without its client; each of its events is
 * logged with an id (1, 2, …) as it comes, so a client follows it from the
 * start or from the last event it received (`Last-Event-ID`), then live.
 * Runs going on here are followed from memory; every event is also written
 * to the server's `RunLogStore`, from which the finished ones are read
 * (after a restart too).
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
import type { StoreFailed } from "../../AgentError.js"
import { RunNotFound } from "../../AgentError.js"
import * as AgentApi from "../../http/AgentApi.js"
import type * as Registry from "../../http/Registry.js"
import type * as RunLogStore from "../../http/RunLogStore.js"
import type * as Runnable from "../../Runnable.js"
import type { Drain } from "./drain.js"
import * as Wire from "./wire.js"

type Entry = RunLogStore.Entry

interface Progress {
  readonly count: number
  readonly ended: boolean
}

/** A run going on in this server: its events so far, what its followers wait on, and its view. */
interface Live {
  readonly entries: Array<Entry>
  /** How many entries there are, and whether the run has ended. */
  readonly progress: SubscriptionRef.SubscriptionRef<Progress>
  readonly ended: Deferred.Deferred<AgentApi.LoggedRun>
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
  ) => Effect.Effect<AgentApi.RunAccepted, AgentApi.RunExists | StoreFailed>
  /** A logged run as the API shows it. */
  readonly get: (runId: string) => Effect.Effect<Option.Option<AgentApi.LoggedRun>, StoreFailed>
  /** A logged run's entries after `after` (0: from the start), then the live rest until it ends. */
  readonly follow: (runId: string, after: number) => Effect.Effect<Stream.Stream<Entry>, RunNotFound | StoreFailed>
  /** Interrupts a running run; answers it once it has ended. */
  readonly cancel: (runId: string) => Effect.Effect<AgentApi.LoggedRun, RunNotFound | StoreFailed>
}

const encodeError = Schema.encode(AgentApi.StreamError)
const internal = { _tag: "InternalError", message: "internal server error" }

type Ending = { readonly status: AgentApi.LoggedRun["status"]; readonly error?: unknown }

/** How a run ended, as its log keeps it. */
const ending = (exit: Exit.Exit<unknown, AgentApi.StreamError>, cancelled: boolean): Effect.Effect<Ending> => {
  if (Exit.isSuccess(exit)) return Effect.succeed({ status: "completed" })
  if (cancelled) return Effect.succeed({ status: "cancelled" })
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) {
    return Cause.isInterruptedOnly(exit.cause)
      ? Effect.succeed({ status: "interrupted" })
      : Effect.as(Effect.logError("AgentServer: a detached run died", exit.cause), {
        status: "failed",
        error: internal
      })
  }
  if (failure.value._tag === "ServerShuttingDown") return Effect.succeed({ status: "interrupted" })
  return Effect.map(Effect.orElseSucceed(encodeError(failure.value), () => internal), (error) => ({
    status: "failed",
    error
  }))
}

/** The data of the error event that ends the log of a run that did not complete. */
const lastWords = ({ error, status }: Ending): unknown =>
  status === "failed"
    ? error
    : status === "cancelled"
    ? { _tag: "InternalError", message: "the run was cancelled" }
    : { _tag: "ServerShuttingDown" }

/** A write the log can do without: logged when it fails, the run goes on. */
const bestEffort = (what: string) => <E>(effect: Effect.Effect<void, E>) =>
  Effect.catchAll(effect, (error) => Effect.logError(`AgentServer: ${what} was not stored`, error))

export const make = (
  options: { readonly drain: Drain; readonly retention: number; readonly store: RunLogStore.Service }
): Effect.Effect<RunLogs, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { drain, store } = options
    // what was running when the store's last server stopped runs no more
    yield* bestEffort("the end of the runs interrupted by the last stop")(store.interruptRunning)
    const fibers = yield* FiberMap.make<string>()
    const lives = new Map<string, Live>()

    const append = (runId: string, live: Live, event: string, data: string) =>
      SubscriptionRef.modify(live.progress, ({ count, ended }): [Entry, Progress] => {
        const entry = { id: count + 1, event, data }
        live.entries.push(entry)
        return [entry, { count: count + 1, ended }]
      }).pipe(Effect.flatMap((entry) => bestEffort("an event of a detached run")(store.append(runId, [entry]))))

    const end = (runId: string, live: Live, exit: Exit.Exit<AgentApi.RunResult | undefined, AgentApi.StreamError>) =>
      Effect.gen(function*() {
        const ended = yield* ending(exit, live.cancelled)
        if (ended.status !== "completed") yield* append(runId, live, "error", JSON.stringify(lastWords(ended)))
        const result = Exit.isSuccess(exit) ? exit.value : undefined
        live.view = {
          ...live.view,
          status: ended.status,
          events: live.entries.length,
          finishedAt: yield* Clock.currentTimeMillis,
          ...(result === undefined ? {} : { result }),
          ...(ended.error === undefined ? {} : { error: ended.error as AgentApi.LoggedRun["error"] })
        }
        yield* bestEffort("the end of a detached run")(store.finish(live.view, options.retention))
        lives.delete(runId)
        yield* SubscriptionRef.update(live.progress, (progress) => ({ ...progress, ended: true }))
        yield* Deferred.succeed(live.ended, live.view)
      })

    const start: RunLogs["start"] = (served, input, runOptions) =>
      Effect.gen(function*() {
        const runId = runOptions.runId ?? crypto.randomUUID()
        if (lives.has(runId) || Option.isSome(yield* store.get(runId))) return yield* new AgentApi.RunExists({ runId })
        const view: AgentApi.LoggedRun = {
          runId,
          agent: served.name,
          status: "running",
          events: 0,
          startedAt: yield* Clock.currentTimeMillis
        }
        yield* store.create(view)
        const live: Live = {
          entries: [],
          progress: yield* SubscriptionRef.make({ count: 0, ended: false }),
          ended: yield* Deferred.make<AgentApi.LoggedRun>(),
          view,
          cancelled: false
        }
        lives.set(runId, live)
        let result: AgentApi.RunResult | undefined
        const run = served.runnable.stream(input, { ...runOptions, runId }).pipe(
          Stream.runForEach((event) => {
            const wire = Wire.event(event)
            if (wire._tag === "RunCompleted") result = wire.result
            return append(runId, live, wire._tag, JSON.stringify(wire))
          }),
          Effect.map(() => result),
          drain.track,
          Effect.onExit((exit) => end(runId, live, exit))
        )
        yield* FiberMap.run(fibers, runId, run, { onlyIfMissing: true })
        return { runId, agent: served.name }
      })

    const viewOf = (live: Live): AgentApi.LoggedRun =>
      live.view.status === "running" ? { ...live.view, events: live.entries.length } : live.view

    const stored = (runId: string) =>
      Effect.flatMap(
        store.get(runId),
        Option.match({ onNone: () => Effect.fail(new RunNotFound({ runId })), onSome: Effect.succeed })
      )

    const followLive = (live: Live, after: number): Stream.Stream<Entry> =>
      live.progress.changes.pipe(
        Stream.takeUntil((progress) => progress.ended),
        Stream.mapAccum(after, (sent, { count }): [number, ReadonlyArray<Entry>] => [
          Math.max(sent, count),
          live.entries.slice(sent, count)
        ]),
        Stream.flattenIterables
      )

    const follow: RunLogs["follow"] = (runId, after) =>
      Effect.suspend(() => {
        const live = lives.get(runId)
        if (live !== undefined) return Effect.succeed(followLive(live, after))
        return Effect.zipRight(stored(runId), Effect.map(store.entries(runId, after), Stream.fromIterable))
      })

    const cancel: RunLogs["cancel"] = (runId) =>
      Effect.suspend(() => {
        const live = lives.get(runId)
        if (live === undefined) return stored(runId)
        live.cancelled = true
        return Effect.zipRight(FiberMap.remove(fibers, runId), Deferred.await(live.ended))
      })

    const get: RunLogs["get"] = (runId) =>
      Effect.suspend(() => {
        const live = lives.get(runId)
        return live === undefined ? store.get(runId) : Effect.succeed(Option.some(viewOf(live)))
      })

    return { start, get, follow, cancel }
  })
