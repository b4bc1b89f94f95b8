import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as Intervals from "effect/ScheduleIntervals"
import type { ModelError } from "../ModelError.js"
import { ModelTimeout, ModelUnavailable, RateLimited } from "../ModelError.js"

/** What bounds the retries of one model call. */
export interface Limits {
  /** How long the call may take in all, from its first attempt, waits included. */
  readonly budget: Duration.Duration
  /** The longest `retry-after` waited for; a longer one ends the retries. */
  readonly maxRetryAfter: Duration.Duration
  /** When the first attempt started (default: when the first failure reached the schedule). */
  readonly startedAt?: number | undefined
}

interface State<S> {
  readonly backoff: S
  readonly startedAt: number | undefined
  /** Attempts made so far. */
  readonly attempts: number
}

/** The random part added to a server's `retry-after`: up to a fifth of it, and at least up to 100 ms. */
const jitterOf = (retryAfter: number): Effect.Effect<number> =>
  Effect.map(Random.next, (r) => r * Math.max(retryAfter / 5, 100))

const retryAfterOf = (error: ModelError): number | undefined =>
  error._tag === "RateLimited" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : undefined

/**
 * The schedule of a model call's retries: the `backoff`'s delays, while the
 * error is retryable; after a `RateLimited` error that says when to come back,
 * that delay plus a little jitter (so that calls limited together do not all
 * come back at once), unless it is over `maxRetryAfter`. No retry starts that
 * would begin after the `budget`. Each retry is logged at warning level. Its
 * output is the number of attempts made.
 */
export const schedule = <Out>(
  backoff: Schedule.Schedule<Out, ModelError>,
  limits: Limits
): Schedule.Schedule<number, ModelError> => {
  const budget = Duration.toMillis(limits.budget)
  const maxRetryAfter = Duration.toMillis(limits.maxRetryAfter)
  const stop = (state: State<unknown>) => Effect.succeed([state, state.attempts, ScheduleDecision.done] as const)
  return Schedule.makeWithState<State<unknown>, ModelError, number>(
    { backoff: backoff.initial, startedAt: limits.startedAt, attempts: 1 },
    (now, error, state) => {
      if (!error.retryable) return stop(state)
      const startedAt = state.startedAt ?? now
      return Effect.flatMap(backoff.step(now, error, state.backoff), ([next, , decision]) => {
        if (ScheduleDecision.isDone(decision)) return stop(state)
        const retryAfter = retryAfterOf(error)
        if (retryAfter !== undefined && retryAfter > maxRetryAfter) return stop(state)
        const delay = retryAfter === undefined
          ? Effect.succeed(Math.max(0, Intervals.start(decision.intervals) - now))
          : Effect.map(jitterOf(retryAfter), (jitter) => retryAfter + jitter)
        // whole milliseconds: what a clock of milliseconds can wait, and what reads well in a log
        return Effect.flatMap(Effect.map(delay, Math.round), (delay) => {
          if (now + delay - startedAt >= budget) return stop(state)
          const attempts = state.attempts + 1
          return Effect.as(
            Effect.logWarning("model call failed; retrying").pipe(
              Effect.annotateLogs({
                attempt: attempts,
                delay: Duration.format(Duration.millis(delay)),
                error: `${error._tag}: ${error.message}`
              })
            ),
            [
              { backoff: next, startedAt, attempts },
              attempts,
              ScheduleDecision.continueWith(Interval.after(now + delay))
            ] as const
          )
        })
      })
    }
  )
}

/**
 * The last error of a model call that was tried more than once, saying how
 * many attempts were made over how long. Only retryable errors are annotated:
 * the others end the retries for a reason of their own.
 */
export const gaveUp = (error: ModelError, attempts: number, elapsed: Duration.Duration): ModelError => {
  const after = `gave up after ${attempts} attempts over ${Duration.format(elapsed)}`
  switch (error._tag) {
    case "RateLimited":
      return new RateLimited({
        message: `${error.message} (${after})`,
        retryAfter: error.retryAfter,
        attempts,
        elapsed
      })
    case "ModelUnavailable":
      return new ModelUnavailable({ message: `${error.message} (${after})`, status: error.status, attempts, elapsed })
    case "ModelTimeout":
      return new ModelTimeout({ timeout: error.timeout, attempts, elapsed })
    default:
      return error
  }
}
