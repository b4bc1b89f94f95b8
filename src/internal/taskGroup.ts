import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"

/**
 * The state machine of a task group. Tasks are fibers forked synchronously
 * (so that a fork is checked, started and registered in one step, with no
 * point where the group could fail in between) from the forking fiber's
 * services and FiberRefs, outside of any parent fiber's supervision: the
 * group alone interrupts and awaits them.
 *
 * - `open`: forks are accepted.
 * - `failing`: a failure happened (fail-fast); every task is being interrupted.
 * - `aborting`: interrupted from outside (or the body interrupted itself).
 * - `closed`: the run ended (or the scope of a scoped group closed).
 *
 * With a concurrency limit, `active` counts the slots held, and a task's
 * `slot` says whether it holds one; a slot is released once, when its holder
 * gives it to a waiter or ends. The body never holds one. A task that waits
 * for a task of its group from its own fiber gives its slot back while it
 * waits (`park`), and takes one again before the tasks waiting to start
 * (`returning` before `queue`); so every slot is held by a task that can go
 * on, and since joins form no cycle (a cycle hangs without a bound too), a
 * bound never deadlocks.
 */
export type Status = "open" | "failing" | "aborting" | "closed"

/** Why a fork was refused. */
export type ClosedReason = "failing" | "interrupted" | "ended"

export interface Options {
  readonly concurrency?: number | "unbounded" | undefined
  readonly onFailure?: "fail-fast" | "continue" | undefined
}

interface Waiter {
  /** Gives the waiter a slot: resumes its fiber, or starts its task. */
  readonly grant: () => void
  cancelled: boolean
}

/** A task parked in the join of a task of its group, its slot given back meanwhile. */
interface Joiner extends Waiter {
  /** Resumes it without a slot, once the group stopped (nothing starts any more). */
  readonly wake: () => void
}

/** Waiters, first come first served; a cancelled waiter is skipped. */
class WaitQueue<W extends Waiter> {
  private items: Array<W | undefined> = []
  private head = 0

  push(waiter: W): void {
    this.items.push(waiter)
  }

  /** Takes the first waiter not cancelled out of the queue. */
  take(): W | undefined {
    if (this.head === this.items.length) return undefined
    while (this.head < this.items.length) {
      const waiter = this.items[this.head]!
      this.items[this.head++] = undefined
      if (!waiter.cancelled) {
        this.compact()
        return waiter
      }
    }
    this.compact()
    return undefined
  }

  /** Takes every waiter out, cancelled or not. */
  clear(): Array<W | undefined> {
    const items = this.items
    this.items = []
    this.head = 0
    return items
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

export class TaskImpl<A, E> {
  fiber!: Fiber.RuntimeFiber<A, E>
  /** Whether the task holds one of the group's concurrency slots. */
  slot = false
  /** The task's exit, once it ended. */
  exit: Exit.Exit<A, E> | undefined = undefined
  /** Tasks parked in this task's join (or await, or interrupt), their slots given back. */
  joiners: Array<Joiner> | undefined = undefined

  constructor(private readonly group: Group) {}

  get join(): Effect.Effect<A, E> {
    return Effect.flatten(this.await)
  }
  get await(): Effect.Effect<Exit.Exit<A, E>> {
    return this.group.bounded ? this.group.awaitTask(this) : this.fiber.await
  }
  get interrupt(): Effect.Effect<void> {
    if (!this.group.bounded) return Effect.asVoid(Fiber.interrupt(this.fiber))
    return Effect.flatMap(
      Effect.fiberId,
      (fiberId) => Effect.zipRight(this.fiber.interruptAsFork(fiberId), Effect.asVoid(this.await))
    )
  }
}

const isObject = (u: unknown): u is object => (typeof u === "object" && u !== null) || typeof u === "function"

/** Fail and Die leaves of a cause, left to right. */
const failureLeaves = (cause: Cause.Cause<unknown>, onLeaf: (leaf: Cause.Fail<unknown> | Cause.Die) => void) => {
  const stack: Array<Cause.Cause<unknown>> = [cause]
  while (stack.length > 0) {
    const node = stack.pop()!
    switch (node._tag) {
      case "Fail":
      case "Die": {
        onLeaf(node)
        break
      }
      case "Sequential":
      case "Parallel": {
        stack.push(node.right, node.left)
        break
      }
    }
  }
}

/** A balanced `Parallel` tree of the causes, in order: deep causes are slow to walk. */
const parallelAll = (causes: ReadonlyArray<Cause.Cause<unknown>>, from: number, to: number): Cause.Cause<unknown> => {
  if (to - from === 1) return causes[from]!
  const middle = (from + to) >>> 1
  return Cause.parallel(parallelAll(causes, from, middle), parallelAll(causes, middle, to))
}

/** The runtime a task forked by `parent` runs with: its services and FiberRefs as they are now, interruptible. */
export const runtimeOf = (
  parent: Fiber.RuntimeFiber<unknown, unknown>,
  runtimeFlags: RuntimeFlags.RuntimeFlags
): Runtime.Runtime<never> =>
  Runtime.make({
    context: parent.currentContext,
    fiberRefs: parent.getFiberRefs(),
    runtimeFlags: RuntimeFlags.enable(runtimeFlags, RuntimeFlags.Interruption)
  })

const forkOptions: Runtime.RunForkOptions = { immediate: false }

export class Group {
  status: Status = "open"
  /** Tasks whose fiber has not ended yet, by fiber. */
  private readonly tasks = new Map<Fiber.RuntimeFiber<unknown, unknown>, TaskImpl<unknown, unknown>>()
  /** Every Fail and Die leaf, each once, in the order they happened. */
  readonly failures: Array<Cause.Cause<unknown>> = []
  /** Leaves and failure values (objects) already counted. */
  private readonly seen = new Set<unknown>()
  /** `TaskGroupClosed` errors this group returned: a task failing with one is a consequence, not a failure. */
  private readonly refusals = new WeakSet<object>()
  private idleWaiters: Array<() => void> = []
  private readonly limit: number
  /** Whether the group has a concurrency limit. */
  readonly bounded: boolean
  private readonly failFast: boolean
  /** Slots held. Invariant: with slots free, no waiter of either queue is left (in an open group). */
  private active = 0
  /** Tasks of `unsafeForkAll` waiting in the queue for a slot, not started yet. */
  private pending = 0
  /** Tasks waiting for a slot to start. */
  private readonly queue = new WaitQueue<Waiter>()
  /** Joiners whose task ended, waiting for a slot to go on: served before `queue`. */
  private readonly returning = new WaitQueue<Joiner>()
  body: TaskImpl<unknown, unknown> | undefined = undefined

  constructor(
    options: Options | undefined,
    /** Whom the group's interruptions are from. */
    private readonly interruptor: FiberId.FiberId,
    /** A run ends (and refuses forks) as soon as no task is left; a scoped group when its scope closes. */
    private readonly endWhenIdle: boolean
  ) {
    const concurrency = options?.concurrency
    this.limit = concurrency === undefined || concurrency === "unbounded"
      ? Infinity
      : Math.max(1, Math.floor(concurrency))
    this.bounded = this.limit !== Infinity
    this.failFast = options?.onFailure !== "continue"
  }

  get closedReason(): ClosedReason {
    return this.status === "failing" ? "failing" : this.status === "aborting" ? "interrupted" : "ended"
  }

  refuse(error: object): void {
    this.refusals.add(error)
  }

  /**
   * Forks `effect` as a task, or says why the group refuses it. The task is
   * started asynchronously (like `Effect.fork`), so nothing of it runs before
   * it is registered.
   */
  unsafeFork<A, E, R>(runtime: Runtime.Runtime<never>, effect: Effect.Effect<A, E, R>): TaskImpl<A, E> | undefined {
    if (this.status !== "open") return undefined
    const task = new TaskImpl<A, E>(this)
    this.start(task, runtime, this.limit === Infinity ? this.gate(effect) : this.withSlot(task, effect))
    return task
  }

  /**
   * Forks the body of a run, which holds no slot: `concurrency: n` leaves
   * all n slots to the tasks, so the body can wait for them.
   */
  unsafeForkBody<A, E, R>(runtime: Runtime.Runtime<never>, effect: Effect.Effect<A, E, R>): TaskImpl<A, E> {
    const task = new TaskImpl<A, E>(this)
    this.start(task, runtime, effect)
    this.body = task as TaskImpl<unknown, unknown>
    return task
  }

  /**
   * Forks one task per effect, as if all were forked now (from one runtime).
   * With a concurrency limit, only the tasks that get a slot start now; the
   * others wait in the queue as entries rather than as parked fibers, and
   * start when a slot frees.
   */
  unsafeForkAll<A, E, R>(
    runtime: Runtime.Runtime<never>,
    effects: ReadonlyArray<Effect.Effect<A, E, R>>
  ): Array<TaskImpl<A, E>> {
    const tasks: Array<TaskImpl<A, E>> = []
    for (const effect of effects) {
      const task = new TaskImpl<A, E>(this)
      tasks.push(task)
      if (this.limit === Infinity) {
        this.start(task, runtime, this.gate(effect))
      } else if (this.active < this.limit) {
        this.active++
        task.slot = true
        this.start(task, runtime, this.gate(effect))
      } else {
        this.pending++
        this.queue.push({
          cancelled: false,
          grant: () => {
            this.pending--
            task.slot = true
            this.start(task, runtime, this.gate(effect))
          }
        })
      }
    }
    return tasks
  }

  private start<A, E, R>(task: TaskImpl<A, E>, runtime: Runtime.Runtime<never>, effect: Effect.Effect<A, E, R>): void {
    const fiber = Runtime.runFork(runtime as Runtime.Runtime<R>, effect, forkOptions)
    task.fiber = fiber
    this.tasks.set(fiber, task as TaskImpl<unknown, unknown>)
    fiber.addObserver((exit) => this.onTaskExit(task as TaskImpl<unknown, unknown>, exit))
  }

  /** A task that has not started when the group stops accepting work never starts. */
  private gate<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => this.status === "open" ? effect : Effect.interrupt)
  }

  private withSlot<A, E, R>(task: TaskImpl<A, E>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend(() => {
      if (this.active < this.limit) {
        this.active++
        task.slot = true
        return this.gate(effect)
      }
      return Effect.zipRight(this.waitForSlot(task as TaskImpl<unknown, unknown>), this.gate(effect))
    })
  }

  // A freed slot goes straight to the first task waiting (first come, first
  // served); an interrupted waiter leaves the queue, and a slot it was given
  // meanwhile is released when its fiber ends.
  private waitForSlot(task: TaskImpl<unknown, unknown>): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const waiter: Waiter = {
        cancelled: false,
        grant: () => {
          task.slot = true
          resume(Effect.void)
        }
      }
      this.queue.push(waiter)
      return Effect.sync(() => {
        waiter.cancelled = true
      })
    })
  }

  private releaseSlot(): void {
    if (this.status === "open") {
      const waiter = this.returning.take() ?? this.queue.take()
      if (waiter !== undefined) {
        waiter.grant()
        return
      }
    }
    this.active--
  }

  /**
   * Waits for `task` to end. A task of this group that holds a slot gives it
   * back while it waits, and takes one again, before any task waiting to
   * start, once `task` has ended: tasks that join each other never deadlock
   * on the bound. Anyone else (the body, a fiber a task forked, a task of
   * another group) just waits.
   */
  awaitTask<A, E>(task: TaskImpl<A, E>): Effect.Effect<Exit.Exit<A, E>> {
    return Effect.withFiberRuntime((caller) => {
      const joiner = this.tasks.get(caller)
      return joiner !== undefined && joiner.slot && task.exit === undefined
        ? this.park(joiner, task)
        : task.fiber.await
    })
  }

  // The slot is given back once, here; it comes back through `grant` (then the
  // joiner holds it again, and releases it when its fiber ends, even if it was
  // interrupted before it went on). Interrupted while parked, it takes none back.
  private park<A, E>(joiner: TaskImpl<unknown, unknown>, task: TaskImpl<A, E>): Effect.Effect<Exit.Exit<A, E>> {
    return Effect.async<Exit.Exit<A, E>>((resume) => {
      if (task.exit !== undefined) return resume(Effect.succeed(task.exit))
      const parked: Joiner = {
        cancelled: false,
        grant: () => {
          joiner.slot = true
          resume(Effect.succeed(task.exit!))
        },
        wake: () => resume(Effect.succeed(task.exit!))
      }
      ;(task.joiners ??= []).push(parked)
      joiner.slot = false
      this.releaseSlot()
      return Effect.sync(() => {
        parked.cancelled = true
      })
    })
  }

  /** The joiners of a task that ended take a slot back, in the order they came, before any task waiting to start. */
  private unpark(joiners: ReadonlyArray<Joiner>): void {
    for (const joiner of joiners) {
      if (joiner.cancelled) continue
      if (this.status !== "open") {
        joiner.wake()
      } else if (this.active < this.limit) {
        this.active++
        joiner.grant()
      } else {
        this.returning.push(joiner)
      }
    }
  }

  /** Once the group stops accepting work, the tasks still queued never start, and the joiners go on without a slot. */
  private dropQueue(): void {
    this.queue.clear()
    this.pending = 0
    for (const joiner of this.returning.clear()) {
      if (joiner !== undefined && !joiner.cancelled) joiner.wake()
    }
  }

  private onTaskExit(task: TaskImpl<unknown, unknown>, exit: Exit.Exit<unknown, unknown>): void {
    task.exit = exit
    this.tasks.delete(task.fiber)
    if (Exit.isFailure(exit)) {
      const failed = this.record(exit.cause)
      if (this.status === "open") {
        if (task === this.body) {
          // The body failed (in both modes), or interrupted itself: the run has no value to wait for.
          this.stop(Cause.isInterruptedOnly(exit.cause) ? "aborting" : "failing")
        } else if (failed && this.failFast) {
          this.stop("failing")
        }
      }
    }
    // after the failure is known: a waiting task must not get the slot of a failed one
    if (task.joiners !== undefined) this.unpark(task.joiners)
    if (task.slot) {
      task.slot = false
      this.releaseSlot()
    }
    if (this.tasks.size === 0 && this.pending === 0) {
      if (this.endWhenIdle) this.status = "closed"
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const waiter of waiters) waiter()
    }
  }

  /** Counts the Fail and Die leaves of a cause not counted yet; whether there were any. */
  private record(cause: Cause.Cause<unknown>): boolean {
    let added = false
    failureLeaves(cause, (leaf) => {
      if (this.seen.has(leaf)) return
      const value = leaf._tag === "Fail" ? leaf.error : leaf.defect
      if (isObject(value)) {
        // one failure seen twice (a task that joined a failed task and failed with its error) counts once
        if (this.seen.has(value) || this.refusals.has(value)) return
        this.seen.add(value)
      }
      this.seen.add(leaf)
      this.failures.push(leaf)
      added = true
    })
    return added
  }

  private stop(status: "failing" | "aborting"): void {
    this.status = status
    this.dropQueue()
    for (const task of this.tasks.values()) task.fiber.unsafeInterruptAsFork(this.interruptor)
  }

  /** Stops the group from outside: refuses forks and interrupts every task. */
  abort(): void {
    if (this.status === "open") this.stop("aborting")
  }

  close(): void {
    this.status = "closed"
  }

  /** Every failure so far, as one cause (empty when none). */
  cause(): Cause.Cause<unknown> {
    return this.failures.length === 0 ? Cause.empty : parallelAll(this.failures, 0, this.failures.length)
  }

  /** Waits until no task is left. */
  readonly awaitIdle: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.tasks.size === 0 && this.pending === 0) {
      resume(Effect.void)
      return
    }
    const waiter = () => resume(Effect.void)
    this.idleWaiters.push(waiter)
    return Effect.sync(() => {
      const index = this.idleWaiters.indexOf(waiter)
      if (index >= 0) this.idleWaiters.splice(index, 1)
    })
  })

  /**
   * Waits for every task, interruptibly as `restore` allows; when interrupted,
   * aborts the group and waits for every task to end before failing with the
   * interruption (and any failure). Fails with every failure of the group.
   */
  awaitEnd(restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>): Effect.Effect<void, unknown> {
    return Effect.matchCauseEffect(restore(this.awaitIdle), {
      onSuccess: () => this.failures.length > 0 ? Effect.failCause(this.cause()) : Effect.void,
      onFailure: (interruption) => {
        this.abort()
        return Effect.zipRight(
          this.awaitIdle,
          // failures raised while cancelling count too
          Effect.suspend(() =>
            Effect.failCause(this.failures.length > 0 ? Cause.parallel(this.cause(), interruption) : interruption)
          )
        )
      }
    })
  }
}
