import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Cause, Clock, Context, Deferred, Duration, Effect, Exit, Fiber, FiberRef, Ref, TestClock } from "effect"
import { TaskGroup } from "effect-agents"

class Boom extends Error {
  constructor(readonly label: string) {
    super(label)
  }
}

const labels = (cause: Cause.Cause<unknown>) => [
  ...Array.from(Cause.failures(cause), (error) => (error instanceof Boom ? error.label : String(error))),
  ...Array.from(Cause.defects(cause), (defect) => `die:${defect instanceof Boom ? defect.label : String(defect)}`)
]

const failAfter = (ms: number, label: string) => Effect.zipRight(Effect.sleep(ms), Effect.fail(new Boom(label)))

/** Runs `effect` in a fiber, moves the clock by `ms`, and returns the fiber's exit. */
const exitAfter = <A, E>(effect: Effect.Effect<A, E>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(ms)
    return yield* Fiber.await(fiber)
  })

describe("TaskGroup.run", () => {
  it.effect("ends when the body and every task have ended, with the body's value", () =>
    Effect.gen(function*() {
      const program = TaskGroup.run((group) =>
        Effect.gen(function*() {
          const a = yield* group.fork(Effect.as(Effect.sleep(100), 42))
          yield* Effect.sleep(150)
          const b = yield* group.fork(Effect.as(Effect.sleep(200), 11)) // forked while `a` already ended
          return [a, b] as const
        })
      )
      const fiber = yield* Effect.fork(Effect.timed(program))
      yield* TestClock.adjust(349)
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(1)
      const [duration, [a, b]] = yield* Fiber.join(fiber)
      expect(Duration.toMillis(duration)).toBe(350)
      expect([yield* a.join, yield* b.join]).toEqual([42, 11])
    }))

  it.effect("waits for tasks the body did not join", () =>
    Effect.gen(function*() {
      const done = yield* Ref.make<Array<string>>([])
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.as(group.fork(Effect.zipRight(Effect.sleep(500), Ref.update(done, (d) => [...d, "task"]))), "body")
        ),
        500
      )
      expect(exit).toStrictEqual(Exit.succeed("body"))
      expect(yield* Ref.get(done)).toEqual(["task"])
    }))

  it.effect("a task interrupted alone is not a failure: its join is interrupted and the group goes on", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const slow = yield* group.fork(Effect.as(Effect.sleep(1000), 42))
            yield* Effect.sleep(150)
            yield* slow.interrupt
            const fast = yield* group.fork(Effect.as(Effect.sleep(200), 11))
            const joined = yield* Effect.exit(slow.join)
            expect(Exit.isInterrupted(joined)).toBe(true)
            return yield* fast.join
          })
        ),
        350
      )
      expect(exit).toStrictEqual(Exit.succeed(11))
    }))

  it.effect("the first failure of a task interrupts its siblings and the body; the Cause holds it once", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<Array<string>>([])
      const note = (entry: string) => Ref.update(log, (entries) => [...entries, entry])
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(failAfter(100, "boom"))
            yield* group.fork(
              Effect.sleep(5000).pipe(
                Effect.zipRight(note("sibling done")),
                Effect.onInterrupt(() => note("sibling cancelled"))
              )
            )
            yield* Effect.sleep(10000).pipe(Effect.onInterrupt(() => note("body cancelled")))
            yield* note("body done")
          })
        ),
        100
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      expect(labels(exit.cause)).toEqual(["boom"])
      expect(Cause.isInterrupted(exit.cause)).toBe(false)
      expect((yield* Ref.get(log)).toSorted()).toEqual(["body cancelled", "sibling cancelled"])
      expect(yield* Effect.flip(Effect.failCause(exit.cause))).toStrictEqual(new Boom("boom"))
    }))

  it.effect("a task under Effect.timeout is interrupted at the first failure, not when its timeout fires", () =>
    Effect.gen(function*() {
      // effect 3.22's concurrent Effect.all waits for the timeout here: 2 minutes, not 100 ms
      const exit = yield* exitAfter(
        TaskGroup.forEach([
          Effect.never.pipe(Effect.timeoutFail({ duration: "2 minutes", onTimeout: () => new Boom("timeout") })),
          failAfter(100, "first")
        ], (effect) => effect),
        100
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails at 100 ms")
      expect(labels(exit.cause)).toEqual(["first"])
    }))

  it.effect("three tasks failing at once: every failure is kept, in the order they happened", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(Effect.uninterruptible(failAfter(300, "third")))
            yield* group.fork(failAfter(100, "first"))
            yield* group.fork(Effect.uninterruptible(failAfter(200, "second")))
          })
        ),
        300
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["first", "second", "third"])
      expect(yield* Effect.flip(Effect.failCause(exit.cause))).toStrictEqual(new Boom("first"))
    }))

  it.effect("the body's failure interrupts every task", () =>
    Effect.gen(function*() {
      const cancelled = yield* Ref.make(0)
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            for (let i = 0; i < 3; i++) {
              yield* group.fork(Effect.never.pipe(Effect.onInterrupt(() => Ref.update(cancelled, (n) => n + 1))))
            }
            return yield* failAfter(100, "body")
          })
        ),
        100
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["body"])
      expect(yield* Ref.get(cancelled)).toBe(3)
    }))

  it.effect("failures raised while cancelling are kept: an uninterruptible task, a dying finalizer, the body", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(failAfter(100, "first"))
            yield* group.fork(Effect.uninterruptible(failAfter(400, "uninterruptible")))
            yield* group.fork(Effect.never.pipe(Effect.onInterrupt(() => Effect.die(new Boom("finalizer")))))
            // the body turns its interruption into a failure
            yield* Effect.uninterruptibleMask((restore) =>
              restore(Effect.never).pipe(Effect.catchAllCause(() => Effect.fail(new Boom("body"))))
            )
          })
        ),
        400
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause).toSorted()).toEqual(["body", "die:finalizer", "first", "uninterruptible"])
      expect(Cause.isInterrupted(exit.cause)).toBe(false)
    }))

  it.effect("interrupting the run interrupts everything and returns after every finalizer; the run is interrupted only", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make<Array<string>>([])
      const note = (entry: string) => Ref.update(finalized, (entries) => [...entries, entry])
      const fiber = yield* Effect.fork(TaskGroup.run((group) =>
        Effect.gen(function*() {
          for (let i = 0; i < 5; i++) {
            yield* group.fork(Effect.never.pipe(Effect.ensuring(note(`task ${i}`))))
          }
          // a finalizer that takes time: the run waits for it
          yield* group.fork(Effect.never.pipe(Effect.ensuring(Effect.zipRight(Effect.sleep(1000), note("slow")))))
          yield* Effect.never.pipe(Effect.ensuring(note("body")))
        })
      ))
      yield* TestClock.adjust(100)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust(999)
      expect(interrupting.unsafePoll()).toBeNull()
      yield* TestClock.adjust(1)
      const exit = yield* Fiber.join(interrupting)
      expect(Exit.isInterrupted(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.isInterruptedOnly(exit.cause)).toBe(true)
      expect((yield* Ref.get(finalized)).toSorted()).toEqual([
        "body",
        "slow",
        "task 0",
        "task 1",
        "task 2",
        "task 3",
        "task 4"
      ])
    }))

  it.effect("interrupted from outside, a body that fails instead: the Cause holds the failure and the interruption", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        TaskGroup.run(() =>
          Effect.uninterruptibleMask((restore) =>
            restore(Effect.never).pipe(Effect.catchAllCause(() => Effect.fail(new Boom("instead"))))
          )
        )
      )
      yield* TestClock.adjust(100)
      const exit = yield* Fiber.interrupt(fiber)
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["instead"])
      expect(Cause.isInterrupted(exit.cause)).toBe(true)
    }))

  it.effect("Effect.timeout around a run interrupts it and waits for its finalizers", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const fiber = yield* Effect.fork(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1))))
            yield* group.fork(Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1))))
            return "never"
          })
        ).pipe(Effect.timeout("1 second"), Effect.flip)
      )
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("TimeoutException")
      expect(yield* Ref.get(finalized)).toBe(2)
    }))

  it.effect("a fork after the group began to fail is refused, and the refused effect never runs", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(false)
      const refused = yield* Deferred.make<TaskGroup.TaskGroupClosed>()
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(failAfter(100, "boom"))
            // an uninterruptible task that forks during the cancellation
            yield* group.fork(Effect.uninterruptible(Effect.gen(function*() {
              yield* Effect.sleep(200)
              const outcome = yield* Effect.flip(group.fork(Ref.set(ran, true)))
              yield* Deferred.succeed(refused, outcome)
              return yield* outcome // failing with the refusal adds no failure
            })))
          })
        ),
        300
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["boom"])
      const closed = yield* Deferred.await(refused)
      expect(closed).toStrictEqual(new TaskGroup.TaskGroupClosed({ reason: "failing" }))
      expect(closed.message).toBe("the task group refused a task: a task of the group failed")
      yield* TestClock.adjust(1000)
      expect(yield* Ref.get(ran)).toBe(false)
    }))

  it.effect("a fork after the run ended is refused", () =>
    Effect.gen(function*() {
      const ran = yield* Ref.make(false)
      const group = yield* TaskGroup.run((group) => Effect.succeed(group))
      const error = yield* Effect.flip(group.fork(Ref.set(ran, true)))
      expect(error).toStrictEqual(new TaskGroup.TaskGroupClosed({ reason: "ended" }))
      yield* Effect.yieldNow()
      expect(yield* Ref.get(ran)).toBe(false)
    }))

  it.effect("tasks fork siblings after the body returned; the run waits for them", () =>
    Effect.gen(function*() {
      const done = yield* Ref.make(0)
      const exit = yield* exitAfter(
        TaskGroup.run((group) => {
          const spawn = (depth: number): Effect.Effect<void, TaskGroup.TaskGroupClosed> =>
            Effect.gen(function*() {
              yield* Effect.sleep(100)
              yield* Ref.update(done, (n) => n + 1)
              if (depth > 0) {
                yield* group.fork(spawn(depth - 1))
                yield* group.fork(spawn(depth - 1))
              }
            })
          return Effect.as(group.fork(spawn(3)), "body returned")
        }),
        400
      )
      expect(exit).toStrictEqual(Exit.succeed("body returned"))
      expect(yield* Ref.get(done)).toBe(1 + 2 + 4 + 8)
    }))

  it.effect("hydras and Hercules: tasks forking while one fails; the failure is the only one", () =>
    Effect.gen(function*() {
      const hydras = yield* Ref.make(0)
      const exit = yield* exitAfter(
        TaskGroup.run((group) => {
          const hydra: Effect.Effect<void, TaskGroup.TaskGroupClosed> = Effect.gen(function*() {
            yield* Ref.update(hydras, (n) => n + 1)
            yield* Effect.sleep(10)
            yield* group.fork(hydra)
            yield* group.fork(hydra)
          })
          const hercules = Effect.gen(function*() {
            while ((yield* Ref.get(hydras)) < 10) yield* Effect.sleep(15)
            return yield* Effect.fail(new Boom("beheaded"))
          })
          return Effect.zipRight(group.fork(hydra), group.fork(hercules))
        }),
        100
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["beheaded"])
      expect(yield* Ref.get(hydras)).toBeGreaterThanOrEqual(10)
    }))

  it.effect("nested groups: the inner failures reach the outer Cause once each, never wrapped", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.run((outer) =>
          Effect.gen(function*() {
            yield* outer.fork(Effect.uninterruptible(failAfter(100, "outer task")))
            yield* outer.fork(TaskGroup.run((inner) =>
              Effect.gen(function*() {
                yield* inner.fork(failAfter(50, "inner task"))
                yield* inner.fork(Effect.uninterruptible(failAfter(80, "inner uninterruptible")))
              })
            ))
          })
        ),
        100
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["inner task", "inner uninterruptible", "outer task"])
    }))

  it.effect("a failed task joined and re-raised by the body counts once", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const task = yield* group.fork(failAfter(100, "once"))
            return yield* Effect.uninterruptible(task.join)
          }), { onFailure: "continue" }),
        100
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["once"])
    }))

  it.effect("a failure handled around a run does not leak: the caller goes on, not interrupted", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const caught = yield* TaskGroup.run((group) => Effect.zipRight(group.fork(failAfter(10, "x")), Effect.never))
          .pipe(Effect.catchAll((error) => Effect.succeed(`caught ${error.message}`)))
        yield* Effect.sleep(100) // would be interrupted if the caller was
        // an inner group's failure handled inside an outer body stays there
        const outer = yield* TaskGroup.run((group) =>
          Effect.gen(function*() {
            const sibling = yield* group.fork(Effect.as(Effect.sleep(50), "sibling"))
            const inner = yield* TaskGroup.run((inner) => Effect.zipRight(inner.fork(failAfter(10, "y")), Effect.never))
              .pipe(Effect.catchAll(() => Effect.succeed("inner handled")))
            return [inner, yield* sibling.join]
          })
        )
        return [caught, ...outer]
      })
      const exit = yield* exitAfter(program, 200)
      expect(exit).toStrictEqual(Exit.succeed(["caught x", "inner handled", "sibling"]))
    }))

  it.effect("a task sees the services and FiberRefs of the fiber that forked it, as they were at the fork", () =>
    Effect.gen(function*() {
      class Tenant extends Context.Tag("Tenant")<Tenant, string>() {}
      const level = FiberRef.unsafeMake("default")
      const seen = Effect.gen(function*() {
        yield* Effect.sleep(100)
        return [yield* Tenant, yield* FiberRef.get(level)] as const
      })
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const a = yield* group.fork(seen).pipe(
              Effect.provideService(Tenant, "acme"),
              Effect.locally(level, "debug")
            )
            const b = yield* Effect.gen(function*() {
              const task = yield* group.fork(seen)
              yield* FiberRef.set(level, "changed after the fork")
              return task
            }).pipe(Effect.provideService(Tenant, "globex"), Effect.locally(level, "info"))
            return [yield* a.join, yield* b.join]
          })
        ),
        100
      )
      expect(exit).toStrictEqual(Exit.succeed([["acme", "debug"], ["globex", "info"]]))
    }))

  it.effect("the body's FiberRef changes are kept, as if it ran inline", () =>
    Effect.gen(function*() {
      const level = FiberRef.unsafeMake("before")
      yield* TaskGroup.run(() => FiberRef.set(level, "set by the body"))
      expect(yield* FiberRef.get(level)).toBe("set by the body")
    }))

  it.effect("the tasks' error types reach the run's error type", () =>
    Effect.gen(function*() {
      class A extends Error {
        readonly _tag = "A"
      }
      class B extends Error {
        readonly _tag = "B"
      }
      const program = TaskGroup.run((group) =>
        Effect.gen(function*() {
          yield* group.fork(Effect.fail(new A()))
          const task = yield* group.fork(Effect.fail(new B()).pipe(Effect.as(1)))
          expectTypeOf(task).toEqualTypeOf<TaskGroup.Task<number, B>>()
          return "done"
        })
      )
      expectTypeOf(program).toEqualTypeOf<Effect.Effect<string, A | B | TaskGroup.TaskGroupClosed>>()
      const error = yield* Effect.flip(program)
      expect(error).toBeInstanceOf(A)

      // a helper typed with the errors its tasks may have takes a run's group (TaskGroup<unknown>)
      const helper = (group: TaskGroup.TaskGroup<A>) =>
        group.fork(Effect.fail(new A())).pipe(Effect.asVoid, Effect.catchTag("TaskGroupClosed", () => Effect.void))
      expectTypeOf(TaskGroup.run(helper)).toEqualTypeOf<Effect.Effect<void, A>>()
      // a scoped group only takes the tasks whose errors it declares
      const scoped = yield* Effect.scoped(Effect.map(TaskGroup.make<A>(), (group) => group))
      // @ts-expect-error B is not a failure the group declares
      void scoped.fork(Effect.fail(new B()))
      expectTypeOf(scoped.join).toEqualTypeOf<Effect.Effect<void, A>>()
    }))
})

describe("concurrency", () => {
  it.effect("bounds the tasks running at once; a freed slot goes to the next task at once, in fork order", () =>
    Effect.gen(function*() {
      const starts = yield* Ref.make<Array<readonly [string, number]>>([])
      const job = (name: string, ms: number) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* Ref.update(starts, (s) => [...s, [name, now] as const])
          yield* Effect.sleep(ms)
        })
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.forEach(
            [["a", 300], ["b", 100], ["c", 100], ["d", 50], ["e", 100]] as const,
            ([name, ms]) => group.fork(job(name, ms))
          ), { concurrency: 2 }),
        400
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(yield* Ref.get(starts)).toEqual([["a", 0], ["b", 0], ["c", 100], ["d", 200], ["e", 250]])
    }))

  it.effect("tasks still waiting never start once a task failed", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<Array<number>>([])
      const exit = yield* exitAfter(
        TaskGroup.forEach(
          [0, 1, 2, 3, 4, 5],
          (i) =>
            Effect.zipRight(
              Ref.update(started, (s) => [...s, i]),
              i === 1 ? failAfter(100, "one") : Effect.sleep(100)
            ),
          { concurrency: 2 }
        ),
        1000
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["one"])
      expect(yield* Ref.get(started)).toEqual([0, 1])
    }))

  it.effect("an interrupted waiting task gives up its turn", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<Array<string>>([])
      const job = (name: string) => Effect.zipRight(Ref.update(started, (s) => [...s, name]), Effect.sleep(100))
      const exit = yield* exitAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            yield* group.fork(job("a"))
            const b = yield* group.fork(job("b"))
            yield* group.fork(job("c"))
            yield* b.interrupt
          }), { concurrency: 1 }),
        200
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(yield* Ref.get(started)).toEqual(["a", "c"])
    }))
})

/** A log of what happened when, in TestClock time: `"what@ms"`. */
const makeLog = Effect.map(Ref.make<Array<string>>([]), (ref) => ({
  note: (what: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(ref, (log) => [...log, `${what}@${now}`])),
  get: Ref.get(ref)
}))

/** Runs `effect` in a fiber and moves the clock by `ms`: its exit, or `null` when it is still running. */
const pollAfter = <A, E>(effect: Effect.Effect<A, E>, ms: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(ms)
    return fiber.unsafePoll()
  })

describe("concurrency: a bound never deadlocks", () => {
  it.effect("the issue's snippet: the body joins a task with concurrency 1 and the run ends after 100 ms", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        TaskGroup.run((group) => Effect.flatMap(group.fork(Effect.sleep("100 millis")), (task) => task.join), {
          concurrency: 1
        })
      )
      yield* TestClock.adjust(99)
      expect(fiber.unsafePoll(), "running at 99 ms").toBeNull()
      yield* TestClock.adjust(1)
      expect(fiber.unsafePoll(), "ended at 100 ms").toStrictEqual(Exit.void)
    }))

  it.effect("five 100 ms tasks with concurrency 5 end at 100 ms", () =>
    Effect.gen(function*() {
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const tasks = []
            for (let i = 0; i < 5; i++) tasks.push(yield* group.fork(Effect.as(Effect.sleep(100), i)))
            return yield* Effect.forEach(tasks, (task) => task.join)
          }), { concurrency: 5 }),
        100
      )
      expect(exit).toStrictEqual(Exit.succeed([0, 1, 2, 3, 4]))
    }))

  it.effect("the body holds no slot: with concurrency 2, two tasks run while the body sleeps", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const job = (name: string) => Effect.zipRight(log.note(name), Effect.sleep(100))
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            for (const name of ["a", "b", "c"]) yield* group.fork(job(name))
            yield* Effect.sleep(300)
            yield* log.note("body")
          }), { concurrency: 2 }),
        300
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["a@0", "b@0", "c@100", "body@300"])
    }))
})

describe("onFailure: continue", () => {
  it.effect("keeps going when tasks fail and fails at the end with every failure", () =>
    Effect.gen(function*() {
      const done = yield* Ref.make<Array<string>>([])
      const exit = yield* exitAfter(
        TaskGroup.forEach(
          ["a", "b", "c", "d"],
          (name, i) =>
            i % 2 === 0
              ? failAfter(100 * (i + 1), name)
              : Effect.zipRight(Effect.sleep(100 * (i + 1)), Ref.update(done, (d) => [...d, name])),
          { onFailure: "continue" }
        ),
        400
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["a", "c"])
      expect(yield* Ref.get(done)).toEqual(["b", "d"])
    }))

  it.effect("each task's outcome stays available through await; the run still reports the failure", () =>
    Effect.gen(function*() {
      const outcomes = yield* Ref.make<Array<Exit.Exit<number, Boom>>>([])
      const exit = yield* TaskGroup.run((group) =>
        Effect.gen(function*() {
          const tasks: Array<TaskGroup.Task<number, Boom>> = [
            yield* group.fork(Effect.succeed(1)),
            yield* group.fork(Effect.fail(new Boom("two"))),
            yield* group.fork(Effect.succeed(3))
          ]
          for (const task of tasks) {
            const outcome = yield* task.await
            yield* Ref.update(outcomes, (all) => [...all, outcome])
          }
        }), { onFailure: "continue" }).pipe(Effect.exit)
      if (Exit.isSuccess(exit)) return expect.fail("the run fails at the end")
      expect(labels(exit.cause)).toEqual(["two"])
      const [one, two, three] = yield* Ref.get(outcomes)
      expect([one, three]).toStrictEqual([Exit.succeed(1), Exit.succeed(3)])
      expect(Exit.isFailure(two!) && labels(two.cause)).toEqual(["two"])
    }))
})

describe("TaskGroup.forEach", () => {
  it.effect("collects the values in order", () =>
    Effect.gen(function*() {
      const exit = yield* exitAfter(
        TaskGroup.forEach([300, 100, 200], (ms, i) => Effect.as(Effect.sleep(ms), `${i}:${ms}`)),
        300
      )
      expect(exit).toStrictEqual(Exit.succeed(["0:300", "1:100", "2:200"]))
      expect(yield* TaskGroup.forEach([], Effect.succeed)).toEqual([])
    }))

  it.effect("a task that interrupts itself makes the whole interrupted, not failed", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        TaskGroup.forEach([1, 2], (i) => (i === 2 ? Effect.interrupt : Effect.succeed(i)))
      )
      expect(Exit.isInterrupted(exit)).toBe(true)
    }))
})

describe("TaskGroup.make", () => {
  it.scoped("a group as a resource: join waits for the tasks and reports every failure", () =>
    Effect.gen(function*() {
      const group = yield* TaskGroup.make<Boom>({ onFailure: "continue" })
      const a = yield* group.fork(Effect.as(Effect.sleep(100), "a"))
      yield* group.fork(failAfter(50, "b"))
      const fiber = yield* Effect.fork(Effect.exit(group.join))
      yield* TestClock.adjust(100)
      const exit = yield* Fiber.join(fiber)
      if (Exit.isSuccess(exit)) return expect.fail("join fails")
      expect(labels(exit.cause)).toEqual(["b"])
      expect(yield* a.join).toBe("a")
    }))

  it.effect("closing the scope interrupts the tasks still running and waits for them; forks are then refused", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const group = yield* Effect.scoped(
        Effect.gen(function*() {
          const group = yield* TaskGroup.make()
          const started = yield* Deferred.make<void>()
          yield* group.fork(
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.never),
              Effect.ensuring(Ref.update(finalized, (n) => n + 1))
            )
          )
          yield* Deferred.await(started)
          return group
        })
      )
      expect(yield* Ref.get(finalized)).toBe(1)
      expect(yield* Effect.flip(group.fork(Effect.void))).toStrictEqual(
        new TaskGroup.TaskGroupClosed({ reason: "ended" })
      )
    }))
})

describe("scale", () => {
  it.effect("10 000 tasks in one group", () =>
    Effect.gen(function*() {
      const n = 10_000
      const gate = yield* Deferred.make<void>()
      const sum = yield* TaskGroup.run((group) =>
        Effect.gen(function*() {
          const tasks = []
          // every task waits at the gate: 10 000 of them are alive at once
          for (let i = 0; i < n; i++) tasks.push(yield* group.fork(Effect.as(Deferred.await(gate), i)))
          yield* Deferred.succeed(gate, undefined)
          let sum = 0
          for (const task of tasks) sum += yield* task.join
          return sum
        })
      )
      expect(sum).toBe((n * (n - 1)) / 2)
    }))

  it.effect("fail-fast across 10 000 tasks runs every finalizer exactly once", () =>
    Effect.gen(function*() {
      const n = 10_000
      const released = new Uint8Array(n)
      const acquired = yield* Ref.make(0)
      const exit = yield* exitAfter(
        TaskGroup.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
          Effect.scoped(
            Effect.gen(function*() {
              yield* Effect.acquireRelease(Ref.update(acquired, (k) => k + 1), () =>
                Effect.sync(() => {
                  released[i]! += 1
                }))
              yield* i === n / 2 ? failAfter(5, "one of many") : Effect.never
            })
          )),
        5
      )
      if (Exit.isSuccess(exit)) return expect.fail("the run fails")
      expect(labels(exit.cause)).toEqual(["one of many"])
      expect(yield* Ref.get(acquired)).toBe(n)
      expect(released.every((count) => count === 1)).toBe(true)
    }))
})
