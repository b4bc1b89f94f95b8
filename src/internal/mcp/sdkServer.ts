/**
 * The served tools on the official SDK's `McpServer`: a factory of server
 * instances (one per stdio connection, per HTTP session, or per modern HTTP
 * request), each call run as a fiber that the client's cancel interrupts.
 */
import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server"
import { fromJsonSchema, McpServer } from "@modelcontextprotocol/server"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import type { Forwarded } from "../../RunEvent.js"
import type { JsonObject, Progress, ServedTool } from "./served.js"

/** The server's name and version, as `initialize` answers them. */
export interface Info {
  readonly name: string
  readonly version: string
}

/** What a progress notification says of an event, or undefined for events not reported (text deltas). */
const describe = (event: Forwarded): string | undefined => {
  const where = event.path.join(" › ")
  switch (event._tag) {
    case "RunStarted":
      return `${where}: started`
    case "ToolCallStarted":
      return `${where}: calling ${event.toolCall.name}`
    case "ToolProgress":
      return `${where}: ${event.tool} at ${event.progress}${event.total === undefined ? "" : `/${event.total}`}${
        event.message === undefined ? "" : ` (${event.message})`
      }`
    case "ToolCallCompleted":
      return `${where}: ${event.call.name} ${event.call.isError ? "failed" : "answered"}`
    case "StepCompleted":
      return `${where}: step ${event.step.index + 1} completed`
    case "MemberCompleted":
      return `${where}: ${event.isError ? "failed" : "answered"}`
    case "ApprovalRequested":
      return `${where}: waiting for approval of ${event.approval.toolCall.name}`
    default:
      return undefined
  }
}

/**
 * The progress notifications of a call, when its client sent a progress
 * token: one per reported event, numbered from 1. A notification that
 * cannot be sent is dropped; the call goes on.
 */
const progressOf = (ctx: ServerContext): Progress => {
  const token = ctx.mcpReq._meta?.progressToken
  if (token === undefined) return () => Effect.void
  let progress = 0
  return (event) => {
    const message = describe(event)
    if (message === undefined) return Effect.void
    progress += 1
    const params = { progressToken: token, progress, message }
    return Effect.ignore(
      Effect.tryPromise(() => ctx.mcpReq.notify({ method: "notifications/progress", params }))
    )
  }
}

const schemaOf = (schema: JsonObject) =>
  fromJsonSchema<Record<string, unknown>>(schema as Parameters<typeof fromJsonSchema>[0])

/**
 * A factory of SDK servers serving `tools`. Each call runs on `runtime` as
 * a fiber the request's `AbortSignal` interrupts: a client's
 * `notifications/cancelled`, or its connection going away, stops the run
 * down to its model request.
 */
export const factory = (
  info: Info,
  tools: ReadonlyArray<ServedTool>,
  runtime: Runtime.Runtime<never>
): () => McpServer => {
  const run = Runtime.runPromise(runtime)
  return () => {
    const server = new McpServer({ name: info.name, version: info.version }, { capabilities: { tools: {} } })
    for (const tool of tools) {
      server.registerTool(
        tool.name,
        {
          description: tool.description,
          inputSchema: schemaOf(tool.inputSchema),
          ...(tool.outputSchema === undefined ? {} : { outputSchema: schemaOf(tool.outputSchema) })
        },
        (args: Record<string, unknown>, ctx: ServerContext) =>
          run(tool.call(args, progressOf(ctx)), { signal: ctx.mcpReq.signal }) as Promise<CallToolResult>
      )
    }
    return server
  }
}
