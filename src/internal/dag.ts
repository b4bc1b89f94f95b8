import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import { identity } from "effect/Function"
import * as Graph from "effect/Graph"
import * as HashSet from "effect/HashSet"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as RunEvent from "../RunEvent.js"
import * as TaskGroup from "../TaskGroup.js"
import * as Own from "./own.js"
import * as RunContext from "./runContext.js"
import { isTracing } from "./tracing.js"

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

interface Timing {
  readonly startMs: number
  readonly durationMs: number
  readonly attempts: number
}

/** A node's outcome, as the result and the events report it. */
export type Outcome =
  | Timing & { readonly status: "completed"; readonly output: unknown }
  | Timing & { readonly status: "failed"; readonly error: unknown }
  | Timing & { readonly status: "interrupted" }
  | { readonly status: "skipped"; readonly blockedBy: string | undefined }

interface Where {
  readonly dag: string
  readonly node: string
  readonly path: ReadonlyArray<string>
}

/** The events the executor emits: node events, and the events of the agents inside nodes. */
export type Event =
  | Where & { readonly _tag: "NodeStarted"; readonly startMs: number }
  | Where & Timing & { readonly _tag: "NodeCompleted"; readonly output: unknown }
  | Where & Timing & { readonly _tag: "NodeFailed"; readonly error: unknown }
  | Where & Timing & { readonly _tag: "NodeInterrupted" }
  | Where & { readonly _tag: "NodeSkipped"; readonly blockedBy: string | undefined }
  | RunEvent.Forwarded

export interface RawResult {
  readonly dag: string
  readonly status: "completed" | "failed" | "partial"
  readonly nodes: Record<string, Outcome>
  readonly order: ReadonlyArray<string>
  readonly durationMs: number
}

export interface Options {
  readonly concurrency?: number | "unbounded" | undefined
  readonly onFailure?: "fail-fast" | "continue" | undefined
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
  switch (outcome.status) {
    case "completed": {
      const { status: _, ...rest } = outcome
      return { _tag: "NodeCompleted", dag, node, path, ...rest }
    }
    case "failed": {
      const { status: _, ...rest } = outcome
      return { _tag: "NodeFailed", dag, node, path, ...rest }
    }
    case "interrupted": {
      const { status: _, ...rest } = outcome
      return { _tag: "NodeInterrupted", dag, node, path, ...rest }
    }
    case "skipped":
      return { _tag: "NodeSkipped", dag, node, path, blockedBy: outcome.blockedBy }
  }
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
): Effect.Effect<RawResult, unknown, unknown> =>
  Effect.flatMap(Effect.zip(FiberRef.get(RunContext.current), isTracing), ([outer, traced]) =>
    Effect.suspend(() => {
      if (definition.invalid !== undefined) return Effect.fail(definition.invalid)
      const dag = definition.name
      const specs = definition.specs
      const plan = planOf(definition)
      const count = specs.length
      const failFast = options?.onFailure !== "continue"
      // where the agents inside nodes stream: the DAG's own stream, or the run it is nested in
      const base = emit === undefined && outer.emit !== undefined ? [...outer.path, dag] : [dag]
      const sinkEmit: RunContext.Emit | undefined = emit ?? outer.emit
      const paths = specs.map((spec) => [...base, spec.name])

      const status = new Array<Status>(count).fill("pending")
      const outcomes = new Array<Outcome | undefined>(count)
      const outputs = new Array<unknown>(count)
      const remaining = plan.deps.map((deps) => deps.length)
      const startedAt = new Array<number>(count).fill(0)
      const attempts = new Array<number>(count).fill(0)
      const failedWhileCancelled = new Array<Cause.Cause<unknown> | undefined>(count)
      /** Whether the node's last event reached the stream. */
      const announced = new Array<boolean>(count).fill(false)
      let runStart = 0

      const announce = (index: number, outcome: Outcome): Effect.Effect<void> =>
        emit === undefined
          ? Effect.void
          : Effect.map(emit(eventOf(dag, specs[index]!.name, paths[index]!, outcome)), () => {
            announced[index] = true
          })

      const settle = (index: number, outcome: Outcome) => {
        status[index] = outcome.status
        outcomes[index] = outcome
      }

      /** Marks the nodes below a node that did not complete as skipped (in "continue" mode). */
      const skipDependents = (index: number): Array<number> => {
        const skipped: Array<number> = []
        const stack = [index]
        while (stack.length > 0) {
          for (const dependent of plan.dependents[stack.pop()!]!) {
            if (status[dependent] !== "pending") continue
            settle(dependent, { status: "skipped", blockedBy: specs[index]!.name })
            skipped.push(dependent)
            stack.push(dependent)
          }
        }
        return skipped
      }

      const attemptOf = (index: number, deps: Record<string, unknown>): Effect.Effect<unknown, unknown, unknown> => {
        const spec = specs[index]!
        const once = Effect.onExit(
          Effect.suspend(() => {
            attempts[index] = attempts[index]! + 1
            return spec.run(deps, input)
          }),
          // an interrupted fiber loses the failures of its Effect on the way up (past `retry`,
          // `exit`): keep the failure of an attempt that failed while it was being cancelled
          (exit) =>
            Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)
              ? Effect.void
              : Effect.map(Effect.descriptor, (fiber) => {
                if (HashSet.size(fiber.interruptors) > 0) failedWhileCancelled[index] = exit.cause
              })
        )
        const timeout = spec.timeout
        const limited = timeout === undefined ? once : Effect.timeoutFail(once, {
          duration: timeout,
          onTimeout: () => errors.timeout(dag, spec.name, timeout)
        })
        const retried = spec.retry === undefined ? limited : Effect.retry(limited, spec.retry)
        const located = sinkEmit === undefined
          ? retried
          : RunContext.streamingTo(retried, paths[index]!, sinkEmit)
        return traced
          ? Effect.withSpan(located, "dag.node", {
            captureStackTrace: false,
            attributes: { "dag.name": dag, "dag.node": spec.name }
          })
          : located
      }

      /** The outcome of a node whose Effect failed: its typed failure, a defect, or an interruption. */
      const outcomeOf = (cause: Cause.Cause<unknown>, node: string, timing: Timing): Outcome => {
        if (Cause.isInterruptedOnly(cause)) return { status: "interrupted", ...timing }
        const failure = Cause.failureOption(cause)
        return Option.isSome(failure)
          ? { status: "failed", error: failure.value, ...timing }
          : { status: "failed", error: errors.defect(dag, node, Cause.squash(cause)), ...timing }
      }

      const fork = (group: TaskGroup.TaskGroup, index: number) =>
        Effect.catchTag(group.fork(runNode(group, index)), "TaskGroupClosed", () => Effect.void)

      const runNode = (group: TaskGroup.TaskGroup, index: number): Effect.Effect<void, FailFast, unknown> =>
        Effect.gen(function*() {
          const spec = specs[index]!
          const start = yield* Clock.currentTimeMillis
          status[index] = "running"
          startedAt[index] = start
          if (emit !== undefined) {
            yield* emit({ _tag: "NodeStarted", dag, node: spec.name, path: paths[index]!, startMs: start - runStart })
          }
          const deps: Record<string, unknown> = {}
          for (const dep of plan.deps[index]!) Own.set(deps, specs[dep]!.name, outputs[dep])
          const refs = yield* Effect.getFiberRefs
          const exit = yield* Effect.exit(attemptOf(index, deps))
          // its dependents are forked from here: they see the run's FiberRefs, not what the node set
          yield* restoreFiberRefs(refs)
          const end = yield* Clock.currentTimeMillis
          const timing = { startMs: start - runStart, durationMs: end - start, attempts: attempts[index]! }
          if (Exit.isSuccess(exit)) {
            outputs[index] = exit.value
            const outcome: Outcome = { status: "completed", output: exit.value, ...timing }
            settle(index, outcome)
            yield* announce(index, outcome)
            for (const dependent of plan.dependents[index]!) {
              if (--remaining[dependent]! === 0 && status[dependent] === "pending") yield* fork(group, dependent)
            }
            return
          }
          // a node that interrupted itself is interrupted: its dependents cannot run
          const outcome = outcomeOf(exit.cause, spec.name, timing)
          settle(index, outcome)
          if (failFast && outcome.status === "failed") return yield* Effect.fail(failFastSignal)
          yield* announce(index, outcome)
          for (const skipped of skipDependents(index)) yield* announce(skipped, outcomes[skipped]!)
        }).pipe(
          // interrupted by the group (fail-fast) or from outside while it ran: the node ends here,
          // interrupted, or failed if it failed on its way out (an uninterruptible part, a finalizer)
          Effect.onExit((exit) =>
            status[index] !== "running" ? Effect.void : Effect.map(Clock.currentTimeMillis, (now) => {
              const timing = {
                startMs: startedAt[index]! - runStart,
                durationMs: now - startedAt[index]!,
                attempts: attempts[index]!
              }
              const cause = failedWhileCancelled[index] ?? (Exit.isFailure(exit) ? exit.cause : undefined)
              const failure = cause === undefined ? undefined : outcomeOf(cause, specs[index]!.name, timing)
              settle(index, failure?.status === "failed" ? failure : { status: "interrupted", ...timing })
            })
          )
        )

      return Effect.gen(function*() {
        runStart = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(
          TaskGroup.run((group) => Effect.forEach(plan.roots, (index) => fork(group, index), { discard: true }), {
            concurrency: options?.concurrency
          })
        )
        // the group fails with our signal alone (node failures are outcomes); an interruption is from outside
        if (Exit.isFailure(exit) && Cause.isInterrupted(exit.cause)) return yield* Exit.failCause(exit.cause)
        const end = yield* Clock.currentTimeMillis
        const nodes: Record<string, Outcome> = {}
        let completed = 0
        for (let index = 0; index < count; index++) {
          if (status[index] === "pending") {
            // never started (the run stopped first, or a dependency did not complete)
            const blocker = plan.deps[index]!.find((dep) => status[dep] !== "completed")
            settle(index, { status: "skipped", blockedBy: blocker === undefined ? undefined : specs[blocker]!.name })
          }
          if (status[index] === "completed") completed++
          Own.set(nodes, specs[index]!.name, outcomes[index]!)
        }
        // the events the run did not get to emit: fail-fast's failure, interruptions and skips
        for (let index = 0; index < count; index++) {
          if (!announced[index]) yield* announce(index, outcomes[index]!)
        }
        return {
          dag,
          status: completed === count ? "completed" : !failFast && completed > 0 ? "partial" : "failed",
          nodes,
          order: specs.map((spec) => spec.name),
          durationMs: end - runStart
        } satisfies RawResult
      }).pipe(
        traced
          ? Effect.withSpan("dag.run", {
            captureStackTrace: false,
            attributes: { "dag.name": dag, "dag.nodes": count }
          })
          : identity
      )
    }))
