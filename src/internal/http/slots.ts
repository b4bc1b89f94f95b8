import * as Effect from "effect/Effect"

/**
 * A fixed number of slots, handed out first come, first served: a slot that
 * frees goes to the oldest waiter, never to a newcomer. (`Effect.Semaphore`
 * lets a newcomer take a slot before the waiters wake, so one batch that asks
 * again as each of its runs ends could keep every slot.)
 */
export interface Slots {
  /** Runs `effect` in a slot, waiting in line for one; interrupted, it leaves the line. */
  readonly withSlot: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Waiter {
  /** Set when a slot is handed to the waiter: it must pass it on if it is interrupted before it runs. */
  granted: boolean
  wake: () => void
}

export const make = (slots: number): Effect.Effect<Slots> =>
  Effect.sync(() => {
    let free = slots
    // in the order they came: a Set iterates in insertion order
    const line = new Set<Waiter>()

    // a slot free while someone waits is never left free: it goes to the first in line
    const release = () => {
      const first = line.values().next()
      if (first.done === true) {
        free++
        return
      }
      line.delete(first.value)
      first.value.granted = true
      first.value.wake()
    }

    const take = (waiter: Waiter) =>
      Effect.async<void>((resume) => {
        if (free > 0) {
          free--
          waiter.granted = true
          return resume(Effect.void)
        }
        waiter.wake = () => resume(Effect.void)
        line.add(waiter)
        return Effect.sync(() => line.delete(waiter))
      })

    return {
      withSlot: (effect) =>
        Effect.uninterruptibleMask((restore) => {
          const waiter: Waiter = { granted: false, wake: () => {} }
          return restore(take(waiter)).pipe(
            Effect.onInterrupt(() => Effect.sync(() => waiter.granted && release())),
            Effect.zipRight(Effect.ensuring(restore(effect), Effect.sync(release)))
          )
        })
    }
  })
