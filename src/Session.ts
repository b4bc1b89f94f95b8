/**
 * Conversations that continue. A session is one conversation's history,
 * kept by a store (`SessionStore`): in memory (`Session.layerMemory`, for tests),
 * or in SQLite or Postgres (`effect-agents/sql`). Pass one to a run and the
 * history goes before the input; when the run succeeds, its turn (the input,
 * the tool calls and their results, the answer) is appended in one
 * transaction. A failed or interrupted run appends nothing, unless the run
 * asks for its failed turn to be kept (`keepFailedTurn`).
 *
 * Runs of one session are serialised, across processes when they share the
 * store: a run waits for the run before it (up to `waitFor`, then
 * `SessionBusy`), so it reads every turn before it and no turn is lost.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Agent, Session } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 *
 * const chat = Effect.gen(function*() {
 *   const session = yield* Session.open("chat-1", { userId: "ada", lastMessages: 50 })
 *   yield* agent.run("My name is Ada.", { session })
 *   const reply = yield* agent.run("What is my name?", { session }) // the model reads the first turn
 *   return reply.content
 * }).pipe(Effect.provide(Session.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { AgentError, StoreFailed } from "./AgentError.js"
import * as History from "./internal/history.js"
import * as MemoryStore from "./internal/sessionMemory.js"
import type * as LanguageModel from "./LanguageModel.js"
import * as SessionStore from "./SessionStore.js"

/**
 * How much of its history a session gives a run.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryOptions {
  /** At most this many messages, in whole turns (the last turn always). Default: all. */
  readonly lastMessages?: number | undefined
  /** At most about this many tokens (4 characters each), in whole turns, the oldest dropped first. Default: no bound. */
  readonly maxTokens?: number | undefined
  /**
   * Rewrites the history before a run reads it (the store keeps it as it
   * was): `Session.summarizeOlder` asks a model to summarise older turns.
   */
  readonly compact?:
    | ((
      history: ReadonlyArray<LanguageModel.Message>
    ) => Effect.Effect<ReadonlyArray<LanguageModel.Message>, AgentError>)
    | undefined
}

/**
 * How a session is opened.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenOptions extends HistoryOptions {
  /** The user (or resource) the session belongs to: `Session.list` finds sessions by it. */
  readonly userId?: string | undefined
  /** How long a run waits for the run of the session before it. Default: 1 minute. */
  readonly waitFor?: Duration.DurationInput | undefined
}

/**
 * One conversation in a store: pass it to `run` or `stream` as `{ session }`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly id: string
  readonly userId: string | undefined
  readonly history: HistoryOptions
  readonly waitFor: Duration.Duration
  readonly store: SessionStore.Service
  /** The history a run would read now (limits and `compact` applied). */
  readonly messages: Effect.Effect<ReadonlyArray<LanguageModel.Message>, AgentError>
  /** Appends a turn of your own (a greeting, an imported conversation). */
  readonly append: (turn: ReadonlyArray<LanguageModel.Message>) => Effect.Effect<void, StoreFailed>
  /** Undoes the last turn: removes it and gives it back. */
  readonly pop: Effect.Effect<ReadonlyArray<LanguageModel.Message>, StoreFailed>
  /** Forgets the whole conversation. */
  readonly clear: Effect.Effect<void, StoreFailed>
}

/**
 * Opens a session of the store (it exists once it has a turn).
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (id: string, options: OpenOptions = {}): Effect.Effect<Session, never, SessionStore.SessionStore> =>
  Effect.map(SessionStore.SessionStore, (store) => make(store, id, options))

/**
 * A session of `store`, without the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (store: SessionStore.Service, id: string, options: OpenOptions = {}): Session => {
  const history: HistoryOptions = {
    lastMessages: options.lastMessages,
    maxTokens: options.maxTokens,
    compact: options.compact
  }
  return {
    id,
    userId: options.userId,
    history,
    waitFor: Duration.decode(options.waitFor ?? "1 minute"),
    store,
    messages: Effect.suspend(() => History.read(store, id, history)),
    append: (turn) => store.append(id, options.userId, turn),
    pop: store.pop(id),
    clear: store.clear(id)
  }
}

/**
 * The sessions of a user, the latest first.
 *
 * @since 0.1.0
 * @category store
 */
export const list = (
  userId: string
): Effect.Effect<ReadonlyArray<SessionStore.SessionInfo>, StoreFailed, SessionStore.SessionStore> =>
  Effect.flatMap(SessionStore.SessionStore, (store) => store.list(userId))

/**
 * A store in this process's memory, for tests and single-process programs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SessionStore.SessionStore> = Layer.effect(
  SessionStore.SessionStore,
  MemoryStore.make
)

/**
 * A ready `compact`: keeps the last turns holding `keepMessages` messages and
 * has `model` summarise the turns before them into one message (a tool call
 * and its result stay together, in one turn). The summary is made for the
 * run that reads the history; the store keeps every turn.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type LanguageModel, Session } from "effect-agents"
 *
 * declare const cheapModel: LanguageModel.Service
 *
 * const session = Session.open("chat-1", { compact: Session.summarizeOlder(cheapModel, { keepMessages: 20 }) })
 * ```
 *
 * @since 0.1.0
 * @category compaction
 */
export const summarizeOlder = (
  model: LanguageModel.Service,
  options: { readonly keepMessages: number }
): NonNullable<HistoryOptions["compact"]> =>
  History.summarizeOlder(
    (messages) => Effect.map(model.generate({ messages, tools: [] }), (response) => response.text),
    options.keepMessages
  )
