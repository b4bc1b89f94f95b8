/**
 * The official `openai` SDK client as a service, for OpenAI and any
 * OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp) through its
 * base URL.
 *
 * The API key is a `Redacted` value: it is handed to the SDK only, and the
 * service prints as `<redacted>` in logs, errors and `toString`. The SDK's
 * own retries are off: the agent's policy is the one place retries happen.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
 *
 * // OPENAI_API_KEY, and OPENAI_BASE_URL for a compatible server
 * const ModelLive = OpenAiModel.layer({ model: "gpt-4o-mini" }).pipe(Layer.provide(OpenAiClient.layerConfig()))
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { NodeInspectSymbol } from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import OpenAI from "openai"
import * as NodeFetch from "../internal/openai/nodeFetch.js"
import * as Scrub from "../internal/scrub.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly apiKey: Redacted.Redacted<string>
  /** Default: OpenAI's API, `https://api.openai.com/v1`. */
  readonly baseURL?: string | undefined
  readonly organization?: string | undefined
  readonly project?: string | undefined
  /**
   * The SDK's limit for one HTTP request (default 10 minutes). The policy's
   * `modelTimeout` is the usual place to limit model calls.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The `fetch` the SDK uses (default: the global one). {@link nodeFetch} is
   * a faster one for Node.
   */
  readonly fetch?: typeof fetch | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The SDK client, for endpoints this library does not wrap. */
  readonly client: OpenAI
  readonly baseURL: string
  /** The SDK's request timeout. */
  readonly timeout: Duration.Duration
  /**
   * Replaces the client's secrets in a text with `<redacted>`: the API key,
   * whole and in the masked forms providers print (`sk-abc***...***wxyz`,
   * `sk-proj-****wxyz`), and a password in the base URL. The provider passes
   * every message that leaves it through this, so a server that echoes the
   * key does not pass it on.
   */
  readonly scrub: (text: string) => string
}

/**
 * @since 0.1.0
 * @category tags
 */
export class OpenAiClient extends Context.Tag("effect-agents/OpenAiClient")<OpenAiClient, Service>() {}

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * A client from options.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { OpenAiClient } from "effect-agents/openai"
 *
 * const local = OpenAiClient.make({ apiKey: Redacted.make("unused"), baseURL: "http://127.0.0.1:11434/v1" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Service => {
  const baseURL = options.baseURL ?? "https://api.openai.com/v1"
  const timeout = Duration.decode(options.timeout ?? Duration.minutes(10))
  const client = new OpenAI({
    apiKey: Redacted.value(options.apiKey),
    baseURL,
    organization: options.organization ?? null,
    project: options.project ?? null,
    maxRetries: 0,
    timeout: Duration.toMillis(timeout),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch })
  })
  const password = URL.canParse(baseURL) ? new URL(baseURL).password : ""
  const scrub = Scrub.make([Redacted.value(options.apiKey), password, safeDecode(password)])
  const describe = () => ({ _id: "OpenAiClient", baseURL, apiKey: "<redacted>" })
  return {
    client,
    baseURL,
    timeout,
    scrub,
    toJSON: describe,
    toString: () => JSON.stringify(describe()),
    [NodeInspectSymbol]: describe
  } as Service
}

/**
 * A layer of the client from options.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { OpenAiClient } from "effect-agents/openai"
 *
 * const ClientLive = OpenAiClient.layer({ apiKey: Redacted.make(process.env.KEY ?? ""), project: "proj_123" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<OpenAiClient> => Layer.sync(OpenAiClient, () => make(options))

/** What a missing key says: how to set it, and how to do without it. */
const missingApiKey = "OPENAI_API_KEY is not set (or empty). Set it to your OpenAI API key " +
  "(OPENAI_API_KEY=sk-...), and OPENAI_BASE_URL for an OpenAI-compatible server; " +
  "or run offline on ScriptedModel, from effect-agents/testing."

/** `OPENAI_API_KEY`, redacted; missing or empty, a `MissingData` that says what to do. */
const apiKey: Config.Config<Redacted.Redacted<string>> = Config.option(Config.string("OPENAI_API_KEY")).pipe(
  Config.mapOrFail((key) =>
    Option.isSome(key) && key.value !== ""
      ? Either.right(Redacted.make(key.value))
      : Either.left(ConfigError.MissingData(["OPENAI_API_KEY"], missingApiKey))
  )
)

/**
 * A layer of the client from configuration: `OPENAI_API_KEY` (required, kept
 * `Redacted`), `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and `OPENAI_PROJECT_ID`
 * (optional). Without a key (or with an empty one) it fails with a
 * `ConfigError` that says how to set it, or to run offline on
 * `ScriptedModel`.
 *
 * @example
 * ```ts
 * import { OpenAiClient } from "effect-agents/openai"
 *
 * const ClientLive = OpenAiClient.layerConfig() // fails with a ConfigError without OPENAI_API_KEY
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options?: Omit<Options, "apiKey" | "baseURL" | "organization" | "project">
): Layer.Layer<OpenAiClient, ConfigError.ConfigError> =>
  Layer.effect(
    OpenAiClient,
    Effect.map(
      Config.all({
        apiKey,
        baseURL: Config.option(Config.string("OPENAI_BASE_URL")),
        organization: Config.option(Config.string("OPENAI_ORG_ID")),
        project: Config.option(Config.string("OPENAI_PROJECT_ID"))
      }),
      (config) =>
        make({
          ...options,
          apiKey: config.apiKey,
          baseURL: Option.getOrUndefined(config.baseURL),
          organization: Option.getOrUndefined(config.organization),
          project: Option.getOrUndefined(config.project)
        })
    )
  )

/**
 * A faster `fetch` for the SDK in Node: its requests go over Node's own HTTP
 * client with keep-alive agents instead of the global `fetch`, which cuts the
 * client's CPU per request (see `bench/RESULTS.md`). A JSON answer
 * (`application/json`, `+json`) is read whole; any other body, an event
 * stream whatever its label, is passed on as it arrives; abort and connection
 * errors keep their meaning; requests it is not made for (a streamed or
 * multipart body) go to the global `fetch`. No proxy support, like the global
 * `fetch` of Node 20.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { OpenAiClient } from "effect-agents/openai"
 *
 * const ClientLive = OpenAiClient.layer({
 *   apiKey: Redacted.make(process.env.OPENAI_API_KEY ?? ""),
 *   fetch: OpenAiClient.nodeFetch()
 * })
 * ```
 *
 * @since 0.1.0
 * @category transports
 */
export const nodeFetch: (options?: {
  /** Sockets per origin at most (default: unbounded). */
  readonly maxSockets?: number | undefined
}) => typeof fetch = NodeFetch.make
