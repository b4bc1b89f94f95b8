/**
 * The MCP endpoint of an agent server: what it serves at `/mcp`. The server
 * serves no MCP unless its layer is given this service; `McpServer.layerHttp`
 * (`effect-agents/mcp`) makes it, on the official MCP SDK, for what the
 * `Registry` holds.
 *
 * The server puts its bearer token (when it has one), its `Host` check
 * (when it has none) and an `Origin` check in front of the endpoint, counts
 * its calls as runs in flight, and closes it when it shuts down, once the
 * runs in flight ended.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ServerShuttingDown } from "./AgentApi.js"

/**
 * What the server gives the endpoint it mounts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Host {
  /** Runs a call as a run in flight: refused once the server drains, interrupted when its grace period ends. */
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServerShuttingDown, R>
  /** The largest request body in bytes. */
  readonly maxBodySize: number
}

/**
 * A mounted endpoint: the app answering requests to `/mcp`, and how to
 * close its sessions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly app: HttpApp.Default<never, never>
  /** Closes every session (their streams end); the server calls it as it shuts down. */
  readonly close: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Mounts the endpoint on a server; it lives as long as the scope. */
  readonly mount: (host: Host) => Effect.Effect<Endpoint, never, Scope.Scope>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class McpEndpoint extends Context.Tag("effect-agents/http/McpEndpoint")<McpEndpoint, Service>() {}

/**
 * The path the endpoint is served at.
 *
 * @since 0.1.0
 * @category constants
 */
export const path = "/mcp"
