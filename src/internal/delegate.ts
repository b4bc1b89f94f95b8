/**
 * Delegation: one runnable (an agent, a team) handing a task to another. It
 * is the one mechanism behind `agent.asTool()`, `team.asTool()` and a team's
 * members, whatever the team's mode: the run of the delegate, its
 * `MemberCompleted` event when the caller is streamed, and its record in the
 * team the caller works for.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { AgentError } from "../AgentError.js"
import { ToolFailed } from "../AgentError.js"
import * as Run from "../Run.js"
import type { AsToolOptions, Runnable } from "../Runnable.js"
import * as Tool from "../Tool.js"
import { toIdentifier } from "./output.js"
import * as Prompts from "./prompts.js"
import * as RunContext from "./runContext.js"

/**
 * Runs `runnable` on a task handed to it. Outside a streamed run and a team,
 * that is all (what it spent is charged to the calling run). Under a sink,
 * its events stream below the caller (the loop does that) and a
 * `MemberCompleted` event follows; under a team, the run is recorded as one
 * of the team's member runs.
 */
export const run = <Output>(
  runnable: Runnable<Output>,
  input: Run.Input
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  Effect.flatMap(FiberRef.get(RunContext.current), (context) => {
    const site = context.call
    if (site !== undefined) return atCallSite(runnable, input, context, site)
    return untracked(runnable, input, context, undefined)
  })

/**
 * A delegation at a call site (a tool call, a team's member run): the run
 * takes the site's id (so that, when the caller was resumed, it finds its
 * kept state: see the loop's `startRun`; and a durable run's replay finds
 * its journal), and its suspension for approval is left at the site for the
 * caller, which suspends too.
 */
const atCallSite = <Output>(
  runnable: Runnable<Output>,
  input: Run.Input,
  context: RunContext.RunContext,
  site: RunContext.CallSite
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  untracked(runnable, input, context, site).pipe(
    Effect.tapErrorTag("RunSuspended", (suspended) =>
      Effect.sync(() => {
        site.suspended = suspended
      }))
  )

const untracked = <Output>(
  runnable: Runnable<Output>,
  input: Run.Input,
  context: RunContext.RunContext,
  site: RunContext.CallSite | undefined
): Effect.Effect<Run.RunResult<Output>, AgentError> => {
  if (context.emit !== undefined || context.collector !== undefined) return tracked(runnable, input, context, site)
  const started = runnable.run(input, site === undefined ? undefined : { runId: site.runId, onState: site.onState })
  const account = context.account
  if (account === undefined) return started
  return Effect.tap(RunContext.asking(started, account), (result) => Effect.sync(() => account(result.metrics)))
}

const tracked = <Output>(
  runnable: Runnable<Output>,
  input: Run.Input,
  context: RunContext.RunContext,
  site: RunContext.CallSite | undefined
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  Effect.gen(function*() {
    const runId = site?.runId ?? crypto.randomUUID()
    const started = yield* Clock.currentTimeMillis
    let spent: Run.RunMetrics | undefined
    // the delegate does not work for the caller's team: the runs it delegates to are its own
    const delegated = RunContext.locally(runnable.run(input, { runId, onState: site?.onState }), (inner) => ({
      ...inner,
      collector: undefined,
      report: (metrics) => {
        spent = metrics
      }
    }))
    const outcome = yield* Effect.either(delegated)
    // a run suspended for approval has not ended: its caller suspends too, and records it once resumed
    if (Either.isLeft(outcome) && outcome.left._tag === "RunSuspended") return yield* Effect.fail(outcome.left)
    const durationMs = (yield* Clock.currentTimeMillis) - started
    const metrics = Either.isRight(outcome) ? outcome.right.metrics : spent ?? { ...Run.emptyMetrics, durationMs }
    const task = Run.inputText(input)
    if (context.emit !== undefined) {
      yield* context.emit({
        _tag: "MemberCompleted",
        runId,
        agent: runnable.name,
        path: [...context.path, runnable.name],
        input: task,
        content: Either.isRight(outcome) ? outcome.right.content : outcome.left.message,
        isError: Either.isLeft(outcome),
        durationMs
      })
    }
    const collector = context.collector
    if (collector !== undefined) {
      collector.record({
        member: runnable.name,
        input: task,
        startedAtMs: started - collector.startedAt,
        durationMs,
        metrics,
        outcome: outcome as Either.Either<Run.RunResult<unknown>, AgentError>
      })
    } else {
      // outside a team (which adds its members' runs itself), the calling run's account has it
      context.account?.(metrics)
    }
    if (Either.isRight(outcome)) return outcome.right
    if (collector?.escalate !== undefined) return yield* collector.escalate(outcome.left)
    return yield* Effect.fail(outcome.left)
  })

/** What a runnable does, for the model that may delegate to it: a team's description, an agent's instructions. */
export const roleOf = (runnable: Runnable<unknown>): string | undefined => {
  if (Predicate.hasProperty(runnable, "description") && typeof runnable.description === "string") {
    return runnable.description
  }
  if (Predicate.hasProperty(runnable, "instructions") && typeof runnable.instructions === "string") {
    return runnable.instructions
  }
  return undefined
}

/**
 * A runnable as a tool with one `input` parameter: the tool runs it on the
 * task (see {@link run}) and answers with its answer; a failed run is a tool
 * failure that names the delegate, which the calling model sees.
 * `kind` names what it is in the default description ("agent", "team").
 */
export const tool = <Output>(
  runnable: Runnable<Output>,
  kind: string | undefined,
  options?: AsToolOptions
): Tool.Tool<string, { readonly input: string }, string> => {
  const role = roleOf(runnable)
  const name = options?.name ?? toIdentifier(runnable.name)
  return Tool.make(name, {
    description: options?.description ?? Prompts.delegationDescription(runnable.name, kind, role),
    parameters: { input: Schema.String.annotations({ description: Prompts.taskDescription(runnable.name) }) },
    handler: ({ input }) =>
      run(runnable, input).pipe(
        Effect.map((result) => result.content),
        Effect.mapError((error) =>
          new ToolFailed({ tool: name, message: `${runnable.name} failed: ${error.message}`, error })
        )
      ),
    delegates: true
  })
}
