/**
 * mcp: MCP both ways. An agent uses the tools of an MCP server: the
 * reference "everything" server, spawned over stdio (offline), its tools
 * listed, prefixed and called by an agent on the scripted model; a bad call
 * the model reads as ToolInputInvalid. Then the agent serves itself over
 * HTTP (`/mcp` of an AgentServer, behind a bearer token) and is called
 * through the official SDK's client, with progress notifications.
 *
 *   npm run example -- mcp
 */
import { NodeRuntime } from "@effect/platform-node"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { Console, Effect, Layer, Redacted } from "effect"
import { Agent } from "effect-agents"
import { AgentServer, Registry } from "effect-agents/http"
import { McpClient, McpServer } from "effect-agents/mcp"
import { ScriptedModel } from "effect-agents/testing"
import { fileURLToPath } from "node:url"

const everything = fileURLToPath(
  new URL("../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url)
)

const program = Effect.gen(function*() {
  // the server's process lives as long as this scope
  const client = yield* McpClient.make({
    name: "everything",
    server: { command: process.execPath, args: [everything, "stdio"], stderr: "ignore" }
  })
  yield* Console.log(`${client.tools.length} tools, e.g. ${client.tools.slice(0, 3).map((t) => t.name).join(", ")}`)

  // the question uses four tools; anything else (the call through MCP below) adds with get-sum
  const model = yield* ScriptedModel.make((request) => {
    const question = request.messages.filter((message) => message.role === "user").at(-1)?.content ?? ""
    const results = request.messages.filter((message) => message.role === "tool")
    if (results.length > 0) {
      return {
        text: question.includes("Chicago")
          ? "19 + 23 = 42; Chicago's weather is in; the image is a tiny PNG."
          : results[0]!.content
      }
    }
    return question.includes("Chicago")
      ? {
        toolCalls: [
          { name: "everything_get-sum", arguments: { a: 19, b: 23 } },
          { name: "everything_get-structured-content", arguments: { location: "Chicago" } },
          { name: "everything_get-tiny-image", arguments: {} },
          { name: "everything_get-sum", arguments: { a: "19" } }
        ]
      }
      : { toolCalls: [{ name: "everything_get-sum", arguments: { a: 2, b: 40 } }] }
  })
  const agent = yield* Agent.make({
    name: "mcp-user",
    instructions: "Use the MCP server's tools.",
    model,
    toolkit: client.toolkit
  })
  const result = yield* agent.run("Add 19 and 23, get Chicago's weather and the tiny image.")
  for (const call of result.steps.flatMap((step) => step.toolCalls)) {
    yield* Console.log(`${call.isError ? "✗" : "✓"} ${call.name}: ${call.result.replace(/\n/g, " ⏎ ")}`)
  }
  yield* Console.log(`answer: ${result.content}`)

  // the agent serves itself: MCP at /mcp of an agent server, behind a bearer token
  const token = "s3cret"
  const server = yield* Layer.build(
    AgentServer.layer({ port: 0, token: Redacted.make(token) }).pipe(
      Layer.provide(McpServer.layerHttp({ name: "mcp-example" })),
      Layer.provide(Registry.layer({ agents: [agent] }))
    )
  ).pipe(Effect.flatMap((context) => Effect.provide(AgentServer.AgentServer, context)))
  const url = new URL(`${server.url}/mcp`)

  // ...and calls itself through the official SDK's client
  const sdk = new Client({ name: "example", version: "1.0.0" })
  yield* Effect.acquireRelease(
    Effect.promise(() =>
      sdk.connect(
        new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } })
      )
    ),
    () => Effect.promise(() => sdk.close())
  )
  const { tools } = yield* Effect.promise(() => sdk.listTools())
  yield* Console.log(`served over MCP at /mcp: ${tools.map((tool) => tool.name).join(", ")}`)
  const progress: Array<string> = []
  const answer = yield* Effect.promise(() =>
    sdk.callTool({ name: "mcp-user", arguments: { input: "What is 2 + 40?" } }, {
      onprogress: ({ message }) => progress.push(message ?? "")
    })
  )
  const text = answer.content.map((block) => block.type === "text" ? block.text : "").join("")
  yield* Console.log(`through MCP: ${text}`)
  yield* Console.log(`progress: ${progress.join(" | ")}`)
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
