/**
 * The events of a run, as `agent.stream(input)` yields them, in order:
 * `RunStarted`, then for each step its `TextDelta`s, `ToolCallStarted`, the
 * `ToolProgress` a tool reports and `ToolCallCompleted` (tool calls of one
 * step run concurrently, so theirs interleave) and `StepCompleted`, and last
 * `RunCompleted` with the result. `ApprovalRequested`, `GuardrailTripped`
 * and `Handoff` mark a run that waits for a person, is stopped by a
 * guardrail, or goes on as another agent (whose events then carry its path).
 * Every event carries the run id, the agent's name and its `path` in a tree
 * of agents. Events are plain JSON-ready objects.
 *
 * Runs nested in a streamed run (an agent called as a tool, a team's
 * members, the agents in a DAG's nodes) stream into it too: their events come
 * with a longer `path`, all but their `RunCompleted`, so a stream's
 * `RunCompleted` is always its own run's, with its typed output. A run
 * delegated to (an agent called as a tool, a team's member) ends with a
 * `MemberCompleted` event instead: its answer, or its error.
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
import * as Schema from "effect/Schema"
import * as Approval from "./Approval.js"
import * as LanguageModel from "./LanguageModel.js"
import * as Run from "./Run.js"

const base = {
  runId: Schema.String,
  agent: Schema.String,
  /**
   * Where in a tree of agents the event comes from, outermost first: an
   * agent's own events have `[agent]`; a team's member's have
   * `[team, member]`, so a UI can show members side by side.
   */
  path: Schema.Array(Schema.String)
}

/**
 * What every event carries.
 *
 * @since 0.1.0
 * @category models
 */
export interface Base extends Schema.Struct.Type<typeof base> {}

/**
 * The run started, with the user's message that started it.
 *
 * @since 0.1.0
 * @category models
 */
export const RunStarted = Schema.TaggedStruct("RunStarted", { ...base, input: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export interface RunStarted extends Schema.Schema.Type<typeof RunStarted> {}

/**
 * A piece of the model's text, as it streams.
 *
 * @since 0.1.0
 * @category models
 */
export const TextDelta = Schema.TaggedStruct("TextDelta", { ...base, step: Schema.Number, text: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export interface TextDelta extends Schema.Schema.Type<typeof TextDelta> {}

/**
 * A tool call is about to run.
 *
 * @since 0.1.0
 * @category models
 */
export const ToolCallStarted = Schema.TaggedStruct("ToolCallStarted", {
  ...base,
  step: Schema.Number,
  toolCall: LanguageModel.ToolCall
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolCallStarted extends Schema.Schema.Type<typeof ToolCallStarted> {}

/**
 * A tool call ended, with what the model gets back.
 *
 * @since 0.1.0
 * @category models
 */
export const ToolCallCompleted = Schema.TaggedStruct("ToolCallCompleted", {
  ...base,
  step: Schema.Number,
  call: Run.ToolCallRecord
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolCallCompleted extends Schema.Schema.Type<typeof ToolCallCompleted> {}

/**
 * A tool call under way reported its progress (`Tool.progress`): an MCP
 * server's progress notifications, say. `total` when the tool knows it.
 *
 * @since 0.1.0
 * @category models
 */
export const ToolProgress = Schema.TaggedStruct("ToolProgress", {
  ...base,
  step: Schema.Number,
  toolCallId: Schema.String,
  tool: Schema.String,
  progress: Schema.Number,
  total: Schema.optional(Schema.Number),
  message: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolProgress extends Schema.Schema.Type<typeof ToolProgress> {}

/**
 * A step ended: its model call and its tool calls.
 *
 * @since 0.1.0
 * @category models
 */
export const StepCompleted = Schema.TaggedStruct("StepCompleted", { ...base, step: Run.Step })

/**
 * @since 0.1.0
 * @category models
 */
export interface StepCompleted extends Schema.Schema.Type<typeof StepCompleted> {}

/**
 * A run delegated to (a team's member, an agent called as a tool) ended:
 * its answer, or its error's message. Its path is the delegate's.
 *
 * @since 0.1.0
 * @category models
 */
export const MemberCompleted = Schema.TaggedStruct("MemberCompleted", {
  ...base,
  /** The task the member was given. */
  input: Schema.String,
  content: Schema.String,
  isError: Schema.Boolean,
  durationMs: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export interface MemberCompleted extends Schema.Schema.Type<typeof MemberCompleted> {}

/**
 * A tool call waits for a person's approval; the run suspends once the
 * step's other calls are done (see `Approval`).
 *
 * @since 0.1.0
 * @category models
 */
export const ApprovalRequested = Schema.TaggedStruct("ApprovalRequested", {
  ...base,
  approval: Approval.Request
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ApprovalRequested extends Schema.Schema.Type<typeof ApprovalRequested> {}

/**
 * A guardrail tripped (see `Guardrail`): the run fails with
 * `GuardrailTripped` next.
 *
 * @since 0.1.0
 * @category models
 */
export const GuardrailTripped = Schema.TaggedStruct("GuardrailTripped", {
  ...base,
  guardrail: Schema.String,
  kind: Schema.Literal("input", "output", "tool"),
  info: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category models
 */
export interface GuardrailTripped extends Schema.Schema.Type<typeof GuardrailTripped> {}

/**
 * The agent speaking handed the conversation over (see `Agent.handoff`):
 * `to` continues the run, its events at `toPath` with the id of its turn,
 * `toRunId` (made of the run's and of the handoff call's).
 *
 * @since 0.1.0
 * @category models
 */
export const Handoff = Schema.TaggedStruct("Handoff", {
  ...base,
  to: Schema.String,
  toPath: Schema.Array(Schema.String),
  toRunId: Schema.String
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Handoff extends Schema.Schema.Type<typeof Handoff> {}

/**
 * The stream's own run ended, with its result.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunCompleted<Output = unknown> extends Base {
  readonly _tag: "RunCompleted"
  readonly result: Run.RunResult<Output>
}

/**
 * @since 0.1.0
 * @category models
 */
export type RunEvent<Output = unknown> =
  | RunStarted
  | TextDelta
  | ToolCallStarted
  | ToolProgress
  | ToolCallCompleted
  | StepCompleted
  | MemberCompleted
  | ApprovalRequested
  | GuardrailTripped
  | Handoff
  | RunCompleted<Output>

/**
 * The Schema of the events of a run whose `RunCompleted` carries a result
 * of `result`'s (the HTTP API's events carry any run's result, as JSON).
 *
 * @since 0.1.0
 * @category models
 */
export const schema = <A, I, R>(result: Schema.Schema<A, I, R>) =>
  Schema.Union(
    RunStarted,
    TextDelta,
    ToolCallStarted,
    ToolProgress,
    ToolCallCompleted,
    StepCompleted,
    MemberCompleted,
    ApprovalRequested,
    GuardrailTripped,
    Handoff,
    Schema.TaggedStruct("RunCompleted", { ...base, result })
  ).annotations({ identifier: "RunEvent" })

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

// -----------------------------------------------------------------------------
// DAG nodes
// -----------------------------------------------------------------------------

const nodeBase = {
  dag: Schema.String,
  node: Schema.String,
  /** The DAG's path and the node's name: where the agents inside the node stream. */
  path: Schema.Array(Schema.String)
}

/**
 * A node of a DAG started.
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeStarted = Schema.TaggedStruct("NodeStarted", { ...nodeBase, startMs: Schema.Number })

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeStarted extends Schema.Schema.Type<typeof NodeStarted> {}

/**
 * A node completed, with its output (see `Dag.NodeCompleted` for the typed view).
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeCompleted = Schema.TaggedStruct("NodeCompleted", {
  ...nodeBase,
  ...Run.NodeTiming.fields,
  output: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeCompleted extends Schema.Schema.Type<typeof NodeCompleted> {}

/**
 * A node failed, with its error.
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeFailed = Schema.TaggedStruct("NodeFailed", {
  ...nodeBase,
  ...Run.NodeTiming.fields,
  error: Schema.Unknown
})

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeFailed extends Schema.Schema.Type<typeof NodeFailed> {}

/**
 * A node was interrupted (the run was, or fail-fast stopped it).
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeInterrupted = Schema.TaggedStruct("NodeInterrupted", { ...nodeBase, ...Run.NodeTiming.fields })

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeInterrupted extends Schema.Schema.Type<typeof NodeInterrupted> {}

/**
 * A node will not run: `blockedBy` names the dependency that did not complete.
 *
 * @since 0.1.0
 * @category dags
 */
export const NodeSkipped = Schema.TaggedStruct("NodeSkipped", {
  ...nodeBase,
  blockedBy: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category dags
 */
export interface NodeSkipped extends Schema.Schema.Type<typeof NodeSkipped> {}

/**
 * The events of a DAG's nodes.
 *
 * @since 0.1.0
 * @category dags
 */
export type NodeEvent = NodeStarted | NodeCompleted | NodeFailed | NodeInterrupted | NodeSkipped

/**
 * The events a run nested in another forwards to it: all but its
 * `RunCompleted`, which only the outermost run of a stream emits.
 *
 * @since 0.1.0
 * @category sinks
 */
export type Forwarded = Exclude<RunEvent, { readonly _tag: "RunCompleted" }>
