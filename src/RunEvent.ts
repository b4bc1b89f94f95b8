/**
 * The events of a run, as `agent.stream(input)` yields them, in order:
 * `RunStarted`, then for each step its `TextDelta`s, `ToolCallStarted` and
 * `ToolCallCompleted` (tool calls of one step run concurrently, so theirs
 * interleave) and `StepCompleted`, and last `RunCompleted` with the result.
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
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Mailbox from "effect/Mailbox"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
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
  | ToolCallCompleted
  | StepCompleted
  | MemberCompleted
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
    ToolCallCompleted,
    StepCompleted,
    MemberCompleted,
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

/**
 * Where the events of a streamed run go, and where in the tree of agents the
 * runs under it sit.
 *
 * @since 0.1.0
 * @category sinks
 */
export interface Sink {
  readonly path: ReadonlyArray<string>
  readonly emit: (event: Forwarded) => Effect.Effect<unknown>
}

/**
 * The events a run nested in another forwards to it: all but its
 * `RunCompleted`, which only the outermost run of a stream emits.
 *
 * @since 0.1.0
 * @category sinks
 */
export type Forwarded = Exclude<RunEvent, { readonly _tag: "RunCompleted" }>

/**
 * The sink of the streamed run the current fiber works for, if any. An agent
 * run under a sink streams its model and emits its events there, with its
 * name appended to the sink's path (all but its `RunCompleted`).
 *
 * @since 0.1.0
 * @category sinks
 */
export const currentSink: FiberRef.FiberRef<Sink | undefined> = globalValue(
  Symbol.for("effect-agents/RunEvent/currentSink"),
  () => FiberRef.unsafeMake<Sink | undefined>(undefined)
)

/**
 * Runs an effect with its runs' events going to `sink`: how a team or a DAG
 * collects the events of the runs it starts.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Agent, RunEvent } from "effect-agents"
 *
 * declare const member: Agent.Agent
 * const events: Array<RunEvent.RunEvent> = []
 * const run = member.run("Find X").pipe(
 *   RunEvent.withSink({ path: ["Research Team"], emit: (event) => Effect.sync(() => events.push(event)) })
 * ) // events get paths like ["Research Team", "searcher"]
 * ```
 *
 * @since 0.1.0
 * @category sinks
 */
export const withSink: {
  (sink: Sink): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, sink: Sink): Effect.Effect<A, E, R>
} = dual(2, <A, E, R>(self: Effect.Effect<A, E, R>, sink: Sink) => Effect.locally(self, currentSink, sink))

/**
 * A stream of the events `body` emits (of any type `A`), with the runs under
 * it streaming their {@link Forwarded} events into it at `path`. The stream is
 * backpressured (the body waits when the consumer is behind), ends when the
 * body succeeds, fails when it fails, and stopping it interrupts the body.
 * Agents, teams and DAGs stream through this.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RunEvent } from "effect-agents"
 *
 * const events = RunEvent.stream(["my-workflow"], (emit) =>
 *   emit({ _tag: "RunStarted", runId: "r1", agent: "my-workflow", path: ["my-workflow"], input: "go" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category sinks
 */
export const stream = <A, E, R>(
  path: ReadonlyArray<string>,
  body: (emit: (event: A | Forwarded) => Effect.Effect<unknown>) => Effect.Effect<unknown, E, R>
): Stream.Stream<A | Forwarded, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<A | Forwarded, E>({ capacity: 16 })
    const emit = (event: A | Forwarded) => mailbox.offer(event)
    yield* body(emit).pipe(
      withSink({ path, emit }),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))
