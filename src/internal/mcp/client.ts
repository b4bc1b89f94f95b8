/**
 * The machinery of `McpClient`: connections to a server (over stdio or
 * Streamable HTTP) made again when they break, its tools listed, and each
 * tool's call, cancellable and failing at once when the connection breaks.
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { CallToolResult, Tool as McpTool, Transport } from "@modelcontextprotocol/client"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/client/validators/ajv"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { ToolFailed } from "../../AgentError.js"
import * as Tool from "../../Tool.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import * as Names from "./names.js"
import * as Results from "./results.js"

/** Connecting to an MCP server or listing its tools failed (public as `McpClient.McpError`). */
export class McpError extends Schema.TaggedError<McpError>()("McpError", {
  server: Schema.String,
  message: Schema.String,
  /** The last lines a stdio server wrote on its stderr, when it died. */
  stderr: Schema.optional(Schema.String)
}) {}

/** What to connect to (the shape of `McpClient.Options`). */
export interface Target {
  readonly name: string
  readonly server:
    | {
      readonly command: string
      readonly args?: ReadonlyArray<string> | undefined
      readonly env?: Readonly<Record<string, string>> | undefined
      readonly cwd?: string | undefined
      readonly stderr?: "inherit" | "ignore" | undefined
    }
    | { readonly url: string | URL; readonly headers?: Readonly<Record<string, string>> | undefined }
  readonly prefix?: string | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/** A tool of the server, as the agent sees it and as the server names it (public as `McpClient.ToolInfo`). */
export interface ToolInfo {
  /** The tool's name for the model: prefixed and sanitised. */
  readonly name: string
  /** The tool's name on the server, used for the call. */
  readonly mcpName: string
  readonly description: string
  readonly inputSchema: Readonly<Record<string, unknown>>
}

const maxSdkTimeout = 2_147_483_647
/** How much of a stdio server's stderr is kept for the error when it dies. */
const stderrTail = 2_000

interface Connection {
  readonly client: Client
  readonly transport: Transport
  /** Fails when the connection closes or breaks. */
  readonly closed: Deferred.Deferred<never, McpError>
}

const errorText = (error: unknown): string => Render.text(error)

const closeConnection = (connection: Connection): Effect.Effect<void> =>
  Effect.ignore(Effect.tryPromise(() => connection.client.close()).pipe(Effect.timeout("5 seconds")))

/** A stdio server's stderr: forwarded to ours unless ignored, its last characters kept. */
const watchStderr = (transport: StdioClientTransport, forward: boolean): () => string | undefined => {
  let tail = ""
  transport.stderr?.on("data", (chunk: Buffer) => {
    if (forward) process.stderr.write(chunk)
    tail = (tail + chunk.toString("utf8")).slice(-stderrTail)
  })
  return () => tail.trim() === "" ? undefined : tail.trim()
}

const transportOf = (target: Target): { readonly transport: Transport; readonly stderr: () => string | undefined } => {
  const server = target.server
  if ("url" in server) {
    const transport = new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { ...server.headers } }
    })
    return { transport, stderr: () => undefined }
  }
  const transport = new StdioClientTransport({
    command: server.command,
    args: [...(server.args ?? [])],
    env: { ...getDefaultEnvironment(), ...server.env },
    ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
    stderr: "pipe"
  })
  return { transport, stderr: watchStderr(transport, server.stderr !== "ignore") }
}

/**
 * A connection. It is closed (`closed` fails) when the SDK closes it, or,
 * over HTTP, when an error is reported and the server does not answer a
 * ping: the SDK would keep a call to a crashed server waiting for ever.
 */
const connect = (target: Target, onToolsChanged: () => void): Effect.Effect<Connection, McpError> =>
  Effect.suspend(() => {
    const { stderr, transport } = transportOf(target)
    const client = new Client({ name: "effect-agents", version: "0.1.0" }, {
      listChanged: { tools: { autoRefresh: false, debounceMs: 100, onChanged: () => onToolsChanged() } }
    })
    const closed = Deferred.unsafeMake<never, McpError>(FiberId.none)
    const fail = (message: string) =>
      Deferred.unsafeDone(closed, Exit.fail(new McpError({ server: target.name, message, stderr: stderr() })))
    let lastError: string | undefined
    client.onerror = (error) => {
      lastError = errorText(error)
      if ("url" in target.server) {
        Effect.runFork(
          Effect.tryPromise(() => client.ping({ timeout: 5_000 })).pipe(
            Effect.catchAll(() => Effect.sync(() => fail(`the server stopped answering (${errorText(error)})`)))
          )
        )
      }
    }
    client.onclose = () => fail(`the connection closed${lastError === undefined ? "" : ` (${lastError})`}`)
    const connection: Connection = { client, transport, closed }
    return Effect.tryPromise({
      try: (signal) => client.connect(transport, { signal, timeout: maxSdkTimeout }),
      catch: (error) =>
        new McpError({ server: target.name, message: `cannot connect: ${errorText(error)}`, stderr: stderr() })
    }).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : closeConnection(connection)),
      Effect.as(connection)
    )
  })

const listTools = (target: Target, connection: Connection): Effect.Effect<ReadonlyArray<McpTool>, McpError> =>
  Effect.gen(function*() {
    const tools: Array<McpTool> = []
    let cursor: string | undefined
    for (let page = 0; page < 1000; page++) {
      const result = yield* Effect.tryPromise({
        try: (signal) =>
          connection.client.listTools(cursor === undefined ? undefined : { cursor }, {
            signal,
            timeout: maxSdkTimeout
          }),
        catch: (error) => new McpError({ server: target.name, message: `cannot list tools: ${errorText(error)}` })
      })
      tools.push(...result.tools)
      cursor = result.nextCursor
      if (cursor === undefined) break
    }
    return tools
  })

/** Whether a call failed because the server does not know the session (it restarted): a new one is made. */
const isSessionGone = (error: unknown): boolean => {
  if (typeof error !== "object" || error === null) return false
  const { data, status } = error as { readonly status?: unknown; readonly data?: { readonly status?: unknown } }
  return status === 404 || data?.status === 404
}

/** The live connection of a client, made again when the last one closed; none once its scope closed. */
export interface Live {
  readonly connection: Effect.Effect<Connection, McpError>
  /** Marks a connection broken: the next call makes a new one. */
  readonly broken: (connection: Connection, message: string) => Effect.Effect<void>
  readonly pid: Effect.Effect<Option.Option<number>>
  /** The tools listed when the client connected. */
  readonly tools: ReadonlyArray<McpTool>
}

const timed = <A>(target: Target, effect: Effect.Effect<A, McpError>, what: string): Effect.Effect<A, McpError> => {
  const limit = Duration.decode(target.connectTimeout ?? "30 seconds")
  return Effect.timeoutFail(effect, {
    duration: limit,
    onTimeout: () => new McpError({ server: target.name, message: `no ${what} after ${Duration.format(limit)}` })
  })
}

/**
 * Connects and lists the tools; the connection lives as long as the scope.
 * When the server says its tools changed (`notifications/tools/list_changed`),
 * they are listed again and given to `onTools` (a listing that fails is
 * logged, and the tools stay as they were).
 */
export const live = (
  target: Target,
  onTools: (tools: ReadonlyArray<McpTool>) => void
): Effect.Effect<Live, McpError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    let refresh: Effect.Effect<void> = Effect.void
    const fresh = timed(target, connect(target, () => Runtime.runFork(runtime)(refresh)), "connection")
    const first = yield* fresh
    const state = yield* SynchronizedRef.make<Option.Option<Connection> | "closed">(Option.some(first))
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(SynchronizedRef.getAndSet(state, "closed"), (current) =>
        current !== "closed" && Option.isSome(current) ? closeConnection(current.value) : Effect.void)
    )
    const tools = yield* timed(target, listTools(target, first), "tool list")
    const connection = SynchronizedRef.modifyEffect(state, (current) =>
      Effect.gen(function*() {
        if (current === "closed") {
          return yield* new McpError({ server: target.name, message: "the client is closed (its scope ended)" })
        }
        if (Option.isSome(current) && !(yield* Deferred.isDone(current.value.closed))) {
          return [current.value, current] as const
        }
        if (Option.isSome(current)) {
          yield* closeConnection(current.value)
        }
        const made = yield* fresh
        return [made, Option.some(made)] as const
      }))
    refresh = Effect.flatMap(connection, (live) =>
      timed(target, listTools(target, live), "tool list")).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.logWarning(`McpClient "${target.name}": the tools changed, listing them failed`, error),
          onSuccess: (listed) => Effect.sync(() => onTools(listed))
        })
      )
    return {
      tools,
      connection,
      broken: (connection, message) =>
        Effect.asVoid(Deferred.fail(connection.closed, new McpError({ server: target.name, message }))),
      pid: Effect.map(SynchronizedRef.get(state), (current) =>
        Option.flatMap(current === "closed" ? Option.none() : current, (connection) =>
          connection.transport instanceof StdioClientTransport
            ? Option.fromNullable(connection.transport.pid)
            : Option.none()))
    }
  })

/** One call on the live connection: cancelled by interruption, failed at once when the connection breaks. */
const callOn = (
  connection: Connection,
  name: string,
  args: Tool.JsonArguments
): Effect.Effect<CallToolResult, unknown> =>
  Effect.raceFirst(
    Progress.withCallback((onProgress) =>
      Effect.tryPromise({
        try: (signal) =>
          connection.client.callTool({ name, arguments: { ...args } }, {
            signal,
            timeout: maxSdkTimeout,
            ...(onProgress === undefined ? {} : {
              onprogress: (reported: unknown) => {
                const progress = Results.progressOf(reported)
                if (progress !== undefined) onProgress(progress)
              }
            })
          }) as Promise<CallToolResult>,
        catch: (error) => error
      })
    ),
    Deferred.await(connection.closed)
  )

/** The server's tools as tools of ours, named for the model, and what is known of each. */
export const tools = (target: Target, client: Live, listed: ReadonlyArray<McpTool>) => {
  const prefix = target.prefix ?? `${Names.sanitise(target.name)}_`
  const names = Names.distinct(prefix, listed.map((tool) => tool.name))
  const timeout = target.timeout ?? "60 seconds"
  const ajv = new AjvJsonSchemaValidator()
  return listed.map((mcpTool, i) => {
    const name = names[i]!
    const inputSchema = (typeof mcpTool.inputSchema === "object" && mcpTool.inputSchema !== null
      ? mcpTool.inputSchema
      : { type: "object" }) as Readonly<Record<string, unknown>>
    const description = mcpTool.description ?? mcpTool.title ?? mcpTool.name
    const failed = (error: unknown) =>
      new ToolFailed({
        tool: name,
        message: `MCP server "${target.name}": ${error instanceof McpError ? error.message : errorText(error)}`,
        ...(error instanceof McpError ? { error } : {})
      })
    // a session the server lost (it restarted) is made again, and the call made once more
    const call = (args: Tool.JsonArguments, retried: boolean): Effect.Effect<CallToolResult, ToolFailed> =>
      Effect.flatMap(
        Effect.mapError(client.connection, failed),
        (connection) =>
          callOn(connection, mcpTool.name, args).pipe(
            Effect.catchAll((error) =>
              !retried && isSessionGone(error)
                ? Effect.zipRight(client.broken(connection, "the server lost the session"), call(args, true))
                : Effect.fail(failed(error))
            )
          )
      )
    const tool = Tool.fromJsonSchema(name, {
      description,
      parameters: inputSchema,
      validate: Results.validatorOf(ajv, inputSchema),
      timeout,
      handler: (args: Tool.JsonArguments): Effect.Effect<string, ToolFailed> =>
        call(args, false).pipe(
          Effect.flatMap((result) => {
            const text = Results.resultText(result)
            return result.isError === true
              ? Effect.fail(new ToolFailed({ tool: name, message: text }))
              : Effect.succeed(text)
          })
        )
    })
    const info: ToolInfo = { name, mcpName: mcpTool.name, description, inputSchema }
    return { tool, info }
  })
}
