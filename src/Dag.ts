/**
 * Workflows as a dependency graph of steps: every step starts the moment the
 * steps it depends on are done, so a run takes the time of its critical
 * path, not the sum of its slowest step per level.
 *
 * A DAG is built node by node: `Dag.make(name)`, then `Dag.node(name, ...)`
 * for each step, naming the nodes it depends on. A node may depend only on
 * nodes added before it, so a cycle cannot be written; it receives their
 * outputs, typed by their names. A node is any Effect: an agent run, a
 * team's, a tool call, plain code.
 *
 * - {@link run} runs it: every node is a task of one `TaskGroup`, forked
 *   the moment its last dependency completes. `onFailure: "fail-fast"`
 *   (default) interrupts the running nodes at the first failure;
 *   `"continue"` skips only the dependents of a failed node and lets the
 *   independent branches finish. `concurrency: 1` runs the nodes one at a
 *   time, in topological order. Nodes can have a timeout and a retry
 *   schedule.
 * - {@link stream} is the same run as a stream of node events, with the
 *   events of the agents inside nodes (paths like `[dag, node, agent]`).
 * - {@link toMermaid} draws the graph; `Printer.formatTimeline` draws a
 *   finished run, one bar per node on a shared time axis.
 *
 * The structure is an `effect/Graph` directed graph ({@link Dag.graph}):
 * its topological order, acyclicity and Mermaid output are Graph's.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag, Printer } from "effect-agents"
 *
 * const pipeline = Dag.make<string>("report").pipe(
 *   Dag.node("ingest", (_, csv) => Effect.succeed(csv.split(",").map(Number)).pipe(Effect.delay("100 millis"))),
 *   Dag.node("stats", { dependsOn: ["ingest"], run: ({ ingest }) => Effect.succeed(Math.max(...ingest)) }),
 *   Dag.node("sorted", { dependsOn: ["ingest"], run: ({ ingest }) => Effect.succeed(ingest.toSorted()) }),
 *   Dag.node("report", {
 *     dependsOn: ["stats", "sorted"],
 *     run: ({ sorted, stats }) => Effect.succeed(`max ${stats} of ${sorted.join(", ")}`)
 *   })
 * )
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Dag.run(pipeline, "3,1,2")
 *   if (result.nodes.report.status === "completed") console.log(result.nodes.report.output)
 *   console.log(Printer.formatTimeline(result))
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Graph from "effect/Graph"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as Types from "effect/Types"
import type { BudgetExceeded } from "./AgentError.js"
import * as internal from "./internal/dag.js"
import * as Render from "./internal/render.js"
import type * as Policy from "./Policy.js"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"
import * as Runnable from "./Runnable.js"

/**
 * The brand of a {@link Dag}.
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Dag")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

// -----------------------------------------------------------------------------
// errors
// -----------------------------------------------------------------------------

/**
 * Two nodes of a DAG were given one name. With names known to the compiler
 * this is a type error; a DAG built from names known only at run time (a
 * `string`) fails its run with this error before any node runs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag } from "effect-agents"
 *
 * const name: string = "step"
 * const dag = Dag.make("dynamic").pipe(
 *   Dag.node(name, () => Effect.succeed(1)),
 *   Dag.node(name, () => Effect.succeed(2))
 * )
 * const program = Dag.run(dag, undefined).pipe(
 *   Effect.catchTag("DuplicateNode", (error) => Effect.logError(error.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateNode extends Schema.TaggedError<DuplicateNode>()("DuplicateNode", {
  dag: Schema.String,
  node: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `DAG "${this.dag}" has two nodes named "${this.node}"`
  }
}

/**
 * A node depends on a name that no node added before it has. With names known
 * to the compiler this is a type error; otherwise the run fails with this
 * error before any node runs.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * const error = new Dag.UnknownDependency({ dag: "report", node: "stats", dependency: "ingest" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownDependency extends Schema.TaggedError<UnknownDependency>()("UnknownDependency", {
  dag: Schema.String,
  node: Schema.String,
  dependency: Schema.String
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `node "${this.node}" of DAG "${this.dag}" depends on "${this.dependency}", which is not a node added before it`
  }
}

/**
 * A mistake in a DAG built from names the compiler does not know.
 *
 * @since 0.1.0
 * @category errors
 */
export type DefinitionError = DuplicateNode | UnknownDependency

/**
 * An attempt of a node took longer than the node's `timeout`; it was
 * interrupted. A node's retry schedule sees it like any other failure.
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Dag } from "effect-agents"
 *
 * const error = new Dag.NodeTimeout({ dag: "report", node: "analysis", timeout: Duration.seconds(30) })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NodeTimeout extends Schema.TaggedError<NodeTimeout>()("NodeTimeout", {
  dag: Schema.String,
  node: Schema.String,
  timeout: Schema.DurationFromMillis
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `node "${this.node}" of DAG "${this.dag}" timed out after ${Duration.format(this.timeout)}`
  }
}

/**
 * A node died: its Effect threw or called `Effect.die`. The node failed with
 * this error, as with a typed failure: a bug in one node does not crash the
 * run.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * const error = new Dag.NodeDefect({ dag: "report", node: "parse", defect: new SyntaxError("Unexpected token") })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NodeDefect extends Schema.TaggedError<NodeDefect>()("NodeDefect", {
  dag: Schema.String,
  node: Schema.String,
  defect: Schema.Defect
}) {
  /** @since 0.1.0 */
  override get message(): string {
    return `node "${this.node}" of DAG "${this.dag}" died: ${Render.text(this.defect)}`
  }
}

const errors: internal.Errors = {
  timeout: (dag, node, timeout) => new NodeTimeout({ dag, node, timeout }),
  defect: (dag, node, defect) => new NodeDefect({ dag, node, defect })
}

// -----------------------------------------------------------------------------
// models
// -----------------------------------------------------------------------------

/**
 * What the graph of a DAG holds for each node.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * declare const dag: Dag.Dag<string, { readonly a: number }>
 * const names = Array.from(dag.graph.nodes.values(), (info: Dag.NodeInfo) => info.name)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeInfo extends internal.NodeInfo {}

/**
 * A DAG taking an input `I`, whose nodes' outputs are `Out` (by node name),
 * whose nodes may fail with `E` and need `R`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag } from "effect-agents"
 *
 * const dag: Dag.Dag<number, { readonly double: number }> = Dag.make<number>("math").pipe(
 *   Dag.node("double", (_, n) => Effect.succeed(n * 2))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Dag<in I, out Out = {}, out E = never, out R = never> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: {
    readonly _I: Types.Contravariant<I>
    readonly _Out: Types.Covariant<Out>
    readonly _E: Types.Covariant<E>
    readonly _R: Types.Covariant<R>
  }
  readonly name: string
  /**
   * The structure: one node per step (by index, in the order they were
   * added), an edge from each dependency to its dependent.
   */
  readonly graph: Graph.DirectedGraph<NodeInfo, void>
  /** The node names, in the order they were added (a topological order). */
  readonly nodes: ReadonlyArray<string>
}

/**
 * The outputs of a DAG's nodes, by name.
 *
 * @since 0.1.0
 * @category models
 */
export type Outputs<T> = T extends Dag<infer _I, infer Out, infer _E, infer _R> ? Out : never

/**
 * The errors a DAG's run can fail with before any node runs: none for a DAG
 * whose names the compiler knows (mistakes there are type errors).
 *
 * @since 0.1.0
 * @category models
 */
export type DefinitionErrorOf<Out> = string extends keyof Out ? DefinitionError : never

/**
 * How a node ended: `A` its output, `E` its typed error (see `Run.NodeResult`).
 *
 * @since 0.1.0
 * @category models
 */
export type NodeResult<A = unknown, E = unknown> = Run.NodeResult<A, E | NodeDefect>

/**
 * When a node ran, and how many times (see `Run.NodeTiming`).
 *
 * @since 0.1.0
 * @category models
 */
export type Timing = Run.NodeTiming

/**
 * @since 0.1.0
 * @category models
 */
export type CompletedNode<A> = Extract<NodeResult<A, never>, { readonly status: "completed" }>

/**
 * @since 0.1.0
 * @category models
 */
export type FailedNode<E> = Extract<NodeResult<unknown, E>, { readonly status: "failed" }>

/**
 * @since 0.1.0
 * @category models
 */
export type InterruptedNode = Extract<NodeResult, { readonly status: "interrupted" }>

/**
 * @since 0.1.0
 * @category models
 */
export type SkippedNode = Extract<NodeResult, { readonly status: "skipped" }>

/**
 * A DAG's run, typed by its nodes: each node's result under its name (see
 * `Run.DagResult`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DagResult<Out = Record<string, unknown>, E = unknown>
  extends Omit<Run.DagResult<unknown, E | NodeDefect>, "nodes" | "order">
{
  readonly nodes: { readonly [K in keyof Out & string]: NodeResult<Out[K], E> }
  /** The node names, in the order they were added. */
  readonly order: ReadonlyArray<keyof Out & string>
}

/**
 * Options of a run.
 *
 * - `concurrency`: how many nodes run at once (default `"unbounded"`); a
 *   ready node waits for a free slot, in the order nodes became ready.
 *   `1` runs the DAG sequentially, in topological order.
 * - `onFailure`: `"fail-fast"` (default) interrupts the running nodes at the
 *   first failure and starts no other; `"continue"` skips the dependents of
 *   a failed node only, and lets every independent branch finish.
 * - `budget`: what the agents in the nodes may spend together (see
 *   `Policy.Budget`); crossing it interrupts every node, and the run fails
 *   with `BudgetExceeded`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly concurrency?: number | "unbounded" | undefined
  readonly onFailure?: "fail-fast" | "continue" | undefined
  /**
   * The run's id (default: a random UUID). The agents and teams a node runs
   * without an id of their own are named after it: `<runId>.<node>`, then
   * `<runId>.<node>.2`… in the order they start (`<runId>.<node>#2` for a
   * node's second attempt), the same on every replay of a durable run.
   */
  readonly runId?: string | undefined
  readonly budget?: Policy.BudgetOptions | undefined
}

/**
 * What a run with options `O` may fail with for its budget: `BudgetExceeded`
 * when `O` may have a budget.
 *
 * @since 0.1.0
 * @category models
 */
export type BudgetErrorOf<O> = O extends { readonly budget?: undefined } ? never : BudgetExceeded

// -----------------------------------------------------------------------------
// events
// -----------------------------------------------------------------------------

/**
 * What every node event carries.
 *
 * @since 0.1.0
 * @category events
 */
export type NodeEventBase = Pick<RunEvent.NodeStarted, "dag" | "node" | "path">

/**
 * @since 0.1.0
 * @category events
 */
export type NodeStarted = RunEvent.NodeStarted

/**
 * A node completed: `K` its name, `A` its output.
 *
 * @since 0.1.0
 * @category events
 */
export interface NodeCompleted<out K extends string = string, out A = unknown>
  extends Omit<RunEvent.NodeCompleted, "node" | "output">
{
  readonly node: K
  readonly output: A
}

/**
 * A node failed: `E` its typed error.
 *
 * @since 0.1.0
 * @category events
 */
export interface NodeFailed<out E = unknown> extends Omit<RunEvent.NodeFailed, "error"> {
  readonly error: E | NodeDefect
}

/**
 * @since 0.1.0
 * @category events
 */
export type NodeInterrupted = RunEvent.NodeInterrupted

/**
 * @since 0.1.0
 * @category events
 */
export type NodeSkipped = RunEvent.NodeSkipped

/**
 * The last event of a streamed run, with its result.
 *
 * @example
 * ```ts
 * import type { Dag } from "effect-agents"
 *
 * const line = (event: Dag.DagCompleted) => `${event.dag}: ${event.result.status}`
 * ```
 *
 * @since 0.1.0
 * @category events
 */
export interface DagCompleted<Out = Record<string, unknown>, E = unknown> {
  readonly _tag: "DagCompleted"
  readonly dag: string
  readonly path: ReadonlyArray<string>
  readonly result: DagResult<Out, E>
}

/**
 * The events of a node.
 *
 * @since 0.1.0
 * @category events
 */
export type NodeEvent<Out = Record<string, unknown>, E = unknown> =
  | NodeStarted
  | { readonly [K in keyof Out & string]: NodeCompleted<K, Out[K]> }[keyof Out & string]
  | NodeFailed<E>
  | NodeInterrupted
  | NodeSkipped

/**
 * What {@link stream} yields: node events, the events of the agents running
 * inside nodes (`RunEvent`s with paths like `[dag, node, agent]`, all but
 * their `RunCompleted`), and last {@link DagCompleted}.
 *
 * Node events are a type of their own rather than members of `RunEvent`:
 * an agent's stream never holds them, and they carry the nodes' typed
 * outputs and errors.
 *
 * @since 0.1.0
 * @category events
 */
export type DagEvent<Out = Record<string, unknown>, E = unknown> =
  | NodeEvent<Out, E>
  | DagCompleted<Out, E>
  | RunEvent.Forwarded

/**
 * A refinement for one kind of DAG event, for `Stream.filter` and the like.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Dag } from "effect-agents"
 *
 * declare const events: Stream.Stream<Dag.DagEvent>
 * const started = events.pipe(Stream.filter(Dag.is("NodeStarted")), Stream.map((event) => event.node))
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const is =
  <Tag extends DagEvent["_tag"]>(tag: Tag) =>
  <Ev extends { readonly _tag: string }>(event: Ev): event is Extract<Ev, { readonly _tag: Tag }> => event._tag === tag

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

interface DagImpl extends Dag<unknown, Record<string, unknown>, unknown, unknown> {
  readonly definition: internal.Definition
}

const Proto = {
  [TypeId]: { _I: (_: unknown) => _, _Out: (_: never) => _, _E: (_: never) => _, _R: (_: never) => _ },
  pipe() {
    return pipeArguments(this, arguments)
  },
  ...Inspectable.BaseProto,
  toJSON(this: DagImpl) {
    return {
      _id: "Dag",
      name: this.name,
      // a record, not a list of records, so that Node's inspect shows it whole at its default depth
      dependsOn: Object.fromEntries(Array.from(this.graph.nodes.values(), ({ dependsOn, name }) => [name, dependsOn]))
    }
  }
}

const fromDefinition = (definition: internal.Definition): DagImpl =>
  Object.assign(Object.create(Proto), {
    name: definition.name,
    graph: definition.graph,
    nodes: definition.specs.map((spec) => spec.name),
    definition
  })

const definitionOf = <I, Out, E, R>(dag: Dag<I, Out, E, R>): internal.Definition =>
  (dag as unknown as DagImpl).definition

/**
 * Whether a value is a {@link Dag}.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * Dag.isDag(Dag.make("empty")) // true
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isDag = (u: unknown): u is Dag<never, unknown, unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * An empty DAG taking an input of type `I` (default `void`). Add nodes with
 * {@link node}.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * const dag = Dag.make<{ readonly url: string }>("crawl")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <I = void>(name: string): Dag<I> =>
  fromDefinition({
    name,
    specs: [],
    graph: Graph.directed<NodeInfo, void>(),
    indexOf: new Map(),
    invalid: undefined
  }) as unknown as Dag<I>

type Simplify<A> = { [K in keyof A]: A[K] } & {}

/** A node's name: any string but those taken (unless the names are not known to the compiler). */
type FreeName<N extends string, Out> = string extends keyof Out ? N : Exclude<N, keyof Out>

/** The outputs once node `N` with output `A` is added. */
type With<Out, N extends string, A> = string extends N ? Out & { readonly [name: string]: A }
  : Simplify<Out & { readonly [K in N]: A }>

/** The outputs a node depending on `D` receives. */
type DepsOf<Out, D extends ReadonlyArray<keyof Out>> = { readonly [K in D[number]]: Out[K] }

type TimeoutError<T> = [T] extends [never] ? never : NodeTimeout

/**
 * A node's settings: the nodes it depends on (already added), what it runs
 * from their outputs and the DAG's input, and optionally a timeout (per
 * attempt; the node fails with {@link NodeTimeout}) and a retry schedule (its
 * input is the node's error).
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeOptions<
  Deps,
  I,
  A,
  E,
  R,
  D extends ReadonlyArray<string>,
  T extends Duration.DurationInput = Duration.DurationInput
> {
  readonly dependsOn?: D | undefined
  readonly run: (deps: Deps, input: I) => Effect.Effect<A, E, R>
  readonly timeout?: T | undefined
  readonly retry?: Schedule.Schedule<unknown, E | TimeoutError<T>> | undefined
}

const addNode = (
  self: DagImpl,
  name: string,
  options:
    | NodeOptions<never, unknown, unknown, unknown, unknown, ReadonlyArray<string>>
    | ((deps: never, input: unknown) => Effect.Effect<unknown, unknown, unknown>)
): DagImpl => {
  const definition = self.definition
  if (definition.invalid !== undefined) return self
  const spec = typeof options === "function" ? { run: options } : options
  const dependsOn = Array.from(new Set(spec.dependsOn ?? []))
  const invalid = definition.indexOf.has(name)
    ? new DuplicateNode({ dag: definition.name, node: name })
    : dependsOn.filter((dependency) => !definition.indexOf.has(dependency)).map((dependency) =>
      new UnknownDependency({ dag: definition.name, node: name, dependency })
    )[0]
  if (invalid !== undefined) return fromDefinition({ ...definition, invalid })
  const timeout = spec.timeout === undefined ? undefined : Duration.decode(spec.timeout)
  const index = definition.specs.length
  const graph = Graph.mutate(definition.graph, (mutable) => {
    Graph.addNode(mutable, { name, dependsOn, timeout, retry: spec.retry !== undefined })
    for (const dependency of dependsOn) Graph.addEdge(mutable, definition.indexOf.get(dependency)!, index, undefined)
  })
  return fromDefinition({
    name: definition.name,
    specs: [...definition.specs, {
      name,
      run: spec.run as internal.NodeSpec["run"],
      timeout,
      retry: spec.retry as Schedule.Schedule<unknown, unknown> | undefined
    }],
    graph,
    indexOf: new Map(definition.indexOf).set(name, index),
    invalid: undefined
  })
}

/**
 * Adds a node: a name not taken yet, the nodes it depends on (only nodes
 * already added: a cycle cannot be written), and what it runs, given their
 * outputs by name and the DAG's input. It starts as soon as they have all
 * completed. Give just a function for a node without dependencies.
 *
 * A name already taken, or a dependency not added yet, is a type error. When
 * names are only known at run time (a `string`), the DAG's run fails with a
 * {@link DefinitionError} instead, before any node runs.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { Dag } from "effect-agents"
 *
 * declare const fetchPage: (url: string) => Effect.Effect<string, Error>
 *
 * const dag = Dag.make<string>("page").pipe(
 *   Dag.node("html", (_, url) => fetchPage(url)),
 *   Dag.node("title", {
 *     dependsOn: ["html"],
 *     run: ({ html }) => Effect.succeed(html.match(/<title>(.*)<\/title>/)?.[1] ?? ""),
 *     timeout: "5 seconds",
 *     retry: Schedule.recurs(2)
 *   })
 * ) // Dag<string, { readonly html: string; readonly title: string }, Error | Dag.NodeTimeout>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const node: {
  <
    N extends string,
    Out,
    I,
    A,
    E2,
    R2,
    const D extends ReadonlyArray<keyof Out & string> = readonly [],
    T extends Duration.DurationInput = never
  >(
    name: FreeName<N, Out>,
    options: {
      readonly dependsOn?: D | undefined
      readonly run: (deps: DepsOf<NoInfer<Out>, D>, input: NoInfer<I>) => Effect.Effect<A, E2, R2>
      readonly timeout?: T | undefined
      readonly retry?: Schedule.Schedule<unknown, NoInfer<E2> | TimeoutError<T>> | undefined
    }
  ): <E1, R1>(self: Dag<I, Out, E1, R1>) => Dag<I, With<Out, N, A>, E1 | E2 | TimeoutError<T>, R1 | R2>
  <N extends string, Out, I, A, E2, R2>(
    name: FreeName<N, Out>,
    run: (deps: {}, input: NoInfer<I>) => Effect.Effect<A, E2, R2>
  ): <E1, R1>(self: Dag<I, Out, E1, R1>) => Dag<I, With<Out, N, A>, E1 | E2, R1 | R2>
  <
    I,
    Out,
    E1,
    R1,
    N extends string,
    A,
    E2,
    R2,
    const D extends ReadonlyArray<keyof Out & string> = readonly [],
    T extends Duration.DurationInput = never
  >(
    self: Dag<I, Out, E1, R1>,
    name: FreeName<N, Out>,
    options: {
      readonly dependsOn?: D | undefined
      readonly run: (deps: DepsOf<Out, D>, input: I) => Effect.Effect<A, E2, R2>
      readonly timeout?: T | undefined
      readonly retry?: Schedule.Schedule<unknown, NoInfer<E2> | TimeoutError<T>> | undefined
    }
  ): Dag<I, With<Out, N, A>, E1 | E2 | TimeoutError<T>, R1 | R2>
  <I, Out, E1, R1, N extends string, A, E2, R2>(
    self: Dag<I, Out, E1, R1>,
    name: FreeName<N, Out>,
    run: (deps: {}, input: I) => Effect.Effect<A, E2, R2>
  ): Dag<I, With<Out, N, A>, E1 | E2, R1 | R2>
} = dual(
  (args) => isDag(args[0]),
  (
    self: DagImpl,
    name: string,
    options:
      | NodeOptions<never, unknown, unknown, unknown, unknown, ReadonlyArray<string>>
      | ((deps: never, input: unknown) => Effect.Effect<unknown, unknown, unknown>)
  ) => addNode(self, name, options)
)

// -----------------------------------------------------------------------------
// running
// -----------------------------------------------------------------------------

/**
 * Runs a DAG with an input. Every node starts the moment its dependencies
 * have completed (there are no level barriers), as a task of one
 * `TaskGroup`, so the run takes the time of its critical path. The run
 * succeeds with a {@link DagResult} whatever the nodes do: a node's failure
 * is in its result. Interrupting the run interrupts every node and waits
 * for their finalizers.
 *
 * Agents run inside nodes of a run nested in a streamed run (a DAG called
 * from a tool, say) stream into it, below `[dag, node]`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag } from "effect-agents"
 *
 * declare const dag: Dag.Dag<string, { readonly report: string }, Error>
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Dag.run(dag, "Q3 sales", { concurrency: 4, onFailure: "continue" })
 *   console.log(result.status, result.durationMs)
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  <I, Out, E, R, O extends RunOptions = {}>(
    self: Dag<I, Out, E, R>,
    input: I,
    options?: O
  ): Effect.Effect<DagResult<Out, E>, DefinitionErrorOf<Out> | BudgetErrorOf<O>, R>
  <I, O extends RunOptions = {}>(
    input: I,
    options?: O
  ): <Out, E, R>(
    self: Dag<I, Out, E, R>
  ) => Effect.Effect<DagResult<Out, E>, DefinitionErrorOf<Out> | BudgetErrorOf<O>, R>
} = dual(
  (args) => isDag(args[0]),
  <I, Out, E, R>(self: Dag<I, Out, E, R>, input: I, options?: RunOptions) =>
    internal.execute(definitionOf(self), input, options, errors, undefined) as Effect.Effect<
      DagResult<Out, E>,
      DefinitionErrorOf<Out> | BudgetExceeded,
      R
    >
)

/**
 * Runs a DAG as a stream of its events: node started, completed, failed,
 * interrupted and skipped, the events of the agents inside nodes (their
 * `RunEvent`s, with paths like `[dag, node, agent]`), and last
 * {@link DagCompleted} with the result. The stream is backpressured (nodes
 * wait when the consumer is behind); stopping it interrupts the run.
 *
 * @example
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Dag } from "effect-agents"
 *
 * declare const dag: Dag.Dag<string, { readonly report: string }>
 *
 * const program = Dag.stream(dag, "Q3 sales").pipe(
 *   Stream.runForEach((event) =>
 *     "node" in event ? Console.log(`${event._tag} ${event.node}`) : Effect.void
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const stream: {
  <I, Out, E, R, O extends RunOptions = {}>(
    self: Dag<I, Out, E, R>,
    input: I,
    options?: O
  ): Stream.Stream<DagEvent<Out, E>, DefinitionErrorOf<Out> | BudgetErrorOf<O>, R>
  <I, O extends RunOptions = {}>(
    input: I,
    options?: O
  ): <Out, E, R>(
    self: Dag<I, Out, E, R>
  ) => Stream.Stream<DagEvent<Out, E>, DefinitionErrorOf<Out> | BudgetErrorOf<O>, R>
} = dual(
  (args) => isDag(args[0]),
  <I, Out, E, R>(self: Dag<I, Out, E, R>, input: I, options?: RunOptions) => {
    const definition = definitionOf(self)
    return Runnable.stream<DagEvent<Out, E>, DefinitionErrorOf<Out> | BudgetExceeded, R>(
      [definition.name],
      (emit) =>
        // the executor's events are untyped; its node names and outputs are the DAG's
        (internal.execute(definition, input, options, errors, (event) =>
          emit(event as DagEvent<Out, E>)) as Effect.Effect<
            DagResult<Out, E>,
            DefinitionErrorOf<Out>,
            R
          >).pipe(
            Effect.flatMap((result) =>
              emit({ _tag: "DagCompleted", dag: definition.name, path: [definition.name], result })
            )
          )
    )
  }
)

// -----------------------------------------------------------------------------
// analysis
// -----------------------------------------------------------------------------

/**
 * The node names in topological order (Kahn's algorithm, as `Graph.topo`
 * walks it): every node after its dependencies. A sequential run
 * (`concurrency: 1`) runs the nodes in this order.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag } from "effect-agents"
 *
 * const dag = Dag.make("abc").pipe(
 *   Dag.node("a", () => Effect.void),
 *   Dag.node("c", { dependsOn: ["a"], run: () => Effect.void }),
 *   Dag.node("b", () => Effect.void)
 * )
 * Dag.topologicalOrder(dag) // ["a", "b", "c"]
 * ```
 *
 * @since 0.1.0
 * @category analysis
 */
export const topologicalOrder = <I, Out, E, R>(self: Dag<I, Out, E, R>): Array<keyof Out & string> =>
  internal.topologicalOrder(definitionOf(self)) as Array<keyof Out & string>

/**
 * The critical path of a finished run: the chain of dependent nodes whose
 * durations add up to the most, and that sum. A run without level barriers
 * takes about this long (`result.durationMs`), however the other nodes are
 * arranged. Nodes that did not run count for nothing.
 *
 * @example
 * ```ts
 * import { Dag } from "effect-agents"
 *
 * declare const dag: Dag.Dag<string, { readonly a: string; readonly b: string }>
 * declare const result: Dag.DagResult<{ readonly a: string; readonly b: string }>
 * const { durationMs, nodes } = Dag.criticalPath(dag, result) // e.g. 500, ["a", "b"]
 * ```
 *
 * @since 0.1.0
 * @category analysis
 */
export const criticalPath = <I, Out, E, R>(
  self: Dag<I, Out, E, R>,
  result: DagResult<Out, E>
): { readonly durationMs: number; readonly nodes: ReadonlyArray<keyof Out & string> } => {
  const definition = definitionOf(self)
  const plan = internal.planOf(definition)
  const results = result.nodes as Record<string, NodeResult>
  const finish: Array<number> = []
  const via: Array<number | undefined> = []
  let last: number | undefined
  // nodes are indexed in a topological order: dependencies first
  definition.specs.forEach((spec, index) => {
    const node = results[spec.name]
    const duration = node === undefined || node.status === "skipped" ? 0 : node.durationMs
    let before: number | undefined
    for (const dep of plan.deps[index]!) if (before === undefined || finish[dep]! > finish[before]!) before = dep
    finish[index] = (before === undefined ? 0 : finish[before]!) + duration
    via[index] = before
    if (last === undefined || finish[index]! > finish[last]!) last = index
  })
  const nodes: Array<keyof Out & string> = []
  for (let index = last; index !== undefined; index = via[index]) {
    nodes.unshift(definition.specs[index]!.name as keyof Out & string)
  }
  return { durationMs: last === undefined ? 0 : finish[last]!, nodes }
}

// -----------------------------------------------------------------------------
// pictures
// -----------------------------------------------------------------------------

/**
 * Options of {@link toMermaid}.
 *
 * @since 0.1.0
 * @category pictures
 */
export interface MermaidOptions {
  /** Default `"TD"`, top-down. */
  readonly direction?: Graph.MermaidDirection | undefined
}

/**
 * The DAG as a Mermaid flowchart (through `Graph.toMermaid`), for docs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag } from "effect-agents"
 *
 * const dag = Dag.make("ab").pipe(
 *   Dag.node("a", () => Effect.void),
 *   Dag.node("b", { dependsOn: ["a"], run: () => Effect.void })
 * )
 * Dag.toMermaid(dag)
 * // flowchart TD
 * //   0["a"]
 * //   1["b"]
 * //   0 --> 1
 * ```
 *
 * @since 0.1.0
 * @category pictures
 */
export const toMermaid = <I, Out, E, R>(self: Dag<I, Out, E, R>, options?: MermaidOptions): string =>
  Graph.toMermaid(self.graph, {
    direction: options?.direction ?? "TD",
    nodeLabel: (info) => info.name,
    edgeLabel: () => ""
  })
