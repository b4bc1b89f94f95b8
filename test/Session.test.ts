import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Exit, Fiber, Schema, Stream, TestClock } from "effect"
import { Agent, AgentError, LanguageModel, Session, SessionStore, Team, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const weather = Tool.make("weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => `sunny in ${city}`
})

/** Asks for the weather on a question about it, else answers with how many user messages it read. */
const script = (request: LanguageModel.GenerateRequest): ScriptedModel.Turn => {
  const last = request.messages.at(-1)!
  if (last.role === "user" && last.content.includes("weather")) {
    return { toolCalls: [{ id: "w1", name: "weather", arguments: { city: "Oslo" } }] }
  }
  if (last.role === "tool") return { text: `It is ${last.content}.` }
  if (last.content === "fail") return { fail: { error: new AgentError.InvalidRequest({ message: "no" }) } }
  return { text: `I read ${request.messages.filter((message) => message.role === "user").length} user messages.` }
}

const makeAgent = (latency?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const model = yield* ScriptedModel.make(script, { latency })
    const agent = yield* Agent.make({
      name: "assistant",
      instructions: "Be brief.",
      model,
      toolkit: Toolkit.make(weather),
      policy: { retry: undefined }
    })
    return { agent, model }
  })

describe("Session", () => {
  it.effect("a run reads the session's history before its input and appends its whole turn", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* makeAgent()
      const session = yield* Session.open("chat-1")
      yield* agent.run("What is the weather?", { session })
      const second = yield* agent.run("And now?", { session })
      expect(second.content).toBe("I read 2 user messages.")
      const requests = yield* model.requests
      // the instructions first, then the history, then the input
      expect(requests.at(-1)!.messages.map((message) => message.role)).toEqual(
        ["system", "user", "assistant", "tool", "assistant", "user"]
      )
      expect(yield* session.messages).toEqual([
        LanguageModel.user("What is the weather?"),
        LanguageModel.assistant("", [{ id: "w1", name: "weather", arguments: "{\"city\":\"Oslo\"}" }]),
        LanguageModel.toolResult({ toolCallId: "w1", name: "weather", content: "sunny in Oslo" }),
        LanguageModel.assistant("It is sunny in Oslo."),
        LanguageModel.user("And now?"),
        LanguageModel.assistant("I read 2 user messages.")
      ])
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("a failed run appends nothing; with keepFailedTurn its input and steps are kept", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent()
      const session = yield* Session.open("chat-2")
      const failed = yield* Effect.exit(agent.run("fail", { session }))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* session.messages).toEqual([])
      yield* Effect.exit(agent.run("fail", { session, keepFailedTurn: true }))
      expect(yield* session.messages).toEqual([LanguageModel.user("fail")])
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("pop undoes the last turn, clear forgets all, list finds a user's sessions, the latest first", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent()
      const first = yield* Session.open("a", { userId: "ada" })
      const second = yield* Session.open("b", { userId: "ada" })
      yield* agent.run("one", { session: first })
      yield* TestClock.adjust("1 second")
      yield* agent.run("two", { session: second })
      yield* agent.run("three", { session: second })
      expect((yield* Session.list("ada")).map((info) => [info.id, info.turns])).toEqual([["b", 2], ["a", 1]])
      expect(yield* Session.list("grace")).toEqual([])
      expect(yield* second.pop).toEqual([
        LanguageModel.user("three"),
        LanguageModel.assistant("I read 2 user messages.")
      ])
      expect((yield* second.messages).map((message) => message.content)).toEqual(["two", "I read 1 user messages."])
      yield* second.clear
      expect(yield* second.messages).toEqual([])
      expect(yield* second.pop).toEqual([])
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("lastMessages and maxTokens keep whole turns, the last one always", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.SessionStore
      const turn = (text: string) => [LanguageModel.user(text), LanguageModel.assistant(`re: ${text}`)]
      for (const text of ["a".repeat(400), "b", "c"]) yield* store.append("s", undefined, turn(text))
      const read = (options: Session.OpenOptions) => Session.make(store, "s", options).messages
      expect((yield* read({ lastMessages: 3 })).map((message) => message.content)).toEqual(["c", "re: c"])
      expect((yield* read({ lastMessages: 4 })).map((message) => message.content)).toEqual(["b", "re: b", "c", "re: c"])
      expect((yield* read({ lastMessages: 1 })).map((message) => message.content)).toEqual(["c", "re: c"])
      // the first turn holds about 100 tokens
      expect(yield* read({ maxTokens: 50 })).toHaveLength(4)
      expect(yield* read({ maxTokens: 250 })).toHaveLength(6)
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("two runs on one session at once are serialised: the second reads the first's turn", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent("1 second")
      const session = yield* Session.open("busy")
      const first = yield* Effect.fork(agent.run("one", { session }))
      const second = yield* Effect.fork(agent.run("two", { session }))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(first)).content).toBe("I read 1 user messages.")
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(second)).content).toBe("I read 2 user messages.")
      expect((yield* session.messages).filter((message) => message.role === "user")).toHaveLength(2)
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("a run that waits longer than waitFor fails with SessionBusy; an interrupted run frees the session", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent("1 minute")
      const session = yield* Session.open("slow", { waitFor: "10 seconds" })
      const first = yield* Effect.fork(agent.run("one", { session }))
      const second = yield* Effect.fork(Effect.either(agent.run("two", { session })))
      yield* TestClock.adjust("10 seconds")
      const busy = yield* Fiber.join(second)
      expect(busy._tag === "Left" && busy.left).toBeInstanceOf(AgentError.SessionBusy)
      yield* Fiber.interrupt(first)
      expect(yield* session.messages).toEqual([])
      const third = yield* Effect.fork(agent.run("three", { session }))
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(third)).content).toBe("I read 1 user messages.")
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("a streamed run and a team's run append their turns too", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent()
      const session = yield* Session.open("mixed")
      const events = yield* Stream.runCollect(agent.stream("hello", { session }))
      expect([...events].at(-1)?._tag).toBe("RunCompleted")
      const leader = yield* ScriptedModel.make(() => ({ text: "{\"member\":\"assistant\"}" }))
      const team = yield* Team.make({
        name: "desk",
        mode: "route",
        leader: { instructions: "", model: leader },
        members: [agent]
      })
      const routed = yield* team.run("who are you?", { session })
      expect(routed.content).toBe("I read 2 user messages.")
      expect((yield* session.messages).map((message) => message.content)).toEqual([
        "hello",
        "I read 1 user messages.",
        "who are you?",
        "I read 2 user messages."
      ])
    }).pipe(Effect.provide(Session.layerMemory)))

  it.effect("summarizeOlder has a model summarise older turns, a tool call kept with its result", () =>
    Effect.gen(function*() {
      const { agent } = yield* makeAgent()
      const summarizer = yield* ScriptedModel.make(() => ({ text: "They talked about the weather." }))
      const store = yield* SessionStore.SessionStore
      const session = Session.make(store, "long", { compact: Session.summarizeOlder(summarizer, { keepMessages: 3 }) })
      yield* agent.run("hello", { session })
      yield* agent.run("What is the weather?", { session })
      const messages = yield* session.messages
      // the weather turn (4 messages) is kept whole: it is the last
      expect(messages.map((message) => message.role)).toEqual(["user", "user", "assistant", "tool", "assistant"])
      expect(messages[0]!.content).toContain("They talked about the weather.")
      const [request] = yield* summarizer.requests
      expect(request!.messages.at(-1)!.content).toBe("user: hello\nassistant: I read 1 user messages.")
    }).pipe(Effect.provide(Session.layerMemory)))
})
