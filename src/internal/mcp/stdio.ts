/**
 * MCP over stdio, on the SDK's `serveStdio`: one server instance for the
 * connection, served until the client closes its end (or the fiber is
 * interrupted, which closes the connection and so every call in flight).
 */
import type { McpServer } from "@modelcontextprotocol/server"
import { serveStdio, StdioServerTransport } from "@modelcontextprotocol/server/stdio"
import * as Effect from "effect/Effect"
import type { Readable, Writable } from "node:stream"

export interface Streams {
  readonly stdin?: Readable | undefined
  readonly stdout?: Writable | undefined
}

export const serve = (factory: () => McpServer, streams: Streams): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const transport = new StdioServerTransport(streams.stdin, streams.stdout)
    const handle = serveStdio(factory, { transport })
    // the entry set its own onclose: the connection's end is also the end of this effect
    const onclose = transport.onclose
    transport.onclose = () => {
      onclose?.()
      resume(Effect.void)
    }
    return Effect.ignore(Effect.tryPromise(() => handle.close()).pipe(Effect.timeout("5 seconds")))
  })
