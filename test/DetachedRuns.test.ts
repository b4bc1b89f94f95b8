/**
 * Detached runs (`"detach": true`) and their event logs: SSE ids,
 * `Last-Event-ID` replay, `GET /v1/runs/{id}`, `DELETE /v1/runs/{id}`, and
 * `AgentClient.follow` reconnecting by itself through a connection cut
 * mid-run (a TCP proxy in the test).
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Context, Deferred, Effect, Exit, Layer, Redacted, Schema, Scope, Stream } from "effect"
import { Agent, Tool, Toolkit } from "effect-agents"
import { AgentClient, AgentServer, Registry, RunLogStore } from "effect-agents/http"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { runLogSuite } from "./fixtures/runLogSuite.js"

const token = "s3cret"

/** Twenty words, one every 20 ms: a run long enough to cut in the middle. */
const story = Array.from({ length: 20 }, (_, i) => `word${i}`).join(" ")

const serve = (
  options?: AgentServer.Options,
  store: Layer.Layer<never> = Layer.empty,
  serverLayer: (options: AgentServer.Options) => Layer.Layer<AgentServer.AgentServer, unknown, Registry.Registry> =
    AgentServer.layer
) =>
  Effect.gen(function*() {
    const released = yield* Deferred.make<void>()
    const wait = Tool.make("wait", {
      description: "Waits for ever",
      parameters: {},
      handler: () => Effect.onInterrupt(Effect.never, () => Deferred.succeed(released, undefined))
    })
    const registry = Effect.gen(function*() {
      const talker = yield* Agent.make({
        name: "talker",
        instructions: "",
        model: yield* ScriptedModel.make(() => ({ text: story, chunkInterval: "20 millis" }))
      })
      const stuck = yield* Agent.make({
        name: "stuck",
        instructions: "",
        model: yield* ScriptedModel.make(ScriptedModel.useEachTool()),
        toolkit: Toolkit.make(wait)
      })
      return { agents: [talker, stuck] }
    })
    const context = yield* Layer.build(
      serverLayer({ port: 0, token: Redacted.make(token), ...options }).pipe(
        Layer.provide(Registry.layer(registry)),
        Layer.provide(store)
      )
    )
    const server = Context.get(context, AgentServer.AgentServer)
    const client = yield* AgentClient.make({ baseUrl: server.url, token })
    return { server, client, released }
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** Frames of an SSE body: `id`, `event`, `data`. */
const frames = (body: string) =>
  body.split("\n\n").filter((frame) => frame.length > 0).map((frame) => {
    const [id, event, data] = frame.split("\n")
    return { id: id!.replace(/^id: /, ""), event: event!.replace(/^event: /, ""), data: data!.replace(/^data: /, "") }
  })

const getText = (url: string, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders({ authorization: `Bearer ${token}`, ...headers }))
    )
    return { status: response.status, text: yield* response.text }
  }).pipe(Effect.provide(FetchHttpClient.layer))

/**
 * A TCP proxy to `port` that cuts one connection (both ends) once it has
 * passed on the frame whose id is `cutAt`, and lets the others through.
 */
const cuttingProxy = (port: number, cutAt: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly stats: Stats; readonly close: () => void }>((resume) => {
      const stats: Stats = { connections: 0, cuts: 0 }
      const sockets = new Set<net.Socket>()
      const server = net.createServer((downstream) => {
        stats.connections++
        const upstream = net.connect(port, "127.0.0.1")
        for (const socket of [downstream, upstream]) {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => {})
        }
        downstream.pipe(upstream)
        let passed = ""
        upstream.on("data", (data: Buffer) => {
          downstream.write(data)
          passed += data.toString("utf8")
          if (stats.cuts === 0 && passed.includes(`id: ${cutAt}\n`)) {
            stats.cuts++
            upstream.destroy()
            downstream.destroy()
          }
        })
        upstream.on("end", () => downstream.end())
      })
      const close = () => {
        sockets.forEach((socket) => socket.destroy())
        server.close()
      }
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, stats, close }))
      })
    }),
    (proxy) => Effect.sync(proxy.close)
  )

interface Stats {
  connections: number
  cuts: number
}

describe("detached runs", () => {
  it.scopedLive("\"detach\": true answers 202 with the run's id; GET /v1/runs/{id} says where it is, then its result", () =>
    Effect.gen(function*() {
      const { client } = yield* serve()
      const accepted = yield* client.detach("talker", { input: "Tell me", runId: "story-1" })
      expect(accepted).toEqual({ runId: "story-1", agent: "talker" })
      const running = yield* client.runs.get({ path: { id: "story-1" } })
      expect(running).toMatchObject({ runId: "story-1", agent: "talker", status: "running" })
      // the same id again: refused, and the first run goes on
      expect(yield* Effect.flip(client.detach("talker", { input: "Again", runId: "story-1" }))).toMatchObject({
        _tag: "RunExists",
        runId: "story-1"
      })
      const events = yield* Stream.runCollect(client.follow("story-1"))
      const last = Chunk.last(events)
      expect(last._tag === "Some" && last.value._tag).toBe("RunCompleted")
      const done = yield* client.runs.get({ path: { id: "story-1" } })
      expect(done).toMatchObject({ status: "completed", events: Chunk.size(events), result: { content: story } })
      expect(yield* Effect.flip(client.runs.get({ path: { id: "nobody" } }))).toMatchObject({ _tag: "RunNotFound" })
    }))

  it.scopedLive("every event has an id; Last-Event-ID replays those after it, then the live rest", () =>
    Effect.gen(function*() {
      const { client, server } = yield* serve()
      const { runId } = yield* client.detach("talker", { input: "Tell me" })
      const all = frames((yield* getText(`${server.url}/v1/runs/${runId}/events`)).text)
      expect(all.map((frame) => Number(frame.id))).toEqual(all.map((_, i) => i + 1))
      expect(all[0]?.event).toBe("RunStarted")
      expect(all.at(-1)?.event).toBe("RunCompleted")
      const replayed = frames((yield* getText(`${server.url}/v1/runs/${runId}/events`, { "last-event-id": "5" })).text)
      expect(replayed).toEqual(all.slice(5))
      const unknown = yield* getText(`${server.url}/v1/runs/nobody/events`)
      expect(unknown.status).toBe(404)
    }))

  it.scopedLive("AgentClient.follow: a connection cut mid-run is made again with Last-Event-ID, every event once, in order", () =>
    Effect.gen(function*() {
      const { client, server } = yield* serve()
      const proxy = yield* cuttingProxy(server.port, 4)
      const viaProxy = yield* AgentClient.make({ baseUrl: proxy.url, token }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const { runId } = yield* client.detach("talker", { input: "Tell me" })
      const followed = yield* Stream.runCollect(viaProxy.follow(runId))
      expect(proxy.stats.cuts).toBe(1)
      expect(proxy.stats.connections).toBeGreaterThanOrEqual(2)
      // the whole log, read again at once: the same events
      const whole = yield* Stream.runCollect(client.follow(runId))
      expect(Chunk.toReadonlyArray(followed)).toEqual(Chunk.toReadonlyArray(whole))
      const texts = Chunk.toReadonlyArray(followed).flatMap((event) => event._tag === "TextDelta" ? [event.text] : [])
      expect(texts.join("")).toBe(story)
    }))

  it.scopedLive("AgentClient.stream with detach: true starts the run detached and follows it through a cut", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const proxy = yield* cuttingProxy(server.port, 6)
      const viaProxy = yield* AgentClient.make({ baseUrl: proxy.url, token }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const events = Chunk.toReadonlyArray(
        yield* Stream.runCollect(viaProxy.stream("talker", { input: "Tell me", detach: true }))
      )
      expect(proxy.stats.cuts).toBe(1)
      expect(events[0]?._tag).toBe("RunStarted")
      expect(events.at(-1)?._tag).toBe("RunCompleted")
      expect(events.flatMap((event) => event._tag === "TextDelta" ? [event.text] : []).join("")).toBe(story)
    }))

  it.scopedLive("DELETE /v1/runs/{id} cancels a detached run down to its tools; its events end with an error", () =>
    Effect.gen(function*() {
      const { client, released } = yield* serve()
      const { runId } = yield* client.detach("stuck", { input: "Wait" })
      // once the tool runs
      yield* client.follow(runId).pipe(Stream.takeUntil((event) => event._tag === "ToolCallStarted"), Stream.runDrain)
      const cancelled = yield* client.runLogs.cancel({ path: { id: runId } })
      expect(cancelled).toMatchObject({ runId, status: "cancelled" })
      yield* Deferred.await(released)
      const failure = yield* Effect.flip(Stream.runDrain(client.follow(runId)))
      expect(failure).toMatchObject({ _tag: "InternalError", message: "the run was cancelled" })
      // cancelling again answers the same
      expect(yield* client.runLogs.cancel({ path: { id: runId } })).toMatchObject({ status: "cancelled" })
    }))

  it.scopedLive("finished runs beyond runRetention are forgotten, the first finished first", () =>
    Effect.gen(function*() {
      const { client } = yield* serve({ runRetention: 1 })
      const first = yield* client.detach("talker", { input: "one" })
      yield* Stream.runDrain(client.follow(first.runId))
      const second = yield* client.detach("talker", { input: "two" })
      yield* Stream.runDrain(client.follow(second.runId))
      expect(yield* Effect.flip(client.runs.get({ path: { id: first.runId } }))).toMatchObject({ _tag: "RunNotFound" })
      expect(yield* client.runs.get({ path: { id: second.runId } })).toMatchObject({ status: "completed" })
    }))

  it.scopedLive("layerConfig reads runRetention from AGENT_SERVER_RUN_RETENTION", () =>
    Effect.gen(function*() {
      const config = ConfigProvider.fromMap(new Map([["AGENT_SERVER_RUN_RETENTION", "1"]]), { pathDelim: "_" })
      const { client } = yield* serve({}, Layer.empty, (options) =>
        AgentServer.layerConfig(options).pipe(Layer.provide(Layer.setConfigProvider(config))))
      const first = yield* client.detach("talker", { input: "one" })
      yield* Stream.runDrain(client.follow(first.runId))
      const second = yield* client.detach("talker", { input: "two" })
      yield* Stream.runDrain(client.follow(second.runId))
      expect(yield* Effect.flip(client.runs.get({ path: { id: first.runId } }))).toMatchObject({ _tag: "RunNotFound" })
    }))

  it.scopedLive("a detached durable run is refused: a durable run outlives its request already", () =>
    Effect.gen(function*() {
      const { client } = yield* serve()
      const refused = yield* Effect.flip(client.detach("talker", { input: "x", durable: true }))
      expect(refused).toMatchObject({ _tag: "DurableNotServed" })
      expect(Schema.is(Schema.Struct({ _tag: Schema.Literal("DurableNotServed") }))(refused)).toBe(true)
    }))
})

describe("RunLogStore.layerMemory", () => {
  runLogSuite("memory", () => RunLogStore.layerMemory)
})

describe("run logs in SQL (SqlStore)", () => {
  const sqlite = (filename: string) =>
    SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename })), Layer.orDie)

  it.live("outlive their server: a finished run is replayed after a restart; one stopped mid-run is interrupted", () =>
    Effect.gen(function*() {
      const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-")), "agents.db")
      const scope = yield* Scope.make()
      const first = yield* Scope.extend(serve({ shutdownGracePeriod: "10 millis" }, sqlite(filename)), scope)
      const done = yield* first.client.detach("talker", { input: "Tell me" })
      const events = yield* Stream.runCollect(first.client.follow(done.runId))
      const stuck = yield* first.client.detach("stuck", { input: "Wait" })
      yield* first.client.follow(stuck.runId).pipe(
        Stream.takeUntil((event) => event._tag === "ToolCallStarted"),
        Stream.runDrain
      )
      yield* Scope.close(scope, Exit.void)

      const { client } = yield* Effect.scoped(Effect.gen(function*() {
        const second = yield* serve({}, sqlite(filename))
        expect(yield* second.client.runs.get({ path: { id: done.runId } })).toMatchObject({
          status: "completed",
          events: Chunk.size(events),
          result: { content: story }
        })
        const replayed = yield* Stream.runCollect(second.client.follow(done.runId))
        expect(Chunk.toReadonlyArray(replayed)).toEqual(Chunk.toReadonlyArray(events))
        const after = yield* Stream.runCollect(second.client.follow(done.runId, { lastEventId: 3 }))
        expect(Chunk.toReadonlyArray(after)).toEqual(Chunk.toReadonlyArray(events).slice(3))
        expect(yield* second.client.runs.get({ path: { id: stuck.runId } })).toMatchObject({ status: "interrupted" })
        const failure = yield* Effect.flip(Stream.runDrain(second.client.follow(stuck.runId)))
        expect(failure).toMatchObject({ _tag: "ServerShuttingDown" })
        return second
      }))
      expect(client).toBeDefined()
    }))

  it.live("a run the store has as running when a server starts (its server died) is interrupted, its log ended", () =>
    Effect.gen(function*() {
      const filename = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agents-")), "agents.db")
      const store = sqlite(filename)
      yield* Effect.scoped(Effect.gen(function*() {
        const logs = Context.get(yield* Layer.build(store), RunLogStore.RunLogStore)
        yield* logs.create({ runId: "orphan", agent: "talker", status: "running", events: 0, startedAt: 1 })
        yield* logs.append("orphan", [{ id: 1, event: "RunStarted", data: "{}" }])
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const { client } = yield* serve({}, store)
        expect(yield* client.runs.get({ path: { id: "orphan" } })).toMatchObject({ status: "interrupted", events: 2 })
      }))
    }))
})
