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
import { globalValue } from "effect/GlobalValue"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { AsToolOptions, Input, RunMetrics, Runnable, RunResult } from "../Agent.js"
import type { AgentError } from "../AgentError.js"
import { ToolFailed } from "../AgentError.js"
import * as Run from "../Run.js"
import { inputText } from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { MemberRun } from "../Team.js"
import * as Tool from "../Tool.js"
import { toIdentifier } from "./output.js"
import * as Spent from "./spent.js"

/** Where a team collects the delegations of one of its runs. */
export interface Collector {
  /** When the team's run started (Effect's clock), for the members' start offsets. */
  readonly startedAt: number
  readonly record: (run: MemberRun) => void
  /**
   * What a failed delegation does once recorded: absent, it fails (a tool
   * reports the failure to the model); present, it hands the failure to the
   * team, which ends the run with it, and waits to be interrupted.
   */
  readonly escalate: ((error: AgentError) => Effect.Effect<never>) | undefined
}

/** The team run the current fiber delegates for; each delegate runs without it. */
export const currentCollector: FiberRef.FiberRef<Collector | undefined> = globalValue(
  Symbol.for("effect-agents/internal/delegate/currentCollector"),
  () => FiberRef.unsafeMake<Collector | undefined>(undefined)
)

/**
 * Runs `runnable` on a task handed to it. Outside a streamed run and a team,
 * that is all. Under a sink, its events stream below the caller (the loop
 * does that) and a `MemberCompleted` event follows; under a team, the run is
 * recorded as one of the team's member runs.
 */
export const run = <Output>(runnable: Runnable<Output>, input: Input): Effect.Effect<RunResult<Output>, AgentError> =>
  Effect.withFiberRuntime((fiber) => {
    const sink = fiber.getFiberRef(RunEvent.currentSink)
    const collector = fiber.getFiberRef(currentCollector)
    if (sink === undefined && collector === undefined) return Spent.charged(runnable.run(input))
    return tracked(runnable, input, sink, collector)
  })

const tracked = <Output>(
  runnable: Runnable<Output>,
  input: Input,
  sink: RunEvent.Sink | undefined,
  collector: Collector | undefined
): Effect.Effect<RunResult<Output>, AgentError> =>
  Effect.gen(function*() {
    const runId = crypto.randomUUID()
    const started = yield* Clock.currentTimeMillis
    let spent: RunMetrics | undefined
    const outcome = yield* Effect.either(
      Spent.asking(Effect.locally(runnable.run(input, { runId }), currentCollector, undefined), (metrics) => {
        spent = metrics
      })
    )
    const durationMs = (yield* Clock.currentTimeMillis) - started
    const metrics = Either.isRight(outcome) ? outcome.right.metrics : spent ?? { ...Run.emptyMetrics, durationMs }
    const task = inputText(input)
    if (sink !== undefined) {
      yield* sink.emit({
        _tag: "MemberCompleted",
        runId,
        agent: runnable.name,
        path: [...sink.path, runnable.name],
        input: task,
        content: Either.isRight(outcome) ? outcome.right.content : outcome.left.message,
        isError: Either.isLeft(outcome),
        durationMs
      })
    }
    if (collector !== undefined) {
      collector.record({
        member: runnable.name,
        input: task,
        startedAtMs: started - collector.startedAt,
        durationMs,
        metrics,
        outcome: outcome as Either.Either<RunResult<unknown>, AgentError>
      })
    } else {
      // outside a team (which adds its members' runs itself), the calling run's account has it
      yield* Spent.charge(metrics)
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
  return Spent.markDelegation(Tool.make(name, {
    description: options?.description ??
      `Delegate a task to ${kind === undefined ? "" : `the ${kind} `}"${runnable.name}"${
        role === undefined || role.length === 0 ? "" : `: ${role}`
      }`,
    parameters: {
      input: Schema.String.annotations({ description: `The task or question for ${runnable.name}, self-contained` })
    },
    handler: ({ input }) =>
      run(runnable, input).pipe(
        Effect.map((result) => result.content),
        Effect.mapError((error) =>
          new ToolFailed({ tool: name, message: `${runnable.name} failed: ${error.message}`, error })
        )
      )
  }))
}
