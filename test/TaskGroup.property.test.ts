/**
 * Cancellation properties of TaskGroup over random trees of work, in
 * TestClock time. A tree is a group whose body forks its children (leaves or
 * nested groups) at time 0, then returns, or sleeps and fails. A leaf may hold
 * a resource, sleeps interruptibly, may then sleep uninterruptibly, and
 * succeeds, fails or dies; a leaf without an uninterruptible part may have a
 * finalizer that dies when it is interrupted. The run may be interrupted from
 * outside at a random time. Every event happens at its own instant, so a small
 * model of the tree predicts the outcome exactly.
 *
 * 200 cases (`FC_NUM_RUNS` for more); reproduce a failure with the seed and
 * path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/TaskGroup.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Effect, Exit, FastCheck as fc, Fiber, Supervisor, TestClock } from "effect"
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
