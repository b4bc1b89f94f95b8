/**
 * Record once, replay in tests: `Recording.make(model, { path })` wraps any
 * model and writes every call it makes, request and response (a stream's
 * parts, a failure's `ModelError`), to a JSON file;
 * `ScriptedModel.replay(path)` answers from that file, offline and
 * deterministically. Record a run against a real provider once, commit the
 * file, and CI replays it with no key.
 *
 * The file (`format: "effect-agents/recording"`, `version: 1`):
 *
 * ```json
 * {
 *   "format": "effect-agents/recording",
 *   "version": 1,
 *   "model": "gpt-4o-mini",
 *   "provider": "openai",
 *   "calls": [
 *     {
 *       "method": "generate",
 *       "request": { "messages": [{ "role": "user", "content": "Hi" }], "tools": [] },
 *       "response": { "text": "Hello!", "toolCalls": [], "usage": { "inputTokens": 8, "outputTokens": 2 },
 *                     "finishReason": "stop", "model": "gpt-4o-mini-2024-07-18" },
 *       "durationMs": 412
 *     },
 *     { "method": "stream", "request": { ... }, "parts": [{ "_tag": "TextDelta", "text": "Hel" }, ...] },
 *     { "method": "generate", "request": { ... }, "error": { "_tag": "RateLimited", "message": "...", "retryAfter": 2000 } }
 *   ]
 * }
 * ```
 *
 * A request is the library's provider-neutral request (messages, tool
 * definitions, tool choice, response format) without its timeout. It never
 * holds an API key or a header: those live in the provider's client, below
 * the model seam this records at. Texts that may still hold a secret (a key
 * a user pasted in a prompt, one a server echoed) are scrubbed by `secrets`:
 * each is replaced with `<redacted>` wherever it appears. `durationMs` is
 * written with `timings: true`. The file is rewritten after every call (to a
 * temporary file, then renamed), so a run that crashes keeps what it made.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Agent, LanguageModel } from "effect-agents"
 * import { Recording } from "effect-agents/testing"
 *
 * declare const realModel: LanguageModel.Service
 *
 * const record = Effect.gen(function*() {
 *   const model = yield* Recording.make(realModel, { path: "test/recordings/weather.json" })
 *   const agent = yield* Agent.make({ name: "a", instructions: "Be brief.", model })
 *   return yield* agent.run("Weather in Paris?")
 * }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Scrub from "../internal/scrub.js"
import * as Format from "../internal/testing/recording.js"
import * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The JSON file to write; its directory must exist. */
  readonly path: string
  /** Values replaced with `<redacted>` in every text of the file (an API key, a password). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted | string> | undefined
  /** Write each call's `durationMs` (default false: files that do not change from one recording to the next). */
  readonly timings?: boolean | undefined
}

/**
 * The recording file's version this library writes, and the only one
 * `ScriptedModel.replay` reads.
 *
 * @since 0.1.0
 * @category format
 */
export const version: number = Format.version

/**
 * A recording file, as `JSON.parse` reads it (the `Schema` of the format,
 * encoded: a `retryAfter` is milliseconds).
 *
 * @since 0.1.0
 * @category format
 */
export type File = typeof Format.File.Encoded

/**
 * A recording file that cannot be replayed: missing, not JSON, not in the
 * format, or of another version.
 *
 * @example
 * ```ts
 * import { Recording } from "effect-agents/testing"
 *
 * const error = new Recording.RecordingInvalid({ path: "weather.json", message: "not found" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class RecordingInvalid extends Schema.TaggedError<RecordingInvalid>()("RecordingInvalid", {
  path: Schema.String,
  message: Schema.String
}) {}

const encodeFile = Schema.encodeSync(Format.File)

/**
 * A model that records every call of `model` to `options.path`.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect, Redacted } from "effect"
 * import type { LanguageModel } from "effect-agents"
 * import { Recording } from "effect-agents/testing"
 *
 * declare const model: LanguageModel.Service
 * const recorded = Recording.make(model, { path: "run.json", secrets: [Redacted.make("sk-...")], timings: true }).pipe(
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  model: LanguageModel.Service,
  options: Options
): Effect.Effect<LanguageModel.Service, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const scrub = Scrub.fromSecrets(options.secrets)
    const calls: Array<Format.Call> = []
    const lock = yield* Effect.makeSemaphore(1)
    const temporary = `${options.path}.tmp`

    // the whole file, every text scrubbed, written beside the target and renamed over it
    const write = lock.withPermits(1)(Effect.suspend(() => {
      const file = encodeFile({
        format: Format.format,
        version: Format.version,
        model: model.model,
        ...(model.provider === undefined ? {} : { provider: model.provider }),
        calls
      })
      const json = JSON.stringify(file, (_, value) => typeof value === "string" ? scrub(value) : value, 2)
      return fs.writeFileString(temporary, `${json}\n`).pipe(
        Effect.zipRight(fs.rename(temporary, options.path)),
        Effect.orDie
      )
    }))

    const keep = (call: Format.Call, startedAt: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        calls.push(options.timings ? { ...call, durationMs: now - startedAt } : call)
        return write
      })

    const generate = (request: LanguageModel.GenerateRequest) =>
      Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
        Effect.onExit(model.generate(request), (exit) => {
          const recorded = Format.toRecorded(request)
          if (Exit.isSuccess(exit)) {
            return keep({ method: "generate", request: recorded, response: exit.value }, startedAt)
          }
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          return error === undefined ? Effect.void : keep({ method: "generate", request: recorded, error }, startedAt)
        }))

    const stream = (request: LanguageModel.GenerateRequest): Stream.Stream<LanguageModel.StreamPart, ModelError> =>
      Stream.unwrap(Effect.map(Clock.currentTimeMillis, (startedAt) => {
        const parts: Array<LanguageModel.StreamPart> = []
        const recorded = Format.toRecorded(request)
        return model.stream(request).pipe(
          Stream.tap((part) => Effect.sync(() => parts.push(part))),
          Stream.onEnd(
            Effect.suspend(() => keep({ method: "stream", request: recorded, parts: parts.slice() }, startedAt))
          ),
          Stream.tapError((error) =>
            keep({ method: "stream", request: recorded, parts: parts.slice(), error }, startedAt)
          )
        )
      }))

    // the wrapped model enforces its own timeouts
    return LanguageModel.make({ model: model.model, provider: model.provider, generate, stream, enforcesTimeout: true })
  })

/**
 * A layer of the `LanguageModel` service that records every call of `model`.
 *
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import type { LanguageModel } from "effect-agents"
 * import { Recording } from "effect-agents/testing"
 *
 * declare const model: LanguageModel.Service
 * const ModelLive = Recording.layer(model, { path: "run.json" }).pipe(Layer.provide(NodeContext.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  model: LanguageModel.Service,
  options: Options
): Layer.Layer<LanguageModel.LanguageModel, never, FileSystem.FileSystem> =>
  Layer.effect(LanguageModel.LanguageModel, make(model, options))
