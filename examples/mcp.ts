/**
 * mcp: an agent using the tools of an MCP server: the reference
 * "everything" server, spawned over stdio (offline), its tools listed,
 * prefixed and called by an agent on the scripted model; then a bad call
 * the model reads as ToolInputInvalid.
 *
 *   npm run example -- mcp
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Agent } from "effect-agents"
import { McpClient } from "effect-agents/mcp"
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

  const model = yield* ScriptedModel.make([
    {
      toolCalls: [
        { name: "everything_get-sum", arguments: { a: 19, b: 23 } },
        { name: "everything_get-structured-content", arguments: { location: "Chicago" } },
        { name: "everything_get-tiny-image", arguments: {} },
        { name: "everything_get-sum", arguments: { a: "19" } }
      ]
    },
    { text: "19 + 23 = 42; Chicago's weather is in; the image is a tiny PNG." }
  ])
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
})

program.pipe(Effect.scoped, NodeRuntime.runMain)
