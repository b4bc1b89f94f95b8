/**
 * durable-dag: a DAG run durably. Its `research` node's agent finds Ada's
 * address, then its `mail` node's agent asks to send her the report, a call
 * that needs approval: the run waits, durably. The engine stops (a deploy,
 * say); a new one on the same SQLite file gets the approval, and the run
 * goes on from its journal: no model call that ended is made again.
 *
 *   npm run example -- durable-dag
 */
import { NodeRuntime } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Console, Effect, Layer, Queue, Schema } from "effect"
import { Agent, type Approval, Dag, Tool, Toolkit } from "effect-agents"
import { Durable } from "effect-agents/durable"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const sendEmail = Tool.make("send_email", {
  description: "Send an email",
  parameters: { to: Schema.String },
  handler: ({ to }) => Effect.as(Console.log(`  ✉ sent to ${to}`), `sent to ${to}`),
  needsApproval: true
})

const program = Effect.gen(function*() {
  // Offline: scripted models, which count the calls they are asked
  const researchModel = yield* ScriptedModel.make([{ text: "ada@example.com" }])
  const mailModel = yield* ScriptedModel.make((request) =>
    request.messages.at(-1)?.role === "tool"
      ? { text: "Ada has the report." }
      : { toolCalls: [{ id: "c1", name: "send_email", arguments: { to: "ada@example.com" } }] }
  )
  const researcher = yield* Agent.make({ name: "researcher", instructions: "Find addresses.", model: researchModel })
  const mailer = yield* Agent.make({
    name: "mailer",
    instructions: "Send what you are asked to.",
    model: mailModel,
    toolkit: Toolkit.make(sendEmail)
  })
  const report = Dag.make<string>("report").pipe(
    Dag.node("research", (_, who) => Effect.map(researcher.run(`The address of ${who}`), (result) => result.content)),
    Dag.node("mail", {
      dependsOn: ["research"],
      run: ({ research }) => Effect.map(mailer.run(`Send the report to ${research}`), (result) => result.content)
    })
  )

  const requests = yield* Queue.unbounded<Approval.Request>()
  const durable = Durable.dag(report, { input: Schema.String, onApproval: (request) => Queue.offer(requests, request) })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-agents-durable-dag-"))
  // an engine on the SQLite file: each one stands for a process
  const engine = () =>
    durable.layer.pipe(
      Layer.provideMerge(Durable.layerSingleRunner()),
      Layer.provide(SqliteClient.layer({ filename: path.join(dir, "runs.db") }))
    )

  const request = yield* Effect.gen(function*() {
    yield* durable.start("Ada", { runId: "report-ada" })
    return yield* Queue.take(requests)
  }).pipe(Effect.provide(engine()), Effect.scoped)
  yield* Console.log(`run ${request.runId} waits for ${request.toolCall.name}; the engine stops`)

  const result = yield* Effect.gen(function*() {
    yield* durable.approve("report-ada", request.approvalId, { by: "ada's manager" })
    yield* Console.log("a new engine: approved")
    return yield* durable.run("Ada", { runId: "report-ada" })
  }).pipe(Effect.provide(engine()), Effect.scoped)

  for (const name of result.order) {
    const node = result.nodes[name]
    yield* Console.log(`${name}: ${node.status === "completed" ? node.output : node.status}`)
  }
  const calls = (yield* researchModel.requests).length + (yield* mailModel.requests).length
  yield* Console.log(`${calls} model calls in all: none made twice`)
  fs.rmSync(dir, { recursive: true })
})

program.pipe(NodeRuntime.runMain)
