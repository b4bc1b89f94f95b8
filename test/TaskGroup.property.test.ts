/**
 * Cancellation properties of TaskGroup over random trees of work, in
 * TestClock time. A tree is a group whose body forks its children (leaves or
 * nested groups) at time 0, then returns, or sleeps and fails. A leaf may hold
 * a resource, sleeps interruptibly, may then sleep uninterruptibly, and
 * succeeds, fails or dies; a leaf without an uninterruptible part may have a
 * finalizer that dies when it is interrupted. The run may be interrupted from
 * outside at a random time. Every event happens at its own instant, so a small
 * model of the tree predicts the outcome exactly. Below them, the bound's
 * properties over random graphs of forks and joins.
 *
 * 200 cases (`FC_NUM_RUNS` for more); reproduce a failure with the seed and
 * path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/TaskGroup.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Clock, Deferred, Effect, Exit, FastCheck as fc, Fiber, Supervisor, TestClock } from "effect"
import { TaskGroup } from "effect-agents"
import { checkProperty } from "./fixtures/property.js"

// -----------------------------------------------------------------------------
// Trees
// -----------------------------------------------------------------------------

type Outcome = "succeed" | "fail" | "die"

interface RawLeaf {
  readonly _tag: "Leaf"
  readonly interruptible: number
  readonly uninterruptible: number | undefined
  readonly resource: boolean
  readonly outcome: Outcome
  readonly dieOnInterrupt: boolean
}

interface RawGroup {
  readonly _tag: "Group"
  readonly children: ReadonlyArray<RawNode>
  readonly after: number
  readonly bodyFails: boolean
}

type RawNode = RawLeaf | RawGroup

interface Leaf {
  readonly _tag: "Leaf"
  readonly id: number
  /** End of the interruptible sleep. */
  readonly s: number
  /** End of the leaf: after its uninterruptible sleep when `e > s`. */
  readonly e: number
  readonly resource: boolean
  readonly outcome: Outcome
  readonly dieOnInterrupt: boolean
}

interface Group {
  readonly _tag: "Group"
  readonly id: number
  readonly children: ReadonlyArray<Node>
  /** When the body ends: it forks its children at 0, then returns, or sleeps until `after` and fails. */
  readonly after: number
  readonly bodyFails: boolean
}

type Node = Leaf | Group

const rawLeaf: fc.Arbitrary<RawLeaf> = fc.record({
  _tag: fc.constant("Leaf" as const),
  interruptible: fc.integer({ min: 1, max: 30 }),
  uninterruptible: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined, freq: 3 }),
  resource: fc.boolean(),
  outcome: fc.constantFrom<Outcome>("succeed", "succeed", "succeed", "succeed", "fail", "die"),
  dieOnInterrupt: fc.boolean()
})

const rawGroup = (depth: number): fc.Arbitrary<RawGroup> =>
  fc.record({
    _tag: fc.constant("Group" as const),
    children: fc.array(
      depth <= 1 ? rawLeaf : fc.oneof({ arbitrary: rawLeaf, weight: 3 }, { arbitrary: rawGroup(depth - 1), weight: 1 }),
      { maxLength: 6 }
    ),
    after: fc.integer({ min: 1, max: 30 }),
    bodyFails: fc.constantFrom(false, false, false, false, true)
  })

/** Each event gets its own slot: times are `raw * SLOTS + slot`, so no two events share an instant. */
const SLOTS = 256
const MAX_NODES = 32

const concretize = (raw: RawGroup, interruption: number | undefined) => {
  let nextId = 0
  let nextSlot = 0
  let budget = MAX_NODES
  const at = (ticks: number) => ticks * SLOTS + nextSlot++
  const group = (g: RawGroup): Group => {
    const id = nextId++
    // a body that succeeds returns at once; one that fails sleeps first
    const after = g.bodyFails ? at(g.after) : 0
    const children: Array<Node> = []
    for (const child of g.children) {
      if (budget-- <= 0) break
      children.push(child._tag === "Group" ? group(child) : leaf(child))
    }
    return { _tag: "Group", id, children, after, bodyFails: g.bodyFails }
  }
  const leaf = (l: RawLeaf): Leaf => {
    const id = nextId++
    const s = at(l.interruptible)
    const e = l.uninterruptible === undefined ? s : (l.interruptible + l.uninterruptible + 1) * SLOTS + nextSlot++
    return {
      _tag: "Leaf",
      id,
      s,
      e,
      resource: l.resource,
      outcome: l.outcome,
      dieOnInterrupt: l.dieOnInterrupt && e === s
    }
  }
  const tree = group(raw)
  return { tree, interruptAt: interruption === undefined ? undefined : at(interruption) }
}

const scenarios = fc.record({
  tree: rawGroup(4),
  interruption: fc.option(fc.integer({ min: 1, max: 45 }), { nil: undefined })
}).map(({ interruption, tree }) => concretize(tree, interruption))

/** Far beyond any event of a tree. */
const HORIZON = 1_000 * SLOTS

// -----------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------

interface Predicted {
  /** When the node's task ends. */
  readonly end: number
  /** Its failures, as labels. */
  readonly failures: ReadonlyArray<string>
}

/** What a node does when its task is interrupted at `cancelAt` (Infinity: never). */
const predict = (node: Node, cancelAt: number): Predicted => {
  if (node._tag === "Leaf") {
    if (cancelAt < node.s) {
      return { end: cancelAt, failures: node.dieOnInterrupt ? [`interrupt-die:${node.id}`] : [] }
    }
    return {
      end: node.e,
      failures: node.outcome === "succeed" ? [] : [`${node.outcome}:${node.id}`]
    }
  }
  // The group is cancelled at the first failure of a task or of the body, or
  // when its own task is interrupted: whichever comes first.
  const natural = node.children.map((child) => predict(child, cancelAt))
  let firstFailure = node.bodyFails && node.after < cancelAt ? node.after : Infinity
  for (const child of natural) if (child.failures.length > 0) firstFailure = Math.min(firstFailure, child.end)
  const cancelled = Math.min(cancelAt, firstFailure)
  const children = cancelled === cancelAt ? natural : node.children.map((child) => predict(child, cancelled))
  const bodyRan = node.after <= cancelled
  return {
    end: Math.max(bodyRan ? node.after : cancelled, ...children.map((child) => child.end)),
    failures: [
      ...children.flatMap((child) => child.failures),
      ...(node.bodyFails && bodyRan ? [`body:${node.id}`] : [])
    ]
  }
}

// -----------------------------------------------------------------------------
// Running a tree
// -----------------------------------------------------------------------------

class LeafFailed {
  constructor(readonly label: string) {}
}

interface Probe {
  readonly acquired: Map<number, number>
  readonly released: Map<number, number>
  /** Everything observable a node does, in order. */
  readonly log: Array<string>
}

const bump = (map: Map<number, number>, id: number) => map.set(id, (map.get(id) ?? 0) + 1)

const runNode = (node: Node, probe: Probe): Effect.Effect<void, LeafFailed | TaskGroup.TaskGroupClosed> => {
  if (node._tag === "Group") {
    return TaskGroup.run((group) =>
      Effect.gen(function*() {
        for (const child of node.children) yield* group.fork(runNode(child, probe))
        if (node.after > 0) yield* Effect.sleep(node.after)
        probe.log.push(`body ${node.id} done`)
        if (node.bodyFails) return yield* Effect.fail(new LeafFailed(`body:${node.id}`))
      })
    )
  }
  const outcome = Effect.suspend(() => {
    probe.log.push(`leaf ${node.id} done`)
    switch (node.outcome) {
      case "succeed":
        return Effect.void
      case "fail":
        return Effect.fail(new LeafFailed(`fail:${node.id}`))
      case "die":
        return Effect.die(new LeafFailed(`die:${node.id}`))
    }
  })
  const leaf = Effect.gen(function*() {
    if (node.resource) {
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          bump(probe.acquired, node.id)
          probe.log.push(`acquire ${node.id}`)
        }),
        () =>
          Effect.sync(() => {
            bump(probe.released, node.id)
            probe.log.push(`release ${node.id}`)
          })
      )
    }
    yield* Effect.sleep(node.s)
    yield* node.e > node.s ? Effect.uninterruptible(Effect.zipRight(Effect.sleep(node.e - node.s), outcome)) : outcome
  }).pipe(Effect.scoped)
  return node.dieOnInterrupt
    ? Effect.onInterrupt(leaf, () => Effect.die(new LeafFailed(`interrupt-die:${node.id}`)))
    : leaf
}

const labelsOf = (cause: Cause.Cause<unknown>) =>
  [...Cause.failures(cause), ...Cause.defects(cause)].map((e) => (e instanceof LeafFailed ? e.label : String(e))).sort()

/** Runs a tree (interrupted at `interruptAt`, if any), lets the clock run far beyond, and observes. */
const observe = (tree: Group, interruptAt: number | undefined) =>
  Effect.gen(function*() {
    const probe: Probe = { acquired: new Map(), released: new Map(), log: [] }
    const supervisor = yield* Supervisor.track
    const start = yield* Clock.currentTimeMillis
    const atEnd = { time: -1, logLength: -1, fibersAlive: -1 }
    const root = runNode(tree, probe).pipe(
      Effect.ensuring(Effect.gen(function*() {
        atEnd.time = (yield* Clock.currentTimeMillis) - start
        atEnd.logLength = probe.log.length
        atEnd.fibersAlive = (yield* supervisor.value).length
      }))
    )
    const fiber = yield* Effect.fork(Effect.supervised(root, supervisor))
    if (interruptAt !== undefined) {
      yield* TestClock.adjust(interruptAt)
      yield* Effect.fork(Fiber.interrupt(fiber))
    }
    // far beyond the end of the run: the clock moves on after it
    yield* TestClock.adjust(HORIZON)
    return { exit: fiber.unsafePoll(), probe, atEnd, logLengthLater: probe.log.length }
  })

const resourcesOf = (node: Node): Array<number> =>
  node._tag === "Leaf" ? (node.resource ? [node.id] : []) : node.children.flatMap(resourcesOf)

describe("TaskGroup cancellation properties", () => {
  // One run of each random tree is checked against properties 1 to 3.
  it.effect(
    "random trees of work: 1. resources released once, 2. no fiber left, 3. the outcome the model predicts",
    () =>
      checkProperty(scenarios, ({ interruptAt, tree }) =>
        Effect.gen(function*() {
          const { atEnd, exit, logLengthLater, probe } = yield* observe(tree, interruptAt)
          const predicted = predict(tree, interruptAt ?? Infinity)
          expect(exit, "the run has ended").not.toBeNull()
          if (exit === null) return

          // 1. every acquired resource is released exactly once, whatever happens (every leaf
          // starts at 0, before anything can fail, so each acquires its resource)
          const resources = resourcesOf(tree).sort()
          expect([...probe.acquired.keys()].sort(), "1. the resources acquired").toEqual(resources)
          for (const id of resources) {
            expect(probe.acquired.get(id), `1. resource ${id} acquired once`).toBe(1)
            expect(probe.released.get(id), `1. resource ${id} released once`).toBe(1)
          }

          // 2. when the run has ended, no fiber it started is running, and nothing happens when
          // the clock moves on
          expect(atEnd.fibersAlive, "2. fibers still running when the run ended").toBe(0)
          expect(logLengthLater, "2. nothing happens after the end").toBe(atEnd.logLength)

          // 3. the outcome matches the model: success when nothing failed and nothing was
          // interrupted from outside; else exactly the failures before and during cancellation,
          // each once; interrupted only when interrupted from outside with no failure
          const interrupted = interruptAt !== undefined && interruptAt <= predicted.end
          expect(atEnd.time, "3. the run ends when its last task ends").toBe(predicted.end)
          if (predicted.failures.length > 0) {
            expect(Exit.isFailure(exit), "3. the run fails").toBe(true)
            if (Exit.isSuccess(exit)) return
            expect(labelsOf(exit.cause), "3. the failures").toEqual([...predicted.failures].sort())
            expect(Cause.isInterrupted(exit.cause), "3. interrupted from outside").toBe(interrupted)
          } else if (interrupted) {
            expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause), "3. interrupted only").toBe(true)
          } else {
            expect(exit, "3. the run succeeds").toStrictEqual(Exit.void)
          }
        }))
  )
})

// -----------------------------------------------------------------------------
// Fork/join graphs under a bound
// -----------------------------------------------------------------------------

/**
 * A node (the body, or a task) forks its children first, all at once, then
 * runs its steps: sleeps and joins. A task may join a later sibling (forked
 * after it by the same parent, so maybe still waiting for a slot) or one of
 * its own children (forked after every task before it). Every join goes
 * forward in depth-first order, so the graph has no cycle: with any bound,
 * the run must end.
 */
type Step =
  | { readonly _tag: "Sleep"; readonly ms: number }
  | { readonly _tag: "JoinSibling"; readonly offset: number }
  | { readonly _tag: "JoinChild"; readonly index: number }

interface RawSpec {
  readonly steps: ReadonlyArray<Step>
  readonly children: ReadonlyArray<RawSpec>
}

interface Spec {
  readonly id: number
  readonly steps: ReadonlyArray<Step>
  readonly children: ReadonlyArray<Spec>
}

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }).map((ms) => ({ _tag: "Sleep" as const, ms })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((offset) => ({ _tag: "JoinSibling" as const, offset })) },
  { weight: 2, arbitrary: fc.nat(3).map((index) => ({ _tag: "JoinChild" as const, index })) }
)

const rawSpec = (depth: number): fc.Arbitrary<RawSpec> =>
  fc.record({
    steps: fc.array(step, { maxLength: 4 }),
    children: depth <= 0 ? fc.constant([]) : fc.array(rawSpec(depth - 1), { maxLength: 4 })
  })

const MAX_TASKS = 24

/** Numbers the tasks depth-first (the body is -1) and keeps the first MAX_TASKS. */
const numbered = (raw: RawSpec): Spec => {
  let next = 0
  const spec = (r: RawSpec, id: number): Spec => {
    const children: Array<Spec> = []
    for (const child of r.children) {
      if (next >= MAX_TASKS) break
      children.push(spec(child, next++))
    }
    return { id, steps: r.steps, children }
  }
  return spec(raw, -1)
}

const tasksOf = (spec: Spec): Array<Spec> => spec.children.flatMap((child) => [child, ...tasksOf(child)])

const graphs = fc.record({
  // the body's own steps are joins of its children: it holds no slot, so its sleeps would prove nothing
  root: rawSpec(3).map((raw) => numbered({ ...raw, steps: raw.steps.filter((s) => s._tag === "JoinChild") })),
  concurrency: fc.integer({ min: 1, max: 3 }),
  failing: fc.option(fc.nat(), { nil: undefined, freq: 4 })
}).map(({ concurrency, failing, root }) => {
  const tasks = tasksOf(root)
  return {
    root,
    concurrency,
    failing: failing === undefined || tasks.length === 0 ? undefined : tasks[failing % tasks.length]!.id
  }
})

class TaskFailed {
  constructor(readonly id: number) {}
}

interface Meter {
  running: number
  maxRunning: number
  ended: number
  failedAt: number | undefined
}

/** Runs a graph in a group of the given bound; `meter` counts the tasks running, parked joiners not included. */
const runGraph = (root: Spec, concurrency: number, failing: number | undefined, meter: Meter) =>
  TaskGroup.run((group) => {
    type Handle = TaskGroup.Task<void, TaskFailed | TaskGroup.TaskGroupClosed>
    const enter = Effect.sync(() => {
      meter.running++
      meter.maxRunning = Math.max(meter.maxRunning, meter.running)
    })
    const leave = Effect.sync(() => meter.running--)
    const node = (
      spec: Spec,
      siblings: Deferred.Deferred<ReadonlyArray<Handle>> | undefined,
      index: number
    ): Effect.Effect<void, TaskFailed | TaskGroup.TaskGroupClosed> =>
      Effect.gen(function*() {
        const isTask = siblings !== undefined
        if (isTask) yield* enter
        const mine = isTask ? yield* Deferred.await(siblings) : []
        const forked = yield* Deferred.make<ReadonlyArray<Handle>>()
        const children: Array<Handle> = []
        for (let i = 0; i < spec.children.length; i++) {
          children.push(yield* group.fork(node(spec.children[i]!, forked, i)))
        }
        yield* Deferred.succeed(forked, children)
        for (const s of spec.steps) {
          if (s._tag === "Sleep") {
            yield* Effect.sleep(s.ms)
            continue
          }
          const target = s._tag === "JoinSibling"
            ? mine[index + s.offset]
            : children.length === 0
            ? undefined
            : children[s.index % children.length]
          if (target === undefined) continue
          if (isTask) yield* leave
          yield* target.join
          if (isTask) yield* enter
        }
        if (!isTask) return
        yield* leave
        meter.ended++
        if (spec.id === failing) {
          meter.failedAt = yield* Clock.currentTimeMillis
          return yield* Effect.fail(new TaskFailed(spec.id))
        }
      })
    return node(root, undefined, 0)
  }, { concurrency })

const sleepOf = (spec: Spec) => spec.steps.reduce((sum, s) => (s._tag === "Sleep" ? sum + s.ms : sum), 0)

describe("TaskGroup bound properties", () => {
  it.effect(
    "random fork/join graphs: 1. at most n tasks run at once, 2. the run ends, 3. no slot left idle while tasks wait",
    () =>
      checkProperty(graphs, ({ concurrency, failing, root }) =>
        Effect.gen(function*() {
          const meter: Meter = { running: 0, maxRunning: 0, ended: 0, failedAt: undefined }
          const tasks = tasksOf(root)
          const work = tasks.reduce((sum, task) => sum + sleepOf(task), 0)
          const start = yield* Clock.currentTimeMillis
          let end = -1
          const fiber = yield* Effect.fork(
            runGraph(root, concurrency, failing, meter).pipe(
              Effect.ensuring(Effect.map(Clock.currentTimeMillis, (now) => {
                end = now - start
              }))
            )
          )
          yield* TestClock.adjust(work + 1)
          const exit = fiber.unsafePoll()
          if (exit === null) yield* Fiber.interrupt(fiber)

          // 1. tasks parked in a join are not running; the others never exceed the bound
          expect(meter.maxRunning, "1. tasks running at once").toBeLessThanOrEqual(concurrency)
          // 2. the run ends: by the total work at the latest (3.)
          expect(exit, "2. the run has ended").not.toBeNull()
          if (exit === null) return
          if (failing !== undefined) {
            expect(Exit.isFailure(exit) && Cause.failures(exit.cause), "2. the run fails with its failure")
              .toStrictEqual(Chunk.of(new TaskFailed(failing)))
            expect(end, "2. the run ends when the task fails").toBe(meter.failedAt! - start)
            return
          }
          expect(exit, "2. the run succeeds").toStrictEqual(Exit.void)
          expect(meter.ended, "2. every task ran to its end").toBe(tasks.length)
          // 3. the clock only moves while a task sleeps, and no slot stays free while a task waits
          // for one: with one slot the sleeps follow each other without a gap
          if (concurrency === 1) expect(end, "3. the sum of the sleeps, with one slot").toBe(work)
          else {
            expect(end, "3. at most the sum of the sleeps").toBeLessThanOrEqual(work)
            expect(end, "3. at least the sleeps shared by the slots").toBeGreaterThanOrEqual(work / concurrency)
          }
        }))
  )
})
