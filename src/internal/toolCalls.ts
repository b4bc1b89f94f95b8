/**
 * The tool calls of one step: one runs inline; several run as one task
 * group (bounded by the agent's `toolConcurrency`), so interrupting the run
 * interrupts every call in flight and waits for their finalizers. A call
 * never fails: its failure is the tool message the model reads next. A
 * delegating tool's call (`asTool`) runs at its call site in the run
 * context: the run it starts may suspend for approval, and the call then
 * says so instead of giving a result.
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AgentError, RunSuspended } from "../AgentError.js"
import type * as Guardrail from "../Guardrail.js"
import * as LanguageModel from "../LanguageModel.js"
import type * as Run from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import * as TaskGroup from "../TaskGroup.js"
import type * as Tool from "../Tool.js"
import * as Toolkit from "../Toolkit.js"
import * as Budget from "./budget.js"
import * as Guardrails from "./guardrails.js"
import type { Done } from "./journal.js"
import { currentCall, type Journal, toolKey } from "./journal.js"
import * as Own from "./own.js"
import * as Progress from "./progress.js"
import * as RunContext from "./runContext.js"
import { operation, type Tracing } from "./tracing.js"

/** What the tool calls of a step need to know of their run. */
export interface Env {
  readonly runId: string
  readonly agent: string
  readonly path: ReadonlyArray<string>
  /** Where a streamed run's events go. */
  readonly emit:
    | ((
      event: RunEvent.ToolCallStarted | RunEvent.ToolProgress | RunEvent.ToolCallCompleted | RunEvent.GuardrailTripped
    ) => Effect.Effect<unknown>)
    | undefined
  readonly clock: Clock.Clock
  readonly tracing: Tracing
  readonly toolkit: Toolkit.Any
  readonly toolOptions: Tool.ExecuteOptions
  readonly toolConcurrency: number | "unbounded"
  /** The run resumed from a suspension (see `RunContext.CallSite`). */
  readonly resumed: boolean
  /** The journal of the durable run this one is part of. */
  readonly journal: Journal | undefined
  /** The counter of the budgeted run the run is part of, which each call charges as it starts. */
  readonly budget: Budget.Counter | undefined
  /** The agent's tool guardrails. */
  readonly toolGuardrails: ReadonlyArray<Guardrail.ToolGuardrail>
}

export { Done } from "./journal.js"

/** A delegating call whose run suspended for approval: the call has no result yet. */
export interface Suspended {
  readonly suspended: RunSuspended
}

/** A tool call done, or suspended. */
export type Outcome = Done | Suspended

export const isSuspended = (outcome: Outcome): outcome is Suspended => "suspended" in outcome

/** Runs the tool calls of step `step`, in the model's order; a tool guardrail's trip fails them all. */
export const run = (
  env: Env,
  step: number,
  calls: ReadonlyArray<LanguageModel.ToolCall>
): Effect.Effect<ReadonlyArray<Outcome>, AgentError> =>
  calls.length === 1
    ? Effect.map(one(env, step, calls[0]!), (done) => [done])
    : TaskGroup.forEach(calls, (toolCall) => one(env, step, toolCall), { concurrency: env.toolConcurrency })

/** A delegating tool's call, at its call site; whether the run it started suspended. */
const atCallSite = (env: Env, step: number, toolCall: LanguageModel.ToolCall) => {
  const site: RunContext.CallSite = {
    runId: `${env.runId}.${step}.${toolCall.id}`,
    resumed: env.resumed,
    suspended: undefined
  }
  return Effect.map(
    RunContext.locally(
      Toolkit.handleCall(env.toolkit, toolCall, env.toolOptions),
      (context) => ({ ...context, call: site })
    ),
    (result) => site.suspended === undefined ? result : { suspended: site.suspended }
  )
}

/**
 * What the model reads of a call that was in flight when its durable run
 * stopped, and is not made again: its tool is not idempotent.
 */
const unknownOutcome = (toolCall: LanguageModel.ToolCall): Done => {
  const content = `The outcome of this ${toolCall.name} call is unknown: the run stopped while it ran, ` +
    "and it is not made again (the tool is not idempotent). Check before trying it again."
  return {
    record: { ...toolCall, result: content, isError: true, durationMs: 0 },
    message: LanguageModel.toolResult({ toolCallId: toolCall.id, name: toolCall.name, content, isError: true })
  }
}

const one = (env: Env, step: number, toolCall: LanguageModel.ToolCall): Effect.Effect<Outcome, AgentError> => {
  const { agent, emit, path, runId, tracing } = env
  const tool = Own.get(env.toolkit.tools, toolCall.name)
  const delegates = tool?.delegates === true
  const guards = env.toolGuardrails.length === 0
    ? env.toolGuardrails
    : Guardrails.forTool(env.toolGuardrails, toolCall.name)
  // a result checked after the call is announced once checked
  const checkedAfter = guards.some((guardrail) => guardrail.after !== undefined)
  const call = Effect.suspend(() => {
    const started = env.clock.unsafeCurrentTimeMillis()
    const called = delegates
      ? atCallSite(env, step, toolCall)
      : emit === undefined
      ? Toolkit.handleCall(env.toolkit, toolCall, env.toolOptions)
      : Progress.reportingTo(
        Toolkit.handleCall(env.toolkit, toolCall, env.toolOptions),
        (reported) =>
          emit({
            _tag: "ToolProgress",
            runId,
            agent,
            path,
            step,
            toolCallId: toolCall.id,
            tool: toolCall.name,
            progress: reported.progress,
            ...(reported.total === undefined ? {} : { total: reported.total }),
            ...(reported.message === undefined ? {} : { message: reported.message })
          })
      )
    const handled = env.budget === undefined ? called : Effect.zipRight(
      Budget.charge(env.budget, { toolCalls: 1 }),
      called
    )
    return Effect.flatMap(
      handled,
      (result): Effect.Effect<Outcome> => {
        if ("suspended" in result) return Effect.succeed(result)
        const { error, message } = result
        const record: Run.ToolCallRecord = {
          id: toolCall.id,
          name: toolCall.name,
          arguments: toolCall.arguments,
          result: message.content,
          isError: message.isError,
          durationMs: env.clock.unsafeCurrentTimeMillis() - started
        }
        const done = { record, message }
        let after: Effect.Effect<unknown> = Effect.void
        if (tracing.traced && error !== undefined) after = tracing.annotate({ "error.type": error._tag })
        if (emit !== undefined && !checkedAfter) after = Effect.zipRight(after, completed(env, step, record))
        return after === Effect.void ? Effect.succeed(done) : Effect.as(after, done)
      }
    )
  })
  // a durable run records the call; a delegating one's run records its own calls
  const key = toolKey(runId, step, toolCall.id)
  const recorded = env.journal === undefined || delegates
    ? call
    : env.journal.tool(
      key,
      tool?.idempotent === true,
      Effect.locally(
        call as Effect.Effect<Done>,
        currentCall,
        Option.some({ runId, toolCallId: toolCall.id, idempotencyKey: key })
      ),
      unknownOutcome(toolCall)
    )
  const guarded = guards.length === 0 ? recorded : withGuardrails(env, step, toolCall, guards, recorded)
  const announced = emit === undefined
    ? guarded
    : Effect.zipRight(emit({ _tag: "ToolCallStarted", runId, agent, path, step, toolCall }), guarded)
  if (!tracing.traced) return announced
  return tracing.span(`${operation.executeTool} ${toolCall.name}`, {
    attributes: {
      "gen_ai.operation.name": operation.executeTool,
      "gen_ai.tool.name": toolCall.name,
      "gen_ai.tool.call.id": toolCall.id,
      "gen_ai.tool.type": "function",
      "gen_ai.agent.name": agent,
      "agent.step": step
    }
  })(announced)
}

/** A streamed run's `ToolCallCompleted`. */
const completed = (env: Env, step: number, call: Run.ToolCallRecord): Effect.Effect<unknown> =>
  env.emit === undefined
    ? Effect.void
    : env.emit({ _tag: "ToolCallCompleted", runId: env.runId, agent: env.agent, path: env.path, step, call })

/** A call done with `content` as what the model reads instead (a guardrail's rejection). */
const rejected = (toolCall: LanguageModel.ToolCall, content: string, durationMs: number): Done => ({
  record: { ...toolCall, result: content, isError: true, durationMs },
  message: LanguageModel.toolResult({ toolCallId: toolCall.id, name: toolCall.name, content, isError: true })
})

/**
 * A call between its tool guardrails: those before it may reject it (the
 * model reads their message instead) or trip; those after it may replace its
 * result, or trip. A result checked after is announced once checked.
 */
const withGuardrails = (
  env: Env,
  step: number,
  toolCall: LanguageModel.ToolCall,
  guards: ReadonlyArray<Guardrail.ToolGuardrail>,
  call: Effect.Effect<Outcome, AgentError>
): Effect.Effect<Outcome, AgentError> => {
  const checkedAfter = !guards.some((guardrail) => guardrail.after !== undefined) ? call : Effect.flatMap(
    call,
    (outcome): Effect.Effect<Outcome, AgentError> => {
      if (isSuspended(outcome)) return Effect.succeed(outcome)
      const { content, isError } = outcome.message
      return Effect.flatMap(Guardrails.toolCall(env, guards, "after", toolCall, { content, isError }), (message) => {
        const done = message === undefined ? outcome : rejected(toolCall, message, outcome.record.durationMs)
        return Effect.as(completed(env, step, done.record), done)
      })
    }
  )
  if (!guards.some((guardrail) => guardrail.before !== undefined)) return checkedAfter
  return Effect.flatMap(Guardrails.toolCall(env, guards, "before", toolCall), (message): Effect.Effect<
    Outcome,
    AgentError
  > => {
    if (message === undefined) return checkedAfter
    const done = rejected(toolCall, message, 0)
    return Effect.as(completed(env, step, done.record), done)
  })
}
