import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  Graph,
  Ref,
  Schedule,
  Schema,
  Stream,
  Supervisor,
  TestClock
} from "effect"
import { Agent, Dag, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

class Boom extends Schema.TaggedError<Boom>()("Boom", { node: Schema.String }) {}

/** Runs `effect` in a fiber and moves the clock by `ms` (far enough for it to end), then joins it. */
const within = <A, E>(effect: Effect.Effect<A, E>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(ms)
    return yield* Fiber.join(fiber)
  })

/** A node that sleeps `ms`, logging its start and end at the clock's time. */
const step = (log: Array<string>, name: string, ms: number) =>
  Effect.gen(function*() {
    log.push(`${name}+${yield* Clock.currentTimeMillis}`)
    yield* Effect.sleep(ms)
    log.push(`${name}-${yield* Clock.currentTimeMillis}`)
    return name
  })

/** The bench's "uneven" shape: A → B → G → E and A → F → E, one model call per node. */
const uneven = [
  ["A", 50, []],
  ["B", 50, ["A"]],
  ["G", 300, ["B"]],
  ["F", 400, ["A"]],
  ["E", 50, ["G", "F"]]
] as const

/** What an executor that runs the graph level by level (each level waits for its slowest node) takes. */
const levelByLevel = (latencies: ReadonlyArray<ReadonlyArray<number>>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    for (const level of latencies) {
      yield* Effect.all(level.map((ms) => Effect.sleep(ms)), { concurrency: "unbounded" })
    }
    return (yield* Clock.currentTimeMillis) - start
  })

describe("Dag.run", () => {
  it.effect("every node starts when its own dependencies are done: the makespan is the critical path", () =>
    Effect.gen(function*() {
      // each node is an agent whose model answers after the node's latency; built from names
      // known at run time, as the bench's adapter builds it
      let dag: Dag.Dag<string, Record<string, string>, unknown> = Dag.make<string>("uneven")
      for (const [name, latency, dependsOn] of uneven) {
        const model = yield* ScriptedModel.make(() => ({ text: `${name} done`, latency: Duration.millis(latency) }))
        const agent = yield* Agent.make({ name, instructions: "", model })
        dag = dag.pipe(Dag.node(name, {
          dependsOn,
          run: (deps, input) =>
            Effect.map(agent.run(`${input}: ${Object.values(deps).join(", ")}`), (result) => result.content)
        }))
      }
      const result = yield* within(Dag.run(dag, "go"), 1000)
      expect(result.status).toBe("completed")
      expect(result.durationMs).toBe(500)
      const timings = Object.fromEntries(
        Object.entries(result.nodes).map(([name, node]) => [name, node.status === "completed" ? node.startMs : -1])
      )
      // G starts at 100, when B is done, while F (on the same level as B) runs until 450
      expect(timings).toEqual({ A: 0, B: 50, G: 100, F: 50, E: 450 })
      expect(Dag.criticalPath(dag, result)).toEqual({ durationMs: 500, nodes: ["A", "F", "E"] })
      const E = result.nodes.E
      expect(E?.status === "completed" && E.output).toBe("E done")

      // a level-by-level executor waits for F before starting G: 800 ms
      const barrier = yield* within(levelByLevel([[50], [50, 400], [300], [50]]), 1000)
      expect(barrier).toBe(800)
    }))

  it.effect("a node receives its dependencies' outputs by name and the DAG's input", () =>
    Effect.gen(function*() {
      const dag = Dag.make<number>("math").pipe(
        Dag.node("double", (_, n) => Effect.succeed(n * 2)),
        Dag.node("label", (_, n) => Effect.succeed(`n=${n}`)),
        Dag.node("both", {
          dependsOn: ["double", "label"],
          run: ({ double, label }, n) => Effect.succeed({ double, label, n })
        })
      )
      const result = yield* Dag.run(dag, 21)
      expect(result.nodes.both).toMatchObject({
        status: "completed",
        output: { double: 42, label: "n=21", n: 21 },
        attempts: 1
      })
      expect(result.order).toEqual(["double", "label", "both"])
    }))

  it.effect("every node sees the FiberRefs of the run, not those a dependency set", () =>
    Effect.gen(function*() {
      const tenant = FiberRef.unsafeMake("none")
      const dag = Dag.make<void>("refs").pipe(
        Dag.node("sets", () => Effect.zipRight(FiberRef.set(tenant, "set by a node"), FiberRef.get(tenant))),
        Dag.node("reads", { dependsOn: ["sets"], run: () => FiberRef.get(tenant) })
      )
      const result = yield* Effect.locally(Dag.run(dag, undefined), tenant, "the run's")
      expect(result.nodes.sets).toMatchObject({ status: "completed", output: "set by a node" })
      expect(result.nodes.reads).toMatchObject({ status: "completed", output: "the run's" })
    }))

  it.effect("outputs and errors are typed by the nodes' names", () =>
    Effect.gen(function*() {
      const dag = Dag.make<string>("typed").pipe(
        Dag.node("ingest", (_, path) => Effect.succeed([path.length])),
        Dag.node("stats", {
          dependsOn: ["ingest"],
          run: ({ ingest }) =>
            ingest.length > 0 ? Effect.succeed({ max: Math.max(...ingest) }) : new Boom({ node: "x" })
        }),
        Dag.node("report", {
          dependsOn: ["stats", "ingest"],
          run: ({ ingest, stats }) => Effect.succeed(`${stats.max} of ${ingest.length}`),
          timeout: "1 second"
        })
      )
      expectTypeOf(dag).toEqualTypeOf<
        Dag.Dag<
          string,
          {
            readonly ingest: Array<number>
            readonly stats: { max: number }
            readonly report: string
          },
          Boom | Dag.NodeTimeout
        >
      >()
      const result = yield* Dag.run(dag, "data.csv")
      expectTypeOf(result.nodes.report).toEqualTypeOf<Dag.NodeResult<string, Boom | Dag.NodeTimeout>>()
      const report = result.nodes.report
      if (report.status !== "completed") return expect.fail("report completes")
      expectTypeOf(report.output).toEqualTypeOf<string>()
      expect(report.output).toBe("8 of 1")
      const stats = result.nodes.stats
      if (stats.status === "failed") expectTypeOf(stats.error).toEqualTypeOf<Boom | Dag.NodeTimeout | Dag.NodeDefect>()
      // a DAG whose names the compiler knows cannot fail to run
      expectTypeOf(Dag.run(dag, "x")).toEqualTypeOf<
        Effect.Effect<Dag.DagResult<Dag.Outputs<typeof dag>, Boom | Dag.NodeTimeout>>
      >()

      const base = Dag.make("x").pipe(Dag.node("a", () => Effect.succeed(1)))
      // @ts-expect-error a name is taken once
      base.pipe(Dag.node("a", () => Effect.succeed(2)))
      // @ts-expect-error a node depends only on nodes added before it
      base.pipe(Dag.node("b", { dependsOn: ["c"], run: () => Effect.void }))
      // the data-first form types the same
      expectTypeOf(Dag.node(base, "b", { dependsOn: ["a"], run: ({ a }) => Effect.succeed(a + 1) })).toEqualTypeOf<
        Dag.Dag<void, { readonly a: number; readonly b: number }>
      >()
    }))

  it.effect("the runs a node starts without an id are named after the run and the node, in order; with one, keep it", () =>
    Effect.gen(function*() {
      const agent = yield* Agent.make({
        name: "echo",
        instructions: "",
        model: yield* ScriptedModel.make(() => ({ text: "ok" }))
      })
      const ids = (runs: ReadonlyArray<Agent.RunResult>) => runs.map((result) => result.runId)
      const dag = Dag.make("named").pipe(
        Dag.node("first", () => Effect.map(Effect.all([agent.run("a"), agent.run("b")]), ids)),
        Dag.node("second", () => Effect.map(Effect.all([agent.run("c", { runId: "mine" }), agent.run("d")]), ids))
      )
      const result = yield* Dag.run(dag, undefined, { runId: "r" })
      expect(result.nodes.first).toMatchObject({ output: ["r.first", "r.first.2"] })
      expect(result.nodes.second).toMatchObject({ output: ["mine", "r.second"] })
    }))

  it.effect("concurrency 1 runs the nodes one at a time, in topological order", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const dag = Dag.make("sequential").pipe(
        Dag.node("a", () => step(log, "a", 100)),
        Dag.node("c", { dependsOn: ["a"], run: () => step(log, "c", 100) }),
        Dag.node("b", () => step(log, "b", 100)),
        Dag.node("d", { dependsOn: ["b", "c"], run: () => step(log, "d", 100) }),
        Dag.node("e", { dependsOn: ["a"], run: () => step(log, "e", 100) })
      )
      const order = Dag.topologicalOrder(dag)
      expect(order).toEqual(["a", "b", "c", "e", "d"])
      expect(Array.from(Graph.values(Graph.topo(dag.graph)), (node) => node.name)).toEqual(order)
      const result = yield* within(Dag.run(dag, undefined, { concurrency: 1 }), 1000)
      expect(result.durationMs).toBe(500)
      // each node starts when the one before it ends
      expect(log).toEqual(order.flatMap((name, i) => [`${name}+${i * 100}`, `${name}-${(i + 1) * 100}`]))

      const parallel = yield* within(Dag.run(dag, undefined), 1000)
      expect(parallel.durationMs).toBe(300)
    }))

  it.effect("fail-fast: the first failure interrupts the running nodes (finalizers once) and starts no other", () =>
    Effect.gen(function*() {
      const released = yield* Ref.make<Array<string>>([])
      const started: Array<string> = []
      const resource = (name: string, ms: number) =>
        Effect.acquireRelease(
          Effect.sync(() => started.push(name)),
          () => Ref.update(released, (names) => [...names, name])
        ).pipe(Effect.zipRight(Effect.sleep(ms)), Effect.as(name), Effect.scoped)
      const dag = Dag.make("fail-fast").pipe(
        Dag.node("root", () => resource("root", 10)),
        Dag.node("slow", { dependsOn: ["root"], run: () => resource("slow", 1000) }),
        Dag.node("slower", { dependsOn: ["root"], run: () => resource("slower", 2000) }),
        Dag.node("broken", {
          dependsOn: ["root"],
          run: () => Effect.zipRight(Effect.sleep(90), new Boom({ node: "broken" }))
        }),
        Dag.node("after", { dependsOn: ["slow"], run: () => resource("after", 10) }),
        Dag.node("end", { dependsOn: ["broken"], run: () => resource("end", 10) })
      )
      const result = yield* within(Dag.run(dag, undefined), 5000)
      expect(result.status).toBe("failed")
      expect(result.durationMs).toBe(100)
      expect(result.nodes.root).toMatchObject({ status: "completed" })
      expect(result.nodes.broken).toEqual({
        status: "failed",
        error: new Boom({ node: "broken" }),
        startMs: 10,
        durationMs: 90,
        attempts: 1
      })
      expect(result.nodes.slow).toEqual({ status: "interrupted", startMs: 10, durationMs: 90, attempts: 1 })
      expect(result.nodes.slower).toMatchObject({ status: "interrupted", durationMs: 90 })
      expect(result.nodes.after).toEqual({ status: "skipped", blockedBy: "slow" })
      expect(result.nodes.end).toEqual({ status: "skipped", blockedBy: "broken" })
      expect(started).toEqual(["root", "slow", "slower"])
      expect((yield* Ref.get(released)).toSorted()).toEqual(["root", "slow", "slower"])
    }))

  it.effect("fail-fast: a node that fails while it is being cancelled is reported failed, and the run waits for it", () =>
    Effect.gen(function*() {
      const dag = Dag.make("stubborn").pipe(
        Dag.node("broken", () => Effect.zipRight(Effect.sleep(100), new Boom({ node: "broken" }))),
        // busy with something that cannot be stopped halfway when `broken` fails; then fails too
        Dag.node(
          "stubborn",
          () => Effect.uninterruptible(Effect.zipRight(Effect.sleep(250), new Boom({ node: "stubborn" })))
        ),
        Dag.node("calm", () => Effect.sleep(1000))
      )
      const result = yield* within(Dag.run(dag, undefined), 2000)
      expect(result.durationMs).toBe(250)
      expect(result.nodes.broken).toMatchObject({ status: "failed", error: new Boom({ node: "broken" }) })
      expect(result.nodes.stubborn).toEqual({
        status: "failed",
        error: new Boom({ node: "stubborn" }),
        startMs: 0,
        durationMs: 250,
        attempts: 1
      })
      expect(result.nodes.calm).toEqual({ status: "interrupted", startMs: 0, durationMs: 100, attempts: 1 })

      // interrupted while waiting to retry an attempt that failed earlier: interrupted, not failed
      const retrying = Dag.make("retrying").pipe(
        Dag.node("broken", () => Effect.zipRight(Effect.sleep(100), new Boom({ node: "broken" }))),
        Dag.node("flaky", {
          run: () => Effect.zipRight(Effect.sleep(10), new Boom({ node: "flaky" })),
          retry: Schedule.spaced("1 second")
        })
      )
      const stopped = yield* within(Dag.run(retrying, undefined), 2000)
      expect(stopped.nodes.flaky).toEqual({ status: "interrupted", startMs: 0, durationMs: 100, attempts: 1 })
    }))

  it.effect("continue: a failure skips exactly its dependents; the independent branches finish", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const dag = Dag.make("continue").pipe(
        Dag.node("root", () => step(log, "root", 10)),
        Dag.node("broken", {
          dependsOn: ["root"],
          run: () => Effect.zipRight(Effect.sleep(50), new Boom({ node: "broken" }))
        }),
        Dag.node("fine", { dependsOn: ["root"], run: () => step(log, "fine", 300) }),
        Dag.node("child", { dependsOn: ["broken"], run: () => step(log, "child", 10) }),
        Dag.node("grandchild", { dependsOn: ["child", "fine"], run: () => step(log, "grandchild", 10) }),
        Dag.node("sibling", { dependsOn: ["fine"], run: () => step(log, "sibling", 100) })
      )
      const result = yield* within(Dag.run(dag, undefined, { onFailure: "continue" }), 5000)
      expect(result.status).toBe("partial")
      expect(Object.fromEntries(Object.entries(result.nodes).map(([name, node]) => [name, node.status]))).toEqual({
        root: "completed",
        broken: "failed",
        fine: "completed",
        child: "skipped",
        grandchild: "skipped",
        sibling: "completed"
      })
      expect(result.nodes.child).toEqual({ status: "skipped", blockedBy: "broken" })
      expect(result.nodes.grandchild).toEqual({ status: "skipped", blockedBy: "broken" })
      expect(result.nodes.sibling).toMatchObject({ startMs: 310, durationMs: 100 })
      expect(result.durationMs).toBe(410)
      expect(log.filter((entry) => entry.includes("child"))).toEqual([])
    }))

  it.effect("a bounded run starts a ready node as soon as a slot frees", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const dag = Dag.make("bounded").pipe(
        Dag.node("a", () => step(log, "a", 100)),
        Dag.node("b", () => step(log, "b", 300)),
        Dag.node("c", () => step(log, "c", 100)),
        Dag.node("d", { dependsOn: ["a"], run: () => step(log, "d", 100) })
      )
      const result = yield* within(Dag.run(dag, undefined, { concurrency: 2 }), 1000)
      // a and b start; a ends at 100: c (ready first) takes its slot, then d at 200
      expect(result.nodes.c).toMatchObject({ startMs: 100 })
      expect(result.nodes.d).toMatchObject({ startMs: 200 })
      expect(result.durationMs).toBe(300)
    }))

  it.effect("a node's retry schedule retries it; attempts are counted", () =>
    Effect.gen(function*() {
      let calls = 0
      const flaky = Effect.suspend(() => ++calls < 3 ? Effect.fail(new Boom({ node: "flaky" })) : Effect.succeed("ok"))
      const dag = Dag.make("retry").pipe(
        Dag.node("flaky", {
          run: () => Effect.zipRight(Effect.sleep(10), flaky),
          retry: Schedule.spaced("100 millis")
        }),
        Dag.node("next", { dependsOn: ["flaky"], run: ({ flaky }) => Effect.succeed(`${flaky}!`) })
      )
      const result = yield* within(Dag.run(dag, undefined), 1000)
      expect(result.nodes.flaky).toEqual({
        status: "completed",
        output: "ok",
        startMs: 0,
        durationMs: 230,
        attempts: 3
      })
      expect(result.nodes.next).toMatchObject({ status: "completed", output: "ok!", startMs: 230 })

      calls = -10
      const exhausted = yield* within(
        Dag.run(
          Dag.make("retry").pipe(Dag.node("flaky", { run: () => flaky, retry: Schedule.recurs(2) })),
          undefined
        ),
        1000
      )
      expect(exhausted.nodes.flaky).toMatchObject({ status: "failed", error: new Boom({ node: "flaky" }), attempts: 3 })
    }))

  it.effect("a node's timeout limits each attempt and fails it with NodeTimeout", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const slow = Effect.sleep("1 second").pipe(Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)))
      const dag = Dag.make("timeout").pipe(
        Dag.node("slow", { run: () => slow, timeout: "200 millis", retry: Schedule.recurs(1) })
      )
      const result = yield* within(Dag.run(dag, undefined), 2000)
      expect(result.nodes.slow).toEqual({
        status: "failed",
        error: new Dag.NodeTimeout({ dag: "timeout", node: "slow", timeout: Duration.millis(200) }),
        startMs: 0,
        durationMs: 400,
        attempts: 2
      })
      expect(yield* Ref.get(interrupted)).toBe(2)
      const slowNode = result.nodes.slow
      expect(slowNode.status === "failed" && slowNode.error.message).toBe(
        "node \"slow\" of DAG \"timeout\" timed out after 200ms"
      )
    }))

  it.effect("a node that dies fails with NodeDefect; the run goes on", () =>
    Effect.gen(function*() {
      const dag = Dag.make("defect").pipe(
        Dag.node("parse", () => Effect.sync(() => JSON.parse("{") as unknown)),
        Dag.node("other", () => Effect.succeed(1))
      )
      const result = yield* Dag.run(dag, undefined, { onFailure: "continue" })
      const parse = result.nodes.parse
      if (parse.status !== "failed") return expect.fail("parse fails")
      expect(parse.error._tag).toBe("NodeDefect")
      expect(parse.error.message).toMatch(/^node "parse" of DAG "defect" died: /)
      expect(result.nodes.other).toMatchObject({ status: "completed", output: 1 })
      expect(result.status).toBe("partial")
    }))

  it.effect("interrupting the run interrupts every node, runs each finalizer once and leaves no fiber", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make<Array<string>>([])
      const node = (name: string, ms: number) =>
        Effect.sleep(ms).pipe(Effect.as(name), Effect.ensuring(Ref.update(finalized, (names) => [...names, name])))
      const dag = Dag.make("interrupted").pipe(
        Dag.node("a", () => node("a", 100)),
        Dag.node("b", { dependsOn: ["a"], run: () => node("b", 1000) }),
        Dag.node("c", { dependsOn: ["a"], run: () => node("c", 2000) }),
        Dag.node("d", { dependsOn: ["b", "c"], run: () => node("d", 10) })
      )
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(Effect.supervised(Dag.run(dag, undefined), supervisor))
      yield* TestClock.adjust(500)
      const alive = Effect.map(supervisor.value, (fibers) => fibers.filter((fiber) => fiber.unsafePoll() === null))
      expect((yield* alive).length).toBe(2) // b and c; a and the group's body have ended
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect((yield* Ref.get(finalized)).toSorted()).toEqual(["a", "b", "c"])
      expect(yield* alive).toEqual([])
      yield* TestClock.adjust(5000)
      expect((yield* Ref.get(finalized)).toSorted()).toEqual(["a", "b", "c"])
    }))

  it.effect("names known only at run time: a duplicate or an unknown dependency is a typed error", () =>
    Effect.gen(function*() {
      const name: string = "step"
      const twice = Dag.make("dynamic").pipe(
        Dag.node(name, () => Effect.succeed(1)),
        Dag.node(name, () => Effect.succeed(2))
      )
      expectTypeOf(Dag.run(twice, undefined)).toEqualTypeOf<
        Effect.Effect<Dag.DagResult<Dag.Outputs<typeof twice>, never>, Dag.DefinitionError>
      >()
      const error = yield* Effect.flip(Dag.run(twice, undefined))
      expect(error).toEqual(new Dag.DuplicateNode({ dag: "dynamic", node: "step" }))
      expect(error.message).toBe("DAG \"dynamic\" has two nodes named \"step\"")

      const dependency: string = "nowhere"
      const unknown = Dag.make("dynamic").pipe(
        Dag.node(name, () => Effect.succeed(1)),
        Dag.node("next", { dependsOn: [dependency], run: () => Effect.succeed(1) })
      )
      expect(yield* Effect.flip(Dag.run(unknown, undefined))).toEqual(
        new Dag.UnknownDependency({ dag: "dynamic", node: "next", dependency: "nowhere" })
      )
      const streamed = yield* Effect.either(Stream.runCollect(Dag.stream(unknown, undefined)))
      expect(streamed._tag).toBe("Left")
    }))

  it.effect("names known only at run time may be Object's own properties: __proto__, constructor", () =>
    Effect.gen(function*() {
      const proto: string = "__proto__"
      const constructor: string = "constructor"
      const dag = Dag.make<string>("odd names").pipe(
        Dag.node(proto, (_, input) => Effect.succeed(`${input}?`)),
        Dag.node(constructor, {
          dependsOn: [proto],
          run: (deps: Record<string, unknown>) => Effect.succeed([Object.keys(deps), deps[proto]])
        })
      )
      const result = yield* Dag.run(dag, "what")
      const nodes = result.nodes as Record<string, Dag.NodeResult>
      expect(Object.keys(nodes)).toEqual(["__proto__", "constructor"])
      expect(Object.getPrototypeOf(nodes)).toBe(Object.prototype)
      expect(nodes[proto]).toMatchObject({ status: "completed", output: "what?" })
      expect(nodes[constructor]).toMatchObject({ status: "completed", output: [["__proto__"], "what?"] })
    }))
})

describe("Dag.stream", () => {
  it.effect("streams node events and the events of the agents inside nodes, ending with DagCompleted", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make(() => ({ text: "fine", latency: "100 millis" }))
      const writer = yield* Agent.make({ name: "writer", instructions: "", model })
      const dag = Dag.make<string>("story").pipe(
        Dag.node("outline", (_, topic) => Effect.as(Effect.sleep(50), `outline of ${topic}`)),
        Dag.node("draft", {
          dependsOn: ["outline"],
          run: ({ outline }) => Effect.map(writer.run(outline), (result) => result.content)
        })
      )
      const fiber = yield* Effect.fork(Stream.runCollect(Dag.stream(dag, "cats")))
      yield* TestClock.adjust(1000)
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(events.map((event) => `${event._tag} ${event.path.join("/")}`)).toEqual([
        "NodeStarted story/outline",
        "NodeCompleted story/outline",
        "NodeStarted story/draft",
        "RunStarted story/draft/writer",
        "TextDelta story/draft/writer",
        "StepCompleted story/draft/writer",
        "NodeCompleted story/draft",
        "DagCompleted story"
      ])
      const completed = events.filter(Dag.is("NodeCompleted"))
      expect(completed.map((event) => [event.node, event.output, event.startMs, event.durationMs])).toEqual([
        ["outline", "outline of cats", 0, 50],
        ["draft", "fine", 50, 100]
      ])
      const last = events.at(-1)
      if (last?._tag !== "DagCompleted") return expect.fail("the stream ends with DagCompleted")
      expect(last.result.status).toBe("completed")
      expect(last.result.durationMs).toBe(150)
      const [delta] = events.filter(Dag.is("TextDelta"))
      expect(delta?.text).toBe("fine")
    }))

  it.effect("a failure: fail-fast's events arrive once the run stopped; continue's as they happen", () =>
    Effect.gen(function*() {
      const dag = Dag.make("failing").pipe(
        Dag.node("broken", () => Effect.zipRight(Effect.sleep(10), new Boom({ node: "broken" }))),
        Dag.node("slow", () => Effect.as(Effect.sleep(100), "slow")),
        Dag.node("child", { dependsOn: ["broken"], run: () => Effect.void })
      )
      const collect = (options: Dag.RunOptions) =>
        within(Stream.runCollect(Dag.stream(dag, undefined, options)), 1000).pipe(
          Effect.map((events) =>
            Chunk.toReadonlyArray(events).map((event) => `${event._tag} ${"node" in event ? event.node : ""}`)
          )
        )
      expect(yield* collect({})).toEqual([
        "NodeStarted broken",
        "NodeStarted slow",
        "NodeFailed broken",
        "NodeInterrupted slow",
        "NodeSkipped child",
        "DagCompleted "
      ])
      expect(yield* collect({ onFailure: "continue" })).toEqual([
        "NodeStarted broken",
        "NodeStarted slow",
        "NodeFailed broken",
        "NodeSkipped child",
        "NodeCompleted slow",
        "DagCompleted "
      ])
    }))

  it.effect("stopping the stream interrupts the run; nothing is emitted after", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const dag = Dag.make("stopped").pipe(
        Dag.node("a", () => Effect.as(Effect.sleep(10), "a")),
        Dag.node("b", {
          dependsOn: ["a"],
          run: () => Effect.sleep(1000).pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
        })
      )
      const events = yield* within(Stream.runCollect(Stream.take(Dag.stream(dag, undefined), 3)), 100)
      expect(Chunk.toReadonlyArray(events).map((event) => event._tag)).toEqual([
        "NodeStarted",
        "NodeCompleted",
        "NodeStarted"
      ])
      expect(yield* Ref.get(finalized)).toBe(1)
    }))

  it.effect("a DAG run inside a streamed agent run streams its agents into it, below [agent, dag, node]", () =>
    Effect.gen(function*() {
      const inner = yield* Effect.flatMap(
        ScriptedModel.make(() => ({ text: "inner answer" })),
        (model) => Agent.make({ name: "inner", instructions: "", model })
      )
      const dag = Dag.make<string>("flow").pipe(
        Dag.node("ask", (_, question) => Effect.map(inner.run(question), (result) => result.content))
      )
      // the DAG is reached through a tool of the outer agent
      const runFlow = Tool.make("run_flow", {
        description: "Runs the flow",
        parameters: { question: Schema.String },
        handler: ({ question }) =>
          Effect.map(
            Dag.run(dag, question),
            (result) => result.nodes.ask.status === "completed" ? result.nodes.ask.output : "failed"
          )
      })
      const outer = yield* Effect.flatMap(
        ScriptedModel.make([{ toolCalls: [{ name: "run_flow", arguments: { question: "why?" } }] }, { text: "done" }]),
        (model) => Agent.make({ name: "lead", instructions: "", model, toolkit: Toolkit.make(runFlow) })
      )
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(outer.stream("go")))
      const nested = events.filter((event) => event.path.length > 1)
      expect(new Set(nested.map((event) => event.path.join("/")))).toEqual(new Set(["lead/flow/ask/inner"]))
      expect(nested.map((event) => event._tag)).toEqual(["RunStarted", "TextDelta", "TextDelta", "StepCompleted"])
    }))
})

describe("Dag pictures", () => {
  const dag = Dag.make("report").pipe(
    Dag.node("ingest", () => Effect.as(Effect.sleep(200), 1)),
    Dag.node("stats", { dependsOn: ["ingest"], run: () => Effect.as(Effect.sleep(300), 2) }),
    Dag.node("analysis", { dependsOn: ["ingest"], run: () => Effect.as(Effect.sleep(800), 3) }),
    Dag.node("report", { dependsOn: ["stats", "analysis"], run: () => Effect.as(Effect.sleep(200), 4) })
  )

  it("toMermaid draws the graph with Graph.toMermaid", () => {
    expect(Dag.toMermaid(dag)).toBe(
      [
        "flowchart TD",
        "  0[\"ingest\"]",
        "  1[\"stats\"]",
        "  2[\"analysis\"]",
        "  3[\"report\"]",
        "  0 --> 1",
        "  0 --> 2",
        "  1 --> 3",
        "  2 --> 3"
      ].join("\n")
    )
    expect(Graph.isAcyclic(dag.graph)).toBe(true)
  })

  it.effect("the timeline has one bar per node on a shared time axis", () =>
    Effect.gen(function*() {
      const result = yield* within(Dag.run(dag, undefined), 2000)
      expect(Printer.formatTimeline(result, { width: 12 })).toBe(
        [
          "▸ Timeline of report: completed in 1.20 s",
          "          0 ms  1.20 s",
          "ingest    ██            ✓ 200 ms",
          "stats       ███         ✓ 300 ms",
          "analysis    ████████    ✓ 800 ms",
          "report              ██  ✓ 200 ms",
          ""
        ].join("\n")
      )
      const lines: Array<string> = []
      yield* Printer.printTimeline(result, { width: 12 }).pipe(
        Effect.provideService(Printer.Writer, { write: (text) => Effect.sync(() => lines.push(text)), color: false })
      )
      expect(lines.join("")).toBe(Printer.formatTimeline(result, { width: 12 }))
    }))

  it.effect("the timeline shows failed, interrupted and skipped nodes", () =>
    Effect.gen(function*() {
      const failing = Dag.make("failing").pipe(
        Dag.node("slow", () => Effect.sleep(1000)),
        Dag.node("broken", () => Effect.zipRight(Effect.sleep(100), new Boom({ node: "broken" }))),
        Dag.node("after", { dependsOn: ["broken"], run: () => Effect.void })
      )
      const result = yield* within(Dag.run(failing, undefined), 2000)
      const timeline = Printer.formatTimeline(result, { width: 10 })
      expect(timeline.split("\n").slice(2, 5)).toEqual([
        "slow    ▒▒▒▒▒▒▒▒▒▒  ⊘ 100 ms interrupted",
        "broken  ██████████  ✗ 100 ms",
        "after               – skipped (broken did not complete)"
      ])
    }))
})
