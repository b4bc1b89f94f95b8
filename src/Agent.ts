/**
 * An agent: instructions, a model, tools and a policy, run as a loop of
 * steps. Each step calls the model, runs the tool calls it asked for
 * concurrently, and feeds the results back, until the model answers.
 *
 * `Agent.make` is an Effect that builds the agent from its context: the
 * `LanguageModel` (unless a `model` is given) and the services its tools
 * need, so an agent is a service like any other.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Agent, Tool, Toolkit } from "effect-agents"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const weather = Tool.make("get_weather", {
 *   description: "Current weather in a city",
 *   parameters: { city: Schema.String },
 *   handler: ({ city }) => `18°C and sunny in ${city}`
 * })
 *
 * const program = Effect.gen(function*() {
 *   const agent = yield* Agent.make({
 *     name: "assistant",
 *     instructions: "Answer with the help of your tools.",
 *     toolkit: Toolkit.make(weather)
 *   })
 *   const result = yield* agent.run("What is the weather in Paris?")
 *   console.log(result.content, result.metrics.totalTokens)
 * }).pipe(Effect.provide(ScriptedModel.layer(ScriptedModel.useEachTool())))
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import { dual } from "effect/Function"
import * as Inspectable from "effect/Inspectable"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { AgentError, ApprovalNotPending, RunNotFound, StoreFailed } from "./AgentError.js"
import type * as Guardrail from "./Guardrail.js"
import * as Delegate from "./internal/delegate.js"
import * as Handoff from "./internal/handoff.js"
import * as Loop from "./internal/loop.js"
import * as Metering from "./internal/metering.js"
import * as Output from "./internal/output.js"
import * as Prompts from "./internal/prompts.js"
import * as SessionRun from "./internal/sessionRun.js"
import * as Suspended from "./internal/suspended.js"
import * as LanguageModel from "./LanguageModel.js"
import * as Policy from "./Policy.js"
import * as Pricing from "./Pricing.js"
import * as Run from "./Run.js"
import type { RunEvent } from "./RunEvent.js"
import * as Runnables from "./Runnable.js"
import type * as RunState from "./RunState.js"
import * as TaskGroup from "./TaskGroup.js"
import * as Tool from "./Tool.js"
import * as Toolkit from "./Toolkit.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Agent")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What a run starts from: the user's message, or a conversation (the agent's
 * instructions go first unless it opens with a system message).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = Run.Input

/**
 * The Schema of {@link Input}. A run decodes its input with it once, at its
 * start: given anything else (untyped code can), it fails with
 * `InputInvalid`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Agent } from "effect-agents"
 *
 * declare const body: unknown
 * const input = Schema.decodeUnknownEither(Agent.Input)(body) // Either<Agent.Input, ParseError>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Input: typeof Run.Input = Run.Input

/**
 * Settings of one run (see `Runnable.RunOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunOptions = Runnables.RunOptions

/**
 * One tool call of a step (see `Run.ToolCallRecord`).
 *
 * @since 0.1.0
 * @category models
 */
export type ToolCallRecord = Run.ToolCallRecord

/**
 * One step of a run (see `Run.Step`).
 *
 * @since 0.1.0
 * @category models
 */
export type Step = Run.Step

/**
 * What a run spent (see `Run.RunMetrics`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunMetrics = Run.RunMetrics

/**
 * What a run answered (see `Run.RunResult`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunResult<Output = string> = Run.RunResult<Output>

/**
 * Anything that runs like an agent (see `Runnable.Runnable`).
 *
 * @since 0.1.0
 * @category models
 */
export type Runnable<Output = string> = Runnables.Runnable<Output>

/**
 * @since 0.1.0
 * @category models
 */
export interface Agent<Output = string> extends Runnable<Output>, Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly instructions: string
  readonly model: LanguageModel.Service
  readonly toolkit: Toolkit.Any
  readonly maxSteps: number
  readonly policy: Policy.Policy
  /**
   * What the model is asked to answer in, when the agent has an `output`
   * Schema: its name and JSON Schema (what an MCP server gives as a tool's
   * `outputSchema`).
   */
  readonly outputFormat: LanguageModel.ResponseFormat | undefined
  /**
   * Continues a run of this agent, in this process or another: from a state
   * it stored (see `RunOptions.onState`), or, given a run id, the run that
   * suspended for approval (kept in the `RunStore`, with the decisions given
   * since; `RunNotFound` when none is kept). The run goes on from its next
   * step (or the pending tool calls of a step under way) as if it had not
   * stopped. Another agent's run is `InputInvalid`.
   */
  resume(from: RunState.RunState | string, options?: RunOptions): Effect.Effect<RunResult<Output>, AgentError>
  /** `resume` as a stream of the rest of the run's events, like `stream`. */
  resumeStream(from: RunState.RunState | string, options?: RunOptions): Stream.Stream<RunEvent<Output>, AgentError>
  /**
   * The agent as a tool another agent can call with a task: agent-to-agent
   * calls. The tool's result is the agent's answer; a failed run is a tool
   * error the calling model sees.
   */
  asTool(options?: AsToolOptions): Tool.Tool<string, { readonly input: string }, string>
  /**
   * The same agent (its model, tools, policy and the services it was built
   * with) answering with structured output decoded by `schema`: what
   * serving an agent to a client that asks for a JSON Schema takes. Its
   * guardrails are kept: its output guardrails are given the new output
   * (one that fails on it fails the run, never lets it through).
   */
  withOutput<O, I>(schema: Schema.Schema<O, I>): Agent<O>
}

/**
 * How a runnable is named and described as a tool (see `Runnable.AsToolOptions`).
 *
 * @since 0.1.0
 * @category models
 */
export type AsToolOptions = Runnables.AsToolOptions

/**
 * @since 0.1.0
 * @category models
 */
export interface Options<Output, OutputEncoded, Tk extends Toolkit.Any> {
  readonly name: string
  readonly instructions: string
  readonly toolkit?: Tk | undefined
  /** The model to use instead of the `LanguageModel` in context. */
  readonly model?: LanguageModel.Service | undefined
  /** Steps before the run fails with `MaxStepsExceeded` (default 10). */
  readonly maxSteps?: number | undefined
  /** How many tool calls of one step run at once (default: all of them). */
  readonly toolConcurrency?: number | "unbounded" | undefined
  /** A Schema for structured output, decoded into `result.output`. */
  readonly output?: Schema.Schema<Output, OutputEncoded> | undefined
  readonly policy?: Policy.Options | undefined
  /** Checks of the run's input, its answer and its tool calls (see `Guardrail`). */
  readonly guardrails?: Guardrail.Guardrails<Output> | undefined
  /**
   * Handoffs a run started with this agent may make (see {@link handoff})
   * before it fails with `MaxHandoffsExceeded` (default 5).
   */
  readonly maxHandoffs?: number | undefined
}

/**
 * Whether a value is an {@link Agent}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAgent = (u: unknown): u is Agent<unknown> => Predicate.hasProperty(u, TypeId)

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  ...Inspectable.BaseProto,
  toJSON(this: Agent<unknown>) {
    return { _id: "Agent", name: this.name, model: this.model.model, tools: Object.keys(this.toolkit.tools) }
  }
}

/**
 * Builds an agent from its context: the `LanguageModel` in context (unless
 * `model` is given) and the services its tools need, which are captured so
 * that `run` needs nothing more.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Agent } from "effect-agents"
 *
 * class Researcher extends Effect.Service<Researcher>()("Researcher", {
 *   effect: Agent.make({
 *     name: "researcher",
 *     instructions: "Find facts. Answer in JSON.",
 *     output: Schema.Struct({ facts: Schema.Array(Schema.String) }),
 *     maxSteps: 6,
 *     policy: { runTimeout: "1 minute" }
 *   })
 * }) {}
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  <Tk extends Toolkit.Any = Toolkit.Toolkit<{}>, Output = string, OutputEncoded = Output>(
    options: Options<Output, OutputEncoded, Tk> & { readonly model: LanguageModel.Service }
  ): Effect.Effect<Agent<Output>, never, Toolkit.Requirements<Tk>>
  <Tk extends Toolkit.Any = Toolkit.Toolkit<{}>, Output = string, OutputEncoded = Output>(
    options: Options<Output, OutputEncoded, Tk>
  ): Effect.Effect<Agent<Output>, never, LanguageModel.LanguageModel | Toolkit.Requirements<Tk>>
} = <Tk extends Toolkit.Any, Output, OutputEncoded>(options: Options<Output, OutputEncoded, Tk>) =>
  Effect.gen(function*() {
    const model = options.model ?? (yield* LanguageModel.LanguageModel)
    const context = yield* Effect.context<never>()
    const toolkit: Toolkit.Any = options.toolkit ?? Toolkit.empty
    const policy = Policy.merge(Policy.defaults, options.policy)
    const config: Loop.LoopConfig<Output> = {
      name: options.name,
      instructions: options.instructions,
      model,
      toolkit,
      delegates: Object.values(toolkit.tools).some((tool) => tool.delegates),
      meter: Metering.make(options.name),
      context,
      maxSteps: options.maxSteps ?? 10,
      toolConcurrency: options.toolConcurrency ?? "unbounded",
      policy,
      output: options.output === undefined ? undefined : Output.outputSpec(options.name, options.output),
      prices: yield* Pricing.Prices,
      guardrails: options.guardrails ?? {},
      handoffs: Handoff.of(Object.values(toolkit.tools)),
      maxHandoffs: options.maxHandoffs ?? 5
    }
    return fromConfig(config)
  })

/** The agent of a loop's configuration. */
const fromConfig = <Output>(config: Loop.LoopConfig<Output>): Agent<Output> => {
  const agent: Agent<Output> = Object.assign(Object.create(Proto), {
    name: config.name,
    instructions: config.instructions,
    model: config.model,
    toolkit: config.toolkit,
    maxSteps: config.maxSteps,
    policy: config.policy,
    outputFormat: config.output?.format,
    run: (input: Input, runOptions?: RunOptions) =>
      SessionRun.around(
        config.name,
        input,
        runOptions,
        (input, options) => Loop.runLoop(config, input, options, undefined)
      ),
    stream: (input: Input, runOptions?: RunOptions) =>
      Runnables.stream<RunEvent<Output>, AgentError, never>(
        [config.name],
        (emit) =>
          SessionRun.around(config.name, input, runOptions, (input, options) =>
            Loop.runLoop(config, input, options, emit))
      ),
    resume: (from: RunState.RunState | string, runOptions?: RunOptions) => resume(config, from, runOptions, undefined),
    resumeStream: (from: RunState.RunState | string, runOptions?: RunOptions) =>
      Runnables.stream<RunEvent<Output>, AgentError, never>(
        [config.name],
        (emit) => resume(config, from, runOptions, emit)
      ),
    asTool: (toolOptions?: AsToolOptions) => Delegate.tool(agent, "agent", toolOptions),
    withOutput: <O, I>(schema: Schema.Schema<O, I>) =>
      fromConfig<O>({
        ...config,
        output: Output.outputSpec(config.name, schema),
        // its output guardrails, written for its own output, check the new one: one that cannot fails the run
        guardrails: config.guardrails as Guardrail.Guardrails<unknown>
      })
  })
  configs.set(agent, config as Loop.LoopConfig<unknown>)
  return agent
}

/** A run going on from a state, or from the suspended run of that id (with its decisions). */
const resume = <Output>(
  config: Loop.LoopConfig<Output>,
  from: RunState.RunState | string,
  options: RunOptions | undefined,
  emit: Loop.Emit<Output> | undefined
): Effect.Effect<RunResult<Output>, AgentError> =>
  typeof from === "string"
    ? Suspended.resume(from, config.name, (run, decided) => Loop.resumeLoop(config, run.state, options, emit, decided))
    : Loop.resumeLoop(config, from, options, emit)

/**
 * Any runnable as a tool another agent can call with a task: agent-to-agent
 * calls, and a team's delegations to its members, are this one mechanism.
 * The tool's result is the runnable's answer; a failed run is a tool error
 * the calling model sees. Agents and teams use their own `asTool`, which
 * says what they are and what they do; another runnable is described by its
 * name unless `description` is given.
 *
 * When the caller is streamed, the runnable's events stream below it and a
 * `MemberCompleted` event gives its answer (see the `RunEvent` module).
 *
 * @example
 * ```ts
 * import { Agent, Toolkit } from "effect-agents"
 *
 * declare const researcher: Agent.Agent
 * declare const reviewers: Agent.Runnable
 *
 * const lead = Agent.make({
 *   name: "Lead",
 *   instructions: "Research, have it reviewed, then answer.",
 *   toolkit: Toolkit.make(
 *     Agent.asTool(researcher),
 *     Agent.asTool(reviewers, { name: "review", description: "Review a draft" })
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category delegation
 */
export const asTool: {
  (options?: AsToolOptions): <Output>(self: Runnable<Output>) => Tool.Tool<string, { readonly input: string }, string>
  <Output>(self: Runnable<Output>, options?: AsToolOptions): Tool.Tool<string, { readonly input: string }, string>
} = dual(
  (args) => isRunnable(args[0]),
  <Output>(self: Runnable<Output>, options?: AsToolOptions): Tool.Tool<string, { readonly input: string }, string> =>
    hasAsTool(self) ? self.asTool(options) : Delegate.tool(self, undefined, options)
)

const hasAsTool = <Output>(
  self: Runnable<Output>
): self is Runnable<Output> & Pick<Agent<Output>, "asTool"> =>
  Predicate.hasProperty(self, "asTool") && Predicate.isFunction(self.asTool)

/** The loop's view of every agent made, for the handoffs to it. */
const configs = new WeakMap<Agent<unknown>, Loop.LoopConfig<unknown>>()

/**
 * How a handoff is named and what the target gets.
 *
 * @since 0.1.0
 * @category handoffs
 */
export interface HandoffOptions {
  /** What the calling model reads of the tool (default: the target's name and instructions). */
  readonly description?: string | undefined
  /**
   * What of the conversation the target continues with (default: all of
   * it, but the calling agent's instructions; the target's go first), e.g.
   * {@link removeToolCalls}.
   */
  readonly inputFilter?:
    | ((messages: ReadonlyArray<LanguageModel.Message>) => ReadonlyArray<LanguageModel.Message>)
    | undefined
}

/**
 * A handoff to `target`, as a tool for a toolkit: the model sees a tool
 * `transfer_to_<name>`. Calling it ends the calling agent's turn, and the
 * target continues the same run with the conversation: its answer is the
 * run's (`result.answeredBy` is its path), its events carry its path, a
 * `Handoff` event marks the switch, and what it spends is the run's.
 * Unlike {@link asTool}, control does not come back. A run hands over at
 * most `maxHandoffs` times (the first agent's), then fails with
 * `MaxHandoffsExceeded`. The run's output is the answering agent's: give
 * the targets the output Schema of the agent that hands over.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Toolkit } from "effect-agents"
 *
 * declare const billing: Agent.Agent
 * declare const support: Agent.Agent
 *
 * const triage = Agent.make({
 *   name: "triage",
 *   instructions: "Hand the customer over to the right specialist.",
 *   toolkit: Toolkit.make(
 *     Agent.handoff(billing, { inputFilter: Agent.removeToolCalls }),
 *     Agent.handoff(support)
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category handoffs
 */
export const handoff = <Output>(
  target: Agent<Output>,
  options?: HandoffOptions
): Tool.Tool<string, {}, string> => {
  const tool = Tool.make(`transfer_to_${Output.toIdentifier(target.name)}`, {
    description: options?.description ?? Prompts.handoffDescription(target.name, target.instructions),
    parameters: {},
    handler: () => Prompts.handedOver(target.name)
  })
  Handoff.register(tool, {
    target: {
      name: target.name,
      config: () => configs.get(target as Agent<unknown>)!
    },
    inputFilter: options?.inputFilter
  })
  return tool
}

/**
 * A handoff's filter that removes the tool calls from the conversation: tool
 * results go, and the model's messages keep their text.
 *
 * @example
 * ```ts
 * import { Agent, LanguageModel } from "effect-agents"
 *
 * const kept = Agent.removeToolCalls([
 *   LanguageModel.user("Refund me"),
 *   LanguageModel.assistant("", [{ id: "c1", name: "transfer_to_billing", arguments: "{}" }]),
 *   LanguageModel.toolResult({ toolCallId: "c1", name: "transfer_to_billing", content: "handed over" })
 * ]) // [the user's message]
 * ```
 *
 * @since 0.1.0
 * @category handoffs
 */
export const removeToolCalls: (
  messages: ReadonlyArray<LanguageModel.Message>
) => ReadonlyArray<LanguageModel.Message> = Handoff.removeToolCalls

/**
 * Runs an agent to its final answer; data-first or data-last.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 * const answer = agent.pipe(Agent.run("Summarise the news"), Effect.map((result) => result.content))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  (input: Input, options?: RunOptions): <Output>(self: Runnable<Output>) => Effect.Effect<RunResult<Output>, AgentError>
  <Output>(self: Runnable<Output>, input: Input, options?: RunOptions): Effect.Effect<RunResult<Output>, AgentError>
} = dual(
  (args) => isRunnable(args[0]),
  <Output>(self: Runnable<Output>, input: Input, options?: RunOptions) => self.run(input, options)
)

const isRunnable = (u: unknown): u is Runnable<unknown> =>
  Predicate.hasProperty(u, "run") && Predicate.hasProperty(u, "stream") && Predicate.isFunction(u.run)

/**
 * Runs an agent (or a team) from Promise code: an async run, as Agno's
 * `arun` is. The run needs no services (an agent took them when it was made),
 * so it runs on Effect's default runtime. `signal` interrupts the run, and
 * aborts its model requests in flight at once (see
 * `LanguageModel.currentAbortSignal`). Resolves with the result; rejects
 * with the run's typed error, or, when the signal stopped it, with the
 * signal's `reason` (as `fetch` does).
 *
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 *
 * // e.g. in an Express handler: stop the run when the client goes away
 * export const answer = (question: string, signal: AbortSignal) =>
 *   Agent.runPromise(agent, question, { signal }).then((result) => result.content)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runPromise = <Output>(
  runnable: Runnable<Output>,
  input: Input,
  options?: RunOptions & { readonly signal?: AbortSignal | undefined }
): Promise<RunResult<Output>> => {
  const signal = options?.signal
  // With a signal, it is the run's from its first instruction (no `Effect.locally` to unwind),
  // and an aborted run rejects with the signal's reason, as `fetch` does.
  const runtime = signal === undefined ? Runtime.defaultRuntime : Runtime.make({
    context: Runtime.defaultRuntime.context,
    runtimeFlags: Runtime.defaultRuntime.runtimeFlags,
    fiberRefs: FiberRefs.updateAs(Runtime.defaultRuntime.fiberRefs, {
      fiberId: FiberId.none,
      fiberRef: LanguageModel.currentAbortSignal,
      value: signal
    })
  })
  const exit = Runtime.runPromiseExit(runtime, runnable.run(input, options), signal === undefined ? {} : { signal })
  return exit.then((exit) =>
    Exit.isSuccess(exit)
      ? exit.value
      : Promise.reject(
        signal?.aborted && Cause.isInterruptedOnly(exit.cause) ? signal.reason : Cause.squash(exit.cause)
      )
  )
}

/**
 * One run for {@link runAll}: a runnable and its input (and run options).
 *
 * @since 0.1.0
 * @category running
 */
export type RunSpec<Output> =
  | readonly [runnable: Runnable<Output>, input: Input]
  | readonly [runnable: Runnable<Output>, input: Input, options: RunOptions]

/**
 * Options for {@link runAll}: those of `Effect.all`.
 *
 * @since 0.1.0
 * @category running
 */
export interface RunAllOptions {
  readonly concurrency?: number | "unbounded" | "inherit" | undefined
  readonly mode?: "default" | "either" | "validate" | undefined
}

/**
 * Runs many agents at once, with `Effect.all`'s options, as one task group
 * (see the `TaskGroup` module): `concurrency` bounds how many run at a time
 * (default one at a time, as `Effect.all`; runs still waiting never start
 * after a failure); `mode: "default"` fails at the first failure and
 * interrupts the others (the Cause holds every failure, the first one first),
 * `"either"` keeps every outcome (Python's
 * `gather(return_exceptions=True)`), `"validate"` fails with every failure at
 * the end. Interrupting it interrupts every run and waits for them.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Agent } from "effect-agents"
 *
 * declare const researcher: Agent.Agent
 * declare const writer: Agent.Agent
 *
 * const outcomes = Agent.runAll([[researcher, "Find X"], [writer, "Draft Y"]], { concurrency: 2, mode: "either" })
 * // Effect<Array<Either<RunResult, AgentError>>>
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runAll: {
  <Output>(
    runs: Iterable<RunSpec<Output>>,
    options: RunAllOptions & { readonly mode: "either" }
  ): Effect.Effect<Array<Either.Either<RunResult<Output>, AgentError>>>
  <Output>(
    runs: Iterable<RunSpec<Output>>,
    options: RunAllOptions & { readonly mode: "validate" }
  ): Effect.Effect<Array<RunResult<Output>>, Array<Option.Option<AgentError>>>
  <Output>(
    runs: Iterable<RunSpec<Output>>,
    options?: RunAllOptions & { readonly mode?: "default" | undefined }
  ): Effect.Effect<Array<RunResult<Output>>, AgentError>
} = <Output>(runs: Iterable<RunSpec<Output>>, options?: RunAllOptions) =>
  Effect.gen(function*() {
    const specs = Array.from(runs)
    const concurrency = options?.concurrency === "inherit"
      ? yield* FiberRef.get(FiberRef.currentConcurrency)
      : options?.concurrency ?? 1
    const runOne = ([runnable, input, runOptions]: RunSpec<Output>) => runnable.run(input, runOptions)
    if (options?.mode === "either") {
      return yield* TaskGroup.forEach(specs, (spec) => Effect.either(runOne(spec)), { concurrency })
    }
    if (options?.mode === "validate") {
      const outcomes = yield* TaskGroup.forEach(specs, (spec) => Effect.either(runOne(spec)), { concurrency })
      return outcomes.every(Either.isRight)
        ? outcomes.map((outcome) => outcome.right)
        : yield* Effect.fail(outcomes.map(Either.getLeft))
    }
    return yield* TaskGroup.forEach(specs, runOne, { concurrency })
  }) as never

/**
 * Approves a tool call a suspended run waits for (see `Approval`): once
 * resumed (`agent.resume(runId)`), the call runs; with `always`, every later
 * call of that tool in the run runs without asking. `by` says who decided;
 * the time is recorded. Approving twice is harmless; approving a call that
 * was rejected, or that the run does not wait for, is `ApprovalNotPending`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 *
 * declare const mailer: Agent.Agent
 *
 * const approveAll = (runId: string, approvalIds: ReadonlyArray<string>) =>
 *   Effect.gen(function*() {
 *     for (const id of approvalIds) yield* Agent.approve(runId, id, { by: "ada" })
 *     return yield* mailer.resume(runId)
 *   })
 * ```
 *
 * @since 0.1.0
 * @category approvals
 */
export const approve = (
  runId: string,
  approvalId: string,
  options?: { readonly always?: boolean | undefined; readonly by?: string | undefined }
): Effect.Effect<void, ApprovalNotPending | RunNotFound | StoreFailed> =>
  Suspended.decide(runId, approvalId, Suspended.approval(options))

/**
 * Rejects a tool call a suspended run waits for: once resumed, the call
 * does not run, and the model reads `message` (or a default one) as its
 * result. Rejecting twice is harmless; rejecting a call that was approved,
 * or that the run does not wait for, is `ApprovalNotPending`.
 *
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 *
 * const no = Agent.reject("run-1", "9f2c…", { message: "Do not email the whole company." })
 * ```
 *
 * @since 0.1.0
 * @category approvals
 */
export const reject = (
  runId: string,
  approvalId: string,
  options?: { readonly message?: string | undefined; readonly by?: string | undefined }
): Effect.Effect<void, ApprovalNotPending | RunNotFound | StoreFailed> =>
  Suspended.decide(runId, approvalId, Suspended.rejection(options))
