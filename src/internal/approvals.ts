/**
 * Approvals in a run's step: which of its tool calls run, which were
 * rejected (the model reads the rejection), and which wait for a person.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Approval from "../Approval.js"
import * as LanguageModel from "../LanguageModel.js"
import type * as Toolkit from "../Toolkit.js"
import * as Own from "./own.js"
import type * as ToolCalls from "./toolCalls.js"

/** What a resumed run was told: the decisions by approval id, and the tools approved for the rest of the run. */
export interface Decided {
  readonly decisions: ReadonlyMap<string, Approval.Decision>
  readonly always: ReadonlySet<string>
}

export const nothingDecided: Decided = { decisions: new Map(), always: new Set() }

/** What the sorting needs to know of the run. */
export interface Env {
  readonly runId: string
  readonly agent: string
  readonly path: ReadonlyArray<string>
  readonly toolkit: Toolkit.Any
  readonly decided: Decided
}

/** A call of the step, by its place in the model's order. */
export interface Call {
  readonly index: number
  readonly toolCall: LanguageModel.ToolCall
}

/** A call done (or rejected), by its place in the model's order. */
export interface Done extends ToolCalls.Done {
  readonly index: number
}

export interface Sorted {
  readonly run: ReadonlyArray<Call>
  readonly rejected: ReadonlyArray<Done>
  readonly waiting: ReadonlyArray<Approval.Request>
}

/** 32 bits of FNV-1a of `text`, from `seed`, as 8 hex digits. */
const fnv = (text: string, seed: number): string => {
  let hash = seed
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}

/** The id of a call's approval: the same for the same run, step and call, in any process. */
export const approvalId = (runId: string, step: number, toolCallId: string): string => {
  const key = `${runId}\u0000${step}\u0000${toolCallId}`
  return fnv(key, 0x811c9dc5) + fnv(key, 0x050c5d1f)
}

/** Whether a step's calls may need approval at all: most steps' tools never do. */
export const mayWait = (toolkit: Toolkit.Any, calls: ReadonlyArray<LanguageModel.ToolCall>): boolean =>
  calls.some((call) => Own.get(toolkit.tools, call.name)?.needsApproval !== undefined)

const parsed = (raw: string): unknown => Either.getOrUndefined(Either.try((): unknown => JSON.parse(raw)))

/** A rejected call as done: the model reads the rejection as the tool's result. */
const rejection = (call: Call, decision: Approval.Decision): Done => {
  const content = decision.message ?? Approval.defaultRejection
  const { toolCall } = call
  return {
    index: call.index,
    record: {
      id: toolCall.id,
      name: toolCall.name,
      arguments: toolCall.arguments,
      result: content,
      isError: true,
      durationMs: 0
    },
    message: LanguageModel.toolResult({ toolCallId: toolCall.id, name: toolCall.name, content, isError: true })
  }
}

/** A call with its approval's id, its decision if one was given, and whether it must wait for one. */
interface Checked {
  readonly call: Call
  readonly id: string
  readonly decision: Approval.Decision | undefined
  readonly wait: boolean
}

/** Sorts the calls of step `step`: a call runs unless its tool asks for approval and none was given. */
export const sort = (env: Env, step: number, calls: ReadonlyArray<Call>): Effect.Effect<Sorted> =>
  Effect.map(
    Effect.forEach(calls, (call): Effect.Effect<Checked> => {
      const id = approvalId(env.runId, step, call.toolCall.id)
      const decision = env.decided.decisions.get(id)
      if (decision !== undefined) return Effect.succeed({ call, id, decision, wait: false })
      const needsApproval = Own.get(env.toolkit.tools, call.toolCall.name)?.needsApproval
      if (needsApproval === undefined || env.decided.always.has(call.toolCall.name)) {
        return Effect.succeed({ call, id, decision, wait: false })
      }
      const context = { runId: env.runId, agent: env.agent, path: env.path, toolCallId: call.toolCall.id }
      return Effect.map(
        needsApproval(parsed(call.toolCall.arguments), context) as Effect.Effect<boolean>,
        (wait) => ({ call, id, decision, wait })
      )
    }),
    (sorted): Sorted => ({
      run: sorted.filter((c) => !c.wait && c.decision?.approved !== false).map((c) => c.call),
      rejected: sorted.flatMap((c) => c.decision?.approved === false ? [rejection(c.call, c.decision)] : []),
      waiting: sorted.filter((c) => c.wait).map((c): Approval.Request => ({
        approvalId: c.id,
        runId: env.runId,
        agent: env.agent,
        path: env.path,
        step,
        toolCall: c.call.toolCall
      }))
    })
  )
