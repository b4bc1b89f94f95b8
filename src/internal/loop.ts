/**
 * The agent loop, as a function of the run's state (`RunState`): each step
 * takes a state to the next, in two halves (the model's call, which leaves
 * its tool calls pending; their run, which records the step), until the
 * model gives an answer or the run reaches `maxSteps`. A run starts from its
 * input or from a stored state; the run's wrappers (its services, timeout,
 * metrics, span) sit around the steps.
 */
import type * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import type { AgentError } from "../AgentError.js"
import {
  InputInvalid,
  MaxHandoffsExceeded,
  MaxStepsExceeded,
  OutputInvalid,
  RunSuspended,
  RunTimeout
} from "../AgentError.js"
import type * as Approval from "../Approval.js"
import type * as Guardrail from "../Guardrail.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Policy from "../Policy.js"
import type * as Pricing from "../Pricing.js"
import * as Run from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import type { RunOptions } from "../Runnable.js"
import * as RunState from "../RunState.js"
import * as RunStore from "../RunStore.js"
import type * as Toolkit from "../Toolkit.js"
import * as Approvals from "./approvals.js"
import * as Budget from "./budget.js"
import * as Guardrails from "./guardrails.js"
import type * as Handoff from "./handoff.js"
import * as Journal from "./journal.js"
import type * as Metering from "./metering.js"
import * as ModelCall from "./modelCall.js"
import type { OutputSpec } from "./output.js"
import * as Prompts from "./prompts.js"
import * as RunContext from "./runContext.js"
import * as Suspended from "./suspended.js"
import * as ToolCalls from "./toolCalls.js"
import { operation, type Tracing, tracing } from "./tracing.js"

/** What the loop needs to know of an agent. */
export interface LoopConfig<Output> {
  readonly name: string
  readonly instructions: string
  readonly model: LanguageModel.Service
  readonly toolkit: Toolkit.Any
  /** Whether some tools hand tasks to other runs, whose spending the run's metrics then add. */
  readonly delegates: boolean
  /** Updates the library's metrics when a run ends. */
  readonly meter: Metering.Meter
  /** The services the tools need, captured when the agent was made. */
  readonly context: Context.Context<never>
  readonly maxSteps: number
  readonly toolConcurrency: number | "unbounded"
  readonly policy: Policy.Policy
  readonly output: OutputSpec<Output> | undefined
  /** The prices of the models, read when the agent was made. */
  readonly prices: Pricing.PriceTable
  readonly guardrails: Guardrail.Guardrails<Output>
  /** The handoffs of its toolkit, by tool name (see `Agent.handoff`). */
  readonly handoffs: ReadonlyMap<string, Handoff.Spec<LoopConfig<unknown>>>
  /** Handoffs a run started with this agent may make. */
  readonly maxHandoffs: number
}

/** Receives the events of a streamed run; absent for `run`. */
export type Emit<Output> = (event: RunEvent.RunEvent<Output>) => Effect.Effect<unknown>

/** How a run starts: from its input, or from a stored state. */
type Start =
  | { readonly _tag: "Input"; readonly input: Run.Input; readonly runId: string | undefined }
  | {
    readonly _tag: "State"
    readonly state: RunState.RunState
    /** Resumed from the `RunStore`, with the decisions given since it suspended. */
    readonly suspended: Approvals.Decided | undefined
  }

/**
 * Runs an agent from its input. With `emit` (the run is streamed), or under
 * a sink (the run is nested in a streamed one), the model is streamed and the
 * events are emitted; otherwise the model is called with `generate`.
 */
export const runLoop = <Output>(
  config: LoopConfig<Output>,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<Run.RunResult<Output>, AgentError> => {
  const start = (input: Run.Input) => startRun(config, { _tag: "Input", input, runId: options?.runId }, options, emit)
  if (typeof input === "string") return start(input)
  const decoded = Run.decodeInput(config.name, input)
  return Either.isLeft(decoded) ? Effect.fail(decoded.left) : start(decoded.right)
}

/** Continues an agent's run from a stored state, with the approvals decided since it suspended. */
export const resumeLoop = <Output>(
  config: LoopConfig<Output>,
  state: RunState.RunState,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  suspended?: Approvals.Decided
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  state.agent === config.name
    ? startRun(config, { _tag: "State", state, suspended }, options, emit)
    : Effect.fail(
      new InputInvalid({
        agent: config.name,
        issues: [{ path: "agent", message: `the state is of a run of "${state.agent}", not "${config.name}"` }]
      })
    )

/** Starts a run: a nested run that suspended before goes on from its kept state. */
const startRun = <Output>(
  config: LoopConfig<Output>,
  start: Start,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  Effect.flatMap(FiberRef.get(RunContext.current), (context) => {
    const site = context.call
    if (start._tag === "Input" && site?.resumed === true && start.runId === site.runId) {
      // a run started again by the call of a resumed run: it may have been kept, and goes on from there
      return Effect.flatMap(Suspended.takeNested(start.runId), (kept) =>
        begin(
          config,
          kept === undefined ? start : { _tag: "State", state: kept.run.state, suspended: kept.decided },
          options,
          emit,
          context
        ))
    }
    return begin(config, start, options, emit, context)
  })

/**
 * Starts a run where the run context puts it: streamed to `emit` (its own
 * stream), or nested in the streamed run the fiber works for (its events go
 * there, below that run, all but its `RunCompleted`), or on its own.
 */
const begin = <Output>(
  config: LoopConfig<Output>,
  start: Start,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  context: RunContext.RunContext
): Effect.Effect<Run.RunResult<Output>, AgentError> => {
  const outer = context.emit
  if (emit !== undefined || outer === undefined) return runWith(config, start, options, emit, [config.name], context)
  const forward: Emit<Output> = (event) => event._tag === "RunCompleted" ? Effect.void : outer(event)
  return runWith(config, start, options, forward, [...context.path, config.name], context)
}

// -----------------------------------------------------------------------------
// A run's environment
// -----------------------------------------------------------------------------

/**
 * The run's latest state: what a failing run reports, what its metrics
 * count. The runs it delegates to (its tools' agents) charge it as they end;
 * the next state takes their spending in.
 */
class Progress {
  private charged: Run.RunMetrics | undefined
  constructor(public state: RunState.RunState) {}

  readonly charge = (metrics: Run.RunMetrics): void => {
    this.charged = this.charged === undefined ? metrics : Run.sumMetrics([this.charged, metrics])
  }

  /** `state`, with what was charged since the last state: the run's latest. */
  advance(state: RunState.RunState): RunState.RunState {
    const charged = this.charged
    this.charged = undefined
    this.state = charged === undefined ? state : {
      ...state,
      delegated: Run.sumMetrics([state.delegated, charged])
    }
    return this.state
  }

  metrics(durationMs: number): Run.RunMetrics {
    const metrics = RunState.metrics(this.state, durationMs)
    return this.charged === undefined ? metrics : {
      ...Run.sumMetrics([metrics, this.charged]),
      durationMs,
      timeToFirstTokenMs: metrics.timeToFirstTokenMs
    }
  }
}

/** Everything a run's steps need, fixed for the run. */
interface Env<Output> extends ModelCall.Env, ToolCalls.Env, Approvals.Env {
  readonly config: LoopConfig<Output>
  readonly emit: Emit<Output> | undefined
  readonly maxSteps: number
  readonly onState: ((state: RunState.RunState) => Effect.Effect<void>) | undefined
  /** The run's time at the clock's `at`: what the stored state had, and this process's since it started. */
  readonly elapsed: (at: number) => number
  /** The run's time so far. */
  readonly durationMs: () => number
  readonly progress: Progress
  /** The input guardrails that run beside the run's first model call (see `Guardrail.input`). */
  readonly beside: Effect.Effect<void, AgentError> | undefined
  /** The handoffs the run made before this agent spoke, and how many it may make. */
  readonly chain: Chain
}

/** A run's handoffs so far, and its limit (the first agent's). */
interface Chain {
  readonly handoffs: number
  readonly max: number
}

const makeEnv = <Output>(
  config: LoopConfig<Output>,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  path: ReadonlyArray<string>,
  state: RunState.RunState,
  suspended: Approvals.Decided | undefined,
  context: RunContext.RunContext,
  clock: Clock.Clock,
  spans: Tracing
): Env<Output> => {
  const policy = options?.policy === undefined ? config.policy : Policy.merge(config.policy, options.policy)
  const startedAt = clock.unsafeCurrentTimeMillis()
  return {
    config,
    runId: state.runId,
    agent: config.name,
    path,
    emit,
    clock,
    tracing: spans,
    policy,
    models: [config.model, ...policy.fallback],
    tools: config.toolkit.definitions,
    responseFormat: config.output?.format,
    firstTimeout: ModelCall.firstTimeout(policy),
    prices: config.prices,
    budget: Budget.counter(policy.budget, path, context.budget),
    toolGuardrails: config.guardrails.tool ?? [],
    beside: undefined,
    chain: { handoffs: 0, max: config.maxHandoffs },
    toolkit: config.toolkit,
    toolOptions: { defaultTimeout: Policy.isLimited(policy.toolTimeout) ? policy.toolTimeout : undefined },
    toolConcurrency: config.toolConcurrency,
    decided: suspended ?? Approvals.nothingDecided,
    resumed: suspended !== undefined,
    journal: context.journal,
    maxSteps: options?.maxSteps ?? config.maxSteps,
    onState: options?.onState,
    elapsed: (at) => state.elapsedMs + at - startedAt,
    durationMs: () => state.elapsedMs + clock.unsafeCurrentTimeMillis() - startedAt,
    progress: new Progress(state)
  }
}

// -----------------------------------------------------------------------------
// Steps
// -----------------------------------------------------------------------------

/** The run's answer: its text, and its output (decoded with the output Schema). */
interface Answer<Output> {
  readonly content: string
  readonly output: Output
}

/** What a half-step came to: the next state, and the run's answer once the model gave it. */
interface Outcome<Output> {
  readonly state: RunState.RunState
  readonly answer: Answer<Output> | undefined
}

/**
 * A half-step's state becomes the run's latest and is handed to `onState` (a
 * run may stop after either half); then the run goes on from the latest.
 */
const save = <A, E, Output>(
  env: Env<Output>,
  state: RunState.RunState,
  next: (latest: RunState.RunState) => Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const latest = env.progress.advance(state)
  return env.onState === undefined ? next(latest) : Effect.flatMap(env.onState(latest), () => next(latest))
}

/** A step done: the run goes on from `state`, with its answer if the model gave one. */
const stepDone = <Output>(answer?: Answer<Output>) => (state: RunState.RunState): Effect.Effect<Outcome<Output>> =>
  Effect.succeed({ state, answer })

/** A streamed run's `StepCompleted`, then `next`. */
const stepCompleted = <A, E, Output>(
  env: Env<Output>,
  step: Run.Step,
  next: Effect.Effect<A, E>
): Effect.Effect<A, E> =>
  env.emit === undefined
    ? next
    : Effect.zipRight(
      env.emit({ _tag: "StepCompleted", runId: env.runId, agent: env.agent, path: env.path, step }),
      next
    )

/**
 * The model's half of a step: its tool calls become the pending step, whose
 * run (`act`) follows; an answer without tool calls ends the step, and the run
 * when it decodes (or, once, asks the model to correct it).
 */
const think = <Output>(env: Env<Output>, state: RunState.RunState): Effect.Effect<Outcome<Output>, AgentError> => {
  const index = state.steps.length
  const tally = new ModelCall.Tally()
  const called = ModelCall.call(env, state.messages, index, tally)
  const journaled = env.journal === undefined
    ? called
    : env.journal.model(Journal.modelKey(env.runId, index, state.correctionsLeft), called)
  return Effect.flatMap(
    // the first call waits for the input guardrails beside it, which interrupt it when one trips
    index === 0 && env.beside !== undefined ? Effect.zipLeft(journaled, env.beside, { concurrent: true }) : journaled,
    (response): Effect.Effect<Outcome<Output>, AgentError> => {
      const now = env.clock.unsafeCurrentTimeMillis()
      const firstTextAt = tally.firstTextAt(response, now)
      const pending: RunState.PendingStep = {
        index,
        text: response.text,
        usage: response.usage,
        finishReason: response.finishReason,
        model: response.model,
        toolCalls: response.toolCalls
      }
      const waiting = response.toolCalls.length > 0
      const next: RunState.RunState = {
        ...state,
        messages: [...state.messages, LanguageModel.assistant(response.text, response.toolCalls)],
        pending: waiting ? pending : undefined,
        usage: LanguageModel.addUsage(state.usage, response.usage),
        costUsd: ModelCall.addCost(state.costUsd, ModelCall.costOf(env, response)),
        toolCalls: state.toolCalls + response.toolCalls.length,
        retries: state.retries + tally.retries,
        timeToFirstTokenMs: state.timeToFirstTokenMs ??
          (firstTextAt === undefined ? undefined : env.elapsed(firstTextAt)),
        elapsedMs: env.elapsed(now)
      }
      if (waiting) return save(env, next, (latest) => ModelCall.spent(env, response, act(env, latest, pending)))
      const step: Run.Step = { ...pending, toolCalls: [] }
      const decided = answer(env, { ...next, steps: [...state.steps, step] }, response.text)
      return stepCompleted(
        env,
        step,
        Either.isLeft(decided) ? Effect.fail(decided.left) : Effect.flatMap(
          Guardrails.answer(env, env.config.guardrails.output, env.maxSteps, decided.right),
          (checked) =>
            save(env, checked.state, (latest) => ModelCall.spent(env, response, stepDone(checked.answer)(latest)))
        )
      )
    }
  )
}

/** The run's answer, or one corrective re-ask when it does not decode with the output Schema. */
const answer = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  content: string
): Either.Either<{ readonly state: RunState.RunState; readonly answer?: Answer<Output> }, OutputInvalid> => {
  const output = env.config.output
  if (output === undefined) {
    return Either.right({ state: { ...state, answer: content }, answer: { content, output: content as Output } })
  }
  const decoded = output.decode(content)
  if (Either.isRight(decoded)) {
    return Either.right({ state: { ...state, answer: content }, answer: { content, output: decoded.right } })
  }
  if (state.correctionsLeft === 0 || state.steps.length >= env.maxSteps) {
    return Either.left(new OutputInvalid({ agent: env.agent, content, issues: decoded.left }))
  }
  const messages = [...state.messages, Prompts.correction(decoded.left)]
  return Either.right({ state: { ...state, messages, correctionsLeft: state.correctionsLeft - 1 } })
}

/**
 * The tool calls' half of a step: their results join the conversation, and
 * the step is recorded. When a call waits for approval, the others run, and
 * the run suspends.
 */
const act = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  pending: RunState.PendingStep
): Effect.Effect<Outcome<Output>, AgentError> => {
  const before = pending.done ?? []
  const left = before.length === 0
    ? pending.toolCalls.map((toolCall, index) => ({ index, toolCall }))
    : pending.toolCalls.flatMap((toolCall, index) =>
      before.some((done) => done.index === index) ? [] : [{ index, toolCall }]
    )
  const sorted = Approvals.mayWait(env.toolkit, pending.toolCalls)
    ? Approvals.sort(env, pending.index, left)
    : Effect.succeed<Approvals.Sorted>({ run: left, rejected: [], waiting: [] })
  return Effect.flatMap(
    sorted,
    ({ rejected, run, waiting }) =>
      Effect.flatMap(ToolCalls.run(env, pending.index, run.map((call) => call.toolCall)), (ran) => {
        // most steps: every call ran, in the model's order
        if (before.length === 0 && rejected.length === 0 && waiting.length === 0 && !ran.some(ToolCalls.isSuspended)) {
          return recordStep(env, state, pending, ran as ReadonlyArray<ToolCalls.Done>)
        }
        const done = [...before, ...rejected]
        const nested: Array<Approval.Request> = []
        ran.forEach((outcome, i) => {
          if (ToolCalls.isSuspended(outcome)) nested.push(...outcome.suspended.approvals)
          else done.push({ ...outcome, index: run[i]!.index })
        })
        // a durable run waits for the decisions; another stops, kept in the RunStore
        if (waiting.length > 0 && env.journal !== undefined) {
          return Effect.flatMap(
            awaitDecisions(env, waiting),
            (decided) => act({ ...env, decided }, state, { ...pending, done })
          )
        }
        if (waiting.length > 0 || nested.length > 0) {
          return suspend(env, { ...state, pending: { ...pending, done } }, waiting, nested)
        }
        return recordStep(env, state, pending, done.sort((a, b) => a.index - b.index))
      })
  )
}

/** A durable run's calls waiting for approval: it waits for each decision, then goes on with them. */
const awaitDecisions = <Output>(
  env: Env<Output>,
  waiting: ReadonlyArray<Approval.Request>
): Effect.Effect<Approvals.Decided> =>
  Effect.map(
    Effect.forEach(waiting, (request) =>
      Effect.map(env.journal!.approval(request), (decision) => ({ request, decision }))),
    (decided): Approvals.Decided => ({
      decisions: new Map([
        ...env.decided.decisions,
        ...decided.map(({ decision, request }) =>
          [request.approvalId, decision] as const
        )
      ]),
      always: new Set([
        ...env.decided.always,
        ...decided.flatMap(({ decision, request }) => decision.always === true ? [request.toolCall.name] : [])
      ])
    })
  )

/** The step's calls done, in the model's order: the step is recorded. */
const recordStep = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  pending: RunState.PendingStep,
  done: ReadonlyArray<ToolCalls.Done>
): Effect.Effect<Outcome<Output>> => {
  const { done: _, ...made } = pending
  const step: Run.Step = { ...made, toolCalls: done.map(({ record }) => record) }
  const next: RunState.RunState = {
    ...state,
    pending: undefined,
    messages: [...state.messages, ...done.map(({ message }) => message)],
    steps: [...state.steps, step],
    elapsedMs: env.elapsed(env.clock.unsafeCurrentTimeMillis())
  }
  return stepCompleted(env, step, save(env, next, stepDone()))
}

/**
 * The run stops for approval: its state (the step's calls done so far) and
 * its requests, its own (`waiting`) and those of the runs its calls started
 * (`nested`, which emitted theirs), are kept in the `RunStore`; a streamed
 * run emits an `ApprovalRequested` per request of its own, and the run fails
 * with `RunSuspended`.
 */
const suspend = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  waiting: ReadonlyArray<Approval.Request>,
  nested: ReadonlyArray<Approval.Request>
): Effect.Effect<never, AgentError> => {
  const approvals = [...waiting, ...nested]
  const now = env.clock.unsafeCurrentTimeMillis()
  return save(env, { ...state, elapsedMs: env.elapsed(now) }, (latest) =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      yield* store.save({
        runId: env.runId,
        agent: env.agent,
        state: latest,
        approvals,
        alwaysApproved: [...env.decided.always],
        suspendedAt: now
      })
      if (env.emit !== undefined) {
        for (const approval of waiting) {
          yield* env.emit({ _tag: "ApprovalRequested", runId: env.runId, agent: env.agent, path: env.path, approval })
        }
      }
      return yield* new RunSuspended({ runId: env.runId, agent: env.agent, approvals })
    }))
}

// -----------------------------------------------------------------------------
// A run
// -----------------------------------------------------------------------------

/** One step, both halves (or the second half of a step a stored state stopped in). */
const step = <Output>(env: Env<Output>, state: RunState.RunState): Effect.Effect<Outcome<Output>, AgentError> => {
  const halves = state.pending === undefined ? think(env, state) : act(env, state, state.pending)
  // the span's options are made only where a tracer listens: every step comes this way
  return env.tracing.traced
    ? env.tracing.span("agent.step", { attributes: { "agent.step": state.steps.length } })(halves)
    : halves
}

/** Steps until the model answers, or the run reaches `maxSteps`. */
const stepsFrom = <Output>(
  env: Env<Output>,
  state: RunState.RunState
): Effect.Effect<Run.RunResult<Output>, AgentError> => {
  if (state.answer !== undefined) return finished(env, state, state.answer)
  if (state.pending === undefined && state.steps.length >= env.maxSteps) {
    return Effect.fail(new MaxStepsExceeded({ agent: env.agent, maxSteps: env.maxSteps }))
  }
  return Effect.flatMap(step(env, state), (outcome) => {
    if (outcome.answer !== undefined) return complete(env, outcome.state, outcome.answer.content, outcome.answer.output)
    const handoff = env.config.handoffs.size === 0 ? undefined : handedOver(env, state, outcome.state)
    return handoff === undefined ? stepsFrom(env, outcome.state) : handOver(env, outcome.state, handoff)
  })
}

/** The handoff the step just recorded made, if any: its first handoff call that succeeded. */
const handedOver = <Output>(env: Env<Output>, before: RunState.RunState, after: RunState.RunState) => {
  if (after.steps.length === before.steps.length) return undefined
  const step = after.steps.at(-1)!
  const call = step.toolCalls.find((call) => !call.isError && env.config.handoffs.has(call.name))
  if (call === undefined) return undefined
  // the target's turn has an id of its own, made of the call's as a delegation's is: its calls are its own in a journal
  return { spec: env.config.handoffs.get(call.name)!, runId: `${env.runId}.${step.index}.${call.id}` }
}

/**
 * The run goes on as the handoff's target, on the conversation (filtered),
 * at the target's path beside the agent that handed it over: the target's
 * answer is the run's, its spending the run's too.
 */
const handOver = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  { runId, spec: handoff }: { readonly spec: Handoff.Spec<LoopConfig<unknown>>; readonly runId: string }
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  Effect.gen(function*() {
    const { chain, emit, progress } = env
    if (chain.handoffs >= chain.max) return yield* new MaxHandoffsExceeded({ agent: env.agent, maxHandoffs: chain.max })
    const target = handoff.target.config()
    const path = [...env.path.slice(0, -1), target.name]
    if (emit !== undefined) {
      yield* emit({
        _tag: "Handoff",
        runId: env.runId,
        agent: env.agent,
        path: env.path,
        to: target.name,
        toPath: path,
        toRunId: runId
      })
    }
    const conversation = state.messages.filter((message) => message.role !== "system")
    const input = handoff.inputFilter === undefined ? conversation : handoff.inputFilter(conversation)
    // the target's events are the run's: all but its start and its end, which are the run's own
    const forward: Emit<unknown> | undefined = emit === undefined
      ? undefined
      : (event) => event._tag === "RunStarted" || event._tag === "RunCompleted" ? Effect.void : emit(event)
    const context = yield* FiberRef.get(RunContext.current)
    const result = yield* runWith(
      target,
      { _tag: "Input", input, runId },
      undefined,
      forward,
      path,
      { ...context, report: progress.charge },
      { handoffs: chain.handoffs + 1, max: chain.max }
    )
    progress.charge(result.metrics)
    const steps = [...state.steps, ...result.steps.map((step) => ({ ...step, index: step.index + state.steps.length }))]
    return yield* complete(
      env,
      { ...state, messages: result.messages, steps },
      result.content,
      result.output as Output,
      result.answeredBy ?? path
    )
  })

/**
 * A stored state that holds its answer: the answer, decoded again. The
 * state is told to `onState` (whoever keeps the run's last state, a team
 * that may suspend again, has it).
 */
const finished = <Output>(env: Env<Output>, state: RunState.RunState, content: string) =>
  save(env, state, (latest) => {
    const output = env.config.output
    if (output === undefined) return complete(env, latest, content, content as Output)
    const decoded = output.decode(content)
    return Either.isRight(decoded)
      ? complete(env, latest, content, decoded.right)
      : Effect.fail(new OutputInvalid({ agent: env.agent, content, issues: decoded.left }))
  })

/** The run's result, its span's last attributes and its `RunCompleted`. */
const complete = <Output>(
  env: Env<Output>,
  state: RunState.RunState,
  content: string,
  output: Output,
  answeredBy: ReadonlyArray<string> = env.path
): Effect.Effect<Run.RunResult<Output>> =>
  Effect.suspend(() => {
    const { messages, runId, steps } = state
    const metrics = env.progress.metrics(env.durationMs())
    const result: Run.RunResult<Output> = {
      runId,
      agent: env.agent,
      content,
      output,
      messages,
      steps,
      metrics,
      answeredBy
    }
    let done: Effect.Effect<unknown> = Effect.void
    if (env.tracing.traced) {
      done = env.tracing.annotate({
        "gen_ai.usage.input_tokens": state.usage.inputTokens,
        "gen_ai.usage.output_tokens": state.usage.outputTokens,
        "agent.steps": steps.length
      })
    }
    if (env.emit !== undefined) {
      done = Effect.zipRight(done, env.emit({ _tag: "RunCompleted", runId, agent: env.agent, path: env.path, result }))
    }
    return done === Effect.void ? Effect.succeed(result) : Effect.as(done, result)
  })

const runWith = <Output>(
  config: LoopConfig<Output>,
  start: Start,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  path: ReadonlyArray<string>,
  context: RunContext.RunContext,
  chain?: Chain
): Effect.Effect<Run.RunResult<Output>, AgentError> =>
  Effect.flatMap(Effect.zip(tracing, Effect.clock), ([spans, clock]) => {
    const first = start._tag === "State" ? start.state : RunState.initial({
      runId: RunContext.runIdIn(context, start.runId),
      agent: config.name,
      instructions: config.instructions,
      input: start.input
    })
    const suspended = start._tag === "State" ? start.suspended : undefined
    const env0 = makeEnv(config, options, emit, path, first, suspended, context, clock, spans)
    const made = chain === undefined ? env0 : { ...env0, chain }
    if (start._tag === "State") return wrapped(made, context, stepsFrom(made, first))
    const input = Run.inputText(start.input)
    const { blocking, parallel } = Guardrails.splitInputs(made, config.guardrails.input, {
      agent: config.name,
      input,
      messages: first.messages
    })
    const env = parallel === undefined ? made : { ...made, beside: parallel }
    const checked = blocking === undefined ? stepsFrom(env, first) : Effect.zipRight(blocking, stepsFrom(env, first))
    const steps = emit === undefined
      ? checked
      : Effect.zipRight(emit({ _tag: "RunStarted", runId: first.runId, agent: config.name, path, input }), checked)
    return wrapped(env, context, steps)
  })

/**
 * A run's steps with what surrounds them: the tools' services (captured when
 * the agent was made), the run's timeout, its place in the run context (the
 * runs inside stream below it, the runs its tools delegate to charge it; a
 * failing run answers what it spent when it is asked), the library's metrics
 * and its span.
 */
const wrapped = <Output>(
  env: Env<Output>,
  context: RunContext.RunContext,
  steps: Effect.Effect<Run.RunResult<Output>, AgentError>
): Effect.Effect<Run.RunResult<Output>, AgentError> => {
  const { config, policy, progress } = env
  const provided = Effect.provide(steps, config.context)
  const limited = Policy.isLimited(policy.runTimeout)
    ? Effect.timeoutFail(provided, {
      duration: policy.runTimeout,
      onTimeout: () => new RunTimeout({ agent: config.name, timeout: policy.runTimeout })
    })
    : provided
  const inner: RunContext.RunContext = {
    ...context,
    path: env.path,
    report: undefined,
    account: config.delegates ? progress.charge : context.account,
    runIds: undefined,
    call: undefined,
    budget: env.budget
  }
  const budgeted = Budget.enforce(limited, env.budget === context.budget ? undefined : env.budget)
  const metered = Effect.onExit(
    RunContext.running(budgeted, context, inner, () => progress.metrics(env.durationMs())),
    (exit) =>
      Effect.sync(() => {
        const { costUsd, retries, steps, toolCalls, usage } = progress.state
        config.meter.record(exit, {
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          costUsd: costUsd ?? 0,
          modelCalls: steps.length,
          toolCalls,
          retries,
          durationMs: env.durationMs()
        })
      })
  )
  const attributes = {
    "gen_ai.operation.name": operation.invokeAgent,
    "gen_ai.agent.name": config.name,
    ...(config.model.provider === undefined ? {} : { "gen_ai.provider.name": config.model.provider }),
    "gen_ai.request.model": config.model.model,
    "run.id": progress.state.runId
  }
  return env.tracing.span(`${operation.invokeAgent} ${config.name}`, { attributes })(metered)
}
