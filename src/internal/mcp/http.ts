/**
 * MCP over Streamable HTTP, on the SDK's web-standard handlers mounted with
 * `HttpApp.fromWebHandler`: 2026-07-28 requests go to the SDK's per-request
 * handler; 2025-era clients get sessions (a transport and a server instance
 * each), so that their `notifications/cancelled`, which arrives on another
 * request, reaches the call it cancels.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { McpServer } from "@modelcontextprotocol/server"
import {
  createMcpHandler,
  isLegacyRequest,
  WebStandardStreamableHTTPServerTransport
} from "@modelcontextprotocol/server"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"
import type * as McpEndpoint from "../../http/McpEndpoint.js"

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly server: McpServer
}

/** A JSON-RPC error answer with no id, as the SDK's transports give them. */
const rpcError = (status: number, code: number, message: string): Response =>
  Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status })

const closeQuietly = (server: McpServer): Effect.Effect<void> =>
  Effect.ignore(Effect.tryPromise(() => server.close()).pipe(Effect.timeout("5 seconds")))

/**
 * Mounts the endpoint: `maxSessions` 2025-era sessions at most (the oldest
 * is closed for a new one), all closed by `close`, or when the scope ends.
 */
export const mount = (
  factory: () => McpServer,
  host: McpEndpoint.Host,
  maxSessions: number
): Effect.Effect<McpEndpoint.Endpoint, never, Scope.Scope> =>
  Effect.gen(function*() {
    const maxRequestBodySize = host.maxBodySize
    const sessions = new Map<string, Session>()
    const modern = createMcpHandler(factory, { legacy: "reject", maxRequestBodySize })

    /** A new session, when the request is an `initialize`; the transport refuses anything else. */
    const open = (request: Request): Effect.Effect<Response> =>
      Effect.gen(function*() {
        const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          maxRequestBodySize,
          onsessioninitialized: (id) => {
            sessions.set(id, { transport, server })
          },
          onsessionclosed: (id) => {
            sessions.delete(id)
          }
        })
        transport.onclose = () => {
          if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
        }
        const server = factory()
        yield* Effect.promise(() => server.connect(transport))
        const response = yield* Effect.promise(() => transport.handleRequest(request))
        if (transport.sessionId === undefined) yield* closeQuietly(server)
        // over the limit, the oldest session goes
        for (const [id, oldest] of sessions) {
          if (sessions.size <= maxSessions) break
          sessions.delete(id)
          yield* closeQuietly(oldest.server)
        }
        return response
      })

    const legacy = (request: Request): Effect.Effect<Response> => {
      const id = request.headers.get("mcp-session-id")
      if (id === null) {
        return request.method === "POST"
          ? open(request)
          : Effect.succeed(rpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required"))
      }
      const session = sessions.get(id)
      // a session this server does not know (it restarted, say): the client starts a new one
      return session === undefined
        ? Effect.succeed(rpcError(404, -32001, "Session not found"))
        : Effect.promise(() => session.transport.handleRequest(request))
    }

    const handle = (request: Request): Effect.Effect<Response> =>
      Effect.promise(() => isLegacyRequest(request, undefined, { maxRequestBodySize })).pipe(
        Effect.flatMap((isLegacy) => isLegacy ? legacy(request) : Effect.promise(() => modern.fetch(request)))
      )

    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromise(runtime)
    const app: HttpApp.Default<never, never> = HttpApp.fromWebHandler((request) =>
      run(handle(request), { signal: request.signal })
    ).pipe(
      Effect.catchAllCause((cause) =>
        Effect.as(
          Effect.logError("McpServer: a request to /mcp failed unexpectedly", cause),
          HttpServerResponse.unsafeJson({ _tag: "InternalError", message: "internal server error" }, { status: 500 })
        )
      )
    ) as HttpApp.Default<never, never>

    const close = Effect.gen(function*() {
      const open = Array.from(sessions.values())
      sessions.clear()
      yield* Effect.forEach(open, (session) => closeQuietly(session.server), {
        concurrency: "unbounded",
        discard: true
      })
      yield* Effect.ignore(Effect.tryPromise(() => modern.close()))
    })
    yield* Effect.addFinalizer(() => close)
    return { app, close }
  })
