/**
 * batches: a server's background batches kept in a SQLite file, so they
 * outlive the server. A batch of five runs starts; the server stops while
 * two are still running; a new server on the same file answers for the
 * batch: `interrupted`, with the results of the three runs that had ended.
 * The model is scripted: it answers "quick" at once and "slow" after a minute.
 *
 *   npm run example -- batches
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Console, Context, Effect, Exit, Layer, Scope } from "effect"
import { Agent } from "effect-agents"
import { AgentClient, AgentServer, Registry } from "effect-agents/http"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "effect-agents-batches-")), "agents.db")

const RegistryLive = Registry.layer(Effect.gen(function*() {
  const model = yield* ScriptedModel.make((request) => {
    const input = request.messages.at(-1)?.content ?? ""
    return { text: `summary of ${input}`, latency: input.startsWith("slow") ? "1 minute" : 0 }
  })
  return { agents: [yield* Agent.make({ name: "summariser", instructions: "Summarise.", model })] }
}))

/** A server on the file, in its own scope (so that it can stop), and a client of it. */
const serve = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const context = yield* Layer.buildWithScope(
    AgentServer.layer({ port: 0, shutdownGracePeriod: "100 millis" }).pipe(
      Layer.provide(RegistryLive),
      // the store of batches (and sessions), its tables made when it starts
      Layer.provide(SqlStore.layer()),
      Layer.provide(SqliteClient.layer({ filename }))
    ),
    scope
  )
  const client = yield* AgentClient.make({ baseUrl: Context.get(context, AgentServer.AgentServer).url })
  return { client, stop: Scope.close(scope, Exit.void) }
})

const program = Effect.gen(function*() {
  const first = yield* serve
  const inputs = ["quick 1", "quick 2", "slow 1", "quick 3", "slow 2"]
  const { id } = yield* first.client.batches.create({ payload: { agent: "summariser", inputs, concurrency: 5 } })
  yield* Console.log(`batch ${id}: ${inputs.length} runs, in ${filename}`)
  const progress = yield* first.client.batches.get({ path: { id }, urlParams: {} }).pipe(
    Effect.delay("20 millis"),
    Effect.repeat({ until: (batch) => batch.progress.done === 3 })
  )
  yield* Console.log(`first server: ${progress.status}, ${JSON.stringify(progress.progress)}; it stops now`)
  yield* first.stop

  const second = yield* serve
  const batch = yield* second.client.batches.get({ path: { id }, urlParams: {} })
  yield* Console.log(`second server: ${batch.status}, ${JSON.stringify(batch.progress)}`)
  for (const item of batch.results) {
    yield* Console.log(`  ${inputs[item.index]}: ${item.status}${item.result ? ` (${item.result.content})` : ""}`)
  }
  yield* second.stop
}).pipe(
  Effect.provide(FetchHttpClient.layer),
  Effect.ensuring(Effect.sync(() => fs.rmSync(path.dirname(filename), { recursive: true })))
)

NodeRuntime.runMain(program)
