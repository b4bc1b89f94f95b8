/**
 * Scripts, served: the turns of `ScriptedModel` and `OpenAiCompatServer`
 * (declared here, where both read them), which turn a call gets, and the
 * response a turn gives.
 */
import type * as Duration from "effect/Duration"
import type * as LanguageModel from "../../LanguageModel.js"
import type { ModelError } from "../../ModelError.js"
import { InvalidRequest } from "../../ModelError.js"

/**
 * A tool call in a script. Arguments are given as a value (sent as JSON) or
 * as raw text (to script a model that writes broken JSON).
 */
export interface ScriptedToolCall {
  readonly name: string
  readonly arguments?: unknown
  readonly id?: string | undefined
}

/** One reply of the model. */
export interface Turn {
  readonly text?: string | undefined
  readonly toolCalls?: ReadonlyArray<ScriptedToolCall> | undefined
  /** Time before the response (or before the first streamed part). */
  readonly latency?: Duration.DurationInput | undefined
  /** Streamed text is split at word boundaries into this many chunks (default: one per word). */
  readonly chunks?: number | undefined
  /** Time between streamed chunks (default none). */
  readonly chunkInterval?: Duration.DurationInput | undefined
  readonly usage?: LanguageModel.Usage | undefined
  /** Fail the first `times` attempts at this turn (default 1), after the latency. */
  readonly fail?: { readonly error: ModelError; readonly times?: number | undefined } | undefined
  /**
   * Break the stream after this many text chunks: it fails with
   * `ModelUnavailable`, as a dropped connection would (a `generate` call
   * fails at once).
   */
  readonly cutAfter?: number | undefined
  /** Never answer: the call hangs until it is interrupted. */
  readonly hang?: boolean | undefined
  /**
   * Stall after this many streamed text chunks: the stream stays open and
   * nothing more comes, as from a server that stopped mid-answer. `0` stalls
   * before the first chunk (the test server sends the response's headers
   * first); a call that is not streamed stalls like `hang` (the test server
   * sends the headers of its answer, then no body).
   */
  readonly stallAfter?: number | undefined
}

/**
 * Turns served in order, or a function of the request and of the call's
 * index (counting every call, failed attempts included).
 */
export type Script =
  | ReadonlyArray<Turn>
  | ((request: LanguageModel.GenerateRequest, index: number) => Turn)

/** What a call gets from the script. */
export type Served =
  | { readonly _tag: "Answer"; readonly turn: Turn; readonly index: number }
  | { readonly _tag: "Fail"; readonly turn: Turn; readonly error: ModelError; readonly index: number }

/**
 * Serves a script: one turn per call, in order, a turn's `fail` served on its
 * first `times` calls. Records every request unless told not to. Not an
 * Effect: callers (the scripted model, the test server) add the latency.
 */
export const makeCursor = (script: Script, record = true) => {
  const requests: Array<LanguageModel.GenerateRequest> = []
  let calls = 0
  let cursor = 0
  let failuresServed = 0
  const next = (request: LanguageModel.GenerateRequest): Served => {
    const index = calls++
    if (record) requests.push(request)
    if (typeof script === "function") {
      const turn = script(request, index)
      return turn.fail === undefined
        ? { _tag: "Answer", turn, index }
        : { _tag: "Fail", turn, error: turn.fail.error, index }
    }
    const turn = script[cursor]
    if (turn === undefined) {
      const error = new InvalidRequest({
        message: `ScriptedModel: the script has no turn left (${script.length} served)`
      })
      return { _tag: "Fail", turn: {}, error, index }
    }
    if (turn.fail !== undefined && failuresServed < (turn.fail.times ?? 1)) {
      failuresServed++
      return { _tag: "Fail", turn, error: turn.fail.error, index }
    }
    cursor++
    failuresServed = 0
    return { _tag: "Answer", turn, index }
  }
  return { next, requests }
}

const estimateTokens = (length: number): number => Math.max(1, Math.ceil(length / 4))

const requestLength = (request: LanguageModel.GenerateRequest): number => {
  let length = 0
  for (const message of request.messages) {
    length += message.content.length + 1
    if (message.role === "assistant") {
      for (const call of message.toolCalls) length += call.name.length + call.arguments.length
    }
  }
  return length
}

/** The response a turn gives to a request; `index` numbers its tool calls' ids. */
export const respond = (
  request: LanguageModel.GenerateRequest,
  turn: Turn,
  index: number,
  model: string
): LanguageModel.GenerateResponse => {
  const toolCalls = (turn.toolCalls ?? []).map((call, i): LanguageModel.ToolCall => ({
    id: call.id ?? `call_${index}_${i}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {})
  }))
  const text = turn.text ?? ""
  return {
    text,
    toolCalls,
    usage: turn.usage ?? {
      inputTokens: estimateTokens(requestLength(request) - 1),
      outputTokens: estimateTokens(
        toolCalls.reduce((length, call) => length + call.name.length + call.arguments.length, text.length)
      )
    },
    finishReason: toolCalls.length > 0 ? "tool-calls" : "stop",
    model
  }
}

/** Splits text at word boundaries: one piece per word, or `chunks` pieces. */
export const splitText = (text: string, chunks: number | undefined): ReadonlyArray<string> => {
  const words = text.match(/\S+\s*|\s+/g) ?? []
  if (chunks === undefined || chunks >= words.length) return words
  const size = Math.ceil(words.length / Math.max(1, chunks))
  const pieces: Array<string> = []
  for (let i = 0; i < words.length; i += size) pieces.push(words.slice(i, i + size).join(""))
  return pieces
}
