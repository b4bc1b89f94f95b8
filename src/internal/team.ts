import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import type { AgentError } from "../AgentError.js"
import { RunTimeout } from "../AgentError.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Policy from "../Policy.js"
import * as Run from "../Run.js"
import type { Input, MemberRun, RunMetrics, RunResult, TeamMode as Mode, TeamResult } from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import type { Runnable, RunOptions } from "../Runnable.js"
import * as TaskGroup from "../TaskGroup.js"
import * as Delegate from "./delegate.js"
import * as Prompts from "./prompts.js"
import * as RunContext from "./runContext.js"
import { tracing } from "./tracing.js"

/** What a member's failure does (see `Team.MemberFailure`). */
export type MemberFailure = "report" | "fail"

/** What a team's run needs to know of the team. */
export interface TeamConfig {
  readonly name: string
  readonly mode: Mode
  /** An agent named after the team: its events are the team's. */
  readonly leader: Runnable<unknown>
  readonly members: ReadonlyArray<Runnable<unknown>>
  readonly byName: ReadonlyMap<string, Runnable<unknown>>
  readonly concurrency: number | "unbounded"
  /** The team's policy: its `runTimeout` is the team's timeout. */
  readonly policy: Policy.Policy
  readonly onMemberFailure: MemberFailure
}

/** Where a streamed team's events go. */
interface Streaming<Output> {
  /** The path of the run the team is nested in; `[]` for the stream's own run. */
  readonly parent: ReadonlyArray<string>
  readonly emit: (event: RunEvent.Forwarded) => Effect.Effect<unknown>
  /** Emits the team's `RunCompleted`: only the run a stream is of emits one. */
  readonly complete: ((event: RunEvent.RunCompleted<Output>) => Effect.Effect<unknown>) | undefined
}

/**
 * Runs a team. With `emit` (the team is streamed), or under a sink (the team
 * is a member, or nested in a streamed run), it emits its events, and the
 * runs under it stream there below it; otherwise nothing is emitted.
 */
export const run = <Output>(
  config: TeamConfig,
  input: Input,
  options: RunOptions | undefined,
  emit: ((event: RunEvent.RunEvent<Output>) => Effect.Effect<unknown>) | undefined
): Effect.Effect<TeamResult<Output>, AgentError> => {
  if (typeof input === "string") return runDecoded(config, input, options, emit)
  const decoded = Run.decodeInput(config.name, input)
  return Either.isLeft(decoded) ? Effect.fail(decoded.left) : runDecoded(config, decoded.right, options, emit)
}

const runDecoded = <Output>(
  config: TeamConfig,
  input: Input,
  options: RunOptions | undefined,
  emit: ((event: RunEvent.RunEvent<Output>) => Effect.Effect<unknown>) | undefined
): Effect.Effect<TeamResult<Output>, AgentError> =>
  Effect.flatMap(FiberRef.get(RunContext.current), (context) => {
    const streaming: Streaming<Output> | undefined = emit !== undefined
      ? { parent: [], emit, complete: emit }
      : context.emit === undefined
      ? undefined
      : { parent: context.path, emit: context.emit, complete: undefined }
    return runWith<Output>(config, input, options, streaming, context)
  })

interface LeaderRun {
  /** Since the team's run started. */
  readonly startedAtMs: number
  /** Its result's, or what it spent until it failed. */
  readonly metrics: RunMetrics
}

const runWith = <Output>(
  config: TeamConfig,
  input: Input,
  options: RunOptions | undefined,
  streaming: Streaming<Output> | undefined,
  context: RunContext.RunContext
): Effect.Effect<TeamResult<Output>, AgentError> =>
  Effect.suspend(() => {
    const runId = options?.runId ?? crypto.randomUUID()
    const name = config.name
    const path = streaming === undefined ? [name] : [...streaming.parent, name]
    const policy = options?.policy === undefined ? config.policy : Policy.merge(config.policy, options.policy)
    const leaderOptions: RunOptions = {
      runId,
      maxSteps: options?.maxSteps,
      policy: options?.policy === undefined ? undefined : { ...options.policy, runTimeout: Duration.infinity }
    }
    const members: Array<MemberRun> = []
    const leaderRuns: Array<LeaderRun> = []
    const leaderResults: Array<RunResult<unknown>> = []

    // The members' events go below the team (a coordinating leader's loop puts its tools' runs there itself).
    const belowTeam = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      streaming === undefined ? effect : RunContext.streamingTo(effect, path, streaming.emit)

    // The leader's events are the team's, at its path (the leader is named after the team): all
    // but its RunStarted (the team's came first) and, when it routes, its text (a decision, not
    // an answer). Its RunCompleted is its caller's business, as any nested run's.
    const asLeader = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      streaming === undefined ?
        effect :
        RunContext.streamingTo(effect, streaming.parent, (event) =>
          event.path.length === path.length &&
            (event._tag === "RunStarted" || (config.mode === "route" && event._tag === "TextDelta"))
            ? Effect.void
            : streaming.emit(event))

    let startedAt = 0
    const body = Effect.gen(function*() {
      startedAt = yield* Clock.currentTimeMillis
      if (streaming !== undefined) {
        yield* streaming.emit({ _tag: "RunStarted", runId, agent: name, path, input: Run.inputText(input) })
      }

      const runLeader = (leaderInput: Input) =>
        Effect.gen(function*() {
          const startedAtMs = (yield* Clock.currentTimeMillis) - startedAt
          const result = yield* asLeader(RunContext.asking(config.leader.run(leaderInput, leaderOptions), (metrics) => {
            leaderRuns.push({ startedAtMs, metrics })
          }))
          leaderRuns.push({ startedAtMs, metrics: result.metrics })
          leaderResults.push(result)
          return result
        })

      // A coordinating team that fails on a member's failure: the delegation hands the failure
      // over and waits; a watcher task fails the group with it, which interrupts the leader and
      // every delegation in flight.
      const escalation = config.mode === "coordinate" && config.onMemberFailure === "fail"
        ? yield* Deferred.make<never, AgentError>()
        : undefined
      const collector: RunContext.Collector = {
        startedAt,
        record: (run) => {
          members.push(run)
        },
        escalate: escalation === undefined
          ? undefined
          : (error) => Effect.zipRight(Deferred.fail(escalation, error), Effect.never)
      }

      const coordinate = escalation === undefined ? runLeader(input) : TaskGroup.run((group) =>
        Effect.gen(function*() {
          const watcher = yield* group.fork(Deferred.await(escalation)).pipe(
            Effect.catchTag("TaskGroupClosed", (closed) => Effect.die(closed))
          )
          const result = yield* runLeader(input)
          yield* watcher.interrupt
          return result
        })
      )

      const route = Effect.gen(function*() {
        let conversation: Input = input
        for (let attempt = 1;; attempt++) {
          const decision = yield* runLeader(conversation)
          const chosen = (decision.output as { readonly member: string }).member
          const outcome = yield* Effect.either(belowTeam(Delegate.run(config.byName.get(chosen)!, input)))
          if (Either.isRight(outcome)) return outcome.right
          if (config.onMemberFailure === "fail" || attempt >= config.members.length) {
            return yield* Effect.fail(outcome.left)
          }
          conversation = [...decision.messages, Prompts.routeAgain(chosen, outcome.left.message)]
        }
      })

      const broadcast = Effect.gen(function*() {
        const outcomes = yield* belowTeam(TaskGroup.forEach(
          config.members,
          (member) =>
            config.onMemberFailure === "fail"
              ? Effect.map(Delegate.run(member, input), Either.right)
              : Effect.either(Delegate.run(member, input)),
          { concurrency: config.concurrency }
        ))
        return yield* runLeader(synthesisInput(input, config.members, outcomes))
      })

      const answer: RunResult<unknown> = yield* RunContext.locally(
        config.mode === "coordinate" ? coordinate : config.mode === "route" ? route : broadcast,
        (inner) => ({ ...inner, collector })
      )

      const now = yield* Clock.currentTimeMillis
      const leader = combine(leaderResults)
      const result: TeamResult<Output> = {
        runId,
        agent: name,
        content: answer.content,
        output: answer.output as Output,
        messages: answer.messages,
        steps: answer.steps,
        metrics: treeMetrics(config.mode, leaderRuns, members, now - startedAt),
        mode: config.mode,
        leader,
        members
      }
      yield* Effect.annotateCurrentSpan({
        "gen_ai.usage.input_tokens": result.metrics.inputTokens,
        "gen_ai.usage.output_tokens": result.metrics.outputTokens,
        "team.delegations": members.length
      })
      if (streaming?.complete !== undefined) {
        yield* streaming.complete({ _tag: "RunCompleted", runId, agent: name, path, result })
      }
      return result
    })
    const limited = Policy.isLimited(policy.runTimeout)
      ? Effect.timeoutFail(body, {
        duration: policy.runTimeout,
        onTimeout: () => new RunTimeout({ agent: name, timeout: policy.runTimeout })
      })
      : body
    // a team delegated to says what its tree spent when it fails; the runs inside are not asked
    return Effect.flatMap(Effect.zip(tracing, Effect.clock), ([spans, clock]) =>
      spans.span("team.run", { attributes: { "gen_ai.agent.name": name, "team.mode": config.mode, "run.id": runId } })(
        RunContext.running(
          limited,
          context,
          { ...context, report: undefined },
          () =>
            treeMetrics(config.mode, leaderRuns, members, clock.unsafeCurrentTimeMillis() - startedAt)
        )
      ))
  })

/** The leader's input in broadcast mode: the request, then every member's answer (or failure). */
const synthesisInput = (
  input: Input,
  members: ReadonlyArray<Runnable<unknown>>,
  outcomes: ReadonlyArray<Either.Either<RunResult<unknown>, AgentError>>
): Input => {
  const request: ReadonlyArray<LanguageModel.Message> = typeof input === "string" ? [LanguageModel.user(input)] : input
  const answers = members.map((member, i) => {
    const outcome = outcomes[i]!
    return Either.isRight(outcome)
      ? { member: member.name, content: outcome.right.content, failed: false }
      : { member: member.name, content: outcome.left.message, failed: true }
  })
  return [...request, Prompts.memberAnswers(answers)]
}

/** Several runs of the leader (a route leader asked again after a failure) as one. */
const combine = (runs: ReadonlyArray<RunResult<unknown>>): RunResult<unknown> => {
  const last = runs.at(-1)!
  if (runs.length === 1) return last
  return {
    ...last,
    steps: runs.flatMap((run) => run.steps).map((step, index) => ({ ...step, index })),
    metrics: {
      ...Run.sumMetrics(runs.map((run) => run.metrics)),
      durationMs: runs.reduce((total, run) => total + run.metrics.durationMs, 0),
      timeToFirstTokenMs: runs[0]!.metrics.timeToFirstTokenMs
    }
  }
}

/**
 * The figures of the whole tree: every model call once (the leader's runs and
 * every member's, whose own figures hold their subtrees; a failed run's up to
 * its failure), the team's duration, and the first text of the tree.
 */
const treeMetrics = (
  mode: Mode,
  leaderRuns: ReadonlyArray<LeaderRun>,
  members: ReadonlyArray<MemberRun>,
  durationMs: number
): RunMetrics => {
  const runs: ReadonlyArray<LeaderRun> = [...leaderRuns, ...members]
  let timeToFirstTokenMs: number | undefined
  // a routing decision is JSON for the team, not text for the user
  for (const [i, run] of runs.entries()) {
    if (mode === "route" && i < leaderRuns.length) continue
    if (run.metrics.timeToFirstTokenMs === undefined) continue
    const at = run.startedAtMs + run.metrics.timeToFirstTokenMs
    if (timeToFirstTokenMs === undefined || at < timeToFirstTokenMs) timeToFirstTokenMs = at
  }
  return { ...Run.sumMetrics(runs.map((run) => run.metrics)), durationMs, timeToFirstTokenMs }
}
