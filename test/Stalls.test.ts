/**
 * A model server that stalls (headers, or a first chunk, then nothing) is stopped at every level
 * of the pipeline: a run, a streamed run, a team, a DAG, an HTTP run whose client goes away. The
 * model timeout ends a stalled call at its deadline; interruption returns at once; either way the
 * server sees its socket closed.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Fiber, Layer, Redacted, Stream, TestClock } from "effect"
import { Agent, AgentError, Dag, Team } from "effect-agents"
import { AgentServer, Registry } from "effect-agents/http"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"

const noRetry = { retry: false } as const

/** An agent on `OpenAiModel` whose server stalls on its first call as `turn` says. */
const stalledAgent = (turn: ScriptedModel.Turn, name = "writer") =>
  Effect.gen(function*() {
    const server = yield* OpenAiCompatServer.make([{ text: "never finished", ...turn }])
    const model = yield* OpenAiModel.make({ model: "sim" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-test"), baseURL: server.url }))
    )
    const agent = yield* Agent.make({ name, instructions: "Write.", model, policy: noRetry })
    return { agent, server }
  })

/** Waits until the server's one request is closed, and checks that the client closed it. */
const closedByClient = (server: OpenAiCompatServer.OpenAiCompatServer) =>
  Effect.map(
    server.awaitStats((stats) => stats.open === 0),
    (stats) => expect(stats).toMatchObject({ total: 1, abortedByClient: 1, completed: 0 })
  )

/** A stream's first text delta, announced. */
const firstDelta = <A extends { readonly _tag: string }, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.map(Deferred.make<void>(), (seen) => ({
    seen: Deferred.await(seen),
    stream: Stream.tap(stream, (event) => event._tag === "TextDelta" ? Deferred.succeed(seen, undefined) : Effect.void)
  }))

describe("a stalled model server", () => {
  it.scoped("Agent.run: the model timeout ends the run with ModelTimeout at its deadline", () =>
    Effect.gen(function*() {
      const { agent, server } = yield* stalledAgent({ stallAfter: 0 })
      const fiber = yield* Effect.fork(Effect.flip(agent.run("Write", { policy: { modelTimeout: "1 minute" } })))
      yield* server.awaitStats((stats) => stats.open === 1)
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toStrictEqual(new AgentError.ModelTimeout({ timeout: Duration.minutes(1) }))
      yield* closedByClient(server)
    }))

  it.scoped("Agent.stream: the model timeout ends the stream after its first delta", () =>
    Effect.gen(function*() {
      const { agent, server } = yield* stalledAgent({ stallAfter: 1 })
      const { seen, stream } = yield* firstDelta(agent.stream("Write", { policy: { modelTimeout: "1 minute" } }))
      const fiber = yield* Effect.fork(Effect.flip(Stream.runDrain(stream)))
      yield* seen
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toStrictEqual(new AgentError.ModelTimeout({ timeout: Duration.minutes(1) }))
      yield* closedByClient(server)
    }))

  it.scoped("Agent.stream: interrupting it after the first delta returns at once", () =>
    Effect.gen(function*() {
      const { agent, server } = yield* stalledAgent({ stallAfter: 1 })
      const { seen, stream } = yield* firstDelta(agent.stream("Write"))
      const fiber = yield* Effect.fork(Stream.runDrain(stream))
      yield* seen
      yield* Fiber.interrupt(fiber)
      yield* closedByClient(server)
    }))

  it.scoped("a streamed team whose member stalls: interrupting the team returns at once", () =>
    Effect.gen(function*() {
      const { agent: writer, server } = yield* stalledAgent({ stallAfter: 1 }, "Writer")
      const leader = yield* ScriptedModel.make([{ toolCalls: [{ name: "Writer", arguments: { input: "Write" } }] }])
      const team = yield* Team.make({
        name: "Desk",
        mode: "coordinate",
        leader: { instructions: "Delegate.", model: leader },
        members: [writer]
      })
      const { seen, stream } = yield* firstDelta(team.stream("Write a story"))
      const fiber = yield* Effect.fork(Stream.runDrain(stream))
      yield* seen
      yield* Fiber.interrupt(fiber)
      yield* closedByClient(server)
    }))

  it.scoped("a DAG whose node's run stalls: the node's model timeout fails it; interrupting the DAG returns", () =>
    Effect.gen(function*() {
      for (const stop of ["timeout", "interrupt"] as const) {
        const { agent, server } = yield* stalledAgent({ stallAfter: 0 })
        const dag = Dag.make<string>("pipeline").pipe(
          Dag.node("draft", (_, topic) => agent.run(topic, { policy: { modelTimeout: "1 minute" } }))
        )
        const fiber = yield* Effect.fork(Dag.run(dag, "a topic"))
        yield* server.awaitStats((stats) => stats.open === 1)
        if (stop === "interrupt") {
          yield* Fiber.interrupt(fiber)
        } else {
          yield* TestClock.adjust("1 minute")
          const result = yield* Fiber.join(fiber)
          const draft = result.nodes.draft
          if (draft?.status !== "failed") return expect.fail("the node failed")
          expect(draft.error).toStrictEqual(new AgentError.ModelTimeout({ timeout: Duration.minutes(1) }))
        }
        yield* closedByClient(server)
      }
    }))

  it.scopedLive("an HTTP streamed run whose client disconnects after the first delta stops its model request", () =>
    Effect.gen(function*() {
      const { agent, server } = yield* stalledAgent({ stallAfter: 1 })
      const context = yield* Layer.build(
        AgentServer.layer({ port: 0 }).pipe(Layer.provide(Registry.layer({ agents: [agent] })))
      )
      const agentServer = Context.get(context, AgentServer.AgentServer)
      const controller = new AbortController()
      const response = yield* Effect.promise(() =>
        fetch(`${agentServer.url}/v1/agents/writer/runs/stream`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "Write" }),
          signal: controller.signal
        })
      )
      const reader = response.body!.getReader()
      let received = ""
      while (!received.includes("event: TextDelta")) {
        const { value } = yield* Effect.promise(() => reader.read())
        received += new TextDecoder().decode(value)
      }
      controller.abort()
      yield* closedByClient(server)
      expect(yield* agentServer.inFlight).toBe(0)
    }).pipe(Effect.provide(FetchHttpClient.layer)))
})
