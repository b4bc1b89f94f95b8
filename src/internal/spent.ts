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

/** Takes the question for the run starting on this fiber: the runs nested in it do not see it. */
export const take: Effect.Effect<Report | undefined> = Effect.withFiberRuntime((fiber) => {
  const report = fiber.getFiberRef(currentReport)
  return report === undefined ? Effect.succeed(undefined) : Effect.as(FiberRef.set(currentReport, undefined), report)
})

/**
 * `effect`, which tells `report` (if any) the run's `metrics` of the moment
 * when it fails or is interrupted (a leader is, when its team fails).
 */
export const onError = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  report: Report | undefined,
  metrics: Effect.Effect<RunMetrics>
): Effect.Effect<A, E, R> => report === undefined ? effect : Effect.onError(effect, () => Effect.map(metrics, report))
