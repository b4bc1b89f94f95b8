import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from "@modelcontextprotocol/client"
import { getDefaultEnvironment, StdioClientTransport as StdioV2 } from "@modelcontextprotocol/client/stdio"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport as StdioV1 } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { Context, Duration, Effect, Exit, Fiber, Layer, Redacted, Scope } from "effect"
import { AgentServer } from "effect-agents/http"
import { McpServer } from "effect-agents/mcp"
import { SqlStore } from "effect-agents/sql"
import { OpenAiCompatServer } from "effect-agents/testing"
import { fileURLToPath } from "node:url"
import { registryLayer, script } from "./fixtures/mcpServed.js"

const stdioFixture = fileURLToPath(new URL("./fixtures/mcpStdio.ts", import.meta.url))
const token = "mcp-test-token"

/** What the tests need of a client, whichever SDK it is. */
interface Result {
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>
  readonly structuredContent?: Record<string, unknown> | undefined
  readonly isError?: boolean | undefined
}
interface Caller {
  readonly tools: ReadonlyArray<
    { readonly name: string; readonly inputSchema: unknown; readonly outputSchema?: unknown }
  >
  /** A call, cancelled (`notifications/cancelled`) when the fiber is interrupted. */
  readonly call: (
    name: string,
    args: Record<string, unknown>,
    onprogress?: (progress: { readonly progress: number; readonly message?: string | undefined }) => void
  ) => Effect.Effect<Result>
}

type Sdk = "v2" | "v1" | "v2 (2026-07-28)"
type Target =
  | { readonly _tag: "stdio"; readonly modelUrl: string }
  | { readonly _tag: "http"; readonly url: string; readonly headers: Record<string, string> }

interface AnyClient {
  connect(transport: unknown): Promise<void>
  close(): Promise<void>
  listTools(): Promise<{ tools: Array<{ name: string; inputSchema: unknown; outputSchema?: unknown }> }>
}

const transportOf = (sdk: Sdk, target: Target) => {
  if (target._tag === "http") {
    const init = { requestInit: { headers: target.headers } }
    return sdk === "v1" ? new HttpV1(new URL(target.url), init) : new HttpV2(new URL(target.url), init)
  }
  const params = {
    command: process.execPath,
    args: ["--conditions=source", "--import", "tsx", stdioFixture],
    env: { ...getDefaultEnvironment(), MODEL_URL: target.modelUrl },
    stderr: "ignore" as const
  }
  return sdk === "v1" ? new StdioV1(params) : new StdioV2(params)
}

/** A connected client of the SDK, closed with the scope. */
const connect = (sdk: Sdk, target: Target): Effect.Effect<Caller, never, Scope.Scope> =>
  Effect.gen(function*() {
    const info = { name: "test", version: "1.0.0" }
    const client = sdk === "v1"
      ? new ClientV1(info)
      : new ClientV2(info, sdk === "v2" ? {} : { versionNegotiation: { mode: { pin: "2026-07-28" } } })
    const any = client as unknown as AnyClient
    yield* Effect.acquireRelease(
      Effect.promise(() => any.connect(transportOf(sdk, target))),
      () => Effect.promise(() => any.close())
    )
    const { tools } = yield* Effect.promise(() => any.listTools())
    const call: Caller["call"] = (name, args, onprogress) =>
      Effect.promise((signal) => {
        const options = { signal, timeout: 30_000, ...(onprogress === undefined ? {} : { onprogress }) }
        return (client instanceof ClientV1
          ? client.callTool({ name, arguments: args }, CallToolResultSchema, options)
          : client.callTool({ name, arguments: args }, options)) as Promise<Result>
      })
    return { tools, call }
  })

const textOf = (result: Result) => result.content.map((block) => block.text ?? "").join("")

/** The model server, and the agent server serving MCP at /mcp with a token. */
const httpServer = Effect.gen(function*() {
  const model = yield* OpenAiCompatServer.make(script)
  const context = yield* Layer.build(
    AgentServer.layer({ port: 0, token: Redacted.make(token), shutdownGracePeriod: "2 seconds" }).pipe(
      Layer.provide(McpServer.layerHttp()),
      Layer.provide(registryLayer(model.url))
    )
  )
  const agentServer = yield* Effect.provide(AgentServer.AgentServer, context)
  return { model, url: `${agentServer.url}/mcp`, agentServer }
})

const targets = {
  stdio: Effect.map(
    OpenAiCompatServer.make(script),
    (model) => ({ model, target: { _tag: "stdio", modelUrl: model.url } as Target })
  ),
  http: Effect.map(httpServer, ({ model, url }) => ({
    model,
    target: { _tag: "http", url, headers: { authorization: `Bearer ${token}` } } as Target
  }))
}

const cases: ReadonlyArray<readonly [Sdk, keyof typeof targets]> = [
  ["v2", "stdio"],
  ["v1", "stdio"],
  ["v2 (2026-07-28)", "stdio"],
  ["v2", "http"],
  ["v1", "http"],
  ["v2 (2026-07-28)", "http"]
]

/** One server (a process, over stdio) and one client for the tests of a case. */
class Fixture extends Context.Tag("test/McpServer/Fixture")<Fixture, {
  readonly model: OpenAiCompatServer.OpenAiCompatServer
  readonly client: Caller
}>() {}

const fixture = (sdk: Sdk, kind: keyof typeof targets) =>
  Layer.scoped(
    Fixture,
    Effect.gen(function*() {
      const { model, target } = yield* targets[kind]
      return { model, client: yield* connect(sdk, target) }
    })
  )

for (const [sdk, kind] of cases) {
  layer(fixture(sdk, kind), { excludeTestServices: true, timeout: "60 seconds" })(
    `McpServer to the ${sdk} SDK client over ${kind}`,
    (it) => {
      it.effect("lists the agents, the team, the DAG and the tool with their schemas", () =>
        Effect.gen(function*() {
          const { client } = yield* Fixture
          expect(client.tools.map((tool) => tool.name)).toEqual(["assistant", "extractor", "crew", "double", "add"])
          const byName = Object.fromEntries(client.tools.map((tool) => [tool.name, tool]))
          expect(byName.assistant!.inputSchema).toMatchObject({
            type: "object",
            properties: { input: { type: "string" } },
            required: ["input"]
          })
          expect(byName.assistant!.outputSchema).toBeUndefined()
          expect(byName.extractor!.outputSchema).toMatchObject({
            type: "object",
            properties: { city: { type: "string" }, days: { type: "number" } }
          })
          expect(byName.double!.inputSchema).toMatchObject({
            type: "object",
            properties: { input: { type: "number" } },
            required: ["input"]
          })
          expect(byName.add!.inputSchema).toMatchObject({
            type: "object",
            properties: { a: { type: "number" }, b: { type: "number" } }
          })
        }))

      it.effect("calls an agent, an agent with typed output, a team, a DAG and a tool", () =>
        Effect.gen(function*() {
          const { client } = yield* Fixture
          const echoed = yield* client.call("assistant", { input: "hello" })
          expect([textOf(echoed), echoed.isError ?? false]).toEqual(["echo: hello", false])
          const trip = yield* client.call("extractor", { input: "extract" })
          expect(trip.structuredContent).toEqual({ city: "Paris", days: 3 })
          const team = yield* client.call("crew", { input: "hello" })
          expect([team.isError ?? false, textOf(team)]).toEqual([false, expect.stringMatching(/^echo: /)])
          const dag = yield* client.call("double", { input: 5 })
          expect(dag.structuredContent).toMatchObject({
            dag: "double",
            status: "completed",
            nodes: { twice: { status: "completed", output: 10 }, again: { status: "completed", output: 20 } }
          })
          expect(JSON.parse(textOf(dag))).toEqual(dag.structuredContent)
          expect(textOf(yield* client.call("add", { a: 1, b: 2 }))).toBe("3")
          const bad = yield* client.call("double", { input: "five" })
          expect(bad.isError).toBe(true)
        }))

      it.effect("progress notifications for each step and tool call of the run", () =>
        Effect.gen(function*() {
          const { client } = yield* Fixture
          const seen: Array<{ progress: number; message?: string | undefined }> = []
          const result = yield* client.call("assistant", { input: "add" }, (progress) => seen.push(progress))
          expect(textOf(result)).toBe("the sum is 5")
          // the last step's notification goes out just before the result: a client may drop it, racing the two
          expect(seen.map((progress) => progress.message).slice(0, 4)).toEqual([
            "assistant: started",
            "assistant: calling add",
            "assistant: add answered",
            "assistant: step 1 completed"
          ])
          expect(seen.map((progress) => progress.progress)).toEqual(seen.map((_, i) => i + 1))
        }))

      it.effect("a cancel interrupts the run: the model server sees its request closed", () =>
        Effect.gen(function*() {
          const { client, model } = yield* Fixture
          const before = yield* model.stats
          const call = yield* Effect.fork(client.call("assistant", { input: "hang" }))
          yield* model.awaitStats((stats) => stats.open === 1).pipe(Effect.timeout("20 seconds"))
          yield* Fiber.interrupt(call)
          const stats = yield* model.awaitStats((stats) => stats.abortedByClient === before.abortedByClient + 1).pipe(
            Effect.timeout("10 seconds")
          )
          expect(stats).toMatchObject({ open: 0, completed: before.completed })
          // the server goes on serving
          expect(textOf(yield* client.call("assistant", { input: "again" }))).toBe("echo: again")
        }))
    }
  )
}

describe("McpServer over HTTP: in front of /mcp", () => {
  const post = (url: string, headers: Record<string, string>) =>
    Effect.promise(() =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
        })
      })
    )

  it.scopedLive("the bearer token is required; an Origin that does not name the server is refused", () =>
    Effect.gen(function*() {
      const { url } = yield* httpServer
      expect((yield* post(url, {})).status).toBe(401)
      expect((yield* post(url, { authorization: "Bearer wrong" })).status).toBe(401)
      const foreign = yield* post(url, { authorization: `Bearer ${token}`, origin: "https://evil.example" })
      expect(foreign.status).toBe(403)
      const ok = yield* post(url, { authorization: `Bearer ${token}`, origin: new URL(url).origin })
      expect(ok.status).toBe(200)
      expect(ok.headers.get("mcp-session-id")).toMatch(/^[0-9a-f-]{36}$/)
    }))

  it.scopedLive("without a token, a Host that does not name the server is refused", () =>
    Effect.gen(function*() {
      const model = yield* OpenAiCompatServer.make(script)
      const context = yield* Layer.build(
        AgentServer.layer({ port: 0 }).pipe(
          Layer.provide(McpServer.layerHttp()),
          Layer.provide(registryLayer(model.url))
        )
      )
      const server = yield* Effect.provide(AgentServer.AgentServer, context)
      const { status } = yield* Effect.promise(() =>
        new Promise<{ status: number }>((resolve, reject) => {
          // fetch does not let a test set Host: node:http does
          import("node:http").then(({ request }) => {
            const req = request(`${server.url}/mcp`, { method: "POST", headers: { host: "evil.example" } }, (res) => {
              res.resume()
              resolve({ status: res.statusCode ?? 0 })
            })
            req.on("error", reject)
            req.end("{}")
          }, reject)
        })
      )
      expect(status).toBe(403)
    }))

  it.scopedLive("a graceful shutdown closes the sessions: the server stops at once though a client holds one", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { url } = yield* Scope.extend(httpServer, scope)
      const clientScope = yield* Scope.make()
      const client = yield* Scope.extend(
        connect("v1", { _tag: "http", url, headers: { authorization: `Bearer ${token}` } }),
        clientScope
      )
      expect(client.tools).toHaveLength(5)
      const [elapsed] = yield* Effect.timed(Scope.close(scope, Exit.void))
      // no run in flight, and the session's stream ended before the last responses were awaited
      expect(Duration.toMillis(elapsed)).toBeLessThan(1_000)
      yield* Effect.ignore(Scope.close(clientScope, Exit.void).pipe(Effect.timeout("5 seconds")))
    }))
})

describe("McpServer with a SessionStore", () => {
  it.scopedLive("an agent takes a sessionId, and a call continues the conversation of its session", () =>
    Effect.gen(function*() {
      const model = yield* OpenAiCompatServer.make(script)
      const context = yield* Layer.build(
        AgentServer.layer({ port: 0, token: Redacted.make(token) }).pipe(
          Layer.provide(McpServer.layerHttp()),
          Layer.provide(registryLayer(model.url)),
          Layer.provide(SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" }))))
        )
      )
      const server = yield* Effect.provide(AgentServer.AgentServer, context)
      const client = yield* connect("v1", {
        _tag: "http",
        url: `${server.url}/mcp`,
        headers: { authorization: `Bearer ${token}` }
      })
      const assistant = client.tools.find((tool) => tool.name === "assistant")!
      expect(assistant.inputSchema).toMatchObject({ properties: { sessionId: { type: "string" } } })
      yield* client.call("assistant", { input: "first", sessionId: "s1" })
      yield* client.call("assistant", { input: "second", sessionId: "s1" })
      yield* client.call("assistant", { input: "alone", sessionId: "s2" })
      const users = (yield* model.requests).map((request) =>
        request.request.messages.filter((message) => message.role === "user").map((message) => message.content)
      )
      expect(users).toEqual([["first"], ["first", "second"], ["alone"]])
    }))
})
