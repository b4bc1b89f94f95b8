/**
 * Structured concurrency: a group of tasks that ends only when all of them
 * have ended, in the manner of Python's `asyncio.TaskGroup` and Trio's
 * nursery.
 *
 * - `TaskGroup.run((group) => body)` runs `body` with a group to
 *   `group.fork` tasks into. The run ends when the body and every task have
 *   ended; it succeeds with the body's value.
 * - The first failure (of a task or of the body) interrupts every other task
 *   and the body. The run then fails with a `Cause` that holds every failure
 *   and defect that happened, each once, including those raised while
 *   cancelling (`Cause.failures` is the exception group). Interruptions are
 *   never failures.
 * - Interrupting the run interrupts the body and every task, and returns only
 *   after all of their finalizers have run.
 * - Forks are accepted until the run has ended (a task may fork siblings
 *   after the body returned); a fork after the group began to fail, or after
 *   the end, is refused with {@link TaskGroupClosed} and its effect never runs.
 * - A task sees the services and `FiberRef` values of the fiber that forked
 *   it, as they were at the fork.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * const fetchUser = (id: number) => Effect.succeed({ id, name: `user ${id}` }).pipe(Effect.delay("100 millis"))
 *
 * const program = TaskGroup.run((group) =>
 *   Effect.gen(function*() {
 *     const alice = yield* group.fork(fetchUser(1))
 *     const bob = yield* group.fork(fetchUser(2))
 *     return [yield* alice.join, yield* bob.join]
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/taskGroup.js"

/**
 * A fork was refused: the group began to fail (`"failing"`), was interrupted
 * (`"interrupted"`), or its run has ended (`"ended"`). The refused effect did
 * not run. A task of the group that fails with this error while the group is
 * being cancelled does not add a failure: it is a consequence of the first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * declare const group: TaskGroup.TaskGroup
 *
 * const maybe = group.fork(Effect.log("late work")).pipe(
 *   Effect.catchTag("TaskGroupClosed", (closed) => Effect.logWarning(closed.message))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class TaskGroupClosed extends Schema.TaggedError<TaskGroupClosed>()("TaskGroupClosed", {
  reason: Schema.Literal("failing", "interrupted", "ended")
}) {
  /** @since 0.1.0 */
  override get message(): string {
    switch (this.reason) {
      case "failing":
        return "the task group refused a task: a task of the group failed"
      case "interrupted":
        return "the task group refused a task: the group is being interrupted"
      case "ended":
        return "the task group refused a task: the group has ended"
    }
  }
}

/**
 * A task of a group.
 *
 * - `join`: the task's value, or its own typed failure; interrupted when the
 *   task was interrupted.
 * - `await`: the task's `Exit`, whatever it is.
 * - `interrupt`: interrupts this task alone and waits until it has ended. An
 *   interrupted task is not a failure of the group.
 *
 * With a bound, a task of the group waiting in one of them gives its slot
 * back meanwhile (see {@link Options}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * const program = TaskGroup.run((group) =>
 *   Effect.gen(function*() {
 *     const slow = yield* group.fork(Effect.never)
 *     const fast = yield* group.fork(Effect.succeed(42))
 *     yield* slow.interrupt // the group goes on
 *     return yield* fast.join
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Task<out A, out E = never> {
  readonly join: Effect.Effect<A, E>
  readonly await: Effect.Effect<Exit.Exit<A, E>>
  readonly interrupt: Effect.Effect<void>
}

/**
 * A group to fork tasks into.
 *
 * The task's error type shows in `fork`'s error channel so that, in
 * {@link run}, it reaches the run's error type through the body. Handle a
 * refused fork with `Effect.catchTag("TaskGroupClosed", ...)`, not
 * `Effect.catchAll`, or the tasks' errors leave the type. `E` bounds the
 * errors a task may have: `unknown` in a run, the declared type in a scoped
 * group ({@link make}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * class CrawlError extends Error {}
 * declare const fetchLinks: (url: string) => Effect.Effect<ReadonlyArray<string>, CrawlError>
 *
 * // a task forks its siblings: the run waits for every page
 * const crawl = (group: TaskGroup.TaskGroup<CrawlError>, url: string, depth: number): Effect.Effect<void, CrawlError> =>
 *   Effect.gen(function*() {
 *     const links = yield* fetchLinks(url)
 *     if (depth === 0) return
 *     for (const link of links) {
 *       yield* group.fork(crawl(group, link, depth - 1)).pipe(Effect.catchTag("TaskGroupClosed", () => Effect.void))
 *     }
 *   })
 *
 * const program = TaskGroup.run((group) => crawl(group, "https://effect.website", 2))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskGroup<in E = unknown> {
  /**
   * Forks `effect` as a task of the group, with the services and FiberRefs of
   * the calling fiber. Fails with {@link TaskGroupClosed} (and the effect
   * never runs) once the group began to fail, was interrupted or has ended.
   */
  fork<A, E1 extends E, R>(effect: Effect.Effect<A, E1, R>): Effect.Effect<Task<A, E1>, E1 | TaskGroupClosed, R>
}

/**
 * A group held as a resource ({@link make}): it has no body, so `join` is how
 * its owner waits for the tasks and learns of their failures.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const group = yield* TaskGroup.make<Error>()
 *     yield* group.fork(Effect.log("a job")).pipe(Effect.catchTag("TaskGroupClosed", () => Effect.void))
 *     yield* group.join // every task has ended; fails with every failure
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Scoped<E = never> extends TaskGroup<E> {
  /**
   * Waits until no task is left, then fails with every failure the group had
   * (the Cause holds each once), or succeeds. A group that failed stays
   * closed: forks are refused and `join` fails again.
   */
  readonly join: Effect.Effect<void, E>
}

/**
 * Options of a group.
 *
 * - `concurrency`: how many tasks run at once (default `"unbounded"`). The
 *   others wait their turn in the order they were forked; a slot goes to the
 *   next waiting task as soon as it is freed, and waiting tasks never start
 *   once the group began to fail.
 * - `onFailure`: `"fail-fast"` (default) interrupts everything at the first
 *   failure; `"continue"` lets the other tasks go on when a task fails, and
 *   the run fails at the end with every failure (Python's
 *   `gather(return_exceptions=True)`, for dynamic work). The body's own
 *   failure interrupts the tasks in both modes.
 *
 * The body of a run holds no slot: `concurrency: n` is n tasks at once. A
 * task that waits for another task of the group (`join`, `await`,
 * `interrupt`) gives its slot back while it waits, and takes one again,
 * before the tasks waiting to start, once the other has ended. So tasks may
 * join each other under any bound, siblings still waiting for a slot and
 * chains of joins included, and never deadlock on it. The slot is given back
 * when the task waits on its own fiber: a join run on a fiber the task forked
 * (inside `Effect.all` with `concurrency`, `Effect.race`, `Effect.timeout`)
 * keeps it, and can wait for ever for a task that needs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly concurrency?: number | "unbounded" | undefined
  readonly onFailure?: "fail-fast" | "continue" | undefined
}

const makeGroup = <E>(group: internal.Group): TaskGroup<E> => ({
  fork: <A, E1 extends E, R>(effect: Effect.Effect<A, E1, R>) =>
    Effect.withFiberRuntime<internal.TaskImpl<A, E1>, TaskGroupClosed, R>((parent, status) => {
      const task = group.unsafeFork(internal.runtimeOf(parent, status.runtimeFlags), effect)
      if (task !== undefined) return Effect.succeed(task)
      const refused = new TaskGroupClosed({ reason: group.closedReason })
      group.refuse(refused)
      return Effect.fail(refused)
    })
})

/**
 * Runs `body` with a task group, and ends when the body and every task have
 * ended. Succeeds with the body's value; the first failure interrupts every
 * other task and the body, and the run fails with every failure that
 * happened. Interrupting the run interrupts everything and returns after all
 * finalizers have run. The body runs on a fiber of its own (so that the
 * group can interrupt it without interrupting the caller); its FiberRef
 * changes are kept when it succeeds, as if it ran inline.
 *
 * @example
 * ```ts
 * import { Cause, Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * const program = TaskGroup.run((group) =>
 *   Effect.gen(function*() {
 *     yield* group.fork(Effect.fail("disk full").pipe(Effect.delay("1 second")))
 *     yield* group.fork(Effect.never.pipe(Effect.onInterrupt(() => Effect.log("cancelled"))))
 *     return "unreachable"
 *   })
 * ).pipe(
 *   Effect.catchAllCause((cause) => Effect.succeed(Cause.failures(cause))) // Chunk("disk full")
 * )
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run = <A, E, R>(
  body: (group: TaskGroup) => Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R>((parent, status) => {
      const group = new internal.Group(options, parent.id(), true)
      const bodyTask = group.unsafeForkBody(
        internal.runtimeOf(parent, status.runtimeFlags),
        Effect.suspend(() => body(makeGroup(group)))
      )
      return Effect.flatMap(group.awaitEnd(restore) as Effect.Effect<void, E>, () => {
        const exit = bodyTask.exit!
        return exit._tag === "Success"
          ? Effect.as(bodyTask.fiber.inheritAll, exit.value)
          : Effect.failCause(exit.cause)
      })
    })
  )

/**
 * Runs `f` for every element as a task of one group and collects the values
 * in order: `Effect.forEach` with the guarantees of {@link run} (the first
 * failure interrupts the others; the Cause holds every failure once, in the
 * order they happened, and no interruption of a cancelled task).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * const pages = TaskGroup.forEach(
 *   ["/a", "/b", "/c"],
 *   (path) => Effect.succeed(`<html>${path}</html>`).pipe(Effect.delay("50 millis")),
 *   { concurrency: 2 }
 * ) // Effect<Array<string>>
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const forEach = <A, B, E, R>(
  elements: Iterable<A>,
  f: (a: A, index: number) => Effect.Effect<B, E, R>,
  options?: Options
): Effect.Effect<Array<B>, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Array<B>, E, R>((parent, status) => {
      const group = new internal.Group(options, parent.id(), true)
      const effects: Array<Effect.Effect<B, E, R>> = []
      let index = 0
      for (const a of elements) {
        const i = index++
        effects.push(Effect.suspend(() => f(a, i)))
      }
      // the tasks start asynchronously: nothing can fail while they are forked
      const tasks = group.unsafeForkAll(internal.runtimeOf(parent, status.runtimeFlags), effects)
      if (tasks.length === 0) return Effect.succeed([])
      return Effect.flatMap(group.awaitEnd(restore) as Effect.Effect<void, E>, () => {
        const values = new Array<B>(tasks.length)
        for (let i = 0; i < tasks.length; i++) {
          const exit = tasks[i]!.exit
          // a task that interrupted itself: no value, so the whole is interrupted
          if (exit === undefined) return Effect.interrupt
          if (exit._tag === "Failure") return Effect.failCause(exit.cause)
          values[i] = exit.value
        }
        return Effect.succeed(values)
      })
    })
  )

/**
 * A task group as a resource: forks are accepted until the scope closes;
 * the first failure interrupts the other tasks (with `onFailure: "continue"`,
 * tasks go on) and `join` reports every failure. Closing the scope refuses
 * new forks, interrupts the tasks still running and waits for their
 * finalizers. `E` declares the errors its tasks may fail with.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TaskGroup } from "effect-agents"
 *
 * class JobFailed extends Error {}
 * declare const job: (n: number) => Effect.Effect<void, JobFailed>
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const group = yield* TaskGroup.make<JobFailed>({ concurrency: 2 })
 *     for (let n = 0; n < 10; n++) {
 *       yield* group.fork(job(n)).pipe(Effect.catchTag("TaskGroupClosed", () => Effect.void))
 *     }
 *     yield* group.join
 *   })
 * ) // Effect<void, JobFailed>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E = never>(options?: Options): Effect.Effect<Scoped<E>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.fiberIdWith((fiberId) =>
      Effect.sync((): readonly [internal.Group, Scoped<E>] => {
        const group = new internal.Group(options, fiberId, false)
        const join = Effect.zipRight(
          group.awaitIdle,
          Effect.suspend(() => group.failures.length > 0 ? Effect.failCause(group.cause()) : Effect.void)
        ) as Effect.Effect<void, E>
        return [group, { ...makeGroup<E>(group), join }]
      })
    ),
    ([group]) =>
      Effect.suspend(() => {
        group.abort()
        return Effect.map(group.awaitIdle, () => group.close())
      })
  ).pipe(Effect.map(([, scoped]) => scoped))
