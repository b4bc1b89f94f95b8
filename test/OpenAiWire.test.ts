import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Layer, Option, Redacted, Ref, Schedule, Schema, Stream } from "effect"
import type { Policy } from "effect-agents"
import { Agent, LanguageModel, RunEvent, Tool, Toolkit } from "effect-agents"
import { AgentServer, Registry } from "effect-agents/http"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import * as Raw from "./fixtures/rawServer.js"

// What comes off an OpenAI-compatible server that OpenAiCompatServer never sends: exact bytes from
// test/fixtures/rawServer.ts, through the real openai SDK and OpenAiModel, over both transports.

const apiKey = "sk-proj-abc123def456ghi789jkl012mno345wxyz"

const getWeather = Tool.make("get_weather", {
  description: "Get the weather in a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => `${city}: 18°C`
})

const question: LanguageModel.GenerateRequest = {
  messages: [LanguageModel.user("Weather in Paris and Oslo?")],
  tools: [getWeather.definition]
}

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const toolCallsOf = (parts: ReadonlyArray<LanguageModel.StreamPart>) =>
  parts.flatMap((part) => part._tag === "ToolCall" ? [part.toolCall] : [])

const noRetries = { retry: false } as const
const quickRetries = { retry: Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3))) }

/** A text answer, streamed or not as the request asks. */
const answer = (text: string, stream: boolean): Raw.Reply =>
  stream
    ? Raw.sse([Raw.chunk({ role: "assistant", content: text }), Raw.chunk({}, "stop")])
    : Raw.json(Raw.completion({ role: "assistant", content: text }))

const isStream = (request: Raw.Received) => (request.body as { readonly stream?: boolean }).stream === true

/** Whether the request sends tool results back: the step after the tool calls. */
const hasToolResults = (request: Raw.Received) =>
  (request.body as { readonly messages: ReadonlyArray<{ readonly role: string }> }).messages.some((message) =>
    message.role === "tool"
  )

/** The request's bearer token, as a server that echoes it reads it. */
const keyOf = (request: Raw.Received) => String(request.headers.authorization ?? "").replace(/^Bearer /, "")

/** A message that echoes the key whole and in the masked forms providers print. */
const echo = (key: string) =>
  `Incorrect API key provided: ${key}. Also known as ${key.slice(0, 8)}****${key.slice(-4)}, ` +
  `${key.slice(0, 11)}***...***${key.slice(-4)} and ${key.slice(0, 3)}...${key.slice(-4)}.`

const scrubbed = "Incorrect API key provided: <redacted>. Also known as <redacted>, <redacted> and <redacted>."

/** What a text may not contain: the key, any piece of it a masked form shows. */
const expectNoKey = (text: string) => {
  expect(text).not.toContain(apiKey)
  expect(text).not.toContain("wxyz")
  expect(text).not.toContain("abc123")
}

/** Serves `agent` with AgentServer on 127.0.0.1; gives its URL. */
const serve = (agent: Agent.Agent) =>
  Effect.map(
    Layer.build(AgentServer.layer({ port: 0 }).pipe(Layer.provide(Registry.layer({ agents: [agent] })))),
    (context) => Context.get(context, AgentServer.AgentServer).url
  )

const post = (url: string, body: unknown) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.bodyText(HttpClientRequest.post(url), JSON.stringify(body), "application/json")
    )
    return { status: response.status, text: yield* response.text }
  }).pipe(Effect.provide(FetchHttpClient.layer), Effect.orDie)

/** The `error` event of a streamed run over HTTP. */
const errorEvent = (body: string) =>
  body.split("\n\n").find((frame) => frame.startsWith("event: error\n"))?.slice("event: error\ndata: ".length)

describe.each(
  [
    ["the global fetch", undefined],
    ["OpenAiClient.nodeFetch", OpenAiClient.nodeFetch()]
  ] as const
)("OpenAiModel against a server that sends what it wants, with %s", (_, fetch) => {
  const modelOn = (baseURL: string) =>
    OpenAiModel.make({ model: "raw" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make(apiKey), baseURL, fetch }))
    )

  const setup = (reply: (request: Raw.Received) => Raw.Reply) =>
    Effect.gen(function*() {
      const server = yield* Raw.make(reply)
      return { server, model: yield* modelOn(server.url) }
    })

  const agentOn = (model: LanguageModel.Service, policy: Policy.Options = noRetries) =>
    Agent.make({ name: "wire", instructions: "", model, toolkit: Toolkit.make(getWeather), policy })

  // ---------------------------------------------------------------------------
  // Validation
  // ---------------------------------------------------------------------------

  it.scopedLive("a tool-call delta indexed \"__proto__\" is MalformedResponse, and Array.prototype stays clean", () =>
    Effect.gen(function*() {
      for (const index of ["__proto__", "constructor", -1, 1.5]) {
        const { model } = yield* setup(() =>
          Raw.sse([
            Raw.chunk({
              tool_calls: [{
                index,
                id: "call_1",
                type: "function",
                function: { name: "get_weather", arguments: "{}" }
              }]
            }),
            Raw.chunk({}, "tool_calls")
          ])
        )
        const before = Object.getOwnPropertyNames(Array.prototype)
        const exit = yield* Effect.exit(Stream.runDrain(model.stream(question)))
        const added = Object.getOwnPropertyNames(Array.prototype).filter((name) => !before.includes(name))
        for (const name of added) delete (Array.prototype as unknown as Record<string, unknown>)[name]
        expect(added).toEqual([])
        expect(Array.prototype.constructor).toBe(Array)
        const error = yield* Effect.flip(exit)
        expect(error._tag).toBe("MalformedResponse")
        expect(error.message).toMatch(/tool_calls/)
      }
    }))

  it.scopedLive("a malformed completion is MalformedResponse: never a crash, never a corrupted RunResult", () =>
    Effect.gen(function*() {
      const malformed: ReadonlyArray<[string, unknown]> = [
        ["a null message", Raw.completion(null)],
        ["a number as content", Raw.completion({ role: "assistant", content: 42 })],
        ["a null tool call", Raw.completion({ role: "assistant", content: null, tool_calls: [null] }, "tool_calls")],
        [
          "a number as a tool call's id",
          Raw.completion({
            role: "assistant",
            content: null,
            tool_calls: [{ id: 7, type: "function", function: { name: "get_weather", arguments: "{}" } }]
          }, "tool_calls")
        ],
        [
          "token counts as strings",
          Raw.completion({ role: "assistant", content: "hi" }, "stop", {
            usage: { prompt_tokens: "lots", completion_tokens: "0" }
          })
        ],
        ["no choices", { id: "x", model: "raw", usage: null }],
        ["a string", "Hello"]
      ]
      for (const [what, body] of malformed) {
        const { model } = yield* setup(() => Raw.json(body))
        const error = yield* Effect.flip(Effect.flatMap(agentOn(model), (agent) => agent.run("hi")))
        expect([what, error._tag]).toEqual([what, "MalformedResponse"])
      }
      // what real servers legitimately leave out or set to null is fine
      const { model } = yield* setup(() =>
        Raw.json({
          model: "raw",
          choices: [{ message: { content: "fine", tool_calls: null, refusal: null, extra: 1 }, finish_reason: "stop" }],
          usage: null
        })
      )
      const result = yield* Effect.flatMap(agentOn(model), (agent) => agent.run("hi"))
      expect(result.content).toBe("fine")
      expect(result.metrics).toMatchObject({ inputTokens: 0, outputTokens: 0 })
    }))

  it.scopedLive("a malformed chunk fails the stream with MalformedResponse", () =>
    Effect.gen(function*() {
      const malformed: ReadonlyArray<[string, ReadonlyArray<unknown>]> = [
        ["a number as content", [Raw.chunk({ content: 42 }), Raw.chunk({}, "stop")]],
        ["a null tool-call delta", [Raw.chunk({ tool_calls: [null] }), Raw.chunk({}, "tool_calls")]],
        [
          "token counts as strings",
          [Raw.chunk({ content: "hi" }, "stop"), {
            choices: [],
            usage: { prompt_tokens: "lots", completion_tokens: 1 }
          }]
        ],
        ["a string as the delta", [Raw.chunk("oops", "stop")]]
      ]
      for (const [what, events] of malformed) {
        const { model } = yield* setup(() => Raw.sse(events))
        const error = yield* Effect.flip(Effect.flatMap(agentOn(model), (agent) => Stream.runDrain(agent.stream("hi"))))
        expect([what, error._tag]).toEqual([what, "MalformedResponse"])
      }
    }))

  // ---------------------------------------------------------------------------
  // Servers that differ from OpenAI's
  // ---------------------------------------------------------------------------

  it.scopedLive("tool-call deltas without index (Gemini): a new id starts a call, none continues the last", () =>
    Effect.gen(function*() {
      const { model } = yield* setup((request) =>
        hasToolResults(request) ? answer("Paris 18°C, Oslo 18°C", isStream(request)) : Raw.sse([
          Raw.chunk({
            role: "assistant",
            tool_calls: [{ id: "call_a", type: "function", function: { name: "get_weather", arguments: "{\"city\":" } }]
          }),
          Raw.chunk({ tool_calls: [{ function: { arguments: "\"Paris\"}" } }] }),
          Raw.chunk({
            tool_calls: [{
              id: "call_b",
              type: "function",
              function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" }
            }]
          }),
          // Gemini ends a step of tool calls with "stop"
          Raw.chunk({}, "stop")
        ])
      )
      const parts = yield* collect(model.stream(question))
      expect(toolCallsOf(parts)).toEqual([
        { id: "call_a", name: "get_weather", arguments: "{\"city\":\"Paris\"}" },
        { id: "call_b", name: "get_weather", arguments: "{\"city\":\"Oslo\"}" }
      ])
      const events = yield* collect(Stream.unwrap(Effect.map(agentOn(model), (agent) => agent.stream("weather?"))))
      expect(events.filter(RunEvent.is("ToolCallCompleted")).map((event) => event.call.result)).toEqual([
        "Paris: 18°C",
        "Oslo: 18°C"
      ])
      const completed = events.at(-1)
      expect(completed?._tag === "RunCompleted" && completed.result.content).toBe("Paris 18°C, Oslo 18°C")
    }))

  it.scopedLive("a tool name repeated in every delta (MiniMax on NVIDIA NIM) is the name, not a concatenation", () =>
    Effect.gen(function*() {
      const { model } = yield* setup(() =>
        Raw.sse([
          Raw.chunk({
            tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }]
          }),
          Raw.chunk({ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: "{\"city\"" } }] }),
          Raw.chunk({ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: ":\"Paris\"}" } }] }),
          Raw.chunk({}, "tool_calls")
        ])
      )
      expect(toolCallsOf(yield* collect(model.stream(question)))).toEqual([
        { id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}" }
      ])
    }))

  it.scopedLive("a tool call without type is a call; finish reason tool_calls without a call is MalformedResponse", () =>
    Effect.gen(function*() {
      const { model, server } = yield* setup((request) =>
        request.index === 0
          ? Raw.json(Raw.completion({
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }]
          }, "tool_calls"))
          : request.index === 1
          ? answer("Paris: 18°C", false)
          : request.index === 2
          ? Raw.json(Raw.completion({ role: "assistant", content: "", tool_calls: [] }, "tool_calls"))
          : Raw.sse([Raw.chunk({ content: "" }), Raw.chunk({}, "tool_calls")])
      )
      const agent = yield* agentOn(model)
      const result = yield* agent.run("weather?")
      expect(result.steps[0]!.toolCalls).toMatchObject([
        { id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}" }
      ])
      expect(result.content).toBe("Paris: 18°C")
      expect((yield* Effect.flip(agent.run("again")))._tag).toBe("MalformedResponse")
      expect((yield* Effect.flip(Stream.runDrain(agent.stream("again"))))._tag).toBe("MalformedResponse")
      expect((yield* server.requests).length).toBe(4)
    }))

  it.scopedLive("an error inside a 200 event stream is classified by its code or type; a bad key is not retried", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<[object, string]> = [
        [
          { code: "invalid_api_key", type: "invalid_request_error", message: "Incorrect API key provided" },
          "AuthenticationFailed"
        ],
        [{ type: "authentication_error", message: "invalid x-api-key" }, "AuthenticationFailed"],
        [{ code: 401, status: "UNAUTHENTICATED", message: "API key not valid" }, "AuthenticationFailed"],
        [{ code: "rate_limit_exceeded", message: "slow down" }, "RateLimited"],
        [{ code: 429, status: "RESOURCE_EXHAUSTED", message: "quota" }, "RateLimited"],
        [{ code: "context_length_exceeded", type: "invalid_request_error", message: "too long" }, "InvalidRequest"],
        [{ type: "invalid_request_error", message: "bad" }, "InvalidRequest"],
        [{ type: "server_error", message: "oops" }, "ModelUnavailable"],
        [{ type: "overloaded_error", message: "busy" }, "ModelUnavailable"],
        [{ code: "something_new", message: "?" }, "ModelUnavailable"]
      ]
      for (const [body, tag] of cases) {
        const { model } = yield* setup(() => Raw.sse([Raw.chunk({ content: "Hel" }), { error: body }]))
        const error = yield* Effect.flip(Stream.runDrain(model.stream(question)))
        expect([body, error._tag, error.message]).toEqual([body, tag, (body as { message: string }).message])
      }
      // the policy retries only what is retryable: a rejected key is asked once
      const { model, server } = yield* setup(() =>
        Raw.sse([{ error: { code: "invalid_api_key", message: "Incorrect API key provided" } }])
      )
      const agent = yield* agentOn(model, quickRetries)
      const error = yield* Effect.flip(Stream.runDrain(agent.stream("hi")))
      expect(error._tag).toBe("AuthenticationFailed")
      expect((yield* server.requests).length).toBe(1)
    }))

  it.scopedLive("a stream labelled text/plain is passed on as it arrives: the first delta before the last byte", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<void>()
      const heldUntil = yield* Ref.make<"the client saw the first delta" | "a 5 s wait">("a 5 s wait")
      const { model } = yield* setup(() =>
        Raw.sse([
          Raw.chunk({ role: "assistant", content: "first " }),
          // the rest waits until the client has seen the first delta
          Deferred.await(seen).pipe(
            Effect.timeoutOption("5 seconds"),
            Effect.flatMap((waited) =>
              Option.isSome(waited) ? Ref.set(heldUntil, "the client saw the first delta") : Effect.void
            )
          ),
          Raw.chunk({ content: "second" }),
          Raw.chunk({}, "stop")
        ], { contentType: "text/plain; charset=utf-8" })
      )
      const parts = yield* collect(
        model.stream(question).pipe(
          Stream.tap((part) => part._tag === "TextDelta" ? Deferred.succeed(seen, void 0) : Effect.void)
        )
      )
      expect(yield* Ref.get(heldUntil)).toBe("the client saw the first delta")
      expect(parts.flatMap((part) => part._tag === "TextDelta" ? [part.text] : [])).toEqual(["first ", "second"])
    }))

  // ---------------------------------------------------------------------------
  // Errors: readable, and without secrets
  // ---------------------------------------------------------------------------

  it.scopedLive("a connection error names the base URL, without its credentials, and the cause's code", () =>
    Effect.gen(function*() {
      const url = yield* Raw.refusedUrl
      const refused = yield* modelOn(url)
      const error = yield* Effect.flip(refused.generate(question))
      expect(error._tag).toBe("ModelUnavailable")
      expect(error.message).toContain(url)
      expect(error.message).toContain("ECONNREFUSED")
      const streamed = yield* Effect.flip(Stream.runDrain(refused.stream(question)))
      expect(streamed.message).toBe(error.message)

      const withCredentials = yield* modelOn(url.replace("http://", "http://ada:hunter2secret@") + "?token=t0ps3cret")
      const hidden = yield* Effect.flip(withCredentials.generate(question))
      expect(hidden._tag).toBe("ModelUnavailable")
      expect(hidden.message).toContain(url)
      expect(hidden.message).not.toContain("hunter2secret")
      expect(hidden.message).not.toContain("ada:")
      expect(hidden.message).not.toContain("t0ps3cret")
    }))

  it.scopedLive("a key a server echoes (401, 500, a proxy's text, an in-stream error) never leaves the provider", () =>
    Effect.gen(function*() {
      // what the server answers a key with, the error that makes, and whether it answers a run or only a stream
      const echoes: ReadonlyArray<[string, (key: string) => Raw.Reply, string, "run and stream" | "stream"]> = [
        [
          "a 401",
          (key) => Raw.json({ error: { message: echo(key), code: "invalid_api_key" } }, 401),
          "AuthenticationFailed",
          "run and stream"
        ],
        [
          "a 500",
          (key) => Raw.json({ error: { message: echo(key), type: "server_error" } }, 500),
          "ModelUnavailable",
          "run and stream"
        ],
        [
          "a proxy's 502 in text",
          (key) => ({ status: 502, headers: { "content-type": "text/plain" }, body: [echo(key)] }),
          "ModelUnavailable",
          "run and stream"
        ],
        [
          "an in-stream error",
          (key) => Raw.sse([{ error: { message: echo(key), code: "invalid_api_key" } }]),
          "AuthenticationFailed",
          "stream"
        ]
      ]
      for (const [what, reply, tag, answers] of echoes) {
        const { model } = yield* setup((request) => reply(keyOf(request)))
        const agent = yield* agentOn(model)
        const errors = [
          ...(answers === "stream" ? [] : [yield* Effect.flip(agent.run("hi"))]),
          yield* Effect.flip(Stream.runDrain(agent.stream("hi")))
        ]
        for (const error of errors) {
          expect([what, error._tag]).toEqual([what, tag])
          expect(error.message).toContain(scrubbed)
          expectNoKey(`${error.message} ${String(error)} ${JSON.stringify(error)}`)
        }

        // over HTTP: the 502 body and the streamed run's error event
        const url = yield* serve(agent)
        if (answers !== "stream") {
          const run = yield* post(`${url}/v1/agents/wire/runs`, { input: "hi" })
          expect(run.status).toBe(502)
          expect(JSON.parse(run.text)).toMatchObject({ _tag: tag })
          expectNoKey(run.text)
        }
        const streamed = yield* post(`${url}/v1/agents/wire/runs/stream`, { input: "hi" })
        expect(JSON.parse(errorEvent(streamed.text)!)).toMatchObject({
          _tag: tag,
          message: expect.stringContaining(scrubbed)
        })
        expectNoKey(streamed.text)
      }
    }))

  it.scopedLive("over HTTP, a malformed answer is a 502 MalformedResponse, not the client's fault", () =>
    Effect.gen(function*() {
      const { model } = yield* setup((request) =>
        isStream(request)
          ? Raw.sse([Raw.chunk({ content: "hi" }, "stop"), { choices: [], usage: { prompt_tokens: "lots" } }])
          : Raw.json(Raw.completion({ role: "assistant", content: "hi" }, "stop", { usage: { prompt_tokens: "lots" } }))
      )
      const url = yield* serve(yield* agentOn(model))
      const run = yield* post(`${url}/v1/agents/wire/runs`, { input: "hi" })
      expect(run.status).toBe(502)
      expect(JSON.parse(run.text)).toMatchObject({ _tag: "MalformedResponse" })
      const streamed = yield* post(`${url}/v1/agents/wire/runs/stream`, { input: "hi" })
      expect(JSON.parse(errorEvent(streamed.text)!)).toMatchObject({ _tag: "MalformedResponse" })
    }))
})

describe("OpenAiClient's scrub", () => {
  it("removes the key, whole and masked, and the base URL's password; nothing else", () => {
    const { scrub } = OpenAiClient.make({
      apiKey: Redacted.make(apiKey),
      baseURL: "https://proxy:p%40ssw0rd-1234@llm.example.com/v1"
    })
    expect(scrub(echo(apiKey))).toBe(scrubbed)
    expect(scrub(`key=${apiKey}&again=${apiKey}`)).toBe("key=<redacted>&again=<redacted>")
    expect(scrub("sk-proj-abc1*****************wxyz, sk-pro•••wxyz, …wxyz")).toBe("<redacted>, <redacted>, <redacted>")
    expect(scrub("denied for proxy:p@ssw0rd-1234 (p%40ssw0rd-1234)")).toBe("denied for proxy:<redacted> (<redacted>)")
    // a masked form whose prefix is not the key's, and the last four characters alone, are not the key
    const others = "sk-live-****wxyz, wxyz, loading...wxyzzy, Incorrect API key provided"
    expect(scrub(others)).toBe(others)
    // a short key (a local server's placeholder) is scrubbed whole only
    expect(OpenAiClient.make({ apiKey: Redacted.make("ollama") }).scrub("ollama...ollama x***lama")).toBe(
      "<redacted>...<redacted> x***lama"
    )
  })
})
