/**
 * What a failed run spent. A run's typed error cannot carry the run's
 * metrics, so a delegation (a team's member) asks for them: the run that
 * starts on the delegation's fiber takes the question, so that the runs
 * nested in it do not see it, and answers it if it fails or is interrupted.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import type { RunMetrics } from "../Agent.js"

/** Told the metrics of the run when it failed. */
export type Report = (metrics: RunMetrics) => void

const currentReport: FiberRef.FiberRef<Report | undefined> = globalValue(
  Symbol.for("effect-agents/internal/spent/currentReport"),
  () => FiberRef.unsafeMake<Report | undefined>(undefined)
)

/** Runs `effect`, whose run is told to report its metrics if it fails. */
export const asking = <A, E, R>(effect: Effect.Effect<A, E, R>, report: Report): Effect.Effect<A, E, R> =>
  Effect.locally(effect, currentReport, report)

/**
 * A run's `effect`, which takes the question of this fiber (the runs nested
 * in it do not see it) and, if there is one, answers it with the run's
 * `metrics` of the moment when it fails or is interrupted (a leader is, when
 * its team fails).
 */
export const reporting = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  metrics: Effect.Effect<RunMetrics>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const report = fiber.getFiberRef(currentReport)
    return report === undefined
      ? effect
      : Effect.zipRight(
        FiberRef.set(currentReport, undefined),
        Effect.onError(effect, () => Effect.map(metrics, report))
      )
  })
