/**
 * The events of a run, as `agent.stream(input)` yields them, in order:
 * `RunStarted`, then for each step its `TextDelta`s, `ToolCallStarted` and
 * `ToolCallCompleted` (tool calls of one step run concurrently, so theirs
 * interleave) and `StepCompleted`, and last `RunCompleted` with the result.
 * Every event carries the run id, the agent's name and its `path` in a tree
 * of agents. Events are plain JSON-ready objects.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { type Agent, RunEvent } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 *
 * const printDeltas = agent.stream("Tell me a story").pipe(
 *   Stream.filter(RunEvent.is("TextDelta")),
 *   Stream.runForEach((event) => Effect.sync(() => process.stdout.write(event.text)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as Agent from "./Agent.js"
import type * as LanguageModel from "./LanguageModel.js"

/**
 * @since 0.1.0
 * @category models
 */
export type RunEvent<Output = unknown> =
  | RunStarted
  | TextDelta
  | ToolCallStarted
  | ToolCallCompleted
  | StepCompleted
  | RunCompleted<Output>

/**
 * What every event carries.
 *
 * @since 0.1.0
 * @category models
 */
export interface Base {
  readonly runId: string
  readonly agent: string
  /**
   * Where in a tree of agents the event comes from, outermost first: an
   * agent's own events have `[agent]`; a team's member's have
   * `[team, member]`, so a UI can show members side by side.
   */
  readonly path: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RunStarted extends Base {
  readonly _tag: "RunStarted"
  /** The user's message that started the run. */
  readonly input: string
}

/**
 * A piece of the model's text, as it arrives.
 *
 * @since 0.1.0
 * @category models
 */
export interface TextDelta extends Base {
  readonly _tag: "TextDelta"
  readonly step: number
  readonly text: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolCallStarted extends Base {
  readonly _tag: "ToolCallStarted"
  readonly step: number
  readonly toolCall: LanguageModel.ToolCall
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolCallCompleted extends Base {
  readonly _tag: "ToolCallCompleted"
  readonly step: number
  readonly call: Agent.ToolCallRecord
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StepCompleted extends Base {
  readonly _tag: "StepCompleted"
  readonly step: Agent.Step
}

/**
 * The last event of a run that succeeded.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunCompleted<Output = unknown> extends Base {
  readonly _tag: "RunCompleted"
  readonly result: Agent.RunResult<Output>
}

/**
 * A refinement for one kind of event, for `Stream.filter` and the like.
 *
 * @example
 * ```ts
 * import { RunEvent } from "effect-agents"
 *
 * declare const events: ReadonlyArray<RunEvent.RunEvent>
 * const text = events.filter(RunEvent.is("TextDelta")).map((event) => event.text).join("")
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const is =
  <Tag extends RunEvent["_tag"]>(tag: Tag) =>
  <Output>(event: RunEvent<Output>): event is Extract<RunEvent<Output>, { readonly _tag: Tag }> => event._tag === tag
