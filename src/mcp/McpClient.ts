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
 * (the server gets `notifications/cancelled`). A tool list that changes
 * refreshes the toolkit in place. In a streamed run, the
 * server's progress notifications are `ToolProgress` events. A server that
 * goes away (a stdio process that dies, with the tail of its stderr in the
 * error; an HTTP server that stops answering) fails the calls in flight at
 * once with a `ToolFailed`; the next call connects again, and a session an
 * HTTP server forgot (it restarted: 404) is made again for the call.
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
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import * as Client from "../internal/mcp/client.js"
import type * as Tool from "../Tool.js"
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
  /**
   * Where the server's stderr goes (default `"inherit"`: this process's
   * stderr). Its last 2,000 characters are kept either way: the error of a
   * server that dies carries them (`McpError.stderr`).
   */
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
 * Connecting to an MCP server or listing its tools failed; with the tail of
 * a stdio server's stderr when it died (`stderr`). A call whose connection
 * broke is a `ToolFailed` whose `error` is one of these.
 *
 * @since 0.1.0
 * @category errors
 */
export const McpError: typeof Client.McpError = Client.McpError

/**
 * @since 0.1.0
 * @category errors
 */
export type McpError = Client.McpError

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
export interface ToolInfo extends Client.ToolInfo {}

/**
 * A connected MCP client.
 *
 * @since 0.1.0
 * @category models
 */
export interface McpClient {
  readonly name: string
  /** The server's tools, as last listed. */
  readonly tools: ReadonlyArray<ToolInfo>
  /**
   * The server's tools as a toolkit an agent uses like any other. When the
   * server says they changed (`notifications/tools/list_changed`), it is
   * refreshed in place: an agent using it sees the new list from its next
   * run (a toolkit merged from it is a copy, and does not).
   */
  readonly toolkit: Toolkit.Toolkit<Record<string, Tool.Tool<string, Tool.JsonArguments, string>>>
  /** The process id of a stdio server, while connected. */
  readonly pid: Effect.Effect<Option.Option<number>>
}

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
  Effect.suspend(() => {
    // refreshed in place when the server's tools change
    let infos: ReadonlyArray<ToolInfo> = []
    const toolkit = Toolkit.make() as unknown as Types.Mutable<McpClient["toolkit"]>
    const refresh = (live: Client.Live, listed: Parameters<typeof Client.tools>[2]) => {
      const tools = Client.tools(options, live, listed)
      const next = Toolkit.make(...tools.map(({ tool }) => tool)) as unknown as McpClient["toolkit"]
      Object.assign(toolkit, { tools: next.tools, definitions: next.definitions })
      infos = tools.map(({ info }) => info)
    }
    let current: Client.Live | undefined
    return Effect.map(
      Client.live(options, (listed) => {
        if (current !== undefined) refresh(current, listed)
      }),
      (live): McpClient => {
        current = live
        refresh(live, live.tools)
        return {
          name: options.name,
          get tools() {
            return infos
          },
          toolkit,
          pid: live.pid
        }
      }
    )
  })
