import { PgClient } from "@effect/sql-pg"
import { expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Agent, AgentError, RunStore, Session, SessionStore } from "effect-agents"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe } from "vitest"
import { approvalSuite, threeProcesses } from "./fixtures/approvalSuite.js"
import { batchSuite } from "./fixtures/batchSuite.js"
import * as PgTest from "./fixtures/postgres.js"
import { runLogSuite } from "./fixtures/runLogSuite.js"
import { sessionSuite, twoProcesses } from "./fixtures/sessionSuite.js"

// Postgres runs the sessions' and batches' tests of every store, and two processes on one session.
describe.skipIf(PgTest.server._tag === "Unavailable")("SqlStore on Postgres", () => {
  sessionSuite("Postgres", () => SqlStore.layer().pipe(Layer.provideMerge(PgTest.layer)), { timed: false })
  batchSuite("Postgres", () => SqlStore.layer().pipe(Layer.provideMerge(PgTest.layer)))
  approvalSuite("Postgres", () => SqlStore.layer().pipe(Layer.provideMerge(PgTest.layer)))
  runLogSuite("Postgres", () => SqlStore.layer().pipe(Layer.provideMerge(PgTest.layer)))

  it.live("a run waits for the session's holder up to waitFor, then fails with SessionBusy; then it runs", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const model = yield* ScriptedModel.make(() => ({ text: "ok" }))
      const agent = yield* Agent.make({ name: "a", instructions: "", model })
      const session = Session.make(store, "held", { waitFor: "300 millis" })
      const holder = yield* Scope.make()
      yield* Scope.extend(store.hold("held", Duration.minutes(1)), holder)
      const busy = yield* Effect.flip(agent.run("hi", { session }))
      expect(busy).toBeInstanceOf(AgentError.SessionBusy)
      yield* Scope.close(holder, Exit.void)
      expect((yield* agent.run("hi", { session })).content).toBe("ok")
      expect(yield* session.messages).toHaveLength(2)
    }).pipe(Effect.provide(SqlStore.layer().pipe(Layer.provideMerge(PgTest.layer)))))

  it.live(
    "two processes on one database: their runs take turns, each reads every turn before it, none is lost",
    () =>
      Effect.gen(function*() {
        const url = PgTest.server._tag === "Running" ? PgTest.server.url : ""
        const store = SqlStore.layer().pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url) })))
        const shared = Effect.map(SessionStore.SessionStore, (store) => Session.make(store, "shared"))
        yield* Effect.flatMap(shared, (session) => session.clear).pipe(Effect.provide(store))
        yield* twoProcesses(`postgres:${url}`, store)
      }),
    60_000
  )

  it.live(
    "a run suspends in one process, is approved in a second and finishes in a third",
    () =>
      Effect.gen(function*() {
        const url = PgTest.server._tag === "Running" ? PgTest.server.url : ""
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "agents-"))
        // a fresh run id's record: the database is shared by the file's tests
        yield* Effect.flatMap(RunStore.RunStore, (store) => store.take("run-across")).pipe(
          Effect.provide(SqlStore.layer().pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url) }))))
        )
        yield* threeProcesses(`postgres:${url}`, path.join(dir, "sent.txt"))
      }),
    60_000
  )
})
