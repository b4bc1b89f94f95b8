/**
 * What a `Registry` holds, served to any MCP client (Claude Desktop,
 * Cursor, Codex, the MCP SDKs) as MCP tools:
 *
 * - an agent or a team takes `input` (and `sessionId` when a
 *   `SessionStore` is in context, to continue a conversation) and answers
 *   its content; an agent with an `output` Schema that is an object also
 *   gives its output as `structuredContent`, with an `outputSchema`;
 * - a DAG takes its input Schema's JSON (an input that is not an object is
 *   sent as `{ "input": ... }`) and answers every node's result, as JSON text
 *   and `structuredContent`; a failed DAG is an error result;
 * - a tool of the registry's `tools` keeps its parameters and answers its
 *   content.
 *
 * Names are made model-safe (`[a-zA-Z0-9_-]`, a clash numbered). A failed
 * run is an error result (`isError`) naming its error. A client's cancel
 * (`notifications/cancelled`) interrupts the run, down to its model request;
 * with a progress token, the client gets a progress notification for each
 * step, tool call and member of the run.
 *
 * Over stdio ({@link serveStdio}, for Claude Desktop and the like) or over
 * Streamable HTTP at `/mcp` of an `AgentServer` ({@link layerHttp}).
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { Registry } from "effect-agents/http"
 * import { McpServer } from "effect-agents/mcp"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * // claude_desktop_config.json: { "mcpServers": { "assistant": { "command": "npx", "args": ["tsx", "server.ts"] } } }
 * Effect.gen(function*() {
 *   const model = yield* ScriptedModel.make([{ text: "Hello!" }])
 *   const assistant = yield* Agent.make({ name: "assistant", instructions: "Be helpful.", model })
 *   yield* McpServer.serveStdio(Registry.make({ agents: [assistant] }))
 * }).pipe(NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type { Readable, Writable } from "node:stream"
import * as McpEndpoint from "../http/McpEndpoint.js"
import * as Registry from "../http/Registry.js"
import * as Http from "../internal/mcp/http.js"
import * as SdkServer from "../internal/mcp/sdkServer.js"
import * as Served from "../internal/mcp/served.js"
import * as Stdio from "../internal/mcp/stdio.js"
import * as SessionStore from "../SessionStore.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's name, as `initialize` answers it (default `"effect-agents"`). */
  readonly name?: string | undefined
  /** The server's version, as `initialize` answers it (default `"0.1.0"`). */
  readonly version?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StdioOptions extends Options {
  /** Where requests come from (default `process.stdin`). */
  readonly stdin?: Readable | undefined
  /** Where answers go (default `process.stdout`). */
  readonly stdout?: Writable | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface HttpOptions extends Options {
  /**
   * How many sessions of 2025-era clients are kept at once (default 1000);
   * a new one closes the oldest. 2026-07-28 clients need none.
   */
  readonly maxSessions?: number | undefined
}

const info = (options: Options | undefined): SdkServer.Info => ({
  name: options?.name ?? "effect-agents",
  version: options?.version ?? "0.1.0"
})

/** The served tools of a registry on the SDK, their calls run in the current context. */
const factoryOf = (
  registry: Registry.Service,
  options: Options | undefined,
  track: Served.Settings["track"]
) =>
  Effect.gen(function*() {
    const sessions = yield* Effect.serviceOption(SessionStore.SessionStore)
    const tools = Served.tools({ registry, sessions, track })
    return SdkServer.factory(info(options), tools, yield* Effect.runtime<never>())
  })

/** Logs on stderr: stdout is the protocol's. */
const logToStderr = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))

/**
 * Serves the registry over stdio (this process's stdin and stdout) until
 * the client closes stdin; interrupting it closes the connection and
 * interrupts the calls in flight. Effect's logs go to stderr, as anything
 * else this process writes must: stdout is the protocol's. The calls use the
 * `SessionStore` in context, when there is one.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Registry } from "effect-agents/http"
 * import { McpServer } from "effect-agents/mcp"
 *
 * declare const registry: Registry.Service
 * McpServer.serveStdio(registry, { name: "my-agents" }).pipe(NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category serving
 */
export const serveStdio = (registry: Registry.Service, options?: StdioOptions): Effect.Effect<void> =>
  Effect.gen(function*() {
    const factory = yield* factoryOf(registry, options, (effect) => effect)
    yield* Stdio.serve(factory, { stdin: options?.stdin, stdout: options?.stdout })
  }).pipe(Effect.provide(logToStderr))

/**
 * The registry served over Streamable HTTP at `/mcp` of the `AgentServer`
 * given this layer, behind the server's bearer token (when it has one) and
 * its `Host` and `Origin` checks: 2025-era clients in sessions (closed when
 * the server shuts down), 2026-07-28 clients per request. Calls count as
 * the server's runs in flight: a shutdown lets them finish within its
 * grace period. The calls use the `SessionStore` in context, when there is
 * one.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { AgentServer, Registry } from "effect-agents/http"
 * import { McpServer } from "effect-agents/mcp"
 *
 * declare const RegistryLive: Layer.Layer<Registry.Registry>
 *
 * // the API at /v1/..., MCP at http://127.0.0.1:8080/mcp
 * const ServerLive = AgentServer.layer({ port: 8080 }).pipe(
 *   Layer.provide(McpServer.layerHttp()),
 *   Layer.provide(RegistryLive)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttp = (options?: HttpOptions): Layer.Layer<McpEndpoint.McpEndpoint, never, Registry.Registry> =>
  Layer.effect(
    McpEndpoint.McpEndpoint,
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const context = yield* Effect.context<never>()
      return {
        mount: (host) =>
          Effect.flatMap(
            Effect.provide(factoryOf(registry, options, host.track), context),
            (factory) => Http.mount(factory, host, options?.maxSessions ?? 1000)
          )
      }
    })
  )
