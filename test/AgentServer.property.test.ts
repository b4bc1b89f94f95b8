/**
 * Scheduling properties of an agent server's batches over random batches, in
 * TestClock time: several batches, each of a few inputs and its own
 * concurrency, share `maxRuns` slots; one batch may be cancelled on the way.
 * Batch `b` is made at `b` ms, a run of input `i` lasts
 * `ticks * 2^19 + 2^(i+2)`, and a cancellation comes at
 * `ticks * 2^19 + 2^18`, so no two things happen at the same instant, and a
 * small model predicts when every run starts: first come first served, a
 * freed slot to the run waiting longest.
 *
 * 200 cases (`FC_NUM_RUNS` for more); reproduce a failure with the seed and
 * path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/AgentServer.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, FastCheck as fc, Scope, Stream, TestClock } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent } from "effect-agents"
import { Registry } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"
import * as BatchStore from "../src/http/BatchStore.js"
import * as Batches from "../src/internal/http/batches.js"
import * as Drain from "../src/internal/http/drain.js"
import { checkProperty } from "./fixtures/property.js"

interface Batch {
  /** The ticks of each input's run. */
  readonly inputs: ReadonlyArray<number>
  readonly concurrency: number
}

interface Scenario {
  readonly maxRuns: number
  readonly batches: ReadonlyArray<Batch>
  readonly cancel: { readonly batch: number; readonly at: number } | undefined
}

const TICK = 2 ** 19
const CANCEL_BIT = 2 ** 18
const HORIZON = 2 ** 28

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  maxRuns: fc.integer({ min: 1, max: 4 }),
  batches: fc.array(
    fc.record({
      inputs: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      concurrency: fc.integer({ min: 1, max: 3 })
    }),
    { minLength: 1, maxLength: 4 }
  ),
  cancel: fc.option(fc.record({ batch: fc.nat(3), ticks: fc.integer({ min: 0, max: 12 }) }), {
    nil: undefined,
    freq: 3
  })
}).map(({ batches, cancel, maxRuns }) => ({
  maxRuns,
  batches,
  cancel: cancel === undefined
    ? undefined
    : { batch: cancel.batch % batches.length, at: cancel.ticks * TICK + CANCEL_BIT }
}))

/** Each input's name, `b<batch>-<index>`, and how long its run lasts: its own bit above bits 0 and 1. */
const runsOf = (scenario: Scenario) => {
  let next = 0
  return scenario.batches.map((batch, b) =>
    batch.inputs.map((ticks, i) => ({ name: `b${b}-${i}`, duration: ticks * TICK + 2 ** (2 + next++) }))
  )
}

// -----------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------

/**
 * When each run starts. A batch, once made, asks for a slot for each of its
 * first `concurrency` inputs in order, then for its next input each time one
 * of its runs ends; a slot that frees goes to the request first in line, or
 * stays free. A cancelled batch's runs end at once, its requests leave the
 * line, and it asks for nothing more.
 */
const predict = (scenario: Scenario): ReadonlyMap<string, number> => {
  const runs = runsOf(scenario)
  const started = new Map<string, number>()
  const line: Array<readonly [number, number]> = []
  const running: Array<{ readonly batch: number; readonly input: number; readonly end: number }> = []
  const next = scenario.batches.map(() => 0)
  const cancelled = new Set<number>()
  let free = scenario.maxRuns

  const start = (batch: number, input: number, now: number) => {
    started.set(runs[batch]![input]!.name, now)
    running.push({ batch, input, end: now + runs[batch]![input]!.duration })
  }
  const ask = (batch: number, now: number) => {
    if (cancelled.has(batch) || next[batch]! >= runs[batch]!.length) return
    const input = next[batch]!++
    if (free > 0) {
      free--
      start(batch, input, now)
    } else {
      line.push([batch, input])
    }
  }
  const release = (now: number) => {
    const first = line.shift()
    if (first === undefined) free++
    else start(first[0], first[1], now)
  }
  const cancel = (batch: number, now: number) => {
    cancelled.add(batch)
    for (let i = line.length - 1; i >= 0; i--) if (line[i]![0] === batch) line.splice(i, 1)
    for (let i = running.length - 1; i >= 0; i--) {
      if (running[i]!.batch !== batch) continue
      running.splice(i, 1)
      release(now)
    }
  }

  // batch b is made at b ms, before anything ends or is cancelled
  scenario.batches.forEach((batch, b) => {
    for (let i = 0; i < Math.min(batch.concurrency, batch.inputs.length); i++) ask(b, b)
  })
  let cancellation = scenario.cancel
  while (running.length > 0 || cancellation !== undefined) {
    running.sort((x, y) => x.end - y.end)
    const first = running[0]
    if (cancellation !== undefined && (first === undefined || cancellation.at < first.end)) {
      cancel(cancellation.batch, cancellation.at)
      cancellation = undefined
    } else if (first !== undefined) {
      running.shift()
      release(first.end)
      ask(first.batch, first.end)
    }
  }
  return started
}

// -----------------------------------------------------------------------------
// Running a scenario
// -----------------------------------------------------------------------------

const run = (scenario: Scenario) =>
  Effect.gen(function*() {
    const runs = runsOf(scenario).flat()
    const durations = new Map(runs.map((run) => [run.name, run.duration]))
    const origin = yield* Clock.currentTimeMillis
    const advanceTo = (time: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => TestClock.adjust(origin + time - now))
    const started = new Map<string, number>()
    // a model whose answer to input `b<batch>-<index>` takes that run's time, and that notes when it was asked
    const scripted = yield* ScriptedModel.make((request) => {
      const input = request.messages.find((message) => message.role === "user")!.content
      return { text: `done: ${input}`, latency: durations.get(input)! }
    })
    const noteStart = (request: LanguageModel.GenerateRequest) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const input = request.messages.find((message) => message.role === "user")!.content
        started.set(input, now - origin)
      })
    const model: LanguageModel.Service = {
      model: scripted.model,
      generate: (request) => Effect.zipRight(noteStart(request), scripted.generate(request)),
      stream: (request) => Stream.unwrap(Effect.as(noteStart(request), scripted.stream(request)))
    }
    const agent = yield* Agent.make({
      name: "worker",
      instructions: "",
      model,
      policy: { retry: false, modelTimeout: Duration.infinity }
    })
    const served = yield* Registry.runnable(Registry.make({ agents: [agent] }), "worker")

    const scope = yield* Scope.make()
    const batches = yield* Batches.make({
      drain: yield* Drain.make,
      store: yield* BatchStore.makeMemory,
      maxRuns: scenario.maxRuns,
      batches: 100,
      bytes: Infinity
    }).pipe(Scope.extend(scope))
    const ids: Array<string> = []
    for (const [b, batch] of scenario.batches.entries()) {
      yield* advanceTo(b)
      const inputs = batch.inputs.map((_, i) => `b${b}-${i}`)
      ids.push((yield* batches.start(served, inputs, batch.concurrency)).id)
    }
    if (scenario.cancel !== undefined) {
      yield* advanceTo(scenario.cancel.at)
      yield* batches.cancel(ids[scenario.cancel.batch]!)
    }
    yield* advanceTo(HORIZON)
    const ended = yield* Effect.forEach(ids, (id) => batches.get(id, false))
    yield* Scope.close(scope, Exit.void)
    return { started, ended }
  })

describe("AgentServer batches properties", () => {
  it.effect(
    "random batches sharing maxRuns slots: 1. each run starts when the model says (first come first served, " +
      "never more than maxRuns nor a batch's concurrency at once), 2. a cancelled batch starts nothing more, " +
      "3. every other batch completes",
    () =>
      checkProperty(scenarios, (scenario) =>
        Effect.gen(function*() {
          const { ended, started } = yield* run(scenario)
          const predicted = predict(scenario)
          // 1 and 2: the same runs started, each at its time
          expect(Object.fromEntries(started), "1. the start of every run").toEqual(Object.fromEntries(predicted))
          // 3. each batch ended: completed with every run done, or cancelled
          ended.forEach((batch, b) => {
            const wasCancelled = scenario.cancel?.batch === b && batch.status === "cancelled"
            if (wasCancelled) return
            expect(batch.status, `3. batch ${b}`).toBe("completed")
            expect(batch.progress.done, `3. batch ${b}'s runs`).toBe(scenario.batches[b]!.inputs.length)
          })
        }))
  )
})
