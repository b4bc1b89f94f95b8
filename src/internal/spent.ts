/**
 * What runs spend, beyond their own model calls. A run's typed error cannot
 * carry the run's metrics, so a delegation (a team's member, an agent as a
 * tool) asks for them: the run that starts on the delegation's fiber takes
 * the question, so that the runs nested in it do not see it, and answers it
 * if it fails or is interrupted. And a run that hands tasks to other runs
 * through tools keeps an account of what they spent, which its metrics add.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import type { RunMetrics } from "../Agent.js"

/** Told what a run spent: its metrics. */
export type Report = (metrics: RunMetrics) => void

const currentReport: FiberRef.FiberRef<Report | undefined> = globalValue(
  Symbol.for("effect-agents/internal/spent/currentReport"),
  () => FiberRef.unsafeMake<Report | undefined>(undefined)
)

/** Runs `effect`, whose run is asked to report its metrics if it fails or is interrupted. */
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

// -----------------------------------------------------------------------------
// What the runs a run delegates to spend is the run's
// -----------------------------------------------------------------------------

/** The tools that hand a task to a runnable (`agent.asTool()`, `team.asTool()`). */
const delegations = new WeakSet<object>()

/** Marks `tool` as one that hands a task to a runnable: what that run spends is its caller's. */
export const markDelegation = <T extends object>(tool: T): T => {
  delegations.add(tool)
  return tool
}

/** Whether some of `tools` hand tasks to runnables. */
export const delegates = (tools: Iterable<object>): boolean => {
  for (const tool of tools) if (delegations.has(tool)) return true
  return false
}

const currentAccount: FiberRef.FiberRef<Report | undefined> = globalValue(
  Symbol.for("effect-agents/internal/spent/currentAccount"),
  () => FiberRef.unsafeMake<Report | undefined>(undefined)
)

/** A run's `effect`, whose `account` is told what each run it delegates to spends. */
export const accounting = <A, E, R>(effect: Effect.Effect<A, E, R>, account: Report): Effect.Effect<A, E, R> =>
  Effect.locally(effect, currentAccount, account)

/** A delegated `run`, whose spending (a failed run's too) goes to the calling run's account, if any. */
export const charged = <A extends { readonly metrics: RunMetrics }, E, R>(
  run: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const account = fiber.getFiberRef(currentAccount)
    if (account === undefined) return run
    return Effect.tap(asking(run, account), (result) => Effect.sync(() => account(result.metrics)))
  })

/** Tells the calling run's account, if any, what a run it delegated to spent. */
export const charge = (metrics: RunMetrics): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    fiber.getFiberRef(currentAccount)?.(metrics)
    return Effect.void
  })
