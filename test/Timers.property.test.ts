/**
 * The model's deadlines (`internal/timers`): every task runs exactly when its
 * deadline passes on the clock, never before, never twice, never once
 * cancelled, whatever the order deadlines are scheduled and cancelled in.
 * Replay a failing case with the seed and path fast-check prints:
 * `FC_SEED=… FC_PATH=… npx vitest run test/Timers.property.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, TestClock } from "effect"
import * as Timers from "../src/internal/timers.js"
import { checkProperty } from "./fixtures/property.js"

/** One step of a scenario: schedule a task, cancel one, or let time pass. */
type Op =
  | { readonly _tag: "schedule"; readonly millis: number }
  | { readonly _tag: "cancel"; readonly which: number }
  | { readonly _tag: "advance"; readonly millis: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ _tag: fc.constant("schedule" as const), millis: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ _tag: fc.constant("cancel" as const), which: fc.nat() }),
  fc.record({ _tag: fc.constant("advance" as const), millis: fc.integer({ min: 1, max: 60 }) })
)

interface Task {
  readonly at: number
  readonly ran: Array<number>
  cancel: () => void
  cancelled: boolean
}

describe("internal/timers", () => {
  it.effect("each task runs once, in the millisecond its deadline passes, unless cancelled before", () =>
    checkProperty(fc.array(op, { maxLength: 60 }), (ops) =>
      Effect.scoped(Effect.gen(function*() {
        const timers = yield* Timers.make
        const clock = yield* Effect.clock
        const start = clock.unsafeCurrentTimeMillis()
        const now = () => clock.unsafeCurrentTimeMillis() - start
        const tasks: Array<Task> = []
        for (const step of ops) {
          switch (step._tag) {
            case "schedule": {
              const task: Task = { at: now() + step.millis, ran: [], cancel: () => {}, cancelled: false }
              task.cancel = timers.schedule(step.millis, () => task.ran.push(now()))
              tasks.push(task)
              // a task due at once runs as soon as the timers' fiber gets a turn
              yield* Effect.yieldNow()
              break
            }
            case "cancel": {
              const task = tasks[step.which % Math.max(1, tasks.length)]
              if (task !== undefined && task.ran.length === 0) {
                task.cancel()
                task.cancelled = true
              }
              break
            }
            case "advance": {
              // the clock stops at each sleep due on the way: each task runs in the millisecond it is due
              yield* TestClock.adjust(step.millis)
            }
          }
        }
        // what is due now runs as soon as the timers' fiber gets a turn
        yield* TestClock.adjust(0)
        for (const task of tasks) {
          expect(task.ran).toEqual(!task.cancelled && task.at <= now() ? [task.at] : [])
        }
      }))))
})
