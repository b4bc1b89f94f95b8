/**
 * Where a tool call under way reports its progress: the streamed run that
 * made it, as `ToolProgress` events. Outside of a streamed run's tool call,
 * reports go nowhere.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Queue from "effect/Queue"

export interface Progress {
  readonly progress: number
  readonly total?: number | undefined
  readonly message?: string | undefined
}

export type Reporter = (progress: Progress) => Effect.Effect<unknown>

export const current: FiberRef.FiberRef<Reporter | undefined> = globalValue(
  Symbol.for("effect-agents/internal/progress"),
  () => FiberRef.unsafeMake<Reporter | undefined>(undefined)
)

/** Reports progress to the tool call the fiber runs, if any. */
export const report = (progress: Progress): Effect.Effect<void> =>
  Effect.flatMap(
    FiberRef.get(current),
    (reporter) => reporter === undefined ? Effect.void : Effect.asVoid(reporter(progress))
  )

/** Runs `effect` with its progress reported to `reporter`. */
export const reportingTo = <A, E, R>(effect: Effect.Effect<A, E, R>, reporter: Reporter): Effect.Effect<A, E, R> =>
  Effect.locally(effect, current, reporter)

/**
 * Runs `call` with a callback for progress reported from outside Effect (an
 * SDK's): each report goes to the tool call the fiber runs, in order, all of
 * them before `call` ends. Without a tool call to report to, no callback.
 */
export const withCallback = <A, E, R>(
  call: (onProgress: ((progress: Progress) => void) | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(current), (reporter) => {
    if (reporter === undefined) return call(undefined)
    return Effect.gen(function*() {
      const queue = yield* Queue.unbounded<Progress | null>()
      const forward: Effect.Effect<void> = Effect.flatMap(
        Queue.take(queue),
        (next) => next === null ? Effect.void : Effect.zipRight(reporter(next), forward)
      )
      const forwarding = yield* Effect.fork(forward)
      return yield* call((progress) => Queue.unsafeOffer(queue, progress)).pipe(
        Effect.ensuring(Effect.zipRight(Queue.offer(queue, null), Fiber.join(forwarding)))
      )
    })
  })
