import { FetchHttpClient } from "@effect/platform"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import {
  Context,
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Scope,
  Stream,
  TestClock
} from "effect"
import { Agent, LanguageModel, RunStore, Session, Team } from "effect-agents"
import { AgentClient, AgentServer, Registry } from "effect-agents/http"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { mailer } from "./fixtures/mailer.js"

/** Answers with how many user messages it read. */
const counter = Effect.flatMap(
  ScriptedModel.make((request) => ({
    text: `read ${request.messages.filter((message) => message.role === "user").length}`
  })),
  (model) => Agent.make({ name: "counter", instructions: "Count.", model })
)

const serve = (store: Layer.Layer<never> | typeof Session.layerMemory) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      AgentServer.layer({ port: 0 }).pipe(
        Layer.provide(Registry.layer(Effect.map(counter, (agent) => ({ agents: [agent] })))),
        Layer.provide(store)
      )
    )
    const server = Context.get(context, AgentServer.AgentServer)
    return yield* AgentClient.make({ baseUrl: server.url })
  }).pipe(Effect.provide(FetchHttpClient.layer))

describe("AgentServer sessions", () => {
  it.scoped("runs with a sessionId continue the session; its messages, undo and clear are endpoints", () =>
    Effect.gen(function*() {
      const client = yield* serve(Session.layerMemory)
      const run = (input: string) =>
        client.agents.run({ path: { name: "counter" }, payload: { input, sessionId: "chat-1" } })
      expect((yield* run("one")).content).toBe("read 1")
      const events = yield* Stream.runCollect(client.stream("counter", { input: "two", sessionId: "chat-1" }))
      expect([...events].at(-1)?._tag).toBe("RunCompleted")
      expect((yield* run("three")).content).toBe("read 3")
      const path = { id: "chat-1" }
      expect((yield* client.sessions.messages({ path })).messages.map((message) => message.content)).toEqual(
        ["one", "read 1", "two", "read 2", "three", "read 3"]
      )
      expect(yield* client.sessions.undo({ path, payload: {} })).toEqual({
        id: "chat-1",
        messages: [LanguageModel.user("three"), LanguageModel.assistant("read 3")]
      })
      yield* client.sessions.clear({ path })
      expect((yield* client.sessions.messages({ path })).messages).toEqual([])
      // a run without a session reads nothing of it
      expect((yield* client.agents.run({ path: { name: "counter" }, payload: { input: "alone" } })).content)
        .toBe("read 1")
    }))

  it.scoped("without a SessionStore, a sessionId and the session endpoints are SessionsNotServed (501)", () =>
    Effect.gen(function*() {
      const client = yield* serve(Layer.empty)
      const error = yield* Effect.flip(
        client.agents.run({ path: { name: "counter" }, payload: { input: "one", sessionId: "chat-1" } })
      )
      expect(error._tag).toBe("SessionsNotServed")
      expect((yield* Effect.flip(client.sessions.messages({ path: { id: "chat-1" } })))._tag).toBe("SessionsNotServed")
      const streamed = yield* Effect.flip(
        client.stream("counter", { input: "one", sessionId: "chat-1" }).pipe(Stream.runDrain)
      )
      expect(streamed._tag).toBe("SessionsNotServed")
    }))

  it.scoped("a session id that is not a plain name is refused before any store is read", () =>
    Effect.gen(function*() {
      const client = yield* serve(Session.layerMemory)
      const error = yield* Effect.flip(
        client.agents.run({ path: { name: "counter" }, payload: { input: "one", sessionId: "../../etc" } })
      )
      expect(error._tag).toBe("ParseError")
    }))
})

/** Answers at once, but never to "slow". */
const gated = Effect.flatMap(
  ScriptedModel.make((request) => {
    const input = request.messages.at(-1)!.content
    return input === "slow" ? { hang: true } : { text: `done: ${input}` }
  }),
  (model) => Agent.make({ name: "gated", instructions: "", model, policy: { retry: false } })
)

/** A server on the SQLite file, in its own scope, and a client of it. */
const serveOn = (filename: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      AgentServer.layer({ port: 0, shutdownGracePeriod: 0 }).pipe(
        Layer.provide(Registry.layer(Effect.map(gated, (agent) => ({ agents: [agent] })))),
        Layer.provide(SqlStore.layer()),
        Layer.provide(SqliteClient.layer({ filename }))
      ),
      scope
    )
    const client = yield* AgentClient.make({ baseUrl: Context.get(context, AgentServer.AgentServer).url })
    return { client, stop: Scope.close(scope, Exit.void) }
  }).pipe(Effect.provide(FetchHttpClient.layer))

describe("AgentServer batches in a SqlStore", () => {
  it.live(
    "a batch outlives its server: after a restart it is interrupted, with the runs that had ended",
    () =>
      Effect.gen(function*() {
        const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-")), "agents.db")
        const first = yield* serveOn(filename)
        const { id } = yield* first.client.batches.create({ payload: { agent: "gated", inputs: ["fast", "slow"] } })
        const get = (client: AgentClient.Client) => client.batches.get({ path: { id }, urlParams: {} })
        yield* Effect.repeat(get(first.client), {
          schedule: Schedule.spaced("10 millis"),
          until: (batch) => batch.progress.done === 1 && batch.progress.running === 1
        })

        // a second server on the same file sees the batch running, and cannot cancel it
        const second = yield* serveOn(filename)
        const elsewhere = yield* get(second.client)
        expect([elsewhere.status, elsewhere.results[0]?.status]).toEqual(["running", "done"])
        expect((yield* Effect.flip(second.client.batches.cancel({ path: { id } })))._tag).toBe("BatchRunsElsewhere")
        yield* second.stop

        yield* first.stop
        const restarted = yield* serveOn(filename)
        const batch = yield* get(restarted.client)
        expect(batch.status).toBe("interrupted")
        expect(batch.finishedAt).toBeDefined()
        expect(batch.progress).toEqual({ done: 1, failed: 0, pending: 0, running: 0, cancelled: 1 })
        expect(batch.results.map((item) => [item.status, item.result?.content])).toEqual([
          ["done", "done: fast"],
          ["cancelled", undefined]
        ])
        // it has ended: waiting answers at once, and cancelling changes nothing
        expect((yield* restarted.client.batches.get({ path: { id }, urlParams: { wait: true } })).status)
          .toBe("interrupted")
        expect((yield* restarted.client.batches.cancel({ path: { id } })).status).toBe("interrupted")
        yield* restarted.stop
      }),
    30_000
  )
})

/** The mailer, served; `sent` lists what it sent. */
const mailerRegistry = (sent: Array<string>) =>
  Registry.layer(Effect.map(mailer(sent), (agent) => ({ agents: [agent] })))

const serveMailer = (sent: Array<string>, options: AgentServer.Options = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      AgentServer.layer({ port: 0, ...options }).pipe(
        Layer.provide(mailerRegistry(sent)),
        Layer.provide(RunStore.layerMemory)
      )
    )
    return yield* AgentClient.make({ baseUrl: Context.get(context, AgentServer.AgentServer).url })
  }).pipe(Effect.provide(FetchHttpClient.layer))

describe("AgentServer approvals", () => {
  it.scoped("a suspended run: 409 RunSuspended, GET /v1/runs/{id}, a decision, then POST …/resume to its result", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const client = yield* serveMailer(sent)
      const suspended = yield* Effect.flip(
        client.agents.run({ path: { name: "mailer" }, payload: { input: "Mail Ada", runId: "r1" } })
      )
      if (suspended._tag !== "RunSuspended") return expect.fail(suspended.message)
      const [request] = suspended.approvals
      const path = { id: "r1" }
      const waiting = yield* client.runs.get({ path })
      expect(waiting).toMatchObject({ runId: "r1", agent: "mailer", status: "suspended" })
      if (waiting.status !== "suspended") return expect.fail("the run is not suspended")
      expect(waiting.approvals.map((approval) => [approval.toolCall.name, approval.decision])).toEqual([
        ["send_email", undefined]
      ])
      const decided = yield* client.runs.decide({
        path: { id: "r1", approvalId: request!.approvalId },
        payload: { approve: true, by: "ada" }
      })
      expect(decided.approvals[0]!.decision).toMatchObject({ approved: true, by: "ada" })
      const conflicting = yield* Effect.flip(client.runs.decide({
        path: { id: "r1", approvalId: request!.approvalId },
        payload: { approve: false }
      }))
      expect(conflicting._tag).toBe("ApprovalNotPending")
      expect(sent).toEqual([])
      const result = yield* client.runs.resume({ path, payload: {} })
      expect(result.content).toBe("Done: sent to ada@example.com")
      expect(sent).toEqual(["ada@example.com"])
      expect((yield* Effect.flip(client.runs.get({ path })))._tag).toBe("RunNotFound")
    }))

  it.scopedLive("a streamed run shows ApprovalRequested, waits with its stream open, and goes on after the decision", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const client = yield* serveMailer(sent)
      const events = yield* client.stream("mailer", { input: "Mail Ada", runId: "r2" }).pipe(
        Stream.tap((event) =>
          event._tag === "ApprovalRequested"
            ? client.runs.decide({
              path: { id: "r2", approvalId: event.approval.approvalId },
              payload: { approve: true }
            })
            : Effect.void
        ),
        Stream.runCollect
      )
      const tags = [...events].map((event) => event._tag)
      expect(tags.indexOf("ApprovalRequested")).toBeGreaterThan(-1)
      expect(tags.indexOf("ToolCallCompleted")).toBeGreaterThan(tags.indexOf("ApprovalRequested"))
      expect(tags.at(-1)).toBe("RunCompleted")
      expect(sent).toEqual(["ada@example.com"])
    }))

  it.scopedLive("a streamed team: a member's ApprovalRequested, a decision on the team's run, then the rest of the team's run", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const registry = Registry.layer(Effect.gen(function*() {
        const member = yield* mailer(sent)
        const leader = yield* ScriptedModel.make((request) => ({
          text: `Summary: ${request.messages.at(-1)?.content}`
        }))
        const team = yield* Team.make({
          name: "office",
          mode: "broadcast",
          leader: { instructions: "", model: leader },
          members: [member]
        })
        return { teams: [team] }
      }))
      const context = yield* Layer.build(
        AgentServer.layer({ port: 0 }).pipe(Layer.provide(registry), Layer.provide(RunStore.layerMemory))
      )
      const client = yield* AgentClient.make({ baseUrl: Context.get(context, AgentServer.AgentServer).url }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const events = yield* client.stream("office", { input: "Mail Ada", runId: "t1" }).pipe(
        Stream.tap((event) =>
          event._tag === "ApprovalRequested"
            ? client.runs.decide({
              path: { id: "t1", approvalId: event.approval.approvalId },
              payload: { approve: true }
            })
            : Effect.void
        ),
        Stream.runCollect
      )
      const tags = [...events].map((event) => `${event._tag} ${event.path.join("/")}`)
      expect(tags).toContain("ApprovalRequested office/mailer")
      expect(tags.at(-1)).toBe("RunCompleted office")
      expect(sent).toEqual(["ada@example.com"])
    }))

  it.scoped("undecided for approvalWait, the stream ends with the RunSuspended error event; the run stays kept", () =>
    Effect.gen(function*() {
      const sent: Array<string> = []
      const client = yield* serveMailer(sent, { approvalWait: "1 minute" })
      const requested = yield* Deferred.make<void>()
      const collected = yield* client.stream("mailer", { input: "Mail Ada", runId: "r3" }).pipe(
        Stream.tap((event) =>
          event._tag === "ApprovalRequested" ? Deferred.succeed(requested, undefined) : Effect.void
        ),
        Stream.runCollect,
        Effect.either,
        Effect.fork
      )
      yield* Deferred.await(requested)
      // the server waits on the clock: a minute goes by, in test time (again, should its wait start after)
      while (Option.isNone(yield* Fiber.poll(collected))) {
        yield* TestClock.adjust("61 seconds")
        yield* Effect.yieldNow()
      }
      const outcome = yield* Fiber.join(collected)
      expect(Either.isLeft(outcome) && outcome.left._tag).toBe("RunSuspended")
      expect((yield* client.runs.get({ path: { id: "r3" } })).status).toBe("suspended")
      expect(sent).toEqual([])
    }))
})
