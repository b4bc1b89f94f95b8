import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Redacted, Schedule, Schema, Stream } from "effect"
import type { LanguageModel } from "effect-agents"
import { Agent, AgentError, RunEvent, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, Recording, ScriptedModel } from "effect-agents/testing"
import * as path from "node:path"

const apiKey = "sk-rec-1a2b3c4d5e6f7a8b"

const add = Tool.make("add", {
  description: "Add two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  handler: ({ a, b }) => a + b
})

const agentOn = (model: LanguageModel.Service) =>
  Agent.make({
    name: "tester",
    instructions: "Be brief.",
    model,
    toolkit: Toolkit.make(add),
    policy: { retry: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3))) }
  })

const script: ScriptedModel.Script = [
  { toolCalls: [{ name: "add", arguments: { a: 2, b: 3 } }], usage: { inputTokens: 11, outputTokens: 4 } },
  { text: "2 + 3 = 5, as the tool says.", usage: { inputTokens: 21, outputTokens: 9 } }
]

/** The native provider against the local server, recorded to a file in a fresh directory. */
const recorded = (turns: ScriptedModel.Script, options?: Partial<Recording.Options>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = path.join(yield* fs.makeTempDirectoryScoped(), "run.json")
    const server = yield* OpenAiCompatServer.make(turns)
    const real = yield* OpenAiModel.make({ model: "sim" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseURL: server.url }))
    )
    const model = yield* Recording.make(real, { path: file, ...options })
    return {
      file,
      model,
      server,
      read: Effect.map(fs.readFileString(file), (text) => ({ text, json: JSON.parse(text) }))
    }
  })

const summary = (result: Agent.RunResult<string>) => ({
  content: result.content,
  steps: result.steps.map((step) => step.toolCalls.map((call) => [call.name, call.arguments, call.result])),
  usage: [result.metrics.inputTokens, result.metrics.outputTokens],
  retries: result.metrics.retries
})

describe("Recording and ScriptedModel.replay", () => {
  it.scopedLive("records a run to a versioned file, and the replay gives the same run with no server", () =>
    Effect.gen(function*() {
      const { file, model, read } = yield* recorded(script)
      const live = summary(yield* Effect.flatMap(agentOn(model), (agent) => agent.run("2 + 3?")))
      const { json, text } = yield* read
      expect(json).toMatchObject({ format: "effect-agents/recording", version: 1, model: "sim" })
      expect(json.calls.map((call: { method: string }) => call.method)).toEqual(["generate", "generate"])
      expect(json.calls[0].request.messages).toEqual([
        { role: "system", content: "Be brief." },
        { role: "user", content: "2 + 3?" }
      ])
      expect(json.calls[0].request.tools[0]).toMatchObject({ name: "add", description: "Add two numbers" })
      expect(json.calls[1].response).toMatchObject({ text: "2 + 3 = 5, as the tool says.", finishReason: "stop" })
      expect(json.calls[0]).not.toHaveProperty("durationMs")
      expect(text).not.toContain(apiKey)
      expect(text).not.toMatch(/authorization/i)

      const replayed = yield* ScriptedModel.replay(file)
      expect(summary(yield* Effect.flatMap(agentOn(replayed), (agent) => agent.run("2 + 3?")))).toEqual(live)
      expect(replayed.model).toBe("sim")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("records a streamed run part by part, and replays the same deltas", () =>
    Effect.gen(function*() {
      const { file, model, read } = yield* recorded(script, { timings: true })
      const deltas = (events: Chunk.Chunk<RunEvent.RunEvent<string>>) =>
        Chunk.toReadonlyArray(events).filter(RunEvent.is("TextDelta")).map((event) => event.text)
      const live = deltas(yield* Stream.runCollect((yield* agentOn(model)).stream("2 + 3?")))
      expect(live.length).toBeGreaterThan(2)
      const { json } = yield* read
      expect(json.calls.map((call: { method: string }) => call.method)).toEqual(["stream", "stream"])
      expect(json.calls[1].parts.filter((part: { _tag: string }) => part._tag === "TextDelta").length).toBe(live.length)
      expect(json.calls[1].parts.at(-1)).toMatchObject({ _tag: "Finish", usage: { inputTokens: 21, outputTokens: 9 } })
      expect(json.calls[0].durationMs).toBeGreaterThanOrEqual(0)

      const replayed = yield* ScriptedModel.replay(file)
      expect(deltas(yield* Stream.runCollect((yield* agentOn(replayed)).stream("2 + 3?")))).toEqual(live)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a failure is recorded and fails again on replay: the 429 is retried after its retry-after", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.millis(50) })
      const { file, model, read } = yield* recorded([{ fail: { error: limited }, text: "ok" }])
      const live = summary(yield* Effect.flatMap(agentOn(model), (agent) => agent.run("hi")))
      expect(live.retries).toBe(1)
      const { json } = yield* read
      expect(json.calls[0].error).toEqual({ _tag: "RateLimited", message: "slow down", retryAfter: 50 })

      const replayed = yield* ScriptedModel.replay(file)
      const [elapsed, result] = yield* Effect.timed(Effect.flatMap(agentOn(replayed), (agent) => agent.run("hi")))
      expect(summary(result)).toEqual(live)
      expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(50)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a changed prompt fails with InvalidRequest showing where it first differs", () =>
    Effect.gen(function*() {
      const { file, model } = yield* recorded(script)
      yield* Effect.flatMap(agentOn(model), (agent) => agent.run("2 + 3?"))
      const replayed = yield* ScriptedModel.replay(file)
      const error = yield* Effect.flip(Effect.flatMap(agentOn(replayed), (agent) => agent.run("2 + 4?")))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toBe(
        `replay of ${file}: the request differs from recorded call 1 at messages[1].content: recorded "2 + 3?", got "2 + 4?"`
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("scrubs the secrets it is given from every text; replays concurrent runs by their requests", () =>
    Effect.gen(function*() {
      const { file, model, read } = yield* recorded(
        (request) => ({ text: `echo: ${request.messages.at(-1)?.content}` }),
        { secrets: [Redacted.make(apiKey)] }
      )
      const agent = yield* agentOn(model)
      const inputs = ["first", `my key is ${apiKey}`, "third"]
      const live = yield* Effect.forEach(inputs, (input) => agent.run(input), { concurrency: "unbounded" })
      const { text } = yield* read
      expect(text).not.toContain(apiKey)
      expect(text).toContain("my key is <redacted>")

      const replayed = yield* ScriptedModel.replay(file)
      const again = yield* agentOn(replayed)
      // in another order than recorded: each request finds its call
      const answers = yield* Effect.forEach(["third", "first"], (input) => again.run(input))
      expect(answers.map((result) => result.content)).toEqual([live[2]!.content, live[0]!.content])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a file that is missing, not a recording or of another version is a RecordingInvalid", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const at = (name: string) => path.join(dir, name)
      yield* fs.writeFileString(at("other.json"), JSON.stringify({ hello: "world" }))
      yield* fs.writeFileString(
        at("v2.json"),
        JSON.stringify({ format: "effect-agents/recording", version: 2, model: "m", calls: [] })
      )
      const errors = yield* Effect.forEach(
        ["missing.json", "other.json", "v2.json"],
        (name) => Effect.flip(ScriptedModel.replay(at(name)))
      )
      expect(errors.map((error) => error._tag)).toEqual(["RecordingInvalid", "RecordingInvalid", "RecordingInvalid"])
      expect(errors[0]!.message).toMatch(/^the recording cannot be read/)
      expect(errors[1]!.message).toMatch(/^the file is not a recording \(at format: /)
      expect(errors[2]!.message).toBe("the recording is of version 2; this library reads version 1")
    }).pipe(Effect.provide(NodeContext.layer)))
})
