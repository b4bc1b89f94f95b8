/**
 * approval: a mailer agent whose `send_email` tool needs a person's
 * approval. The run looks up the address, then suspends before sending:
 * its state and the approval wait in a SQLite file. A second process (this
 * file, started again with `approve`) approves the email; the first resumes
 * the run, which sends it once and answers. Then the same mailer in a
 * broadcasting team beside a researcher: the team suspends, the researcher's
 * answer kept, and goes on once approved; the researcher is not asked again.
 *
 *   npm run example -- approval
 */
import { Command } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Console, Effect, Layer, Schema, String } from "effect"
import { Agent, Team, Tool, Toolkit } from "effect-agents"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// the second process is this file run with `--approve <dir> <approvalId>`
const approving = process.argv.indexOf("--approve")
const [dir, approvalId] = approving === -1
  ? [fs.mkdtempSync(path.join(os.tmpdir(), "effect-agents-approval-")), undefined]
  : [process.argv[approving + 1]!, process.argv[approving + 2]!]

// the store of suspended runs (and sessions, batches): one SQLite file both processes open
const Store = SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: path.join(dir, "agents.db") })))

const lookup = Tool.make("lookup_address", {
  description: "The email address of a colleague",
  parameters: { name: Schema.String },
  handler: ({ name }) => `${name.toLowerCase()}@example.com`
})

const sendEmail = Tool.make("send_email", {
  description: "Send an email",
  parameters: { to: Schema.String, subject: Schema.String },
  handler: ({ subject, to }) => Console.log(`  ✉ sent "${subject}" to ${to}`).pipe(Effect.as(`sent to ${to}`)),
  // every call waits for a person; a function of the arguments may decide per call
  needsApproval: true
})

// Offline: a scripted model that looks the address up, then sends, then answers.
const mailer = Effect.gen(function*() {
  const model = yield* ScriptedModel.make([
    { toolCalls: [{ id: "c1", name: "lookup_address", arguments: { name: "Ada" } }] },
    { toolCalls: [{ id: "c2", name: "send_email", arguments: { to: "ada@example.com", subject: "Q3 report" } }] },
    { text: "I sent Ada the Q3 report." }
  ])
  return yield* Agent.make({
    name: "mailer",
    instructions: "Send the emails you are asked to.",
    model,
    toolkit: Toolkit.make(lookup, sendEmail)
  })
})

// A team: the mailer beside a researcher, their answers summed up by the leader.
const office = Effect.gen(function*() {
  const researcher = yield* Agent.make({
    name: "researcher",
    instructions: "Find what the request needs.",
    model: yield* ScriptedModel.make([{ text: "The Q3 report is final since Monday." }])
  })
  const leader = yield* ScriptedModel.make([{ text: "Ada has the Q3 report, final since Monday." }])
  return yield* Team.make({
    name: "office",
    mode: "broadcast",
    leader: { instructions: "Sum up what the members did.", model: leader },
    members: [researcher, yield* mailer]
  })
})

const teamPart = Effect.gen(function*() {
  const team = yield* office
  const suspended = yield* Effect.flip(team.run("Send Ada the Q3 report.", { runId: "office-run" }))
  if (suspended._tag !== "RunSuspended") return yield* Effect.fail(suspended)
  const [request] = suspended.approvals
  yield* Console.log(`team suspended: ${request!.agent} waits for ${request!.toolCall.name} (run ${request!.runId})`)
  yield* Agent.approve("office-run", request!.approvalId, { by: "ada's manager" })
  const result = yield* team.resume("office-run")
  yield* Console.log(
    `team resumed: ${result.members.map((run) => run.member).join(" and ")} answered. ${result.content}`
  )
})

/** This file again, as another process. */
const otherProcess = (...args: ReadonlyArray<string>) =>
  Command.make(process.execPath, ...process.execArgv, fileURLToPath(import.meta.url), ...args).pipe(Command.string)

const main = Effect.gen(function*() {
  const agent = yield* mailer
  const suspended = yield* Effect.flip(agent.run("Send Ada the Q3 report.", { runId: "report-run" }))
  if (suspended._tag !== "RunSuspended") return yield* Effect.fail(suspended)
  const [request] = suspended.approvals
  yield* Console.log(`suspended: ${request!.toolCall.name} ${request!.toolCall.arguments} waits for approval`)

  const answer = yield* otherProcess("--approve", dir, request!.approvalId)
  yield* Console.log(String.trim(answer))

  const result = yield* agent.resume("report-run")
  yield* Console.log(
    `resumed: ${result.content} (${result.steps.length} steps, ${result.metrics.toolCalls} tool calls)`
  )
  yield* teamPart
}).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true }))))

const approve = Effect.gen(function*() {
  yield* Agent.approve("report-run", approvalId!, { by: "ada's manager" })
  yield* Console.log(`approved in process ${process.pid}`)
})

if (approvalId !== undefined) NodeRuntime.runMain(approve.pipe(Effect.provide(Store)))
else NodeRuntime.runMain(main.pipe(Effect.provide(Layer.merge(Store, NodeContext.layer))))
