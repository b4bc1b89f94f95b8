import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { ServerShuttingDown } from "../../http/AgentApi.js"

/**
 * The runs in flight of a server, and its shutdown: once draining, no new
 * run starts (they fail with `ServerShuttingDown`); those in flight get a
 * grace period to finish, then are interrupted.
 */
export interface Drain {
  /** Fails with `ServerShuttingDown` once the server drains. */
  readonly guard: Effect.Effect<void, ServerShuttingDown>
  readonly isDraining: Effect.Effect<boolean>
  /** Runs `effect` as a run in flight: refused when draining, interrupted when the grace period ends. */
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServerShuttingDown, R>
  /** The same for a stream: in flight from its first pull to its end. */
  readonly trackStream: <A, E, R>(stream: Stream.Stream<A, E, R>) => Stream.Stream<A, E | ServerShuttingDown, R>
  readonly inFlight: Effect.Effect<number>
  /** Counts `effect` as a response being answered, until it is written (or its client gone). */
  readonly trackResponse: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Waits until no response is being answered. */
  readonly awaitResponses: Effect.Effect<void>
  /** Waits until the server begins to drain. */
  readonly awaitDraining: Effect.Effect<void>
  /**
   * Stops new runs, waits up to `grace` for those in flight, interrupts the
   * rest and waits for them to end. Returns how many were interrupted.
   */
  readonly drain: (grace: Duration.DurationInput) => Effect.Effect<number>
}

interface State {
  readonly draining: boolean
  readonly inFlight: number
  readonly responses: number
}

export const make: Effect.Effect<Drain> = Effect.gen(function*() {
  const state = yield* SubscriptionRef.make<State>({ draining: false, inFlight: 0, responses: 0 })
  // Completed (failed) when the grace period is over: it interrupts what is left.
  const stop = yield* Deferred.make<never, ServerShuttingDown>()

  // One atomic step: refuse when draining, else count the run in.
  const enter = SubscriptionRef.modify(
    state,
    (s): [boolean, State] => s.draining ? [false, s] : [true, { ...s, inFlight: s.inFlight + 1 }]
  ).pipe(
    Effect.flatMap((entered) => entered ? Effect.void : Effect.fail(new ServerShuttingDown()))
  )
  const leave = SubscriptionRef.update(state, (s) => ({ ...s, inFlight: s.inFlight - 1 }))
  const idle = state.changes.pipe(Stream.takeUntil((s) => s.inFlight === 0), Stream.runDrain)

  const drain: Drain = {
    guard: Effect.flatMap(SubscriptionRef.get(state), (s) => s.draining ? new ServerShuttingDown() : Effect.void),
    isDraining: Effect.map(SubscriptionRef.get(state), (s) => s.draining),
    track: (effect) =>
      Effect.acquireUseRelease(enter, () => Effect.raceFirst(effect, Deferred.await(stop)), () => leave),
    trackStream: (stream) =>
      Stream.unwrapScoped(
        Effect.as(
          Effect.acquireRelease(enter, () => leave),
          Stream.interruptWhen(stream, Deferred.await(stop))
        )
      ),
    inFlight: Effect.map(SubscriptionRef.get(state), (s) => s.inFlight),
    trackResponse: (effect) =>
      Effect.acquireUseRelease(
        SubscriptionRef.update(state, (s) => ({ ...s, responses: s.responses + 1 })),
        () => effect,
        () => SubscriptionRef.update(state, (s) => ({ ...s, responses: s.responses - 1 }))
      ),
    awaitResponses: state.changes.pipe(Stream.takeUntil((s) => s.responses === 0), Stream.runDrain),
    awaitDraining: state.changes.pipe(Stream.takeUntil((s) => s.draining), Stream.runDrain),
    drain: (grace) =>
      Effect.gen(function*() {
        yield* SubscriptionRef.update(state, (s) => ({ ...s, draining: true }))
        // interruptible: a shutdown runs in a finalizer, which is not, and the timeout must stop the wait
        const finished = yield* Effect.timeoutOption(Effect.interruptible(idle), grace)
        if (Option.isSome(finished)) return 0
        const interrupted = (yield* SubscriptionRef.get(state)).inFlight
        yield* Deferred.fail(stop, new ServerShuttingDown())
        yield* idle
        return interrupted
      })
  }
  return drain
})
