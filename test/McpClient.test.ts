import { describe, expect, it } from "@effect/vitest"
import { fromJsonSchema, McpServer, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server"
import { Chunk, Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import { Agent, AgentError, RunEvent, Toolkit } from "effect-agents"
import { McpClient } from "effect-agents/mcp"
import { ScriptedModel } from "effect-agents/testing"
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"

const everythingServer = fileURLToPath(
  new URL("../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url)
)

/** server-everything over stdio, spawned with this Node, offline. */
const everything = (name = "everything") =>
  McpClient.make({
    name,
    server: { command: process.execPath, args: [everythingServer, "stdio"], stderr: "ignore" }
  })

interface WebServer {
  readonly url: string
  /** Resolves when the "wait" tool's call arrives. */
  readonly waitStarted: Deferred.Deferred<void>
  /** Resolves when the "wait" tool's call is cancelled by the client. */
  readonly waitCancelled: Deferred.Deferred<void>
  /** Drops every connection and stops listening, as a process that died would. */
  readonly crash: Effect.Effect<void>
  /** A new server behind the same address: the sessions of the last one are unknown (404). */
  readonly restart: Effect.Effect<void>
  /** Registers a tool on the live server: its clients get `notifications/tools/list_changed`. */
  readonly addTool: (name: string) => Effect.Effect<void>
}

/** The SDK's own server over Streamable HTTP on 127.0.0.1, with a few tools. */
const webServer = Effect.gen(function*() {
  const waitStarted = yield* Deferred.make<void>()
  const waitCancelled = yield* Deferred.make<void>()
  /** A fresh server: its tools, and a transport of its own (so its own sessions). */
  const open = Effect.gen(function*() {
    const server = new McpServer({ name: "web", version: "1.0.0" })
    server.registerTool("math.add", {
      description: "Add two numbers",
      inputSchema: fromJsonSchema<{ a: number; b: number }>({
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"]
      })
    }, ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }))
    server.registerTool("math_add", {
      description: "Add two numbers, the other way",
      inputSchema: fromJsonSchema({ type: "object", properties: {} })
    }, () => ({ content: [{ type: "text", text: "same" }] }))
    server.registerTool("media", {
      description: "Every kind of block",
      inputSchema: fromJsonSchema({ type: "object", properties: {} })
    }, () => ({
      content: [
        { type: "audio", data: Buffer.from("0123456789").toString("base64"), mimeType: "audio/wav" },
        { type: "resource", resource: { uri: "file:///notes.txt", text: "remember the milk" } },
        { type: "resource", resource: { uri: "file:///a.bin", mimeType: "application/octet-stream", blob: "AAAA" } },
        { type: "resource_link", uri: "file:///big.csv", name: "big.csv" }
      ]
    }))
    server.registerTool("broken", {
      description: "Always fails",
      inputSchema: fromJsonSchema({ type: "object", properties: {} })
    }, () => ({ content: [{ type: "text", text: "the disk is full" }], isError: true }))
    server.registerTool("wait", {
      description: "Waits until cancelled",
      inputSchema: fromJsonSchema({ type: "object", properties: {} })
    }, (_args, ctx) =>
      new Promise((resolve) => {
        Deferred.unsafeDone(waitStarted, Exit.void)
        ctx.mcpReq.signal.addEventListener("abort", () => {
          Deferred.unsafeDone(waitCancelled, Exit.void)
          resolve({ content: [{ type: "text", text: "cancelled" }] })
        })
      }))
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
    yield* Effect.promise(() => server.connect(transport))
    return { server, transport }
  })
  let current = yield* open
  const httpServer = http.createServer((req, res) => {
    // a session of another server (before a restart) is unknown, as a sessionful server answers it
    const session = req.headers["mcp-session-id"]
    if (typeof session === "string" && session !== current.transport.sessionId) {
      res.writeHead(404, { "content-type": "application/json" })
      return res.end(
        JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null })
      )
    }
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const headers = new Headers()
      for (const [key, value] of Object.entries(req.headers)) {
        if (typeof value === "string") headers.set(key, value)
      }
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks)
      void current.transport.handleRequest(
        new Request(`http://127.0.0.1${req.url}`, { method: req.method!, headers, body: body ?? null })
      ).then(async (response) => {
        res.writeHead(response.status, Object.fromEntries(response.headers))
        if (response.body === null) return res.end()
        const reader = response.body.getReader()
        res.on("close", () => void reader.cancel().catch(() => undefined))
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          res.write(value)
        }
        res.end()
      }).catch(() => res.destroy())
    })
  })
  yield* Effect.acquireRelease(
    Effect.async<void>((resume) => {
      httpServer.listen(0, "127.0.0.1", () => resume(Effect.void))
    }),
    () =>
      Effect.async<void>((resume) => {
        httpServer.closeAllConnections()
        httpServer.close(() => resume(Effect.void))
      }).pipe(Effect.zipRight(Effect.promise(() => current.server.close())))
  )
  const { port } = httpServer.address() as AddressInfo
  const crash = Effect.sync(() => {
    httpServer.closeAllConnections()
    httpServer.close()
  })
  const restart = Effect.gen(function*() {
    yield* Effect.promise(() => current.server.close())
    current = yield* open
  })
  const addTool = (name: string) =>
    Effect.sync(() => {
      current.server.registerTool(name, {
        description: "Added later",
        inputSchema: fromJsonSchema({ type: "object", properties: {} })
      }, () => ({ content: [{ type: "text", text: `${name} here` }] }))
    })
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    waitStarted,
    waitCancelled,
    crash,
    restart,
    addTool
  } satisfies WebServer
})

const web = (url: string) => McpClient.make({ name: "web", server: { url } })

describe("McpClient over stdio (server-everything)", () => {
  it.scopedLive("lists the server's tools, prefixed and sanitised, with their JSON Schemas", () =>
    Effect.gen(function*() {
      const client = yield* everything()
      const names = client.tools.map((tool) => tool.name)
      expect(names).toContain("everything_echo")
      expect(names).toContain("everything_get-sum")
      for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/)
      const echo = client.tools.find((tool) => tool.mcpName === "echo")!
      expect(echo.name).toBe("everything_echo")
      expect(client.toolkit.tools["everything_echo"]!.definition.parameters).toMatchObject({
        type: "object",
        properties: { message: { type: "string" } },
        required: ["message"]
      })
      expect(client.toolkit.tools["everything_echo"]!.definition.strict).toBe(false)
    }))

  it.scopedLive("an agent on the scripted model calls an MCP tool and reads its result", () =>
    Effect.gen(function*() {
      const client = yield* everything()
      const model = yield* ScriptedModel.make([
        { toolCalls: [{ name: "everything_get-sum", arguments: { a: 2, b: 3 } }] },
        { toolCalls: [{ name: "everything_echo", arguments: { message: "hi" } }] },
        { text: "done" }
      ])
      const agent = yield* Agent.make({ name: "mcp", instructions: "", model, toolkit: client.toolkit })
      const result = yield* agent.run("add and echo")
      expect(result.content).toBe("done")
      expect(result.steps.flatMap((step) => step.toolCalls.map((call) => [call.name, call.result, call.isError])))
        .toEqual([
          ["everything_get-sum", "The sum of 2 and 3 is 5.", false],
          ["everything_echo", "Echo: hi", false]
        ])
    }))

  it.scopedLive("structuredContent reaches the model as JSON, an image as a textual description", () =>
    Effect.gen(function*() {
      const client = yield* everything()
      const weather = yield* client.toolkit.execute("everything_get-structured-content", { location: "Chicago" })
      expect(JSON.parse(weather)).toMatchObject({ temperature: expect.any(Number) })
      const image = yield* client.toolkit.execute("everything_get-tiny-image", {})
      expect(image).toMatch(/^Here's the image you requested:\n\[image: image\/png, \d+ bytes\]/)
    }))

  it.scopedLive("the server's progress notifications are ToolProgress events on the run's stream", () =>
    Effect.gen(function*() {
      const client = yield* everything()
      const model = yield* ScriptedModel.make([
        { toolCalls: [{ name: "everything_trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }] },
        { text: "done" }
      ])
      const agent = yield* Agent.make({ name: "mcp", instructions: "", model, toolkit: client.toolkit })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(agent.stream("run it")))
      const tags = events.map((event) => event._tag).filter((tag) => tag.startsWith("Tool"))
      // the SDK's client may drop the last notification, which races the result: 2 or 3 of them
      expect(tags[0]).toBe("ToolCallStarted")
      expect(tags.at(-1)).toBe("ToolCallCompleted")
      const progress = events.filter(RunEvent.is("ToolProgress"))
      expect(progress.length).toBeGreaterThanOrEqual(2)
      expect(progress.map((event) => [event.progress, event.total, event.tool, event.path])).toEqual(
        [1, 2, 3].slice(0, progress.length).map((n) => [n, 3, "everything_trigger-long-running-operation", ["mcp"]])
      )
      // outside of a streamed run, no progress is asked for
      const quiet = yield* client.toolkit.execute("everything_trigger-long-running-operation", {
        duration: 0.1,
        steps: 1
      })
      expect(quiet).toMatch(/completed/i)
    }))

  it.scopedLive("bad arguments are a ToolInputInvalid with readable issues, and never reach the server", () =>
    Effect.gen(function*() {
      const client = yield* everything()
      const error = yield* Effect.flip(client.toolkit.execute("everything_get-sum", { a: "1" }))
      expect(error).toBeInstanceOf(AgentError.ToolInputInvalid)
      expect((error as AgentError.ToolInputInvalid).issues).toEqual(expect.arrayContaining([
        { path: "(root)", message: "must have required property 'b'" },
        { path: "a", message: "must be number" }
      ]))
    }))

  it.scopedLive("a server killed mid-call fails the call at once with a ToolFailed; the next call reconnects", () =>
    Effect.gen(function*() {
      // a server that says something on stderr first: the error keeps it
      const client = yield* McpClient.make({
        name: "everything",
        server: {
          command: process.execPath,
          args: [
            "--import",
            "data:text/javascript,console.error('everything: starting up')",
            everythingServer,
            "stdio"
          ],
          stderr: "ignore"
        }
      })
      const pid = Option.getOrThrow(yield* client.pid)
      const call = yield* Effect.fork(
        client.toolkit.execute("everything_trigger-long-running-operation", { duration: 30, steps: 3 })
      )
      yield* Effect.yieldNow()
      process.kill(pid, "SIGKILL")
      const [elapsed, exit] = yield* Fiber.await(call).pipe(Effect.timeout("10 seconds"), Effect.timed)
      expect(Duration.toMillis(elapsed)).toBeLessThan(5_000)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(exit)
      expect(error).toBeInstanceOf(AgentError.ToolFailed)
      expect(error.message).toMatch(/^MCP server "everything": the connection closed/)
      // the McpError is the failure's cause (the tool's own failure wraps the handler's)
      let cause: unknown = error
      while (cause instanceof AgentError.ToolFailed) cause = cause.error
      expect(cause).toBeInstanceOf(McpClient.McpError)
      expect((cause as McpClient.McpError).stderr).toContain("everything: starting up")
      expect(yield* client.toolkit.execute("everything_echo", { message: "again" })).toBe("Echo: again")
      expect(Option.getOrThrow(yield* client.pid)).not.toBe(pid)
    }))

  it.scopedLive("closes the server with its scope; a call after that fails, it does not connect again", () =>
    Effect.gen(function*() {
      const [client, pid] = yield* Effect.scoped(
        Effect.flatMap(everything(), (client) => Effect.map(client.pid, (pid) => [client, pid] as const))
      )
      const error = yield* Effect.flip(client.toolkit.execute("everything_echo", { message: "late" }))
      expect(error).toBeInstanceOf(AgentError.ToolFailed)
      expect(error.message).toBe("MCP server \"everything\": the client is closed (its scope ended)")
      expect(yield* client.pid).toEqual(Option.none())
      const alive = (() => {
        try {
          process.kill(Option.getOrThrow(pid), 0)
          return true
        } catch {
          return false
        }
      })()
      expect(alive).toBe(false)
    }))

  it.scopedLive("several servers at once: distinct prefixes, one toolkit", () =>
    Effect.gen(function*() {
      const a = yield* everything("one")
      const b = yield* everything("two")
      const toolkit = Toolkit.merge(a.toolkit, b.toolkit)
      expect(Object.keys(toolkit.tools)).toEqual(expect.arrayContaining(["one_echo", "two_echo"]))
      expect(yield* toolkit.execute("two_echo", { message: "b" })).toBe("Echo: b")
    }))

  it.scopedLive("a command that does not start is a typed McpError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        McpClient.make({
          name: "missing",
          server: {
            command: process.execPath,
            args: ["-e", "console.error('missing API_KEY'); process.exit(3)"],
            stderr: "ignore"
          },
          connectTimeout: "10 seconds"
        })
      )
      expect(error._tag).toBe("McpError")
      expect(error.server).toBe("missing")
      expect(error.stderr).toBe("missing API_KEY")
    }))
})

describe("McpClient over Streamable HTTP (the SDK's server)", () => {
  it.scopedLive("lists and calls tools; a dotted name is sanitised, a clash numbered, the original kept for the call", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      expect(client.tools.map((tool) => [tool.name, tool.mcpName])).toEqual([
        ["web_math_add", "math.add"],
        ["web_math_add_2", "math_add"],
        ["web_media", "media"],
        ["web_broken", "broken"],
        ["web_wait", "wait"]
      ])
      expect(yield* client.toolkit.execute("web_math_add", { a: 1, b: 2 })).toBe("3")
      expect(yield* client.toolkit.execute("web_math_add_2", {})).toBe("same")
    }))

  it.scopedLive("audio, resources and resource links reach the model in their textual form", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      expect((yield* client.toolkit.execute("web_media", {})).split("\n")).toEqual([
        "[audio: audio/wav, 10 bytes]",
        "[resource: file:///notes.txt]",
        "remember the milk",
        "[resource: file:///a.bin, application/octet-stream, 3 bytes]",
        "[resource link: file:///big.csv (big.csv)]"
      ])
    }))

  it.scopedLive("isError: true is a ToolFailed whose text the model reads", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      const model = yield* ScriptedModel.make([{ toolCalls: [{ name: "web_broken", arguments: {} }] }, { text: "ok" }])
      const agent = yield* Agent.make({ name: "mcp", instructions: "", model, toolkit: client.toolkit })
      const result = yield* agent.run("try")
      const call = result.steps[0]!.toolCalls[0]!
      expect([call.result, call.isError]).toEqual(["Error: the disk is full", true])
      const error = yield* Effect.flip(client.toolkit.execute("web_broken", {}))
      expect(error).toBeInstanceOf(AgentError.ToolFailed)
    }))

  it.scopedLive("interrupting the run cancels the request: the server's handler sees the abort", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      const model = yield* ScriptedModel.make([{ toolCalls: [{ name: "web_wait", arguments: {} }] }, { text: "ok" }])
      const agent = yield* Agent.make({ name: "mcp", instructions: "", model, toolkit: client.toolkit })
      const run = yield* Effect.fork(agent.run("wait"))
      yield* Deferred.await(server.waitStarted).pipe(Effect.timeout("10 seconds"))
      yield* Fiber.interrupt(run)
      yield* Deferred.await(server.waitCancelled).pipe(Effect.timeout("10 seconds"))
    }))

  it.scopedLive("a tool timeout cancels the request too", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* McpClient.make({ name: "web", server: { url: server.url }, timeout: "300 millis" })
      const error = yield* Effect.flip(client.toolkit.execute("web_wait", {}))
      expect(error._tag).toBe("ToolTimeout")
      expect(Duration.toMillis((error as AgentError.ToolTimeout).timeout)).toBe(300)
      yield* Deferred.await(server.waitCancelled).pipe(Effect.timeout("10 seconds"))
    }))

  it.scopedLive("a server that crashes mid-call fails the call at once, not after the SDK's timeout", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      const call = yield* Effect.fork(client.toolkit.execute("web_wait", {}))
      yield* Deferred.await(server.waitStarted).pipe(Effect.timeout("10 seconds"))
      yield* server.crash
      const [elapsed, exit] = yield* Fiber.await(call).pipe(Effect.timeout("20 seconds"), Effect.timed)
      expect(Duration.toMillis(elapsed)).toBeLessThan(10_000)
      const error = yield* Effect.flip(exit)
      expect(error).toBeInstanceOf(AgentError.ToolFailed)
      expect(error.message).toMatch(/^MCP server "web": /)
    }))

  it.scopedLive("a server that restarted (the session is unknown: 404) gets a new session, and the call goes through", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      expect(yield* client.toolkit.execute("web_math_add", { a: 1, b: 2 })).toBe("3")
      yield* server.restart
      expect(yield* client.toolkit.execute("web_math_add", { a: 2, b: 2 })).toBe("4")
    }))

  it.scopedLive("a tool list that changes (notifications/tools/list_changed) refreshes the toolkit in place", () =>
    Effect.gen(function*() {
      const server = yield* webServer
      const client = yield* web(server.url)
      const model = yield* ScriptedModel.make([{ toolCalls: [{ name: "web_late", arguments: {} }] }, { text: "ok" }])
      const agent = yield* Agent.make({ name: "mcp", instructions: "", model, toolkit: client.toolkit })
      expect(Object.keys(client.toolkit.tools)).not.toContain("web_late")
      yield* server.addTool("late")
      yield* Effect.sync(() => Object.keys(client.toolkit.tools)).pipe(
        Effect.repeat({ until: (names) => names.includes("web_late"), schedule: Schedule.spaced("20 millis") }),
        Effect.timeout("10 seconds")
      )
      expect(client.tools.map((tool) => tool.name)).toContain("web_late")
      const result = yield* agent.run("use the new tool")
      expect(result.steps[0]!.toolCalls[0]!.result).toBe("late here")
    }))

  it.scopedLive("a server that is not there is a typed McpError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(web("http://127.0.0.1:1/mcp"))
      expect(error._tag).toBe("McpError")
      expect(error.message).toMatch(/^cannot connect/)
    }))
})
