/**
 * Cancellation properties of agent runs, in TestClock time: random scripts of
 * steps (model latency, streamed text, concurrent tool calls that hold a
 * resource and sleep) interrupted at random points.
 *
 * 200 cases each (`FC_NUM_RUNS` for more); reproduce a failure with the seed
 * and path fast-check prints:
 * `FC_SEED=<seed> FC_PATH=<path> npx vitest run test/Agent.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, FastCheck as fc, Fiber, Schema, Stream, TestClock } from "effect"
import type { RunEvent } from "effect-agents"
import { Agent, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"
import { checkProperty } from "./fixtures/property.js"

interface ToolStep {
  readonly latency: number
  readonly words: number
  readonly chunkInterval: number | undefined
  /** How long each tool call of the step takes. */
  readonly calls: ReadonlyArray<number>
}

interface Script {
  readonly steps: ReadonlyArray<ToolStep>
  readonly answer: { readonly latency: number; readonly words: number }
}

const scripts: fc.Arbitrary<Script> = fc.record({
  steps: fc.array(
    fc.record({
      latency: fc.integer({ min: 0, max: 30 }),
      words: fc.integer({ min: 0, max: 3 }),
      chunkInterval: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined, freq: 3 }),
      calls: fc.array(fc.integer({ min: 2, max: 60 }), { minLength: 1, maxLength: 4 })
    }),
    { minLength: 1, maxLength: 3 }
  ),
  answer: fc.record({ latency: fc.integer({ min: 0, max: 30 }), words: fc.integer({ min: 1, max: 3 }) })
})

const text = (words: number) => Array.from({ length: words }, (_, i) => `word${i}`).join(" ")

const turnsOf = (script: Script): Array<ScriptedModel.Turn> => [
  ...script.steps.map((step, s): ScriptedModel.Turn => ({
    latency: step.latency,
    text: text(step.words),
    chunkInterval: step.chunkInterval,
    toolCalls: step.calls.map((ms, c) => ({ name: "work", arguments: { ms, call: `${s}.${c}` } }))
  })),
  { latency: script.answer.latency, text: text(script.answer.words) }
]

/** The last instant anything can happen in a script (streamed text included), with room to spare. */
const durationOf = (script: Script) =>
  script.steps.reduce(
    (total, step) => total + step.latency + 5 * step.words + step.calls.reduce((a, b) => a + b, 0),
    1 + script.answer.latency + 5 * script.answer.words
  )

/** What the tool calls did, by call id. */
interface Probe {
  readonly started: Array<string>
  readonly completed: Array<string>
  readonly finalized: Array<{ readonly call: string; readonly interrupted: boolean }>
}

const makeAgent = (script: Script, toolConcurrency: number | "unbounded") =>
  Effect.gen(function*() {
    const probe: Probe = { started: [], completed: [], finalized: [] }
    const work = Tool.make("work", {
      description: "Works for a while",
      parameters: { ms: Schema.Number, call: Schema.String },
      handler: ({ call, ms }) =>
        Effect.gen(function*() {
          yield* Effect.acquireRelease(
            Effect.sync(() => probe.started.push(call)),
            (_, exit) => Effect.sync(() => probe.finalized.push({ call, interrupted: Exit.isInterrupted(exit) }))
          )
          yield* Effect.sleep(ms)
          probe.completed.push(call)
          return `${call} done`
        }).pipe(Effect.scoped)
    })
    const model = yield* ScriptedModel.make(turnsOf(script))
    const agent = yield* Agent.make({
      name: "agent",
      instructions: "",
      model,
      toolkit: Toolkit.make(work),
      toolConcurrency,
      // nothing fails here: timeouts would only leave sleeps for the TestClock to step through
      policy: {
        retry: false,
        modelTimeout: Duration.infinity,
        toolTimeout: Duration.infinity,
        runTimeout: Duration.infinity
      }
    })
    return { agent, model, probe }
  })

/** Every tool call that started was finalized exactly once; those in flight at `stop` were interrupted. */
const expectToolCallsFinalized = (probe: Probe, inFlightAtStop: ReadonlyArray<string>) => {
  expect(probe.finalized.map(({ call }) => call).sort(), "every started tool call is finalized once").toEqual(
    [...probe.started].sort()
  )
  for (const call of inFlightAtStop) {
    expect(probe.finalized.find((f) => f.call === call)?.interrupted, `tool call ${call} was interrupted`).toBe(true)
    expect(probe.completed, `tool call ${call} never completes`).not.toContain(call)
  }
}

/** Beyond the end of every script. */
const HORIZON = 10_000

describe("agent cancellation properties", () => {
  it.effect(
    "4. an Agent.stream interrupted at a random point emits no event after it; its in-flight tool calls are interrupted",
    () =>
      checkProperty(
        fc.tuple(
          scripts,
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.constantFrom<number | "unbounded">(1, 2, "unbounded")
        ),
        ([script, point, toolConcurrency]) =>
          Effect.gen(function*() {
            const { agent, model, probe } = yield* makeAgent(script, toolConcurrency)
            const stopAt = 1 + Math.floor(point * durationOf(script))
            const start = yield* Clock.currentTimeMillis
            let stopped = false
            const received: Array<{ readonly event: RunEvent.RunEvent; readonly at: number; readonly late: boolean }> =
              []
            const consumer = yield* Effect.fork(
              agent.stream("go").pipe(
                Stream.runForEach((event) =>
                  Effect.map(Clock.currentTimeMillis, (now) => {
                    received.push({ event, at: now - start, late: stopped })
                  })
                )
              )
            )
            yield* TestClock.adjust(stopAt)
            stopped = true
            const requestsAtStop = (yield* model.requests).length
            const startedAtStop = [...probe.started]
            const completedAtStop = [...probe.completed]
            const inFlightAtStop = probe.started.filter((call) => !probe.completed.includes(call))
            const interrupting = yield* Effect.fork(Fiber.interrupt(consumer))
            yield* TestClock.adjust(HORIZON)
            const exit = interrupting.unsafePoll()
            expect(exit, "the interruption returned").not.toBeNull()
            if (exit === null || Exit.isFailure(exit)) return

            expect(received.filter(({ late }) => late), "no event after the interruption").toEqual([])
            expect(received.every(({ at }) => at <= stopAt)).toBe(true)
            const finished = received.at(-1)?.event._tag === "RunCompleted"
            expect(Exit.isInterrupted(exit.value) || (Exit.isSuccess(exit.value) && finished)).toBe(true)
            // the run stopped with the stream: no tool call or model call after the interruption
            expect(probe.started, "no tool call starts after the interruption").toEqual(startedAtStop)
            expect((yield* model.requests).length, "no model call after the interruption").toBe(requestsAtStop)
            expectToolCallsFinalized(probe, inFlightAtStop)
            // a tool call was reported completed only if it completed before the interruption
            const reported = received.flatMap(({ event }) =>
              event._tag === "ToolCallCompleted" ? [(JSON.parse(event.call.arguments) as { call: string }).call] : []
            )
            for (const call of reported) expect(completedAtStop).toContain(call)
          })
      ),
    { concurrent: true }
  )

  it.effect(
    "5. an agent run interrupted during a tool call never calls the model again",
    () =>
      checkProperty(fc.tuple(scripts, fc.nat(), fc.nat()), ([script, stepPick, offsetPick]) =>
        Effect.gen(function*() {
          const { agent, model, probe } = yield* makeAgent(script, "unbounded")
          // the step interrupted, and an instant while its tool calls run (they start together after the
          // model's latency; the step lasts as long as its longest call)
          const k = stepPick % script.steps.length
          const toolsStart = script.steps.slice(0, k + 1).reduce(
            (time, step, i) => time + step.latency + (i < k ? Math.max(...step.calls) : 0),
            0
          )
          const longest = Math.max(...script.steps[k]!.calls)
          const stopAt = toolsStart + 1 + (offsetPick % (longest - 1))

          const run = yield* Effect.fork(agent.run("go"))
          yield* TestClock.adjust(stopAt)
          const inFlightAtStop = probe.started.filter((call) => !probe.completed.includes(call))
          expect(inFlightAtStop.length, "a tool call is in flight").toBeGreaterThan(0)
          expect(inFlightAtStop.every((call) => call.startsWith(`${k}.`))).toBe(true)
          const requestsAtStop = (yield* model.requests).length
          expect(requestsAtStop).toBe(k + 1)

          const interrupting = yield* Effect.fork(Fiber.interrupt(run))
          yield* TestClock.adjust(HORIZON)
          const exit = interrupting.unsafePoll()
          expect(exit, "the interruption returned").not.toBeNull()
          if (exit === null || Exit.isFailure(exit)) return
          expect(Exit.isInterrupted(exit.value), "the run ends interrupted").toBe(true)
          expect((yield* model.requests).length, "the model is never called again").toBe(requestsAtStop)
          expectToolCallsFinalized(probe, inFlightAtStop)
        })),
    { concurrent: true }
  )
})
