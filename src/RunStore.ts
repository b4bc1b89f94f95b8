/**
 * Where suspended runs are kept: a run that stops for approval leaves its
 * state and its approvals here, decisions are written here, and
 * `agent.resume(runId)` reads them back. By default, this process's memory;
 * `SqlStore.layer` (`effect-agents/sql`) keeps them in SQLite or Postgres, so
 * that the decision and the resumption may come from another process.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { StoreFailed } from "./AgentError.js"
import { RunNotFound } from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as RunState from "./RunState.js"

/**
 * A suspended run: its state (stopped in the step whose calls wait), its
 * approvals, decided or not, and the tools approved for the rest of the run.
 *
 * @since 0.1.0
 * @category models
 */
export const SuspendedRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  state: RunState.RunState,
  approvals: Schema.Array(Approval.Approval),
  alwaysApproved: Schema.Array(Schema.String),
  /** When it suspended (milliseconds since the epoch). */
  suspendedAt: Schema.Number
}).annotations({ identifier: "SuspendedRun" })

/**
 * @since 0.1.0
 * @category models
 */
export interface SuspendedRun extends Schema.Schema.Type<typeof SuspendedRun> {}

/**
 * What a store of suspended runs does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Keeps a run, in place of what was kept under its id. */
  readonly save: (run: SuspendedRun) => Effect.Effect<void, StoreFailed>
  readonly get: (runId: string) => Effect.Effect<Option.Option<SuspendedRun>, StoreFailed>
  /**
   * Changes a kept run with `f`, atomically (two processes deciding at once
   * both count); `f` may refuse with its own error.
   */
  readonly modify: <E>(
    runId: string,
    f: (run: SuspendedRun) => Either.Either<SuspendedRun, E>
  ) => Effect.Effect<SuspendedRun, E | RunNotFound | StoreFailed>
  /** Removes a kept run and gives it back, atomically: of two takers, one gets it. */
  readonly take: (runId: string) => Effect.Effect<Option.Option<SuspendedRun>, StoreFailed>
}

/**
 * Suspended runs in a map, gone with the process.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const runs = new Map<string, SuspendedRun>()
  return {
    save: (run) => Effect.sync(() => void runs.set(run.runId, run)),
    get: (runId) => Effect.sync(() => Option.fromNullable(runs.get(runId))),
    modify: <E>(runId: string, f: (run: SuspendedRun) => Either.Either<SuspendedRun, E>) =>
      Effect.suspend((): Effect.Effect<SuspendedRun, E | RunNotFound> => {
        const run = runs.get(runId)
        if (run === undefined) return Effect.fail(new RunNotFound({ runId }))
        const changed = f(run)
        if (Either.isRight(changed)) runs.set(runId, changed.right)
        return changed
      }),
    take: (runId) =>
      Effect.sync(() => {
        const run = Option.fromNullable(runs.get(runId))
        runs.delete(runId)
        return run
      })
  }
}

/**
 * The store of suspended runs: this process's memory unless one is provided.
 *
 * @since 0.1.0
 * @category tags
 */
export class RunStore extends Context.Reference<RunStore>()("effect-agents/RunStore", {
  defaultValue: makeMemory
}) {}

/**
 * A fresh store in memory, for tests that want their own.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<RunStore> = Layer.sync(RunStore, makeMemory)
