/**
 * The journal of a durable run (`effect-agents/durable`): each step's model
 * call and each tool call is recorded once done, and a run started again
 * after a crash is answered from the record instead of doing it again. The
 * run context carries it to every run of the tree; outside a durable run
 * there is none, and nothing is recorded.
 */
import type * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Approval from "../Approval.js"
import * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import * as Run from "../Run.js"

/** A tool call done: its record, and the message the model gets. */
export const Done = Schema.Struct({ record: Run.ToolCallRecord, message: LanguageModel.ToolMessage })

export interface Done extends Schema.Schema.Type<typeof Done> {}

export interface Journal {
  /**
   * A step's model call (its retries and fallbacks included), recorded under
   * `key`: made once, then answered from the record. One in flight at a
   * crash is made again.
   */
  readonly model: (
    key: string,
    call: Effect.Effect<LanguageModel.GenerateResponse, ModelError>
  ) => Effect.Effect<LanguageModel.GenerateResponse, ModelError>
  /**
   * A tool call, recorded under `key`. One in flight at a crash is made
   * again when the tool is `idempotent`; otherwise its result is `unknown`.
   */
  readonly tool: (
    key: string,
    idempotent: boolean,
    call: Effect.Effect<Done>,
    unknown: Done
  ) => Effect.Effect<Done>
  /**
   * A call that waits for a person: the run waits for the decision (a
   * durable run suspends until it comes, across restarts) instead of
   * stopping with `RunSuspended`.
   */
  readonly approval: (request: Approval.Request) => Effect.Effect<Approval.Decision>
}

/** The key of step `step`'s model call in run `runId` (a correction re-asks in the same step). */
export const modelKey = (runId: string, step: number, correctionsLeft: number): string =>
  `${runId}/model/${step}/${correctionsLeft}`

/** The key of tool call `toolCallId` of step `step` in run `runId`. */
export const toolKey = (runId: string, step: number, toolCallId: string): string =>
  `${runId}/tool/${step}/${toolCallId}`

/** The tool call a durable run's fiber makes: its idempotency key (see `Tool.currentCall`). */
export interface CallInfo {
  readonly runId: string
  readonly toolCallId: string
  /** The same on every attempt of this call, across crashes: pass it on to the APIs the tool calls. */
  readonly idempotencyKey: string
}

export const currentCall: FiberRef.FiberRef<Option.Option<CallInfo>> = globalValue(
  Symbol.for("effect-agents/internal/journal/currentCall"),
  () => FiberRef.unsafeMake<Option.Option<CallInfo>>(Option.none())
)
