/**
 * Scheduling and cancellation properties of `Dag.run` over random DAGs, in
 * TestClock time. Node `i` depends on a random subset of the nodes before
 * it, sleeps for its latency (interruptibly, with a finalizer) and then
 * succeeds or fails. Latencies are `ticks * 2^11 + 2^i`, so the low bits of
 * any sum of latencies name the nodes summed: no two different chains of
 * nodes end at the same instant, and a small model predicts every node's
 * start, end and status exactly.
 *
 * 200 cases (`FC_NUM_RUNS` for more); reproduce a failure with the seed and
 * path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/Dag.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, FastCheck as fc, Fiber, Supervisor, TestClock } from "effect"
import { Dag } from "effect-agents"
import { checkProperty } from "./fixtures/property.js"

interface Node {
  readonly name: string
  readonly deps: ReadonlyArray<number>
  readonly latency: number
  readonly fails: boolean
}

interface Scenario {
  readonly nodes: ReadonlyArray<Node>
  readonly onFailure: "fail-fast" | "continue"
  /** When the run is interrupted from outside, if it is. */
  readonly interruptAt: number | undefined
}

const MAX_NODES = 10
const TICK = 2 ** 11
const HORIZON = 1_000 * TICK

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  raw: fc.array(
    fc.record({
      deps: fc.array(fc.nat(MAX_NODES), { maxLength: 3 }),
      ticks: fc.integer({ min: 1, max: 30 }),
      fails: fc.constantFrom(false, false, false, false, false, true)
    }),
    { minLength: 1, maxLength: MAX_NODES }
  ),
  onFailure: fc.constantFrom<Scenario["onFailure"]>("fail-fast", "continue"),
  interrupt: fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined, freq: 4 })
}).map(({ interrupt, onFailure, raw }) => ({
  nodes: raw.map((node, i) => ({
    name: `n${i}`,
    // only nodes added before: a dependency on a later index wraps around to an earlier one
    deps: i === 0 ? [] : Array.from(new Set(node.deps.map((dep) => dep % i))),
    latency: node.ticks * TICK + 2 ** i,
    fails: node.fails
  })),
  onFailure,
  interruptAt: interrupt === undefined ? undefined : interrupt * TICK + 1
}))

// -----------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------

type Predicted =
  | { readonly status: "completed" | "failed" | "interrupted"; readonly start: number; readonly end: number }
  | { readonly status: "skipped"; readonly blockedBy: string | undefined }

const predict = ({ nodes, onFailure }: Scenario): {
  readonly nodes: ReadonlyArray<Predicted>
  readonly makespan: number
} => {
  // every node that can run, as if nothing were cancelled: it starts when its last dependency completes
  const start: Array<number | undefined> = []
  const end: Array<number | undefined> = []
  nodes.forEach((node, i) => {
    const ready = node.deps.every((dep) => end[dep] !== undefined && !nodes[dep]!.fails)
    start[i] = ready ? Math.max(0, ...node.deps.map((dep) => end[dep]!)) : undefined
    end[i] = start[i] === undefined ? undefined : start[i]! + node.latency
  })
  const failures = nodes.flatMap((node, i) => (node.fails && end[i] !== undefined ? [end[i]!] : []))
  const stop = onFailure === "fail-fast" && failures.length > 0 ? Math.min(...failures) : Infinity
  const predicted: Array<Predicted> = nodes.map((node, i) => {
    const s = start[i]
    const e = end[i]
    if (s === undefined || e === undefined || s >= stop) return { status: "skipped", blockedBy: undefined }
    if (e > stop) return { status: "interrupted", start: s, end: stop }
    return { status: node.fails ? "failed" : "completed", start: s, end: e }
  })
  // what a skipped node waited for
  nodes.forEach((node, i) => {
    if (predicted[i]!.status !== "skipped") return
    let blockedBy: string | undefined
    if (onFailure === "fail-fast") {
      const dep = node.deps.find((d) => predicted[d]!.status !== "completed")
      blockedBy = dep === undefined ? undefined : nodes[dep]!.name
    } else {
      // skipped by the first of its failed ancestors to fail
      let first = Infinity
      const visit = (j: number) => {
        for (const dep of nodes[j]!.deps) {
          const p = predicted[dep]!
          if (p.status === "failed" && p.end < first) {
            first = p.end
            blockedBy = nodes[dep]!.name
          }
          visit(dep)
        }
      }
      visit(i)
    }
    predicted[i] = { status: "skipped", blockedBy }
  })
  const ends = predicted.flatMap((p) => (p.status === "skipped" ? [] : [p.end]))
  return { nodes: predicted, makespan: Math.max(0, ...ends) }
}

// -----------------------------------------------------------------------------
// Running a scenario
// -----------------------------------------------------------------------------

class NodeFailed {
  readonly _tag = "NodeFailed"
  constructor(readonly node: string) {}
}

const run = (scenario: Scenario) =>
  Effect.gen(function*() {
    const finalized = new Map<string, number>()
    let dag: Dag.Dag<void, Record<string, string>, NodeFailed> = Dag.make("random")
    for (const node of scenario.nodes) {
      const effect = Effect.sleep(node.latency).pipe(
        Effect.zipRight(node.fails ? Effect.fail(new NodeFailed(node.name)) : Effect.succeed(node.name)),
        Effect.ensuring(Effect.sync(() => finalized.set(node.name, (finalized.get(node.name) ?? 0) + 1)))
      )
      dag = dag.pipe(Dag.node(node.name, { dependsOn: node.deps.map((dep) => `n${dep}`), run: () => effect }))
    }
    const supervisor = yield* Supervisor.track
    const start = yield* Clock.currentTimeMillis
    const atEnd = { time: -1, fibersAlive: -1 }
    const fiber = yield* Effect.fork(
      Effect.supervised(Dag.run(dag, undefined, { onFailure: scenario.onFailure }), supervisor).pipe(
        Effect.ensuring(Effect.gen(function*() {
          atEnd.time = (yield* Clock.currentTimeMillis) - start
          atEnd.fibersAlive = (yield* supervisor.value).filter((fiber) => fiber.unsafePoll() === null).length
        }))
      )
    )
    if (scenario.interruptAt !== undefined) {
      yield* TestClock.adjust(scenario.interruptAt)
      yield* Effect.fork(Fiber.interrupt(fiber))
    }
    yield* TestClock.adjust(HORIZON)
    return { exit: fiber.unsafePoll(), finalized, atEnd }
  })

describe("Dag.run properties", () => {
  it.effect(
    "random DAGs: 1. each node starts when its last dependency completes, 2. the outcome the model predicts, " +
      "3. finalizers once and no fiber left, interrupted or not",
    () =>
      checkProperty(scenarios, (scenario) =>
        Effect.gen(function*() {
          const { atEnd, exit, finalized } = yield* run(scenario)
          const predicted = predict(scenario)
          expect(exit, "the run has ended").not.toBeNull()
          if (exit === null) return
          const started = scenario.nodes.filter((_, i) => predicted.nodes[i]!.status !== "skipped")
          const interrupted = scenario.interruptAt !== undefined && scenario.interruptAt < predicted.makespan

          // 3. every node that started ran its finalizer once (and only those that started, when not
          // interrupted from outside); nothing is left running when the run ends
          for (const node of interrupted ? [] : started) {
            expect(finalized.get(node.name), `3. ${node.name} finalized once`).toBe(1)
          }
          for (const count of finalized.values()) expect(count, "3. no finalizer twice").toBe(1)
          expect(atEnd.fibersAlive, "3. fibers still running when the run ended").toBe(0)

          if (interrupted) {
            expect(Exit.isInterrupted(exit), "an interrupted run is interrupted").toBe(true)
            expect(atEnd.time, "it ends when interrupted").toBe(scenario.interruptAt)
            return
          }
          expect(Exit.isSuccess(exit), "the run succeeds with its result").toBe(true)
          if (Exit.isFailure(exit)) return
          const result = exit.value
          // 1 and 2: each node's status, start and duration; the makespan
          scenario.nodes.forEach((node, i) => {
            const expected = predicted.nodes[i]!
            const actual = result.nodes[node.name]
            expect(actual, `2. ${node.name}`).toEqual(
              expected.status === "skipped"
                ? { status: "skipped", blockedBy: expected.blockedBy }
                : expect.objectContaining({
                  status: expected.status,
                  startMs: expected.start,
                  durationMs: expected.end - expected.start
                })
            )
          })
          expect(result.durationMs, "2. the makespan").toBe(predicted.makespan)
          const completed = predicted.nodes.filter((node) => node.status === "completed").length
          expect(result.status, "2. the run's status").toBe(
            completed === scenario.nodes.length
              ? "completed"
              : scenario.onFailure === "continue" && completed > 0
              ? "partial"
              : "failed"
          )
        }))
  )
})
