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

  it.effect("a join chain forked before any task started ends: A joins B joins C, concurrency 1", () =>
    Effect.gen(function*() {
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const tasks: Array<TaskGroup.Task<string>> = []
            const chained = (i: number) =>
              Effect.suspend(() => Effect.map(tasks[i + 1]!.join, (rest) => `${"ABC"[i]}${rest}`))
            tasks.push(yield* group.fork(chained(0)))
            tasks.push(yield* group.fork(chained(1)))
            tasks.push(yield* group.fork(Effect.as(Effect.sleep(100), "C")))
            return yield* tasks[0]!.join
          }), { concurrency: 1 }),
        100
      )
      expect(exit).toStrictEqual(Exit.succeed("ABC"))
    }))

  it.effect("a join chain of four with concurrency 2 ends with the last task", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const tasks: Array<TaskGroup.Task<number>> = []
            const chained = (i: number) =>
              Effect.gen(function*() {
                yield* log.note(`start ${i}`)
                const rest = yield* tasks[i + 1]!.join
                yield* log.note(`end ${i}`)
                return rest + 1
              })
            for (let i = 0; i < 3; i++) tasks.push(yield* group.fork(chained(i)))
            tasks.push(yield* group.fork(Effect.zipRight(log.note("start 3"), Effect.as(Effect.sleep(100), 0))))
            return yield* tasks[0]!.join
          }), { concurrency: 2 }),
        100
      )
      expect(exit).toStrictEqual(Exit.succeed(3))
      expect(yield* log.get).toEqual([
        "start 0",
        "start 1",
        "start 2",
        "start 3",
        "end 2",
        "end 1",
        "end 0"
      ].map((event) => `${event}@${event.startsWith("start") ? 0 : 100}`))
    }))

  it.effect("a task joining a task queued behind many others: they start in fork order, then it goes on", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const job = (name: string) => Effect.zipRight(log.note(name), Effect.sleep(10))
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const last = yield* Deferred.make<TaskGroup.Task<void>>()
            yield* group.fork(
              Effect.gen(function*() {
                yield* log.note("a")
                yield* Effect.flatMap(Deferred.await(last), (task) => task.join)
                yield* log.note("a resumed")
              })
            )
            for (const name of ["b", "c", "d", "e", "f"]) yield* group.fork(job(name))
            yield* Deferred.succeed(last, yield* group.fork(job("z")))
          }), { concurrency: 1 }),
        60
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["a@0", "b@0", "c@10", "d@20", "e@30", "f@40", "z@50", "a resumed@60"])
    }))

  it.effect("a joiner takes its slot back, when the task it joined ends, before any task waiting to start", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const b = yield* Deferred.make<TaskGroup.Task<void>>()
            yield* group.fork(
              Effect.gen(function*() {
                yield* log.note("a")
                yield* Effect.flatMap(Deferred.await(b), (task) => task.join)
                yield* log.note("a resumed")
                yield* Effect.sleep(50)
              })
            )
            yield* Deferred.succeed(b, yield* group.fork(Effect.zipRight(log.note("b"), Effect.sleep(100))))
            yield* group.fork(Effect.zipRight(log.note("c"), Effect.sleep(10)))
          }), { concurrency: 1 }),
        160
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["a@0", "b@0", "a resumed@100", "c@150"])
    }))

  it.effect("await gives the slot back too", () =>
    Effect.gen(function*() {
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const b = yield* Deferred.make<TaskGroup.Task<number, Boom>>()
            const a = yield* group.fork(Effect.flatMap(Deferred.await(b), (task) => task.await))
            yield* Deferred.succeed(b, yield* group.fork(Effect.as(Effect.sleep(100), 1)))
            return yield* a.join
          }), { concurrency: 1 }),
        100
      )
      expect(exit).toStrictEqual(Exit.succeed(Exit.succeed(1)))
    }))

  it.effect("interrupt gives the slot back too: the task interrupted may need one to end", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const tasks = yield* Deferred.make<readonly [TaskGroup.Task<void>, TaskGroup.Task<void>]>()
            // b joins c uninterruptibly: it gives its slot to a, and needs it back to end
            const b = yield* group.fork(
              Effect.uninterruptible(Effect.flatMap(Deferred.await(tasks), ([, c]) => c.join))
            )
            const a = yield* group.fork(
              Effect.zipRight(Effect.flatMap(Deferred.await(tasks), ([b]) => b.interrupt), log.note("b interrupted"))
            )
            const c = yield* group.fork(Effect.zipRight(Effect.sleep(100), log.note("c")))
            yield* Deferred.succeed(tasks, [b, c])
            yield* a.join
          }), { concurrency: 1 }),
        100
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["c@100", "b interrupted@100"])
    }))

  it.effect("interrupting a parked joiner leaks no slot: afterwards n tasks run at once, not n + 1", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const job = (name: string) => Effect.zipRight(log.note(name), Effect.sleep(100))
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const z = yield* Deferred.make<TaskGroup.Task<void>>()
            const joinZ = Effect.flatMap(Deferred.await(z), (task) => task.join)
            // a and b park in z.join; c parks in the join of a task of its own, which runs until 100
            const a = yield* group.fork(Effect.zipRight(joinZ, Effect.sleep(50)))
            const b = yield* group.fork(joinZ)
            const c = yield* group.fork(Effect.flatMap(group.fork(Effect.sleep(100)), (long) => long.join))
            yield* Deferred.succeed(z, yield* group.fork(Effect.sleep(10)))
            // at 11, a runs again (its slot back), b waits for a slot and c waits for its task
            yield* Effect.sleep(11)
            yield* b.interrupt
            yield* c.interrupt
            yield* a.join
            yield* log.note("a done")
            // the task c joined ends at 100, with a slot free: c must not take it
            yield* Effect.sleep(50)
            for (const name of ["d", "e", "f"]) yield* group.fork(job(name))
          }), { concurrency: 2 }),
        1000
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["a done@60", "d@110", "e@110", "f@210"])
    }))

  it.effect("a task joined by a parked joiner is interrupted: the joiner takes its slot back and learns it", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const b = yield* Deferred.make<TaskGroup.Task<void>>()
            yield* group.fork(
              Effect.gen(function*() {
                const exit = yield* Effect.flatMap(Deferred.await(b), (task) => task.await)
                yield* log.note(Exit.isInterrupted(exit) ? "a: b interrupted" : "a: b ended")
                yield* Effect.sleep(10)
              })
            )
            const task = yield* group.fork(Effect.never)
            yield* Deferred.succeed(b, task)
            yield* group.fork(log.note("c"))
            yield* Effect.sleep(10)
            yield* task.interrupt
            // the body holds no slot while it goes on
            yield* Effect.sleep(20)
          }), { concurrency: 1 }),
        30
      )
      expect(exit).toStrictEqual(Exit.void)
      expect(yield* log.get).toEqual(["a: b interrupted@10", "c@20"])
    }))

  it.effect("fail-fast: a parked joiner is interrupted and the tasks waiting to start never start", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const z = yield* Deferred.make<TaskGroup.Task<void>>()
            yield* group.fork(
              Effect.flatMap(Deferred.await(z), (task) => task.join).pipe(
                Effect.onInterrupt(() => log.note("a interrupted"))
              )
            )
            yield* group.fork(failAfter(10, "b"))
            yield* Deferred.succeed(z, yield* group.fork(log.note("z")))
          }), { concurrency: 1 }),
        10
      )
      if (exit === null || Exit.isSuccess(exit)) return expect.fail("the run fails at 10")
      expect(labels(exit.cause)).toEqual(["b"])
      expect(yield* log.get).toEqual(["a interrupted@10"])
    }))

  it.effect("joiners that cannot be interrupted go on without a slot once the group fails", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const z = yield* Deferred.make<TaskGroup.Task<void>>()
            const long = yield* Deferred.make<TaskGroup.Task<void>>()
            const waitFor = (name: string, task: Deferred.Deferred<TaskGroup.Task<void>>) =>
              Effect.uninterruptible(
                Effect.zipRight(Effect.flatMap(Deferred.await(task), (task) => task.await), log.note(`${name} goes on`))
              )
            // when z ends, h gets its slot back and holds it until 30 (uninterruptibly); a waits for one
            yield* group.fork(
              Effect.uninterruptible(
                Effect.zipRight(waitFor("h", z), Effect.zipRight(Effect.sleep(20), log.note("h done")))
              )
            )
            yield* group.fork(waitFor("a", z))
            // c waits for a task that never starts
            yield* group.fork(waitFor("c", long))
            yield* Deferred.succeed(z, yield* group.fork(Effect.sleep(10)))
            yield* Deferred.succeed(long, yield* group.fork(Effect.never))
            yield* failAfter(20, "body")
          }), { concurrency: 1 }),
        30
      )
      if (exit === null || Exit.isSuccess(exit)) return expect.fail("the run fails at 30")
      expect(labels(exit.cause)).toEqual(["body"])
      expect(yield* log.get).toEqual(["h goes on@10", "a goes on@20", "c goes on@20", "h done@30"])
    }))

  it.effect("onFailure: continue: a joiner gets the failure of the task it joined and goes on", () =>
    Effect.gen(function*() {
      const log = yield* makeLog
      const exit = yield* pollAfter(
        TaskGroup.run((group) =>
          Effect.gen(function*() {
            const b = yield* Deferred.make<TaskGroup.Task<void, Boom>>()
            yield* group.fork(
              Effect.flatMap(Deferred.await(b), (task) => task.join).pipe(
                Effect.catchAll((error) => log.note(`a caught ${error.label}`))
              )
            )
            yield* Deferred.succeed(b, yield* group.fork(failAfter(10, "b")))
            yield* group.fork(log.note("c"))
          }), { concurrency: 1, onFailure: "continue" }),
        10
      )
      if (exit === null || Exit.isSuccess(exit)) return expect.fail("the run fails at the end")
      expect(labels(exit.cause)).toEqual(["b"])
      expect(yield* log.get).toEqual(["a caught b@10", "c@10"])
    }))

  it.scoped("TaskGroup.make: a join chain with concurrency 1 ends, and the owner holds no slot", () =>
    Effect.gen(function*() {
      const group = yield* TaskGroup.make({ concurrency: 1 })
      const c = yield* Deferred.make<TaskGroup.Task<number>>()
      const b = yield* group.fork(Effect.flatMap(Deferred.await(c), (task) => Effect.map(task.join, (n) => n + 1)))
      const a = yield* group.fork(Effect.map(b.join, (n) => n + 1))
      yield* Deferred.succeed(c, yield* group.fork(Effect.as(Effect.sleep(100), 1)))
      const exit = yield* pollAfter(Effect.zipRight(group.join, a.join), 100)
      expect(exit).toStrictEqual(Exit.succeed(3))
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
