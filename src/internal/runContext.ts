/**
 * The run context: how runs that start inside other runs (an agent called as
 * a tool, a team's members and leader, the agents in a DAG's nodes) find
 * their place in the tree, in one FiberRef, read once when a run starts:
 *
 * - `path` and `emit`: the streamed run the fiber works for. A run started
 *   under an `emit` streams its model and emits its events there, with its
 *   name appended to `path` (all but its `RunCompleted`).
 * - `collector`: the team run the fiber delegates for, which records each
 *   delegation as one of its member runs.
 * - `report`: a question from whoever delegated the run that starts here:
 *   what it spent, should it fail (a typed error cannot carry metrics). The
 *   run takes the question (runs nested in it do not see it).
 * - `account`: the run that delegates from here, charged what each run it
 *   delegates to spends.
 * - `journal`: the journal of the durable run the fiber works for (see
 *   `journal.ts`), which every run of its tree records its calls in.
 * - `budget`: the counter of the innermost budgeted run the fiber works for
 *   (see `budget.ts`), which every model and tool call under it charges.
 * - `runIds`: the ids of the runs started in a DAG's node without one of
 *   their own: the same on every replay of the node, so that a durable DAG's
 *   agents find their journal.
 * - `call`: the call site of a delegation (a delegating tool's call, a
 *   team's member run): the run started there takes the site's id, finds
 *   its kept state when the caller was resumed, and leaves its suspension
 *   there for the caller.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import type { AgentError, RunSuspended } from "../AgentError.js"
import type * as Run from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import type { RunState } from "../RunState.js"
import type { Counter } from "./budget.js"
import type { Journal } from "./journal.js"

/** Told what a run spent. */
export type Report = (metrics: Run.RunMetrics) => void

/** Where a team collects the delegations of one of its runs. */
export interface Collector {
  /** When the team's run started (Effect's clock), for the members' start offsets. */
  readonly startedAt: number
  readonly record: (run: Run.MemberRun) => void
  /**
   * What a failed delegation does once recorded: absent, it fails (a tool
   * reports the failure to the model); present, it hands the failure to the
   * team, which ends the run with it, and waits to be interrupted.
   */
  readonly escalate: ((error: AgentError) => Effect.Effect<never>) | undefined
}

/** Receives the events of the runs nested in a streamed run. */
export type Emit = (event: RunEvent.Forwarded) => Effect.Effect<unknown>

/** A delegation's call site: a delegating tool's call, a team's member run. */
export interface CallSite {
  /** The id of the run started there: the same each time the caller makes the call (resumed, replayed). */
  readonly runId: string
  /** The caller resumed from a suspension: the run started here may have been kept, and goes on. */
  readonly resumed: boolean
  /** Told each state of the run started here (the caller keeps the last, should it suspend). */
  readonly onState?: ((state: RunState) => Effect.Effect<void>) | undefined
  /** Set when the run started here suspended. */
  suspended: RunSuspended | undefined
}

/** Names the runs started without an id of their own, in order. */
export type RunIds = () => string

/** The ids `${prefix}`, `${prefix}.2`, `${prefix}.3`… */
export const runIds = (prefix: string): RunIds => {
  let started = 0
  return () => ++started === 1 ? prefix : `${prefix}.${started}`
}

/** The id of a run that starts in `context` with `runId` (or none). */
export const runIdIn = (context: RunContext, runId: string | undefined): string =>
  runId ?? context.runIds?.() ?? crypto.randomUUID()

export interface RunContext {
  readonly path: ReadonlyArray<string>
  readonly emit: Emit | undefined
  readonly collector: Collector | undefined
  readonly report: Report | undefined
  readonly account: Report | undefined
  readonly runIds: RunIds | undefined
  readonly call: CallSite | undefined
  readonly journal: Journal | undefined
  readonly budget: Counter | undefined
}

/** Outside of any run. */
export const root: RunContext = {
  path: [],
  emit: undefined,
  collector: undefined,
  report: undefined,
  account: undefined,
  runIds: undefined,
  call: undefined,
  journal: undefined,
  budget: undefined
}

export const current: FiberRef.FiberRef<RunContext> = globalValue(
  Symbol.for("effect-agents/internal/runContext"),
  () => FiberRef.unsafeMake<RunContext>(root)
)

/** Runs `effect` in the run context `f` makes of the current one. */
export const locally = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  f: (context: RunContext) => RunContext
): Effect.Effect<A, E, R> => Effect.locallyWith(effect, current, f)

/** Runs `effect` with the runs started in it streaming to `emit`, at `path`. */
export const streamingTo = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  path: ReadonlyArray<string>,
  emit: Emit
): Effect.Effect<A, E, R> => locally(effect, (context) => ({ ...context, path, emit }))

/**
 * The run `effect` (its context already read as `context`), with the
 * question of what it spent answered if it fails (or is interrupted), by
 * `metrics` at that moment; the runs inside it see `inner`.
 */
export const running = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  context: RunContext,
  inner: RunContext,
  metrics: () => Run.RunMetrics
): Effect.Effect<A, E, R> => {
  const report = context.report
  const reported = report === undefined ? effect : Effect.onError(effect, () => Effect.sync(() => report(metrics())))
  return seesAs(inner, context) ? reported : Effect.locally(reported, current, inner)
}

/**
 * Whether a run started under `a` finds the same place as under `b`: a path
 * is read only by a streamed run or a team's collector. Most runs are on
 * their own and need no context of their own, and `Effect.locally` is not
 * free: it wraps the run in an acquire/release of the FiberRef's value.
 */
const seesAs = (a: RunContext, b: RunContext): boolean =>
  a.emit === b.emit && a.collector === b.collector && a.report === b.report && a.account === b.account &&
  a.runIds === b.runIds && a.call === b.call && a.journal === b.journal && a.budget === b.budget &&
  (a.path === b.path || (a.emit === undefined && a.collector === undefined))

/** Runs the run that `effect` starts asked to `report` what it spent, should it fail. */
export const asking = <A, E, R>(effect: Effect.Effect<A, E, R>, report: Report): Effect.Effect<A, E, R> =>
  locally(effect, (context) => ({ ...context, report }))
