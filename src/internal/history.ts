/**
 * A session's history as a run reads it: whole turns from the store, within
 * `lastMessages` and `maxTokens` (the oldest dropped first, the last turn
 * always kept), then `compact`. Cutting at turn boundaries never separates a
 * tool call from its result.
 */
import * as Effect from "effect/Effect"
import type { AgentError } from "../AgentError.js"
import type * as LanguageModel from "../LanguageModel.js"
import type * as SessionStore from "../SessionStore.js"
import * as Prompts from "./prompts.js"

/** How much of its history a session gives a run (`Session.HistoryOptions`). */
export interface Limits {
  readonly lastMessages?: number | undefined
  readonly maxTokens?: number | undefined
  readonly compact?: Compact | undefined
}

/** Rewrites a history before a run reads it. */
export type Compact = (
  history: ReadonlyArray<LanguageModel.Message>
) => Effect.Effect<ReadonlyArray<LanguageModel.Message>, AgentError>

/** The history a run of `session` reads. */
export const read = (
  store: SessionStore.Service,
  session: string,
  options: Limits
): Effect.Effect<ReadonlyArray<LanguageModel.Message>, AgentError> =>
  Effect.flatMap(store.history(session, options.lastMessages), (turns) => {
    const messages = withinTokens(turns, options.maxTokens).flat()
    return options.compact === undefined || messages.length === 0 ? Effect.succeed(messages) : options.compact(messages)
  })

/** The last turns whose messages hold at most `limit` (the last turn always). */
export const lastTurns = <A>(
  turns: ReadonlyArray<ReadonlyArray<A>>,
  limit: number | undefined,
  size: (turn: ReadonlyArray<A>) => number = (turn) => turn.length
): ReadonlyArray<ReadonlyArray<A>> => {
  if (limit === undefined) return turns
  let total = 0
  let first = turns.length
  while (first > 0) {
    total += size(turns[first - 1]!)
    if (total > limit && first < turns.length) break
    first--
  }
  return turns.slice(first)
}

const withinTokens = (
  turns: ReadonlyArray<ReadonlyArray<LanguageModel.Message>>,
  maxTokens: number | undefined
) => lastTurns(turns, maxTokens, (turn) => turn.reduce((sum, message) => sum + tokens(message), 0))

/** About how many tokens a message takes: four characters each. */
export const tokens = (message: LanguageModel.Message): number => {
  let characters = message.content.length
  if (message.role === "assistant") {
    for (const call of message.toolCalls) characters += call.name.length + call.arguments.length
  }
  return Math.ceil(characters / 4)
}

/** The turns of `messages`: each starts at a user message (a run's input). */
export const turnsOf = (
  messages: ReadonlyArray<LanguageModel.Message>
): ReadonlyArray<ReadonlyArray<LanguageModel.Message>> => {
  const turns: Array<Array<LanguageModel.Message>> = []
  for (const message of messages) {
    if (message.role === "user" || turns.length === 0) turns.push([message])
    else turns[turns.length - 1]!.push(message)
  }
  return turns
}

/**
 * A compaction that keeps the last turns holding `keepMessages` and has
 * `generate` summarise the turns before them into one message.
 */
export const summarizeOlder = (
  generate: (messages: ReadonlyArray<LanguageModel.Message>) => Effect.Effect<string, AgentError>,
  keepMessages: number
) =>
(history: ReadonlyArray<LanguageModel.Message>): Effect.Effect<ReadonlyArray<LanguageModel.Message>, AgentError> => {
  const turns = turnsOf(history)
  const kept = lastTurns(turns, keepMessages)
  if (kept.length === turns.length) return Effect.succeed(history)
  const older = turns.slice(0, turns.length - kept.length).flat()
  const conversation = older.map((message) => `${message.role}: ${message.content}`).join("\n")
  return Effect.map(generate(Prompts.summarize(conversation)), (text) => [Prompts.summary(text), ...kept.flat()])
}
