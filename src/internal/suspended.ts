/**
 * Suspended runs: the decisions a person gives (`Agent.approve`,
 * `Agent.reject`), written to the run kept in the `RunStore`, and the
 * resumption that takes the run out of the store and goes on with them.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { AgentError, StoreFailed } from "../AgentError.js"
import { ApprovalNotPending, InputInvalid, RunNotFound } from "../AgentError.js"
import type * as Approval from "../Approval.js"
import * as RunStore from "../RunStore.js"
import type * as Approvals from "./approvals.js"

/** What a person says of one approval. */
export type Verdict = Omit<Approval.Decision, "at">

export interface ApproveOptions {
  readonly always?: boolean | undefined
  readonly by?: string | undefined
}

export interface RejectOptions {
  readonly message?: string | undefined
  readonly by?: string | undefined
}

/** An approval, as `approve` is given it (absent options left out). */
export const approval = (options: ApproveOptions | undefined): Verdict => ({
  approved: true,
  ...(options?.always === undefined ? {} : { always: options.always }),
  ...(options?.by === undefined ? {} : { by: options.by })
})

/** A rejection, as `reject` is given it (absent options left out). */
export const rejection = (options: RejectOptions | undefined): Verdict => ({
  approved: false,
  ...(options?.message === undefined ? {} : { message: options.message }),
  ...(options?.by === undefined ? {} : { by: options.by })
})

/**
 * Records a decision. The same decision twice is harmless; the other one,
 * or one for an approval the run does not wait for, is `ApprovalNotPending`.
 */
export const decide = (
  runId: string,
  approvalId: string,
  verdict: Verdict
): Effect.Effect<void, ApprovalNotPending | RunNotFound | StoreFailed> =>
  Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const store = yield* RunStore.RunStore
    const decided = yield* store.modify(runId, (run) => {
      const index = run.approvals.findIndex((approval) => approval.approvalId === approvalId)
      const approval = run.approvals[index]
      if (approval === undefined) return Either.left(new ApprovalNotPending({ runId, approvalId }))
      if (approval.decision !== undefined) {
        return approval.decision.approved === verdict.approved
          ? Either.right(run)
          : Either.left(new ApprovalNotPending({ runId, approvalId }))
      }
      const approvals = run.approvals.with(index, { ...approval, decision: { ...verdict, at } })
      return Either.right({ ...run, approvals })
    })
    // a call of a nested run: that run, kept under its own id, reads the decision when it goes on
    const owner = decided.approvals.find((approval) => approval.approvalId === approvalId)!
    if (owner.runId !== runId) {
      yield* store.modify(owner.runId, (run) =>
        Either.right({
          ...run,
          approvals: run.approvals.map((approval) =>
            approval.approvalId === approvalId && approval.decision === undefined
              ? { ...approval, decision: { ...verdict, at } }
              : approval
          )
        })).pipe(Effect.catchTag("RunNotFound", () => Effect.void))
    }
  })

/** The decisions given to a kept run, and the tools approved for the rest of it. */
const decidedOf = (run: RunStore.SuspendedRun): Approvals.Decided => {
  const decisions = new Map<string, Approval.Decision>()
  const always = new Set(run.alwaysApproved)
  for (const approval of run.approvals) {
    if (approval.decision === undefined) continue
    decisions.set(approval.approvalId, approval.decision)
    if (approval.decision.approved && approval.decision.always === true) always.add(approval.toolCall.name)
  }
  return { decisions, always }
}

/**
 * Takes the suspended run `runId` of `agent` out of the store and goes on
 * with `f` from its state and decisions: of two resumptions at once, one
 * runs, the other is `RunNotFound`. A run that suspends again is kept again.
 */
export const resume = <A>(
  runId: string,
  agent: string,
  f: (run: RunStore.SuspendedRun, decided: Approvals.Decided) => Effect.Effect<A, AgentError>
): Effect.Effect<A, AgentError> =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const kept = yield* store.get(runId)
    if (Option.isSome(kept) && kept.value.agent !== agent) {
      return yield* new InputInvalid({
        agent,
        issues: [{ path: "runId", message: `the run is of "${kept.value.agent}", not "${agent}"` }]
      })
    }
    const taken = yield* store.take(runId)
    if (Option.isNone(taken)) return yield* new RunNotFound({ runId })
    return yield* f(taken.value, decidedOf(taken.value))
  })

/** The suspended nested run `runId`, taken out of the store with its decisions, if it is kept. */
export const takeNested = (
  runId: string
): Effect.Effect<
  { readonly run: RunStore.SuspendedRun; readonly decided: Approvals.Decided } | undefined,
  StoreFailed
> =>
  Effect.flatMap(
    RunStore.RunStore,
    (store) =>
      Effect.map(store.take(runId), (taken) =>
        Option.isSome(taken) ? { run: taken.value, decided: decidedOf(taken.value) } : undefined)
  )
