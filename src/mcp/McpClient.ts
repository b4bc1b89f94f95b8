/**
 * Tools from any MCP server: connect over stdio (a command) or Streamable
 * HTTP (a URL), list the server's tools, and get a `Toolkit` an agent uses
 * like any other.
 *
 * The connection is a scoped resource: it closes when its scope does (a
 * stdio server's process ends). Tool names are prefixed (by default with the
 * client's name) and sanitised to `[a-zA-Z0-9_-]`, the MCP name kept for the
 * call, so several servers never collide. Arguments are checked against each
 * tool's JSON Schema before they are sent. Every call carries an
 * `AbortSignal`: interrupting the run or a tool timeout cancels the request
 * (the server gets `notifications/cancelled`). A server that goes away
 * fails the calls in flight at once with a `ToolFailed`; the next call
 * connects again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { McpClient } from "effect-agents/mcp"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const files = yield* McpClient.make({
 *       name: "files",
 *       server: { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "."] }
 *     })
 *     const model = yield* ScriptedModel.make([{ text: "done" }])
 *     const agent = yield* Agent.make({ name: "helper", instructions: "", model, toolkit: files.toolkit })
 *     return yield* agent.run("List the files")
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { CallToolResult, Tool as McpTool, Transport } from "@modelcontextprotocol/client"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/client/validators/ajv"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import type { Issue } from "../AgentError.js"
import { ToolFailed } from "../AgentError.js"
import * as Names from "../internal/mcp/names.js"
import * as Render from "../internal/render.js"
import * as Tool from "../Tool.js"
import * as Toolkit from "../Toolkit.js"

/**
 * A server started as a process that speaks MCP on its stdin and stdout.
 * `env` is added to a minimal safe environment (`PATH`, `HOME` and the
 * like), never the whole of this process's.
 *
 * @since 0.1.0
 * @category models
 */
export interface StdioServer {
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  readonly env?: Readonly<Record<string, string>> | undefined
  readonly cwd?: string | undefined
  /** Where the server's stderr goes (default `"inherit"`: this process's stderr). */
  readonly stderr?: "inherit" | "ignore" | undefined
}

/**
 * A server reached over Streamable HTTP at `url`, sent `headers` with every
 * request (an API key, say).
 *
 * @since 0.1.0
 * @category models
 */
export interface HttpServer {
  readonly url: string | URL
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Server = StdioServer | HttpServer

/**
 * Connecting to an MCP server or listing its tools failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class McpError extends Schema.TaggedError<McpError>()("McpError", {
  server: Schema.String,
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The client's name: the default prefix of its tools' names, and what errors name. */
  readonly name: string
  readonly server: Server
  /** What each tool's name starts with (default `${name}_`, sanitised). */
  readonly prefix?: string | undefined
  /** Each tool call's timeout (default 60 seconds); an agent's policy does not replace it. */
  readonly timeout?: Duration.DurationInput | undefined
  /** How long connecting (and listing the tools) may take (default 30 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * A tool of the server, as the agent sees it and as the server names it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolInfo {
  /** The tool's name for the model: prefixed and sanitised. */
  readonly name: string
  /** The tool's name on the server, used for the call. */
  readonly mcpName: string
  readonly description: string
  readonly inputSchema: Readonly<Record<string, unknown>>
}

/**
 * A connected MCP client.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpClient {
  readonly name: string
  /** The server's tools, listed when the client connected. */
  readonly tools: ReadonlyArray<ToolInfo>
  /** The server's tools as a toolkit an agent uses like any other. */
  readonly toolkit: Toolkit.Toolkit<Record<string, Tool.Tool<string, Tool.JsonArguments, string>>>
  /** The process id of a stdio server, while connected. */
  readonly pid: Effect.Effect<Option.Option<number>>
}

const maxSdkTimeout = 2_147_483_647

const isHttp = (server: Server): server is HttpServer => "url" in server

const base64Bytes = (data: unknown): number => {
  if (typeof data !== "string") return 0
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding)
}

const str = (u: unknown, fallback: string): string => typeof u === "string" ? u : fallback

/** A content block as the model reads it: text as it is, anything else as a short description. */
const blockText = (block: unknown): string => {
  if (typeof block !== "object" || block === null) return ""
  const b = block as Record<string, unknown>
  switch (b.type) {
    case "text":
      return str(b.text, "")
    case "image":
    case "audio":
      return `[${b.type}: ${str(b.mimeType, "unknown type")}, ${base64Bytes(b.data)} bytes]`
    case "resource": {
      const resource = (typeof b.resource === "object" && b.resource !== null ? b.resource : {}) as Record<
        string,
        unknown
      >
      const uri = str(resource.uri, "unknown")
      if (typeof resource.text === "string") return `[resource: ${uri}]\n${resource.text}`
      return `[resource: ${uri}, ${str(resource.mimeType, "unknown type")}, ${base64Bytes(resource.blob)} bytes]`
    }
    case "resource_link":
      return `[resource link: ${str(b.uri, "unknown")}${typeof b.name === "string" ? ` (${b.name})` : ""}]`
    default:
      return `[${str(b.type, "unknown")} content]`
  }
}

/**
 * What the model reads of a result: its `structuredContent` as JSON when it
 * has one (its text blocks repeat it), followed by its other blocks; else
 * its blocks, one after the other.
 */
const resultText = (result: CallToolResult): string => {
  const blocks: ReadonlyArray<unknown> = Array.isArray(result.content) ? result.content : []
  const structured = result.structuredContent
  if (structured !== undefined && structured !== null) {
    const json = Either.getOrElse(Render.json(structured), () => Render.text(structured))
    const others = blocks.filter((block) => (block as { type?: unknown } | null)?.type !== "text").map(blockText)
    return [json, ...others].join("\n")
  }
  return blocks.map(blockText).join("\n")
}

/** Ajv's message ("data/b must be string, data must have ...") as issues with paths. */
const ajvIssues = (message: string): ReadonlyArray<Issue> =>
  message.split(/, (?=data[/ ])/).map((part) => {
    const match = /^data((?:\/[^ ]*)?) (.*)$/s.exec(part)
    if (match === null) return { path: "(root)", message: part }
    const path = match[1]!.split("/").filter((p) => p !== "").join(".")
    return { path: path === "" ? "(root)" : path, message: match[2]! }
  })

/** The SDK's validator (Ajv) for a schema, or undefined when it cannot compile it. */
const validatorOf = (
  ajv: AjvJsonSchemaValidator,
  schema: Readonly<Record<string, unknown>>
): Tool.JsonSchemaValidator | undefined => {
  try {
    const validate = ajv.getValidator(schema as Parameters<AjvJsonSchemaValidator["getValidator"]>[0])
    return (args) => {
      const result = validate(args)
      return result.valid ? [] : ajvIssues(result.errorMessage)
    }
  } catch {
    return undefined
  }
}

interface Connection {
  readonly client: Client
  readonly transport: Transport
  /** Fails when the connection closes or breaks. */
  readonly closed: Deferred.Deferred<never, string>
}

const errorText = (error: unknown): string => Render.text(error)

const closeConnection = (connection: Connection): Effect.Effect<void> =>
  Effect.tryPromise(() => connection.client.close()).pipe(
    Effect.timeout("5 seconds"),
    Effect.ignore
  )

const connect = (options: Options): Effect.Effect<Connection, McpError> =>
  Effect.suspend(() => {
    const server = options.server
    const transport: Transport = isHttp(server)
      ? new StreamableHTTPClientTransport(new URL(server.url), {
        requestInit: { headers: { ...server.headers } }
      })
      : new StdioClientTransport({
        command: server.command,
        args: [...(server.args ?? [])],
        env: { ...getDefaultEnvironment(), ...server.env },
        ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
        stderr: server.stderr ?? "inherit"
      })
    const client = new Client({ name: "effect-agents", version: "0.1.0" })
    const closed = Deferred.unsafeMake<never, string>(FiberId.none)
    let lastError: string | undefined
    client.onerror = (error) => {
      lastError = errorText(error)
    }
    client.onclose = () => {
      Deferred.unsafeDone(
        closed,
        Exit.fail(`the connection closed${lastError === undefined ? "" : ` (${lastError})`}`)
      )
    }
    const connection: Connection = { client, transport, closed }
    return Effect.tryPromise({
      try: (signal) => client.connect(transport, { signal, timeout: maxSdkTimeout }),
      catch: (error) => new McpError({ server: options.name, message: `cannot connect: ${errorText(error)}` })
    }).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : closeConnection(connection)),
      Effect.as(connection)
    )
  })

const listTools = (options: Options, connection: Connection): Effect.Effect<ReadonlyArray<McpTool>, McpError> =>
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
        catch: (error) => new McpError({ server: options.name, message: `cannot list tools: ${errorText(error)}` })
      })
      tools.push(...result.tools)
      cursor = result.nextCursor
      if (cursor === undefined) break
    }
    return tools
  })

/**
 * Connects to an MCP server and lists its tools: a client whose `toolkit`
 * an agent uses like any other. The connection lives as long as the scope;
 * a connection that breaks is made again by the next call.
 *
 * Results reach the model as text: text blocks as they are;
 * `structuredContent` as JSON; an image, audio or binary resource as
 * `[image: image/png, 1234 bytes]`, a text resource as `[resource: uri]`
 * and its text, a resource link as `[resource link: uri (name)]`. A result
 * with `isError: true` is a `ToolFailed` whose message (the model reads it)
 * is the result's text.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Toolkit } from "effect-agents"
 * import { McpClient } from "effect-agents/mcp"
 *
 * const toolkit = Effect.gen(function*() {
 *   const docs = yield* McpClient.make({ name: "docs", server: { url: "http://127.0.0.1:3000/mcp" } })
 *   const shell = yield* McpClient.make({ name: "shell", server: { command: "my-mcp-server" } })
 *   return Toolkit.merge(docs.toolkit, shell.toolkit) // docs_search, shell_run, ...
 * }) // Effect<Toolkit, McpError, Scope>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<McpClient, McpError, Scope.Scope> =>
  Effect.gen(function*() {
    const serverName = options.name
    const connectTimeout = Duration.decode(options.connectTimeout ?? "30 seconds")
    const timedConnect = connect(options).pipe(
      Effect.timeoutFail({
        duration: connectTimeout,
        onTimeout: () =>
          new McpError({ server: serverName, message: `no connection after ${Duration.format(connectTimeout)}` })
      })
    )
    const first = yield* timedConnect
    // the live connection; "closed" once the scope closed: no call connects again
    const state = yield* SynchronizedRef.make<Option.Option<Connection> | "closed">(Option.some(first))
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(SynchronizedRef.getAndSet(state, "closed"), (current) =>
        current !== "closed" && Option.isSome(current) ? closeConnection(current.value) : Effect.void)
    )
    const listed = yield* listTools(options, first).pipe(
      Effect.timeoutFail({
        duration: connectTimeout,
        onTimeout: () =>
          new McpError({ server: serverName, message: `no tool list after ${Duration.format(connectTimeout)}` })
      })
    )

    /** The live connection, made again when the last one closed. */
    const connection: Effect.Effect<Connection, McpError> = SynchronizedRef.modifyEffect(
      state,
      (current) =>
        Effect.gen(function*() {
          if (current === "closed") {
            return yield* new McpError({ server: serverName, message: "the client is closed (its scope ended)" })
          }
          if (Option.isSome(current) && !(yield* Deferred.isDone(current.value.closed))) {
            return [current.value, current] as const
          }
          if (Option.isSome(current)) {
            yield* closeConnection(current.value)
          }
          const fresh = yield* timedConnect
          return [fresh, Option.some(fresh)] as const
        })
    )

    const prefix = options.prefix ?? `${Names.sanitise(serverName)}_`
    const mcpNames = listed.map((tool) =>
      tool.name
    )
    const names = Names.distinct(prefix, mcpNames)
    const timeout = options.timeout ?? "60 seconds"
    const ajv = new AjvJsonSchemaValidator()
    const infos: Array<ToolInfo> = []
    const tools = listed.map((mcpTool, i) => {
      const name = names[i]!
      const inputSchema = (typeof mcpTool.inputSchema === "object" && mcpTool.inputSchema !== null
        ? mcpTool.inputSchema
        : { type: "object" }) as Readonly<Record<string, unknown>>
      const description = mcpTool.description ?? mcpTool.title ?? mcpTool.name
      infos.push({ name, mcpName: mcpTool.name, description, inputSchema })
      const failed = (message: string) =>
        new ToolFailed({ tool: name, message: `MCP server "${serverName}": ${message}` })
      return Tool.fromJsonSchema(name, {
        description,
        parameters: inputSchema,
        validate: validatorOf(ajv, inputSchema),
        timeout,
        handler: (args: Tool.JsonArguments): Effect.Effect<string, ToolFailed> =>
          Effect.flatMap(
            Effect.mapError(connection, (error) => failed(error.message)),
            (live) =>
              Effect.raceFirst(
                Effect.tryPromise({
                  try: (signal) =>
                    live.client.callTool(
                      { name: mcpTool.name, arguments: { ...args } },
                      { signal, timeout: maxSdkTimeout }
                    ),
                  catch: (error) => failed(errorText(error))
                }),
                Effect.mapError(Deferred.await(live.closed), failed)
              )
          ).pipe(
            Effect.flatMap((result) => {
              const text = resultText(result as CallToolResult)
              return result.isError === true
                ? Effect.fail(new ToolFailed({ tool: name, message: text }))
                : Effect.succeed(text)
            })
          )
      })
    })
    const toolkit = Toolkit.make(...tools) as unknown as McpClient["toolkit"]
    return {
      name: serverName,
      tools: infos,
      toolkit,
      pid: Effect.map(SynchronizedRef.get(state), (current) =>
        Option.flatMap(current === "closed" ? Option.none() : current, (live) =>
          live.transport instanceof StdioClientTransport ? Option.fromNullable(live.transport.pid) : Option.none()))
    }
  })
