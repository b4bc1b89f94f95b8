/**
 * Budgets over a tree of runs (see `Policy.Budget`). A budgeted run (an
 * agent's, a team's, a DAG's) keeps one counter, which the run context hands
 * to every run under it; each model and tool call charges the counters from
 * its run's up to the root. A charge that crosses a limit trips the
 * outermost counter it crossed: that run, racing its tree against the trip,
 * interrupts the tree at once and fails with `BudgetExceeded`. The fiber
 * that charged waits to be interrupted, so that nothing is spent after.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { BudgetExceeded, type BudgetLimit } from "../AgentError.js"
import type * as Policy from "../Policy.js"

/** What one call spends. */
export interface Spend {
  readonly tokens?: number | undefined
  readonly costUsd?: number | undefined
  readonly modelCalls?: number | undefined
  readonly toolCalls?: number | undefined
}

type Counted = Exclude<BudgetLimit, "duration">

const counted: ReadonlyArray<Counted> = ["tokens", "costUsd", "modelCalls", "toolCalls"]

/** The counter of one budgeted run. */
export class Counter {
  readonly spent: Record<Counted, number> = { tokens: 0, costUsd: 0, modelCalls: 0, toolCalls: 0 }
  readonly tripped: Deferred.Deferred<never, BudgetExceeded> = Deferred.unsafeMake(FiberId.none)
  exceeded: BudgetExceeded | undefined = undefined
  /** Whether its run is under way: only then is there someone to interrupt the tree. */
  running = true

  constructor(
    readonly budget: Policy.Budget,
    readonly path: ReadonlyArray<string>,
    readonly parent: Counter | undefined
  ) {}

  /** Adds `spend`; the first limit it crossed, if any. */
  add(spend: Spend): BudgetExceeded | undefined {
    let crossed: BudgetExceeded | undefined
    for (const limit of counted) {
      const amount = spend[limit]
      if (amount === undefined || amount === 0) continue
      const spent = this.spent[limit] += amount
      const max = this.budget[limit]
      if (crossed === undefined && max !== undefined && spent > max) {
        crossed = new BudgetExceeded({ limit, max, spent, path: this.path })
      }
    }
    return crossed
  }
}

/** Whether a budget from `counter` up limits `limit`. */
export const limits = (counter: Counter | undefined, limit: Counted): boolean => {
  for (let c = counter; c !== undefined; c = c.parent) if (c.budget[limit] !== undefined) return true
  return false
}

/** The counter of a run with `budget` under `parent`'s: `parent` itself when the run has none. */
export const counter = (
  budget: Policy.Budget | undefined,
  path: ReadonlyArray<string>,
  parent: Counter | undefined
): Counter | undefined => budget === undefined ? parent : new Counter(budget, path, parent)

/**
 * Charges `spend` to `counter` and the counters above it. When it crosses a
 * limit (or a budget above was crossed already), the outermost crossed
 * counter trips and the charging fiber waits to be interrupted with its tree
 * (or, when that run has ended, interrupts itself).
 */
export const charge = (counter: Counter | undefined, spend: Spend): Effect.Effect<void> => {
  if (counter === undefined) return Effect.void
  let outermost: Counter | undefined
  let error: BudgetExceeded | undefined
  for (let c: Counter | undefined = counter; c !== undefined; c = c.parent) {
    const crossed = c.add(spend)
    if (c.exceeded !== undefined || crossed !== undefined) {
      outermost = c
      error = c.exceeded ?? crossed
    }
  }
  if (outermost === undefined) return Effect.void
  if (outermost.exceeded === undefined) {
    outermost.exceeded = error
    Deferred.unsafeDone(outermost.tripped, Exit.fail(error!))
  }
  // a fiber that outlived the budgeted run (forked away from it) has no one to wait for: it stops
  return outermost.running ? Effect.never : Effect.interrupt
}

/**
 * The run `effect` of the budgeted run whose counter is `counter` (none when
 * it has no budget of its own): raced against its counter's trip, and
 * bounded by its `duration`.
 */
export const enforce = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  counter: Counter | undefined
): Effect.Effect<A, E | BudgetExceeded, R> => {
  if (counter === undefined) return effect
  const raced = Effect.ensuring(
    Effect.raceFirst(effect, Deferred.await(counter.tripped)),
    Effect.sync(() => {
      counter.running = false
    })
  )
  const duration = counter.budget.duration
  if (duration === undefined || !Duration.isFinite(duration)) return raced
  const max = Duration.toMillis(duration)
  return Effect.timeoutFail(raced, {
    duration,
    onTimeout: () => new BudgetExceeded({ limit: "duration", max, spent: max, path: counter.path })
  })
}
