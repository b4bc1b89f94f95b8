/**
 * A deterministic `LanguageModel` that replies from a script: for tests,
 * examples and benchmarks, with no network and no API key.
 *
 * A script is a list of {@link Turn}s served in order (one per model call),
 * or a function from the request to a turn. A turn answers with text, tool
 * calls or both, after an optional latency (an `Effect.sleep`, so `TestClock`
 * drives it), and can fail its first attempts with any `ModelError`. Streams
 * split the text into chunks. Usage is estimated at four characters a token
 * unless the turn gives it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const program = Effect.gen(function*() {
 *   const model = yield* ScriptedModel.make([
 *     { toolCalls: [{ name: "search", arguments: { query: "effect" } }], latency: "100 millis" },
 *     { text: "Effect is a TypeScript library." }
 *   ])
 *   const agent = yield* Agent.make({ name: "a", instructions: "", model })
 *   // ...
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Own from "../internal/own.js"
import * as Format from "../internal/testing/recording.js"
import * as internal from "../internal/testing/script.js"
import * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import { InvalidRequest, MalformedResponse, ModelTimeout, ModelUnavailable } from "../ModelError.js"
import { RecordingInvalid } from "./Recording.js"

/**
 * A tool call in a script. Arguments are given as a value (sent as JSON) or
 * as raw text (to script a model that writes broken JSON).
 *
 * @since 0.1.0
 * @category models
 */
export type ScriptedToolCall = internal.ScriptedToolCall

/**
 * One reply of the model: text, tool calls or both, after an optional
 * `latency`, streamed in `chunks`; or a reply that fails (`fail`), breaks
 * (`cutAfter`), stalls (`stallAfter`) or never comes (`hang`).
 *
 * @since 0.1.0
 * @category models
 */
export type Turn = internal.Turn

/**
 * Turns served in order, or a function of the request and of the call's
 * index (counting every call, failed attempts included).
 *
 * @since 0.1.0
 * @category models
 */
export type Script = internal.Script

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The model's name (default `"scripted"`). */
  readonly model?: string | undefined
  /** The provider's name in spans (default `"scripted"`). */
  readonly provider?: string | undefined
  /** The latency of turns that give none. */
  readonly latency?: Duration.DurationInput | undefined
  /**
   * Keep every request for `requests` (default true). Turn it off where the
   * model serves many runs (a benchmark, a demo): the requests hold the
   * conversations.
   */
  readonly record?: boolean | undefined
}

/**
 * A scripted model, which also records what it was asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedModel extends LanguageModel.Service {
  /** Every request received so far, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<LanguageModel.GenerateRequest>>
}

type Answer = Extract<internal.Served, { readonly _tag: "Answer" }>

/**
 * A scripted model.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { AgentError } from "effect-agents"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const flaky = ScriptedModel.make([
 *   { fail: { error: new AgentError.ModelUnavailable({ message: "502" }), times: 2 }, text: "third time lucky" }
 * ])
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (script: Script, options?: Options): Effect.Effect<ScriptedModel> =>
  Effect.sync(() => {
    const model = options?.model ?? "scripted"
    const cursor = internal.makeCursor(script, options?.record ?? true)
    const cut = (index: number) =>
      new ModelUnavailable({ message: `ScriptedModel: the stream of call ${index} was cut off` })

    const timeoutOf = (request: LanguageModel.GenerateRequest) =>
      request.timeout !== undefined && Duration.isFinite(request.timeout) ? request.timeout : undefined

    // Sleeps `delay` (forever when undefined), unless what is `left` of the
    // call's `timeout` runs out first: then the call fails with ModelTimeout.
    const wait = (
      delay: Duration.Duration | undefined,
      left: Duration.Duration | undefined,
      timeout: Duration.Duration | undefined
    ): Effect.Effect<void, ModelTimeout> =>
      left !== undefined && timeout !== undefined && (delay === undefined || Duration.greaterThanOrEqualTo(delay, left))
        ? Effect.zipRight(Effect.sleep(left), new ModelTimeout({ timeout }))
        : delay === undefined
        ? Effect.never
        : Duration.isZero(delay)
        ? Effect.void
        : Effect.sleep(delay)

    // Nothing more comes: fails when what is `left` of the `timeout` runs out, else never ends.
    const stall = (left: Duration.Duration | undefined, timeout: Duration.Duration | undefined) =>
      Effect.flatMap(wait(undefined, left, timeout), () => Effect.never)

    // The next turn, after its latency: fails, hangs or answers.
    const next = (request: LanguageModel.GenerateRequest): Effect.Effect<Answer, ModelError> =>
      Effect.suspend(() => {
        const served = cursor.next(request)
        const input = served.turn.latency ?? options?.latency
        const latency = input === undefined ? Duration.zero : Duration.decode(input)
        const answer: Effect.Effect<Answer, ModelError> = served._tag === "Fail"
          ? Effect.fail(served.error)
          : Effect.succeed(served)
        const timeout = timeoutOf(request)
        return Effect.zipRight(wait(served.turn.hang ? undefined : latency, timeout, timeout), answer)
      })

    const generate = (request: LanguageModel.GenerateRequest) =>
      Effect.flatMap(next(request), ({ index, turn }): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
        if (turn.stallAfter !== undefined) {
          const timeout = timeoutOf(request)
          return stall(timeout && Duration.subtract(timeout, turn.latency ?? options?.latency ?? 0), timeout)
        }
        return turn.cutAfter === undefined
          ? Effect.succeed(internal.respond(request, turn, index, model))
          : Effect.fail(cut(index))
      })

    const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> =>
      Stream.unwrap(Effect.map(next(request), ({ index, turn }) => {
        const response = internal.respond(request, turn, index, model)
        const interval = turn.chunkInterval === undefined ? undefined : Duration.decode(turn.chunkInterval)
        const timeout = timeoutOf(request)
        const latency = turn.latency ?? options?.latency
        // what is left of the timeout once the first chunk is out
        let left = timeout === undefined ? undefined : Duration.subtract(timeout, latency ?? Duration.zero)
        const sent = internal.splitText(response.text, turn.chunks).slice(0, turn.cutAfter ?? turn.stallAfter)
        const deltas = Stream.fromIterable(sent).pipe(
          Stream.zipWithIndex,
          Stream.mapEffect(([text, i]) => {
            const part: LanguageModel.StreamPart = { _tag: "TextDelta", text }
            if (i === 0 || interval === undefined) return Effect.succeed(part)
            const budget = left
            if (budget !== undefined) left = Duration.subtract(budget, interval)
            return Effect.as(wait(interval, budget, timeout), part)
          })
        )
        const rest: Stream.Stream<LanguageModel.StreamPart, ModelError> = turn.cutAfter !== undefined
          ? Stream.fail(cut(index))
          : turn.stallAfter !== undefined
          ? Stream.fromEffect(Effect.suspend(() => stall(left, timeout)))
          : Stream.fromIterable(LanguageModel.toParts({ ...response, text: "" }))
        return Stream.concat(deltas, rest)
      }))

    const scripted: ScriptedModel = {
      ...LanguageModel.make({
        model,
        provider: options?.provider ?? "scripted",
        generate,
        stream,
        enforcesTimeout: true
      }),
      requests: Effect.sync(() => cursor.requests.slice())
    }
    return scripted
  })

/**
 * A layer of the `LanguageModel` service from a script.
 *
 * @example
 * ```ts
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const ModelLive = ScriptedModel.layer([{ text: "Hello!" }])
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (script: Script, options?: Options): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(script, options))

// -----------------------------------------------------------------------------
// replay
// -----------------------------------------------------------------------------

const decodeFile = Schema.decodeUnknownEither(Schema.parseJson(Format.File))
const decodeVersion = Schema.decodeUnknownOption(Schema.parseJson(Schema.Struct({ version: Schema.Number })))

/** The recording at `path`, decoded, or why it cannot be replayed. */
const readRecording = (path: string): Effect.Effect<Format.File, RecordingInvalid, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* Effect.mapError(
      fs.readFileString(path),
      (error) => new RecordingInvalid({ path, message: `the recording cannot be read: ${error.message}` })
    )
    const decoded = decodeFile(text)
    if (Either.isRight(decoded)) return decoded.right
    const found = decodeVersion(text)
    if (found._tag === "Some" && found.value.version !== Format.version) {
      return yield* new RecordingInvalid({
        path,
        message: `the recording is of version ${
          String(found.value.version)
        }; this library reads version ${Format.version}`
      })
    }
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return yield* new RecordingInvalid({
      path,
      message: `the file is not a recording${
        issue ? ` (at ${issue.path.join(".") || "its root"}: ${issue.message})` : ""
      }`
    })
  })

/** A recorded call's response, whether it was generated or streamed. */
const responseOf = (call: Format.Call, model: string): LanguageModel.GenerateResponse | ModelError => {
  if (call.response !== undefined) return call.response
  if (call.error !== undefined && (call.parts ?? []).length === 0) return call.error
  let text = ""
  const toolCalls: Array<LanguageModel.ToolCall> = []
  let finish: LanguageModel.FinishPart | undefined
  for (const part of call.parts ?? []) {
    if (part._tag === "TextDelta") text += part.text
    else if (part._tag === "ToolCall") toolCalls.push(part.toolCall)
    else finish = part
  }
  if (call.error !== undefined) return call.error
  if (finish === undefined) return new MalformedResponse({ message: "the recorded stream has no finish part" })
  return { text, toolCalls, usage: finish.usage, finishReason: finish.finishReason, model: finish.model || model }
}

/**
 * A model that answers from a recording (see `Recording`): each request gets
 * the response of the first recorded call not answered yet whose request is
 * the same (messages, tools, tool choice, response format), so concurrent
 * runs replay too, and recorded failures fail again, in order (retries
 * replay). A request that matches no call left fails with `InvalidRequest`,
 * not retried, whose message shows where it first differs from the next
 * recorded call: `at messages[1].content: recorded "Weather in Paris?", got
 * "Weather in Lyon?"`. A changed prompt is caught, never answered.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const replayed = Effect.gen(function*() {
 *   const model = yield* ScriptedModel.replay("test/recordings/weather.json")
 *   const agent = yield* Agent.make({ name: "a", instructions: "Be brief.", model })
 *   return yield* agent.run("Weather in Paris?")
 * }).pipe(Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const replay = (path: string): Effect.Effect<ScriptedModel, RecordingInvalid, FileSystem.FileSystem> =>
  Effect.map(readRecording(path), (file) => {
    const answered = file.calls.map(() => false)
    const requests: Array<LanguageModel.GenerateRequest> = []
    const next = (request: LanguageModel.GenerateRequest): Format.Call | InvalidRequest => {
      requests.push(request)
      const index = file.calls.findIndex((call, i) =>
        !answered[i] && Format.difference(call.request, request) === undefined
      )
      if (index >= 0) {
        answered[index] = true
        return file.calls[index]!
      }
      const waiting = answered.indexOf(false)
      return new InvalidRequest({
        message: waiting < 0
          ? `replay of ${path}: no recorded call is left for this request (${file.calls.length} recorded)`
          : `replay of ${path}: the request differs from recorded call ${waiting + 1} ${
            Format.difference(file.calls[waiting]!.request, request)
          }`
      })
    }
    const generate = (request: LanguageModel.GenerateRequest) =>
      Effect.suspend(() => {
        const call = next(request)
        if (call instanceof InvalidRequest) return Effect.fail(call)
        const response = responseOf(call, file.model)
        return "_tag" in response ? Effect.fail(response) : Effect.succeed(response)
      })
    const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> =>
      Stream.suspend(() => {
        const call = next(request)
        if (call instanceof InvalidRequest) return Stream.fail(call)
        if (call.parts === undefined) {
          const response = responseOf(call, file.model)
          return "_tag" in response ? Stream.fail(response) : Stream.fromIterable(LanguageModel.toParts(response))
        }
        const parts = Stream.fromIterable<LanguageModel.StreamPart>(call.parts)
        return call.error === undefined ? parts : Stream.concat(parts, Stream.fail(call.error))
      })
    const replayed: ScriptedModel = {
      ...LanguageModel.make({ model: file.model, provider: file.provider, generate, stream, enforcesTimeout: true }),
      requests: Effect.sync(() => requests.slice())
    }
    return replayed
  })

// -----------------------------------------------------------------------------
// useEachTool
// -----------------------------------------------------------------------------

/**
 * A sample value of a JSON Schema: strings take `text`, numbers are 1, and
 * so on. Enough for scripted arguments and answers to decode.
 */
const sample = (schema: unknown, text: string, defs: Record<string, unknown>, depth = 0): unknown => {
  if (typeof schema !== "object" || schema === null || depth > 8) return null
  const s = schema as Record<string, unknown>
  if (typeof s.$ref === "string") return sample(Own.get(defs, s.$ref.split("/").at(-1) ?? ""), text, defs, depth + 1)
  if ("const" in s) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  const union = (s.anyOf ?? s.oneOf) as ReadonlyArray<unknown> | undefined
  if (Array.isArray(union) && union.length > 0) return sample(union[0], text, defs, depth + 1)
  switch (s.type) {
    case "string":
      return text
    case "number":
    case "integer":
      return typeof s.minimum === "number" ? s.minimum : 1
    case "boolean":
      return true
    case "null":
      return null
    case "array":
      return s.items === undefined ? [] : [sample(s.items, text, defs, depth + 1)]
    case "object": {
      const properties = (s.properties ?? {}) as Record<string, unknown>
      const required = new Set(Array.isArray(s.required) ? s.required : Object.keys(properties))
      const value: Record<string, unknown> = {}
      for (const [key, property] of Object.entries(properties)) {
        if (required.has(key)) Own.set(value, key, sample(property, text, defs, depth + 1))
      }
      return value
    }
    default:
      return null
  }
}

const sampleOf = (schema: JSONSchema.JsonSchema7Root, text: string): unknown =>
  sample(schema, text, (schema.$defs ?? {}) as Record<string, unknown>)

const defaultAnswer = (results: ReadonlyArray<LanguageModel.ToolMessage>, request: string): string =>
  results.length === 0
    ? `You asked: "${request}". This is the scripted model's answer.`
    : "Here is what I found:\n" + results.map((result) => `- ${result.name}: ${result.content}`).join("\n")

/**
 * A script that reads naturally in examples: on a new user message it calls
 * every tool of the request once, all in one step (arguments from
 * `arguments`, else a sample of each tool's JSON Schema with the user's
 * message for strings), then answers from the tool results: with `answer`, or
 * by listing them; with structured output and no `answer`, with a sample of
 * the response schema.
 *
 * @example
 * ```ts
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const ModelLive = ScriptedModel.layer(
 *   ScriptedModel.useEachTool({ arguments: { get_weather: { city: "Paris" } }, latency: "300 millis" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const useEachTool = (options?: {
  readonly arguments?: Readonly<Record<string, unknown>> | undefined
  readonly answer?:
    | ((results: ReadonlyArray<LanguageModel.ToolMessage>, request: LanguageModel.GenerateRequest) => string)
    | undefined
  readonly latency?: Duration.DurationInput | undefined
  readonly chunkInterval?: Duration.DurationInput | undefined
}): (request: LanguageModel.GenerateRequest) => Turn =>
(request) => {
  const messages = request.messages
  let lastUser = messages.length - 1
  while (lastUser >= 0 && messages[lastUser]!.role !== "user") lastUser--
  const userText = messages[lastUser]?.content ?? ""
  const since = messages.slice(lastUser + 1)
  const latency = options?.latency
  const chunkInterval = options?.chunkInterval
  if (since.length === 0 && request.tools.length > 0) {
    return {
      latency,
      toolCalls: request.tools.map((tool) => ({
        name: tool.name,
        arguments: (options?.arguments === undefined ? undefined : Own.get(options.arguments, tool.name)) ??
          sampleOf(tool.parameters, userText)
      }))
    }
  }
  const results = since.filter((message): message is LanguageModel.ToolMessage => message.role === "tool")
  const text = options?.answer !== undefined
    ? options.answer(results, request)
    : request.responseFormat !== undefined
    ? JSON.stringify(sampleOf(request.responseFormat.schema, userText))
    : defaultAnswer(results, userText)
  return { latency, chunkInterval, text }
}
