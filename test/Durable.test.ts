/**
 * Durable runs survive `kill -9`: a run of three tool steps is started in a
 * child process (test/fixtures/durableWorker.ts) on a SQLite file, killed in
 * the middle of a tool call or of a model call, and started again: the run
 * goes on from its journal by itself.
 */
import { Command, FetchHttpClient, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option, Queue, Schedule, Schema, Scope, Stream } from "effect"
import { Agent, type Approval, Dag, Team, Tool, Toolkit } from "effect-agents"
import { Durable } from "effect-agents/durable"
import { AgentClient, AgentServer, Registry } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { mailer, mailerWithModel } from "./fixtures/mailer.js"

const worker = (dir: string, crashAt?: string) =>
  Command.make(
    process.execPath,
    "--conditions=source",
    "--import",
    "tsx",
    "test/fixtures/durableWorker.ts",
    path.join(dir, "runs.db"),
    path.join(dir, "log"),
    ...(crashAt === undefined ? [] : [crashAt])
  )

/** The run's answer, from a process that runs it to its end. */
const runToEnd = (dir: string) =>
  Effect.flatMap(Command.start(worker(dir)), (process) =>
    Effect.zipWith(
      process.stdout.pipe(Stream.decodeText(), Stream.mkString),
      process.exitCode,
      (stdout, exitCode) => ({ answer: stdout.trim().split("\n").at(-1), exitCode }),
      { concurrent: true }
    )).pipe(Effect.scoped)

/** Starts the run, kills its process with SIGKILL once it is inside `crashAt`, then runs it to its end. */
const crashAndRestart = (crashAt: string) =>
  Effect.gen(function*() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-"))
    const files = yield* FileSystem.FileSystem
    yield* Effect.scoped(Effect.gen(function*() {
      const first = yield* Command.start(worker(dir, crashAt))
      yield* files.exists(path.join(dir, "log.entered")).pipe(
        Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (entered) => entered }),
        Effect.timeout("30 seconds")
      )
      yield* first.kill("SIGKILL")
    }))
    const second = yield* runToEnd(dir)
    const log = fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n")
    return { ...second, log }
  }).pipe(Effect.provide(NodeContext.layer))

const uninterrupted = "Done: lookup 1 ok, charge 2 ok, confirm 3 ok"
const steps = ["model 0", "tool lookup", "model 1", "tool charge", "model 2", "tool confirm", "model 3"]

describe("Durable runs across kill -9", () => {
  it.live("uninterrupted, the run makes each call once", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-"))
      const { answer, exitCode } = yield* runToEnd(dir).pipe(Effect.provide(NodeContext.layer))
      expect({ answer, exitCode }).toEqual({ answer: uninterrupted, exitCode: 0 })
      expect(fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n")).toEqual(steps)
    }), 60_000)

  it.live(
    "killed in an idempotent tool: it runs again, nothing else does, and the answer is the same",
    () =>
      Effect.gen(function*() {
        const { answer, exitCode, log } = yield* crashAndRestart("confirm")
        expect({ answer, exitCode }).toEqual({ answer: uninterrupted, exitCode: 0 })
        expect(log).toEqual([
          "model 0",
          "tool lookup",
          "model 1",
          "tool charge",
          "model 2",
          "tool confirm",
          "tool confirm",
          "model 3"
        ])
      }),
    60_000
  )

  it.live(
    "killed in a tool that is not idempotent: it never runs again, and the model reads that its outcome is unknown",
    () =>
      Effect.gen(function*() {
        const { answer, exitCode, log } = yield* crashAndRestart("charge")
        expect(exitCode).toBe(0)
        expect(answer).toMatch(/^Done: lookup 1 ok, The outcome of this charge call is unknown: .*, confirm 3 ok$/)
        expect(log).toEqual(steps)
      }),
    60_000
  )

  it.live(
    "killed during a model call: that call is made again, every call that had ended is not",
    () =>
      Effect.gen(function*() {
        const { answer, exitCode, log } = yield* crashAndRestart("model 2")
        expect({ answer, exitCode }).toEqual({ answer: uninterrupted, exitCode: 0 })
        expect(log).toEqual(steps)
      }),
    60_000
  )
})

describe("Durable idempotency keys", () => {
  it.live(
    "a tool call of a durable run reads its idempotency key; outside one, it has none",
    () =>
      Effect.gen(function*() {
        const keys: Array<Option.Option<string>> = []
        const charge = Tool.make("charge", {
          description: "Charge",
          parameters: {},
          handler: () =>
            Effect.map(Tool.currentCall, (call) => {
              keys.push(Option.map(call, (info) => info.idempotencyKey))
              return "charged"
            })
        })
        const model = yield* ScriptedModel.make((request) =>
          request.messages.at(-1)?.role === "tool"
            ? { text: "done" }
            : { toolCalls: [{ id: "c1", name: "charge", arguments: {} }] }
        )
        const agent = yield* Agent.make({ name: "payer", instructions: "", model, toolkit: Toolkit.make(charge) })
        yield* agent.run("pay", { runId: "plain" })
        const durable = Durable.make(agent)
        const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-")), "runs.db")
        yield* durable.run("pay", { runId: "paid" }).pipe(
          Effect.provide(durable.layer.pipe(
            Layer.provideMerge(Durable.layerSingleRunner()),
            Layer.provide(SqliteClient.layer({ filename }))
          ))
        )
        expect(keys).toEqual([Option.none(), Option.some("paid/tool/0/c1")])
      }),
    60_000
  )
})

describe("Durable single runner", () => {
  it.live("a second process on the same database is refused while the first lives", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-"))
      const files = yield* FileSystem.FileSystem
      yield* Effect.scoped(Effect.gen(function*() {
        // the first hangs in a tool, alive
        const first = yield* Command.start(worker(dir, "charge"))
        yield* files.exists(path.join(dir, "log.entered")).pipe(
          Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (entered) => entered }),
          Effect.timeout("30 seconds")
        )
        const second = yield* Command.start(worker(dir))
        // the logger writes the failure to standard output
        const [output, exitCode] = yield* Effect.all([
          second.stdout.pipe(Stream.decodeText(), Stream.mkString),
          second.exitCode
        ], { concurrency: "unbounded" })
        expect(exitCode).not.toBe(0)
        expect(output).toContain("already runs this database's durable runs")
        yield* first.kill("SIGKILL")
      }))
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)
})

describe("Durable approvals", () => {
  it.live(
    "a durable run waits for a person's decision, told once, and goes on when it comes",
    () =>
      Effect.gen(function*() {
        const sent: Array<string> = []
        const agent = yield* mailer(sent)
        const requests = yield* Queue.unbounded<Approval.Request>()
        const durable = Durable.make(agent, { onApproval: (request) => Queue.offer(requests, request) })
        const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-")), "runs.db")
        yield* Effect.gen(function*() {
          yield* durable.start("Mail Ada", { runId: "mail" })
          const request = yield* Queue.take(requests)
          expect(request.toolCall.name).toBe("send_email")
          expect(sent).toEqual([])
          yield* durable.approve("mail", request.approvalId, { by: "ada" })
          const result = yield* durable.run("Mail Ada", { runId: "mail" })
          expect(result.content).toBe("Done: sent to ada@example.com")
          expect(sent).toEqual(["ada@example.com"])
          expect(yield* Queue.size(requests)).toBe(0)
        }).pipe(
          Effect.provide(durable.layer.pipe(
            Layer.provideMerge(Durable.layerSingleRunner()),
            Layer.provide(SqliteClient.layer({ filename }))
          ))
        )
      }),
    60_000
  )
})

/**
 * Runs `durable` under `runId` on two engines, one after the other, on one
 * SQLite file: the first starts the run and stops once it waits for an
 * approval (told to `requests`); the second approves it and runs it to its
 * end, as a process started again would.
 */
const acrossRestart = <In, A, E>(
  durable: Durable.Durable<In, A, E>,
  requests: Queue.Queue<Approval.Request>,
  input: In,
  runId: string
) =>
  Effect.gen(function*() {
    const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-")), "runs.db")
    const engine = () =>
      durable.layer.pipe(
        Layer.provideMerge(Durable.layerSingleRunner()),
        Layer.provide(SqliteClient.layer({ filename }))
      )
    const request = yield* Effect.gen(function*() {
      yield* durable.start(input, { runId })
      return yield* Queue.take(requests)
    }).pipe(Effect.provide(engine()), Effect.scoped)
    const result = yield* Effect.gen(function*() {
      yield* durable.approve(runId, request.approvalId)
      return yield* durable.run(input, { runId })
    }).pipe(Effect.provide(engine()), Effect.scoped)
    return { request, result }
  })

describe("Durable teams", () => {
  it.live(
    "a broadcasting team's member waits for approval across a restart; no call that ended is made again",
    () =>
      Effect.gen(function*() {
        const sent: Array<string> = []
        const { agent: mailerAgent, model: mailerModel } = yield* mailerWithModel(sent)
        const researcherModel = yield* ScriptedModel.make([{ text: "Ada is at ada@example.com." }])
        const researcher = yield* Agent.make({ name: "researcher", instructions: "", model: researcherModel })
        const leaderModel = yield* ScriptedModel.make((request) => ({
          text: `Summary of: ${request.messages.at(-1)?.content}`
        }))
        const team = yield* Team.make({
          name: "office",
          mode: "broadcast",
          leader: { instructions: "Sum up.", model: leaderModel },
          members: [researcher, mailerAgent]
        })
        const requests = yield* Queue.unbounded<Approval.Request>()
        const durable = Durable.make(team, { onApproval: (request) => Queue.offer(requests, request) })
        const { request, result } = yield* acrossRestart(durable, requests, "Mail Ada", "office-1")
        expect([request.agent, request.toolCall.name]).toEqual(["mailer", "send_email"])
        expect(request.runId).toBe("office-1.mailer")
        expect(result.content).toContain("Summary of:")
        expect(Team.isTeamResult(result) && result.members.map((run) => run.member).sort()).toEqual([
          "mailer",
          "researcher"
        ])
        expect(sent).toEqual(["ada@example.com"])
        expect(yield* researcherModel.requests).toHaveLength(1)
        expect(yield* mailerModel.requests).toHaveLength(2)
        expect(yield* leaderModel.requests).toHaveLength(1)
        // told once, though the run was replayed
        expect(yield* Queue.size(requests)).toBe(0)
      }),
    60_000
  )
})

describe("Durable DAGs", () => {
  it.live(
    "a node's agent waits for approval across a restart; the nodes' agents make no call twice",
    () =>
      Effect.gen(function*() {
        const sent: Array<string> = []
        const { agent: mailerAgent, model: mailerModel } = yield* mailerWithModel(sent)
        const researcherModel = yield* ScriptedModel.make([{ text: "ada@example.com" }])
        const researcher = yield* Agent.make({ name: "researcher", instructions: "", model: researcherModel })
        const office = Dag.make<string>("office").pipe(
          Dag.node("research", (_, input) => Effect.map(researcher.run(input), (result) => result.content)),
          Dag.node("mail", {
            dependsOn: ["research"],
            run: ({ research }) => Effect.map(mailerAgent.run(`Mail ${research}`), (result) => result.content)
          })
        )
        const requests = yield* Queue.unbounded<Approval.Request>()
        const durable = Durable.dag(office, {
          input: Schema.String,
          onApproval: (request) => Queue.offer(requests, request)
        })
        const { request, result } = yield* acrossRestart(durable, requests, "Find Ada", "dag-1")
        expect([request.runId, request.toolCall.name]).toEqual(["dag-1.mail", "send_email"])
        expect(result.status).toBe("completed")
        expect(result.nodes.mail).toMatchObject({ status: "completed", output: "Done: sent to ada@example.com" })
        expect(sent).toEqual(["ada@example.com"])
        expect(yield* researcherModel.requests).toHaveLength(1)
        expect(yield* mailerModel.requests).toHaveLength(2)
      }),
    60_000
  )
})

describe("Durable runs over HTTP", () => {
  /** A server whose `echo` agent's model counts its calls, durable on the SQLite file; in its own scope. */
  const serve = (filename: string, durable: boolean) =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make((request) => ({ text: `echo: ${request.messages.at(-1)?.content}` }))
      const scope = yield* Scope.make()
      const registry = Registry.layer(
        Effect.map(Agent.make({ name: "echo", instructions: "", model }), (echo) => ({ agents: [echo] }))
      )
      const runs = Durable.layerServed.pipe(
        Layer.provide(Durable.layerSingleRunner()),
        Layer.provide(SqliteClient.layer({ filename }))
      )
      const context = yield* Layer.buildWithScope(
        AgentServer.layer({ port: 0 }).pipe(
          Layer.provide(durable ? runs : Layer.empty),
          Layer.provide(registry)
        ),
        scope
      )
      const client = yield* AgentClient.make({ baseUrl: Context.get(context, AgentServer.AgentServer).url })
      return { client, model, stop: Scope.close(scope, Exit.void) }
    }).pipe(Effect.provide(FetchHttpClient.layer))

  it.live(
    "`durable: true`: the same runId is the same run, even after the server restarts",
    () =>
      Effect.gen(function*() {
        const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-")), "runs.db")
        const run = (client: AgentClient.Client) =>
          client.agents.run({ path: { name: "echo" }, payload: { input: "hello", runId: "d1", durable: true } })
        const first = yield* serve(filename, true)
        expect((yield* run(first.client)).content).toBe("echo: hello")
        expect((yield* run(first.client)).content).toBe("echo: hello")
        expect(yield* first.model.requests).toHaveLength(1)
        yield* first.stop
        const second = yield* serve(filename, true)
        expect((yield* run(second.client)).content).toBe("echo: hello")
        expect(yield* second.model.requests).toHaveLength(0)
        // durable runs are not streamed
        const streamed = yield* Effect.flip(
          second.client.stream("echo", { input: "hello", durable: true }).pipe(Stream.runDrain)
        )
        expect(streamed._tag).toBe("DurableNotServed")
        yield* second.stop
      }),
    60_000
  )

  it.live("without durable runs, `durable: true` is a 501 DurableNotServed", () =>
    Effect.gen(function*() {
      const { client, stop } = yield* serve(":memory:", false)
      const error = yield* Effect.flip(
        client.agents.run({ path: { name: "echo" }, payload: { input: "hello", durable: true } })
      )
      expect(error._tag).toBe("DurableNotServed")
      yield* stop
    }), 60_000)
})

describe("Durable cancellation", () => {
  it.live(
    "a cancelled durable run stops before its next model call, and its outcome is an interruption",
    () =>
      Effect.gen(function*() {
        // twenty steps of a tool each, 50 ms a model call
        const model = yield* ScriptedModel.make((request) => {
          const done = request.messages.filter((message) => message.role === "tool").length
          return done < 20
            ? { toolCalls: [{ id: `c${done}`, name: "tick", arguments: {} }], latency: "50 millis" }
            : { text: "all done", latency: "50 millis" }
        })
        const tick = Tool.make("tick", { description: "Tick", parameters: {}, handler: () => "tock" })
        const agent = yield* Agent.make({
          name: "ticker",
          instructions: "",
          model,
          toolkit: Toolkit.make(tick),
          maxSteps: 30
        })
        const durable = Durable.make(agent)
        const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-durable-")), "runs.db")
        yield* Effect.gen(function*() {
          yield* durable.start("tick", { runId: "ticks" })
          yield* model.requests.pipe(
            Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (requests) => requests.length >= 3 })
          )
          yield* durable.cancel("ticks")
          const outcome = yield* durable.poll("ticks").pipe(
            Effect.delay("50 millis"),
            Effect.repeat({ until: Option.isSome }),
            Effect.timeout("10 seconds")
          )
          expect(Exit.isInterrupted(Option.getOrThrow(outcome))).toBe(true)
          // it stopped a step or two after the cancel, far from its twenty
          expect((yield* model.requests).length).toBeLessThan(8)
        }).pipe(
          Effect.provide(durable.layer.pipe(
            Layer.provideMerge(Durable.layerSingleRunner()),
            Layer.provideMerge(SqliteClient.layer({ filename }))
          ))
        )
      }),
    60_000
  )
})
