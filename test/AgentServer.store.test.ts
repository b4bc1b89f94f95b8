import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import { Agent, LanguageModel, Session } from "effect-agents"
import { AgentClient, AgentServer, Registry } from "effect-agents/http"
import { ScriptedModel } from "effect-agents/testing"

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
