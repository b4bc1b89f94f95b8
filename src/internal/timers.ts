/**
 * Many deadlines on Effect's clock, kept by one fiber: scheduling one costs a
 * heap insertion, not a fiber. `Effect.timeout` races the work against a
 * timer in two fibers of their own, which a model call in a busy process
 * pays for in forked FiberRefs (tens of microseconds a call, more than the
 * rest of a step); a provider that can stop its own request only needs to be
 * told when.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export interface Timers {
  /**
   * Runs `task` (synchronous, short, never throwing) once `millis` have passed
   * on the clock of the fiber that made the timers; the function returned
   * cancels it.
   */
  readonly schedule: (millis: number, task: () => void) => () => void
}

interface Entry {
  readonly at: number
  readonly task: () => void
  /** Its place in the heap; -1 once it ran or was cancelled. */
  index: number
}

/** A binary min-heap of entries by `at`, each knowing its index so that it can be removed. */
class Heap {
  readonly entries: Array<Entry> = []

  get first(): Entry | undefined {
    return this.entries[0]
  }

  push(entry: Entry): void {
    entry.index = this.entries.length
    this.entries.push(entry)
    this.up(entry.index)
  }

  remove(entry: Entry): void {
    const index = entry.index
    if (index < 0) return
    entry.index = -1
    const last = this.entries.pop()!
    if (index === this.entries.length) return
    this.entries[index] = last
    last.index = index
    this.up(index)
    this.down(last.index)
  }

  private swap(i: number, j: number): void {
    const a = this.entries[i]!
    const b = this.entries[j]!
    this.entries[i] = b
    this.entries[j] = a
    a.index = j
    b.index = i
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.entries[parent]!.at <= this.entries[i]!.at) return
      this.swap(i, parent)
      i = parent
    }
  }

  private down(i: number): void {
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < this.entries.length && this.entries[left]!.at < this.entries[smallest]!.at) smallest = left
      if (right < this.entries.length && this.entries[right]!.at < this.entries[smallest]!.at) smallest = right
      if (smallest === i) return
      this.swap(i, smallest)
      i = smallest
    }
  }
}

/**
 * Timers run by one fiber in the current scope, on the current clock. The
 * fiber sleeps until the earliest deadline; it is woken only when a deadline
 * earlier than the one it sleeps for is scheduled (or the first one, when it
 * has none), so a stream of calls with one timeout wakes it once per deadline
 * that passes with its call still running.
 */
export const make: Effect.Effect<Timers, never, Scope.Scope> = Effect.gen(function*() {
  const clock = yield* Effect.clock
  const heap = new Heap()
  /** When the fiber will look at the heap next. */
  let target = Infinity
  /** Set when the fiber must look sooner than `target`; `wake` resumes it if it waits. */
  let woken = false
  let wake: (() => void) | undefined

  const woke = Effect.async<void>((resume) => {
    if (woken) return resume(Effect.void)
    wake = () => resume(Effect.void)
    return Effect.sync(() => {
      wake = undefined
    })
  })

  const tick = Effect.suspend(() => {
    woken = false
    wake = undefined
    const now = clock.unsafeCurrentTimeMillis()
    for (let first = heap.first; first !== undefined && first.at <= now; first = heap.first) {
      heap.remove(first)
      first.task()
    }
    const next = heap.first
    target = next?.at ?? Infinity
    return next === undefined ? woke : Effect.raceFirst(Effect.sleep(next.at - now), woke)
  })
  yield* Effect.forkScoped(Effect.forever(tick))

  return {
    schedule: (millis, task) => {
      const entry: Entry = { at: clock.unsafeCurrentTimeMillis() + millis, task, index: -1 }
      heap.push(entry)
      if (entry.at < target) {
        woken = true
        wake?.()
      }
      return () => heap.remove(entry)
    }
  }
})
