/**
 * A run in a session: it holds the session (runs of one session are
 * serialised), reads its history, runs on the history and the input, and
 * appends its turn when it succeeds (or, with `keepFailedTurn`, when it
 * fails: the input and the steps the run had made).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import type { AgentError } from "../AgentError.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Run from "../Run.js"
import type { RunOptions } from "../Runnable.js"
import type * as RunState from "../RunState.js"
import * as History from "./history.js"

/** Runs `run` in the options' session, if they have one. */
export const around = <R extends Run.RunResult<unknown>>(
  name: string,
  input: Run.Input,
  options: RunOptions | undefined,
  run: (input: Run.Input, options: RunOptions | undefined) => Effect.Effect<R, AgentError>
): Effect.Effect<R, AgentError> => {
  if (options?.session === undefined) return run(input, options)
  const session = options.session
  const keepFailed = options.keepFailedTurn === true
  const decoded = Run.decodeInput(name, input)
  if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
  const given = typeof decoded.right === "string" ? [LanguageModel.user(decoded.right)] : decoded.right
  return Effect.scoped(Effect.gen(function*() {
    yield* session.store.hold(session.id, session.waitFor)
    const history = yield* History.read(session.store, session.id, session.history)
    const latest = yield* Ref.make<RunState.RunState | undefined>(undefined)
    const onState = keepFailed ? keeping(latest, options.onState) : options.onState
    const exit = yield* Effect.exit(run([...history, ...given], { ...options, onState }))
    const turn = Exit.isSuccess(exit)
      ? turnOf(exit.value.messages, history.length, given, exit.value.content)
      : keepFailed
      ? failedTurn(yield* Ref.get(latest), history.length, given)
      : []
    if (turn.length > 0) yield* session.store.append(session.id, session.userId, turn)
    return yield* exit
  }))
}

const keeping = (
  latest: Ref.Ref<RunState.RunState | undefined>,
  onState: RunOptions["onState"]
) =>
(state: RunState.RunState) =>
  onState === undefined ? Ref.set(latest, state) : Effect.zipRight(Ref.set(latest, state), onState(state))

/**
 * What a run added to `history.length` messages of history: everything after
 * them (the agent's instructions aside), without system messages. A runnable
 * whose result is not that conversation (a team that routes or broadcasts)
 * added its input and its answer.
 */
const turnOf = (
  messages: ReadonlyArray<LanguageModel.Message>,
  history: number,
  given: ReadonlyArray<LanguageModel.Message>,
  answer: string
): ReadonlyArray<LanguageModel.Message> => {
  const added = after(messages, history)
  const input = given.filter((message) => message.role !== "system")
  const continues = input.length > 0 && added.length > input.length && sameMessage(added[0]!, input[0]!)
  return continues ? added : [...input, LanguageModel.assistant(answer)]
}

const failedTurn = (
  state: RunState.RunState | undefined,
  history: number,
  given: ReadonlyArray<LanguageModel.Message>
) => state === undefined ? given.filter((message) => message.role !== "system") : after(state.messages, history)

const after = (messages: ReadonlyArray<LanguageModel.Message>, history: number) =>
  messages.slice(history + (messages[0]?.role === "system" ? 1 : 0)).filter((message) => message.role !== "system")

const sameMessage = (a: LanguageModel.Message, b: LanguageModel.Message) => a.role === b.role && a.content === b.content
