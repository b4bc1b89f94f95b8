import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import type { AgentError } from "../AgentError.js"
import { RunSuspended, RunTimeout } from "../AgentError.js"
import type * as Guardrail from "../Guardrail.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Policy from "../Policy.js"
import * as Run from "../Run.js"
import type { Input, MemberRun, RunMetrics, RunResult, TeamMode as Mode, TeamResult } from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import type { Runnable, RunOptions } from "../Runnable.js"
import * as RunState from "../RunState.js"
import * as RunStore from "../RunStore.js"
import * as TaskGroup from "../TaskGroup.js"
import * as Budget from "./budget.js"
import * as Delegate from "./delegate.js"
import * as Guardrails from "./guardrails.js"
import * as Prompts from "./prompts.js"
import * as RunContext from "./runContext.js"
import * as Suspended from "./suspended.js"
import { operation, tracing } from "./tracing.js"

/** What a member's failure does (see `Team.MemberFailure`). */
export type MemberFailure = "report" | "fail"

/** The team's leader: an agent, which a coordinating team resumes. */
export interface Leader extends Runnable<unknown> {
  resume(from: RunState.RunState | string, options?: RunOptions): Effect.Effect<RunResult<unknown>, AgentError>
}

/** What a team's run needs to know of the team. */
export interface TeamConfig {
  readonly name: string
  readonly mode: Mode
  /** An agent named after the team: its events are the team's. */
  readonly leader: Leader
  readonly members: ReadonlyArray<Runnable<unknown>>
  readonly byName: ReadonlyMap<string, Runnable<unknown>>
  readonly concurrency: number | "unbounded"
  /** The team's policy: its `runTimeout` is the team's timeout. */
  readonly policy: Policy.Policy
  readonly onMemberFailure: MemberFailure
  /** The checks of the team's input and answer. */
  readonly guardrails: Pick<Guardrail.Guardrails, "input" | "output">
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
 * How a team's run starts: on its input; or going on from its suspension,
 * asked by `team.resume` (`strict`: the run must be kept, and be this
 * team's) or by a resumed caller starting it again at its call site.
 */
type Start =
  | { readonly _tag: "Input"; readonly input: Input }
  | { readonly _tag: "Resume"; readonly runId: string; readonly strict: boolean; readonly input: Input }

type Emit<Output> = (event: RunEvent.RunEvent<Output>) => Effect.Effect<unknown>

/**
 * Runs a team. With `emit` (the team is streamed), or under a sink (the team
 * is a member, or nested in a streamed run), it emits its events, and the
 * runs under it stream there below it; otherwise nothing is emitted.
 */
export const run = <Output>(
  config: TeamConfig,
  input: Input,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<TeamResult<Output>, AgentError> => {
  const decoded = typeof input === "string" ? Either.right(input) : Run.decodeInput(config.name, input)
  if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
  return Effect.flatMap(FiberRef.get(RunContext.current), (context) => {
    const site = context.call
    const runId = options?.runId
    // started again by the call of a resumed run: it may have suspended, and goes on
    const start: Start = site?.resumed === true && runId === site.runId
      ? { _tag: "Resume", runId, strict: false, input: decoded.right }
      : { _tag: "Input", input: decoded.right }
    return runFrom(config, start, options, emit, context)
  })
}

/**
 * Continues the suspended run `runId` of the team once its approvals are
 * decided: a coordinating team's leader goes on from its kept state; the
 * members of the other modes that had answered answer from theirs, the
 * suspended ones go on, and the others run again.
 */
export const resume = <Output>(
  config: TeamConfig,
  runId: string,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<TeamResult<Output>, AgentError> =>
  Effect.flatMap(
    FiberRef.get(RunContext.current),
    (context) =>
      runFrom(config, { _tag: "Resume", runId, strict: true, input: [] }, { ...options, runId }, emit, context)
  )

const runFrom = <Output>(
  config: TeamConfig,
  start: Start,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  context: RunContext.RunContext
): Effect.Effect<TeamResult<Output>, AgentError> => {
  const streaming: Streaming<Output> | undefined = emit !== undefined
    ? { parent: [], emit, complete: emit }
    : context.emit === undefined
    ? undefined
    : { parent: context.path, emit: context.emit, complete: undefined }
  return new TeamRun<Output>(config, start, options, streaming, context).run
}

/**
 * The kept run `runId` of a team that is not coordinating, taken out of the
 * store: its state holds the team's input. Nothing kept is `undefined`
 * (a caller's call site) or `RunNotFound` (`team.resume`, which also refuses
 * another's run).
 */
const takeKept = (
  config: TeamConfig,
  start: Extract<Start, { readonly _tag: "Resume" }>
): Effect.Effect<RunStore.SuspendedRun | undefined, AgentError> =>
  start.strict
    ? Suspended.resume(start.runId, config.name, (run) => Effect.succeed(run))
    : Effect.map(Suspended.takeNested(start.runId), (kept) => kept?.run)

interface LeaderRun {
  /** Since the team's run started. */
  readonly startedAtMs: number
  /** Its result's, or what it spent until it failed. */
  readonly metrics: RunMetrics
}

/** The collector of a team's run, with the escalation of a team that fails on a member's failure. */
interface Collector extends RunContext.Collector {
  readonly escalation?: Deferred.Deferred<never, AgentError> | undefined
}

/** One run of a team: its leader's runs, its members' runs, and what they spent. */
class TeamRun<Output> {
  readonly runId: string
  readonly path: ReadonlyArray<string>
  readonly policy: Policy.Policy
  readonly leaderOptions: RunOptions
  readonly members: Array<MemberRun> = []
  readonly leaderRuns: Array<LeaderRun> = []
  readonly leaderResults: Array<RunResult<unknown>> = []
  /** The runs started at the team's call sites (members, a router's decisions): their last states; those that answered. */
  readonly lastStates = new Map<string, RunState.RunState>()
  readonly answered = new Set<string>()
  /** The input, once known (a resumed run reads it from its kept state). */
  input: Input
  /** The team's call sites find the runs they start kept. */
  resumed: boolean
  startedAt = 0

  constructor(
    readonly config: TeamConfig,
    readonly start: Start,
    options: RunOptions | undefined,
    readonly streaming: Streaming<Output> | undefined,
    readonly context: RunContext.RunContext
  ) {
    this.runId = RunContext.runIdIn(context, options?.runId)
    this.input = start.input
    this.resumed = start._tag === "Resume"
    this.path = streaming === undefined ? [config.name] : [...streaming.parent, config.name]
    this.policy = options?.policy === undefined ? config.policy : Policy.merge(config.policy, options.policy)
    // the team's run timeout and budget bound the leader with the members
    this.leaderOptions = {
      runId: this.runId,
      maxSteps: options?.maxSteps,
      policy: options?.policy === undefined
        ? undefined
        : { ...options.policy, runTimeout: Duration.infinity, budget: undefined }
    }
  }

  /**
   * The run, with the team's timeout and budget, in its span; a team
   * delegated to says what its tree spent when it fails.
   */
  get run(): Effect.Effect<TeamResult<Output>, AgentError> {
    const { config, context, policy } = this
    const limited = Policy.isLimited(policy.runTimeout)
      ? Effect.timeoutFail(this.body, {
        duration: policy.runTimeout,
        onTimeout: () => new RunTimeout({ agent: config.name, timeout: policy.runTimeout })
      })
      : this.body
    const counter = Budget.counter(policy.budget, this.path, context.budget)
    const budgeted = Budget.enforce(limited, counter === context.budget ? undefined : counter)
    const inner = { ...context, report: undefined, runIds: undefined, call: undefined, budget: counter }
    const attributes = {
      "gen_ai.operation.name": operation.invokeAgent,
      "gen_ai.agent.name": config.name,
      "team.mode": config.mode,
      "run.id": this.runId
    }
    return Effect.flatMap(
      Effect.zip(tracing, Effect.clock),
      ([spans, clock]) =>
        spans.span(`${operation.invokeAgent} ${config.name}`, { attributes })(
          RunContext.running(budgeted, context, inner, () => this.metrics(clock))
        )
    )
  }

  private metrics(clock: Clock.Clock): RunMetrics {
    return treeMetrics(
      this.config.mode,
      this.leaderRuns,
      this.members,
      clock.unsafeCurrentTimeMillis() - this.startedAt
    )
  }

  private get body(): Effect.Effect<TeamResult<Output>, AgentError> {
    return Effect.gen(this, function*() {
      this.startedAt = yield* Clock.currentTimeMillis
      const { config, path, runId, start, streaming } = this
      if (start._tag === "Resume" && config.mode !== "coordinate") {
        // a coordinating team's leader takes its own kept run; the others' runs keep the team's input
        const kept = yield* takeKept(config, start)
        if (kept !== undefined) this.input = kept.state.messages
      }
      if (streaming !== undefined && start._tag === "Input") {
        yield* streaming.emit({ _tag: "RunStarted", runId, agent: config.name, path, input: Run.inputText(this.input) })
      }
      const collector = yield* this.collector
      const guards: Guardrails.Env = { runId, agent: config.name, path, emit: streaming?.emit, tracing: yield* tracing }
      const answer = yield* this.guarded(
        guards,
        RunContext.locally(this.modeRun(collector), (inner) => ({ ...inner, collector }))
      )
      yield* Guardrails.outputsPass(guards, config.guardrails.output, {
        agent: config.name,
        content: answer.content,
        output: answer.output
      })
      const result: TeamResult<Output> = {
        runId,
        agent: config.name,
        content: answer.content,
        output: answer.output as Output,
        messages: answer.messages,
        steps: answer.steps,
        metrics: this.metrics(yield* Effect.clock),
        mode: config.mode,
        leader: combine(this.leaderResults),
        members: this.members
      }
      yield* Effect.annotateCurrentSpan({
        "gen_ai.usage.input_tokens": result.metrics.inputTokens,
        "gen_ai.usage.output_tokens": result.metrics.outputTokens,
        "team.delegations": this.members.length
      })
      if (streaming?.complete !== undefined) {
        yield* streaming.complete({ _tag: "RunCompleted", runId, agent: config.name, path, result })
      }
      return result
    })
  }

  /**
   * The team's work with its input guardrails: the blocking ones before it,
   * the parallel ones beside it (a trip interrupts it).
   */
  private guarded<A>(env: Guardrails.Env, work: Effect.Effect<A, AgentError>): Effect.Effect<A, AgentError> {
    const { blocking, parallel } = Guardrails.splitInputs(env, this.config.guardrails.input, {
      agent: this.config.name,
      input: Run.inputText(this.input),
      messages: typeof this.input === "string" ? [LanguageModel.user(this.input)] : this.input
    })
    const beside = parallel === undefined ? work : Effect.zipLeft(work, parallel, { concurrent: true })
    return blocking === undefined ? beside : Effect.zipRight(blocking, beside)
  }

  /**
   * Where the delegations of the run are recorded. A coordinating team that
   * fails on a member's failure: the delegation hands the failure over and
   * waits (see {@link coordinate}).
   */
  private get collector(): Effect.Effect<Collector> {
    return Effect.suspend((): Effect.Effect<Collector> => {
      const record = (run: MemberRun) => {
        this.members.push(run)
      }
      if (this.config.mode !== "coordinate" || this.config.onMemberFailure !== "fail") {
        return Effect.succeed({ startedAt: this.startedAt, record, escalate: undefined })
      }
      return Effect.map(Deferred.make<never, AgentError>(), (escalation) => ({
        startedAt: this.startedAt,
        record,
        escalate: (error: AgentError) => Effect.zipRight(Deferred.fail(escalation, error), Effect.never),
        escalation
      }))
    })
  }

  private modeRun(collector: Collector): Effect.Effect<RunResult<unknown>, AgentError> {
    switch (this.config.mode) {
      case "coordinate":
        return this.coordinate(collector.escalation)
      case "route":
        return this.route
      case "broadcast":
        return this.broadcast
    }
  }

  /** The members' events go below the team (a coordinating leader's loop puts its tools' runs there itself). */
  private belowTeam<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    const streaming = this.streaming
    return streaming === undefined ? effect : RunContext.streamingTo(effect, this.path, streaming.emit)
  }

  /**
   * A run of the leader. Its events are the team's, at its path (the leader
   * is named after the team): all but its RunStarted (the team's came first)
   * and, when it routes, its text (a decision, not an answer). Its
   * RunCompleted is its caller's business, as any nested run's.
   */
  private runLeader(input: Input): Effect.Effect<RunResult<unknown>, AgentError> {
    return Effect.gen(this, function*() {
      const { config, path, streaming } = this
      const startedAtMs = (yield* Clock.currentTimeMillis) - this.startedAt
      const run = RunContext.asking(this.leaderRun(input), (metrics) => {
        this.leaderRuns.push({ startedAtMs, metrics })
      })
      const result = yield* streaming === undefined ?
        run :
        RunContext.streamingTo(run, streaming.parent, (event) =>
          event.path.length === path.length &&
            (event._tag === "RunStarted" || (config.mode === "route" && event._tag === "TextDelta"))
            ? Effect.void
            : streaming.emit(event))
      this.leaderRuns.push({ startedAtMs, metrics: result.metrics })
      this.leaderResults.push(result)
      return result
    })
  }

  /**
   * A run of the leader: a coordinating leader resumed goes on from its kept
   * run (under the team's id); a router's decisions are made at call sites
   * (kept, should the member it chose suspend).
   */
  private leaderRun(input: Input): Effect.Effect<RunResult<unknown>, AgentError> {
    const { config, leaderOptions, start } = this
    if (config.mode === "coordinate" && start._tag === "Resume" && this.leaderRuns.length === 0) {
      const resumed = config.leader.resume(this.runId, leaderOptions)
      return start.strict
        ? resumed
        : Effect.catchTag(resumed, "RunNotFound", () => config.leader.run(input, leaderOptions))
    }
    if (config.mode !== "route") return config.leader.run(input, leaderOptions)
    return this.atSite(
      `${this.runId}.route.${this.leaderRuns.length}`,
      (site) => config.leader.run(input, { ...leaderOptions, runId: site.runId, onState: site.onState })
    )
  }

  /**
   * Runs what `f` starts (a member's run, a router's decision) at a call
   * site of the team, under the site's id: the run's last state is kept
   * should the team suspend, and found when the team is resumed.
   */
  private atSite<A>(
    runId: string,
    f: (site: RunContext.CallSite) => Effect.Effect<A, AgentError>
  ): Effect.Effect<A, AgentError> {
    const site: RunContext.CallSite = {
      runId,
      resumed: this.resumed,
      onState: (state) => Effect.sync(() => void this.lastStates.set(runId, state)),
      suspended: undefined
    }
    return RunContext.locally(f(site), (context) => ({ ...context, call: site })).pipe(
      Effect.tap(() => Effect.sync(() => void this.answered.add(runId)))
    )
  }

  /** A member's run, at its call site. */
  private delegate(member: Runnable<unknown>): Effect.Effect<RunResult<unknown>, AgentError> {
    return this.atSite(`${this.runId}.${member.name}`, () => Delegate.run(member, this.input))
  }

  /**
   * Suspends the run: keeps the last state of each run that answered at its
   * call sites (resumed, they answer from it), and the team's input with
   * every approval waited for under the team's id.
   */
  private suspend(suspensions: ReadonlyArray<RunSuspended>): Effect.Effect<never, AgentError> {
    return Effect.gen(this, function*() {
      const { config, runId } = this
      const store = yield* RunStore.RunStore
      const suspendedAt = yield* Clock.currentTimeMillis
      const kept = { approvals: [], alwaysApproved: [], suspendedAt }
      for (const answered of this.answered) {
        const state = this.lastStates.get(answered)
        if (state !== undefined) yield* store.save({ ...kept, runId: answered, agent: state.agent, state })
      }
      const approvals = suspensions.flatMap((suspension) => suspension.approvals)
      const state = RunState.initial({ runId, agent: config.name, instructions: "", input: this.input })
      yield* store.save({ ...kept, runId, agent: config.name, state, approvals })
      return yield* new RunSuspended({ runId, agent: config.name, approvals })
    })
  }

  /** A watcher task fails the group with an escalated failure, which interrupts the leader and every delegation. */
  private coordinate(escalation: Deferred.Deferred<never, AgentError> | undefined) {
    if (escalation === undefined) return this.runLeader(this.input)
    return TaskGroup.run((group) =>
      Effect.gen(this, function*() {
        const watcher = yield* group.fork(Deferred.await(escalation)).pipe(
          Effect.catchTag("TaskGroupClosed", (closed) => Effect.die(closed))
        )
        const result = yield* this.runLeader(this.input)
        yield* watcher.interrupt
        return result
      })
    )
  }

  private get route(): Effect.Effect<RunResult<unknown>, AgentError> {
    return Effect.gen(this, function*() {
      const { config } = this
      let conversation: Input = this.input
      for (let attempt = 1;; attempt++) {
        const decision = yield* this.runLeader(conversation)
        const chosen = (decision.output as { readonly member: string }).member
        const outcome = yield* Effect.either(this.belowTeam(this.delegate(config.byName.get(chosen)!)))
        if (Either.isRight(outcome)) return outcome.right
        if (outcome.left._tag === "RunSuspended") return yield* this.suspend([outcome.left])
        if (config.onMemberFailure === "fail" || attempt >= config.members.length) {
          return yield* Effect.fail(outcome.left)
        }
        conversation = [...decision.messages, Prompts.routeAgain(chosen, outcome.left.message)]
      }
    })
  }

  /** Every member at once; when some suspend for approval, the others end first, then the team suspends. */
  private get broadcast(): Effect.Effect<RunResult<unknown>, AgentError> {
    const { config } = this
    const settle = (
      run: Effect.Effect<RunResult<unknown>, AgentError>
    ): Effect.Effect<Either.Either<RunResult<unknown>, AgentError>, AgentError> =>
      config.onMemberFailure === "fail"
        ? run.pipe(
          Effect.map((result) => Either.right(result)),
          Effect.catchTag("RunSuspended", (suspended) => Effect.succeed(Either.left(suspended)))
        )
        : Effect.either(run)
    return Effect.gen(this, function*() {
      const outcomes = yield* this.belowTeam(
        TaskGroup.forEach(config.members, (member) => settle(this.delegate(member)), {
          concurrency: config.concurrency
        })
      )
      const suspended = outcomes.flatMap((outcome) =>
        Either.isLeft(outcome) && outcome.left._tag === "RunSuspended" ? [outcome.left] : []
      )
      if (suspended.length > 0) return yield* this.suspend(suspended)
      return yield* this.runLeader(synthesisInput(this.input, config.members, outcomes))
    })
  }
}

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
