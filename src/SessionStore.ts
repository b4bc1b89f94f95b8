/**
 * Where sessions are kept: the service `Session.layerMemory` and
 * `effect-agents/sql` provide. A turn is the messages one run added, kept
 * together: `pop` removes a whole turn, and a history never starts inside
 * one.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { SessionBusy, StoreFailed } from "./AgentError.js"
import type * as LanguageModel from "./LanguageModel.js"

/**
 * What a store knows of a session, without its messages.
 *
 * @since 0.1.0
 * @category models
 */
export const SessionInfo = Schema.Struct({
  id: Schema.String,
  userId: Schema.optional(Schema.String),
  /** Turns kept. */
  turns: Schema.Number,
  /** When its last turn was appended (milliseconds since the epoch). */
  updatedAt: Schema.Number
}).annotations({ identifier: "SessionInfo" })

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionInfo extends Schema.Schema.Type<typeof SessionInfo> {}

/**
 * What a store of sessions does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The last turns of a session, oldest first; with `lastMessages`, as many whole turns as hold at most that many messages (at least the last turn). */
  readonly history: (
    session: string,
    lastMessages: number | undefined
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<LanguageModel.Message>>, StoreFailed>
  /** Appends one turn, atomically. */
  readonly append: (
    session: string,
    userId: string | undefined,
    turn: ReadonlyArray<LanguageModel.Message>
  ) => Effect.Effect<void, StoreFailed>
  /** Removes the last turn and gives it back (empty when there is none). */
  readonly pop: (session: string) => Effect.Effect<ReadonlyArray<LanguageModel.Message>, StoreFailed>
  readonly clear: (session: string) => Effect.Effect<void, StoreFailed>
  /** The sessions of a user, the latest first. */
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<SessionInfo>, StoreFailed>
  /** Holds the session for the scope: one holder at a time, waiting up to `waitFor`. */
  readonly hold: (
    session: string,
    waitFor: Duration.Duration
  ) => Effect.Effect<void, SessionBusy | StoreFailed, Scope.Scope>
}

/**
 * The store of sessions.
 *
 * @since 0.1.0
 * @category tags
 */
export class SessionStore extends Context.Tag("effect-agents/SessionStore")<SessionStore, Service>() {}
