import * as Effect from "effect/Effect"
import { StoreFailed } from "../../AgentError.js"

/** Any failure of the store, typed, saying what failed (never how to connect). */
export const failed = (operation: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.mapError(effect, (error) => new StoreFailed({ operation, reason: reasonOf(error) }))

const reasonOf = (error: unknown): string => {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.message : String(cause)
}
