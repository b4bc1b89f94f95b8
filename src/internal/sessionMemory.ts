/**
 * Sessions in this process's memory (`Session.layerMemory`): turns in a map,
 * and one semaphore per session held by its run, made while the session has
 * a holder or a waiter.
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { SessionBusy } from "../AgentError.js"
import type * as LanguageModel from "../LanguageModel.js"
import type * as SessionStore from "../SessionStore.js"
import { lastTurns } from "./history.js"

interface Kept {
  readonly userId: string | undefined
  turns: Array<ReadonlyArray<LanguageModel.Message>>
  updatedAt: number
}

interface Gate {
  readonly semaphore: Effect.Semaphore
  /** Its holder and waiters. */
  users: number
}

export const make: Effect.Effect<SessionStore.Service> = Effect.sync(() => {
  const sessions = new Map<string, Kept>()
  const gates = new Map<string, Gate>()

  const gate = (session: string) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        let gate = gates.get(session)
        if (gate === undefined) {
          gate = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
          gates.set(session, gate)
        }
        gate.users++
        return gate
      }),
      (gate) =>
        Effect.sync(() => {
          if (--gate.users === 0) gates.delete(session)
        })
    )

  const hold = (session: string, waitFor: Duration.Duration) =>
    Effect.flatMap(gate(session), ({ semaphore }) =>
      // the wait is interruptible, so that its timeout can end it; a permit taken is released with the scope
      Effect.acquireRelease(
        Effect.timeoutFail(Effect.interruptible(semaphore.take(1)), {
          duration: waitFor,
          onTimeout: () => new SessionBusy({ session, waitFor })
        }),
        () => semaphore.release(1)
      ))

  return {
    history: (session, lastMessages) => Effect.sync(() => lastTurns(sessions.get(session)?.turns ?? [], lastMessages)),
    append: (session, userId, turn) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const kept = sessions.get(session)
          if (kept === undefined) sessions.set(session, { userId, turns: [turn], updatedAt: now })
          else {
            kept.turns.push(turn)
            kept.updatedAt = now
          }
        })),
    pop: (session) => Effect.sync(() => sessions.get(session)?.turns.pop() ?? []),
    clear: (session) => Effect.sync(() => void sessions.delete(session)),
    list: (userId) =>
      Effect.sync(() =>
        [...sessions].filter(([, kept]) => kept.userId === userId)
          .map(([id, kept]) => ({ id, userId, turns: kept.turns.length, updatedAt: kept.updatedAt }))
          .sort((a, b) => b.updatedAt - a.updatedAt)
      ),
    hold
  }
})
