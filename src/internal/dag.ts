import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Graph from "effect/Graph"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type { BudgetExceeded } from "../AgentError.js"
import * as Policy from "../Policy.js"
import type * as Run from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import * as TaskGroup from "../TaskGroup.js"
import * as Budget from "./budget.js"
import * as Own from "./own.js"
import * as RunContext from "./runContext.js"
import { operation, type Tracing, tracing } from "./tracing.js"

/** What the graph of a DAG holds for each node: its name and what it depends on. */
export interface NodeInfo {
  readonly name: string
  readonly dependsOn: ReadonlyArray<string>
  readonly timeout: Duration.Duration | undefined
  readonly retry: boolean
}

/** A node as the executor runs it. */
export interface NodeSpec {
  readonly name: string
  readonly run: (deps: Record<string, unknown>, input: unknown) => Effect.Effect<unknown, unknown, unknown>
  readonly timeout: Duration.Duration | undefined
  readonly retry: Schedule.Schedule<unknown, unknown> | undefined
}

/** The definition of a DAG: what `Dag.make` and `Dag.node` build. */
export interface Definition {
  readonly name: string
  /** One spec per node, by node index (the order nodes were added: a topological order). */
  readonly specs: ReadonlyArray<NodeSpec>
  /** Edges go from a dependency to its dependent. */
  readonly graph: Graph.DirectedGraph<NodeInfo, void>
  readonly indexOf: ReadonlyMap<string, number>
  /** The first mistake made while building (a duplicate name, an unknown dependency), if any. */
  readonly invalid: unknown
}

/** Who depends on whom, by node index: computed once per definition, from its graph. */
export interface Plan {
  readonly roots: ReadonlyArray<number>
  readonly deps: ReadonlyArray<ReadonlyArray<number>>
  readonly dependents: ReadonlyArray<ReadonlyArray<number>>
}

const plans = new WeakMap<Definition, Plan>()

/** Puts back the FiberRefs as they were before an Effect that may have set some (or new ones). */
const restoreFiberRefs = (before: FiberRefs.FiberRefs): Effect.Effect<void> =>
  Effect.flatMap(Effect.getFiberRefs, (after) =>
    after === before ? Effect.void : Effect.forEach(
      FiberRefs.fiberRefs(after),
      (ref) =>
        Option.match(FiberRefs.get(before, ref), {
          onNone: () => FiberRef.reset(ref),
          onSome: (value) => FiberRef.set(ref, value)
        }),
      { discard: true }
    ))

export const planOf = (definition: Definition): Plan => {
  let plan = plans.get(definition)
  if (plan === undefined) {
    const { graph, specs } = definition
    const deps = specs.map((_, index) => Graph.predecessors(graph, index))
    plan = {
      roots: specs.flatMap((_, index) => (deps[index]!.length === 0 ? [index] : [])),
      deps,
      dependents: specs.map((_, index) => Graph.successors(graph, index))
    }
    plans.set(definition, plan)
  }
  return plan
}

/** Node names in topological order (Kahn's, as `Graph.topo` walks it): the order `concurrency: 1` runs them in. */
export const topologicalOrder = (definition: Definition): Array<string> =>
  Array.from(Graph.values(Graph.topo(definition.graph)), (info) => info.name)

export type Status = "pending" | "running" | "completed" | "failed" | "skipped" | "interrupted"

/** A node's outcome, as the result and the events report it. */
export type Outcome = Run.NodeResult

/** The events the executor emits: node events, and the events of the agents inside nodes. */
export type Event = RunEvent.NodeEvent | RunEvent.Forwarded

export interface Options {
  readonly concurrency?: number | "unbounded" | undefined
  readonly onFailure?: "fail-fast" | "continue" | undefined
  readonly runId?: string | undefined
  readonly budget?: Policy.BudgetOptions | undefined
}

/** How the executor makes the errors of the public module (which imports this one). */
export interface Errors {
  readonly timeout: (dag: string, node: string, timeout: Duration.Duration) => unknown
  readonly defect: (dag: string, node: string, defect: unknown) => unknown
}

/** The failure a node's task fails its group with, in fail-fast mode: the group interrupts the others. */
class FailFast {
  readonly _tag = "FailFast"
}
const failFastSignal = new FailFast()

const eventOf = (dag: string, node: string, path: ReadonlyArray<string>, outcome: Outcome): Event => {
  const { status, ...rest } = outcome
  switch (status) {
    case "completed":
      return { _tag: "NodeCompleted", dag, node, path, ...rest as Extract<Outcome, { status: "completed" }> }
    case "failed":
      return { _tag: "NodeFailed", dag, node, path, ...rest as Extract<Outcome, { status: "failed" }> }
    case "interrupted":
      return { _tag: "NodeInterrupted", dag, node, path, ...rest as Extract<Outcome, { status: "interrupted" }> }
    case "skipped":
      return { _tag: "NodeSkipped", dag, node, path, ...rest }
  }
}

/** One node in one run of a DAG: where it streams, what it has done so far. */
interface NodeRun {
  readonly index: number
  readonly spec: NodeSpec
  readonly path: ReadonlyArray<string>
  status: Status
  outcome: Outcome | undefined
  output: unknown
  /** Its dependencies that have not completed yet. */
  waitingFor: number
  startedAt: number
  attempts: number
  /** The failure of an attempt that failed while it was being cancelled. */
  failedWhileCancelled: Cause.Cause<unknown> | undefined
  /** Whether its last event reached the stream. */
  announced: boolean
}

/**
 * Runs a DAG: every node is a task of one task group, forked the moment its
 * last dependency completes (by the task of that dependency), so no node
 * waits for anything but its own dependencies. Fail-fast is the group's own:
 * a node that fails fails its task, and the group interrupts the others.
 * In "continue" mode a node's task never fails: its dependents are marked
 * skipped and the independent branches go on.
 *
 * `emit` receives the node events (`Dag.stream`); the agents inside nodes
 * stream into `emit` when given, else into the sink the run is nested in, if
 * any, below `[...path, node]`. Interrupting the run interrupts every node
 * and emits nothing more.
 */
export const execute = (
  definition: Definition,
  input: unknown,
  options: Options | undefined,
  errors: Errors,
  emit: ((event: Event) => Effect.Effect<unknown>) | undefined
): Effect.Effect<Run.DagResult, unknown, unknown> =>
  Effect.flatMap(Effect.zip(FiberRef.get(RunContext.current), tracing), ([outer, spans]) => {
    if (definition.invalid !== undefined) return Effect.fail(definition.invalid)
    // where the agents inside nodes stream: the DAG's own stream, or the run it is nested in
    const base = emit === undefined && outer.emit !== undefined ? [...outer.path, definition.name] : [definition.name]
    const runId = RunContext.runIdIn(outer, options?.runId)
    const sink = emit ?? outer.emit
    const durable = outer.journal !== undefined
    const execution = new Execution(definition, input, options, errors, emit, sink, base, spans, runId, durable)
    const attributes = {
      "gen_ai.operation.name": operation.invokeWorkflow,
      "gen_ai.workflow.name": definition.name,
      "dag.name": definition.name,
      "dag.nodes": definition.specs.length
    }
    return spans.span(`${operation.invokeWorkflow} ${definition.name}`, { attributes })(
      budgeted(execution.run, options?.budget, base, outer.budget)
    )
  })

/** A DAG's run within its budget: the runs in its nodes charge its counter, which stops them all when crossed. */
const budgeted = <A, E, R>(
  run: Effect.Effect<A, E, R>,
  budget: Policy.BudgetOptions | undefined,
  path: ReadonlyArray<string>,
  outer: Budget.Counter | undefined
): Effect.Effect<A, E | BudgetExceeded, R> => {
  if (budget === undefined) return run
  const counter = Budget.counter(Policy.make({ budget }).budget, path, outer)
  return Budget.enforce(RunContext.locally(run, (context) => ({ ...context, budget: counter })), counter)
}

class Execution {
  readonly dag: string
  readonly plan: Plan
  readonly nodes: ReadonlyArray<NodeRun>
  readonly failFast: boolean
  runStart = 0

  constructor(
    definition: Definition,
    readonly input: unknown,
    readonly options: Options | undefined,
    readonly errors: Errors,
    readonly emit: ((event: Event) => Effect.Effect<unknown>) | undefined,
    /** Where the agents inside nodes stream, if anywhere. */
    readonly sink: RunContext.Emit | undefined,
    base: ReadonlyArray<string>,
    readonly spans: Tracing,
    readonly runId: string,
    /** The run is part of a durable run (see `journal.ts`). */
    readonly durable: boolean
  ) {
    this.dag = definition.name
    this.plan = planOf(definition)
    this.failFast = options?.onFailure !== "continue"
    this.nodes = definition.specs.map((spec, index) => ({
      index,
      spec,
      path: [...base, spec.name],
      status: "pending",
      outcome: undefined,
      output: undefined,
      waitingFor: this.plan.deps[index]!.length,
      startedAt: 0,
      attempts: 0,
      failedWhileCancelled: undefined,
      announced: false
    }))
  }

  get run(): Effect.Effect<Run.DagResult, unknown, unknown> {
    return Effect.gen(this, function*() {
      this.runStart = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(
        TaskGroup.run(
          (group) => Effect.forEach(this.plan.roots, (index) => this.fork(group, index), { discard: true }),
          {
            concurrency: this.options?.concurrency
          }
        )
      )
      // the group fails with our signal alone (node failures are outcomes); an interruption is from outside
      if (Exit.isFailure(exit) && Cause.isInterrupted(exit.cause)) return yield* Exit.failCause(exit.cause)
      // a durable run suspends (for an approval) by interrupting the node's fiber: the run stops, and goes on when replayed
      if (this.durable && Exit.isSuccess(exit) && this.nodes.some((node) => node.status === "interrupted")) {
        return yield* Effect.interrupt
      }
      return yield* this.result
    })
  }

  /** The run's result, once its group ended: the nodes that never started are skipped. */
  private get result(): Effect.Effect<Run.DagResult> {
    return Effect.gen(this, function*() {
      const end = yield* Clock.currentTimeMillis
      const results: Record<string, Outcome> = {}
      let completed = 0
      for (const node of this.nodes) {
        if (node.status === "pending") {
          // never started (the run stopped first, or a dependency did not complete)
          const blocker = this.plan.deps[node.index]!.find((dep) => this.nodes[dep]!.status !== "completed")
          this.settle(node, {
            status: "skipped",
            blockedBy: blocker === undefined ? undefined : this.nodes[blocker]!.spec.name
          })
        }
        if (node.status === "completed") completed++
        Own.set(results, node.spec.name, node.outcome!)
      }
      // the events the run did not get to emit: fail-fast's failure, interruptions and skips
      for (const node of this.nodes) if (!node.announced) yield* this.announce(node)
      const count = this.nodes.length
      return {
        dag: this.dag,
        status: completed === count ? "completed" : !this.failFast && completed > 0 ? "partial" : "failed",
        nodes: results,
        order: this.nodes.map((node) => node.spec.name),
        durationMs: end - this.runStart
      }
    })
  }

  private announce(node: NodeRun): Effect.Effect<void> {
    const emit = this.emit
    if (emit === undefined) return Effect.void
    return Effect.map(emit(eventOf(this.dag, node.spec.name, node.path, node.outcome!)), () => {
      node.announced = true
    })
  }

  private settle(node: NodeRun, outcome: Outcome): void {
    node.status = outcome.status
    node.outcome = outcome
  }

  /** Marks the nodes below a node that did not complete as skipped (in "continue" mode). */
  private skipDependents(node: NodeRun): Array<NodeRun> {
    const skipped: Array<NodeRun> = []
    const stack = [node.index]
    while (stack.length > 0) {
      for (const index of this.plan.dependents[stack.pop()!]!) {
        const dependent = this.nodes[index]!
        if (dependent.status !== "pending") continue
        this.settle(dependent, { status: "skipped", blockedBy: node.spec.name })
        skipped.push(dependent)
        stack.push(index)
      }
    }
    return skipped
  }

  /** One attempt of a node, with its timeout, retries, span, and its agents streaming at its path. */
  private attempts(node: NodeRun, deps: Record<string, unknown>): Effect.Effect<unknown, unknown, unknown> {
    const { spec } = node
    const once = Effect.onExit(
      Effect.suspend(() => {
        node.attempts++
        // the runs the node starts are named after it: the same names on every replay (see `runIds`)
        const prefix = `${this.runId}.${spec.name}${node.attempts === 1 ? "" : `#${node.attempts}`}`
        return RunContext.locally(spec.run(deps, this.input), (context) => ({
          ...context,
          runIds: RunContext.runIds(prefix)
        }))
      }),
      // an interrupted fiber loses the failures of its Effect on the way up (past `retry`,
      // `exit`): keep the failure of an attempt that failed while it was being cancelled
      (exit) =>
        Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)
          ? Effect.void
          : Effect.map(Effect.descriptor, (fiber) => {
            if (HashSet.size(fiber.interruptors) > 0) node.failedWhileCancelled = exit.cause
          })
    )
    const timeout = spec.timeout
    const limited = timeout === undefined ? once : Effect.timeoutFail(once, {
      duration: timeout,
      onTimeout: () => this.errors.timeout(this.dag, spec.name, timeout)
    })
    const retried = spec.retry === undefined ? limited : Effect.retry(limited, spec.retry)
    const located = this.sink === undefined ? retried : RunContext.streamingTo(retried, node.path, this.sink)
    return this.spans.span("dag.node", { attributes: { "dag.name": this.dag, "dag.node": spec.name } })(located)
  }

  /** The outcome of a node whose Effect failed: its typed failure, a defect, or an interruption. */
  private outcomeOf(cause: Cause.Cause<unknown>, node: NodeRun, timing: Run.NodeTiming): Outcome {
    if (Cause.isInterruptedOnly(cause)) return { status: "interrupted", ...timing }
    const failure = Cause.failureOption(cause)
    return Option.isSome(failure)
      ? { status: "failed", error: failure.value, ...timing }
      : { status: "failed", error: this.errors.defect(this.dag, node.spec.name, Cause.squash(cause)), ...timing }
  }

  private timing(node: NodeRun, now: number): Run.NodeTiming {
    return { startMs: node.startedAt - this.runStart, durationMs: now - node.startedAt, attempts: node.attempts }
  }

  private fork(group: TaskGroup.TaskGroup, index: number): Effect.Effect<unknown, FailFast, unknown> {
    return Effect.catchTag(group.fork(this.runNode(group, this.nodes[index]!)), "TaskGroupClosed", () => Effect.void)
  }

  private runNode(group: TaskGroup.TaskGroup, node: NodeRun): Effect.Effect<void, FailFast, unknown> {
    return Effect.gen(this, function*() {
      node.startedAt = yield* Clock.currentTimeMillis
      node.status = "running"
      if (this.emit !== undefined) {
        const startMs = node.startedAt - this.runStart
        yield* this.emit({ _tag: "NodeStarted", dag: this.dag, node: node.spec.name, path: node.path, startMs })
      }
      const deps: Record<string, unknown> = {}
      for (const dep of this.plan.deps[node.index]!) Own.set(deps, this.nodes[dep]!.spec.name, this.nodes[dep]!.output)
      const refs = yield* Effect.getFiberRefs
      const exit = yield* Effect.exit(this.attempts(node, deps))
      // its dependents are forked from here: they see the run's FiberRefs, not what the node set
      yield* restoreFiberRefs(refs)
      const timing = this.timing(node, yield* Clock.currentTimeMillis)
      if (Exit.isSuccess(exit)) {
        node.output = exit.value
        this.settle(node, { status: "completed", output: exit.value, ...timing })
        yield* this.announce(node)
        for (const index of this.plan.dependents[node.index]!) {
          const dependent = this.nodes[index]!
          if (--dependent.waitingFor === 0 && dependent.status === "pending") yield* this.fork(group, index)
        }
        return
      }
      // a node that interrupted itself is interrupted: its dependents cannot run
      const outcome = this.outcomeOf(exit.cause, node, timing)
      this.settle(node, outcome)
      if (this.failFast && outcome.status === "failed") return yield* Effect.fail(failFastSignal)
      yield* this.announce(node)
      for (const skipped of this.skipDependents(node)) yield* this.announce(skipped)
    }).pipe(
      // interrupted by the group (fail-fast) or from outside while it ran: the node ends here,
      // interrupted, or failed if it failed on its way out (an uninterruptible part, a finalizer)
      Effect.onExit((exit) =>
        node.status !== "running" ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => {
          const timing = this.timing(node, now)
          const cause = node.failedWhileCancelled ?? (Exit.isFailure(exit) ? exit.cause : undefined)
          const failure = cause === undefined ? undefined : this.outcomeOf(cause, node, timing)
          this.settle(node, failure?.status === "failed" ? failure : { status: "interrupted", ...timing })
        })
      )
    )
  }
}
