import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream, String } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

/** `npm run example -- ...args`, quiet: only the runner's output. */
const runner = (...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const process = yield* Command.make("npm", "run", "--silent", "example", "--", ...args).pipe(
      Command.workingDirectory(root),
      Command.start
    )
    const [stdout, stderr, exitCode] = yield* Effect.all([
      process.stdout.pipe(Stream.decodeText(), Stream.mkString),
      process.stderr.pipe(Stream.decodeText(), Stream.mkString),
      process.exitCode
    ], { concurrency: "unbounded" })
    return { stdout, stderr, exitCode }
  }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))

/** The examples in examples/: every .ts file but the runner. */
const exampleFiles = fs.readdirSync(path.join(root, "examples"))
  .filter((file) => file.endsWith(".ts") && file !== "run.ts")
  .map((file) => file.slice(0, -3))
  .sort()

/** The names a listing shows, one example a line: `  name  what it shows`. */
const listed = (text: string) => text.split("\n").flatMap((line) => /^ {2}(\S+) {2,}\S/.exec(line)?.[1] ?? []).sort()

describe("npm run example", () => {
  it.effect("without a name, lists every example with what it shows, and succeeds", () =>
    Effect.gen(function*() {
      const { exitCode, stderr, stdout } = yield* runner()
      expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
      expect(stdout).toContain("Usage: npm run example -- <name>")
      expect(listed(stdout)).toEqual(exampleFiles)
    }))

  it.effect("with a name it does not know, says so and lists the examples, no stack trace", () =>
    Effect.gen(function*() {
      const { exitCode, stderr, stdout } = yield* runner("showcas")
      expect({ exitCode, stdout }).toEqual({ exitCode: 1, stdout: "" })
      expect(String.split(stderr, "\n")[0]).toBe("npm run example: no example \"showcas\".")
      expect(listed(stderr)).toEqual(exampleFiles)
      expect(stderr).not.toMatch(/\bat .*:\d+:\d+/)
    }))
})

describe("npm run example -- resume", () => {
  it.effect("stops a run after its first step and a fresh agent resumes it, without calling its tools again", () =>
    Effect.gen(function*() {
      const { exitCode, stderr, stdout } = yield* runner("resume")
      expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
      expect(stdout).toMatch(/^first process: +stopped after step 1; its state is \d+ bytes of JSON$/m)
      expect(stdout).toContain("second process: 1 model call, 0 tool calls; the whole run: 2 steps, 2 tool calls")
      // each tool ran once, in the first process
      expect(stdout.match(/^ {2}tool: /gm)).toHaveLength(2)
    }))
})

describe("npm start", () => {
  it.effect("says first that it runs offline on the scripted model, and how to run it on a real one", () =>
    Effect.gen(function*() {
      const process = yield* Command.make("npm", "start", "--silent").pipe(
        Command.workingDirectory(root),
        Command.env({ OPENAI_API_KEY: undefined }),
        Command.start
      )
      const [stdout, exitCode] = yield* Effect.all([
        process.stdout.pipe(Stream.decodeText(), Stream.mkString),
        process.exitCode
      ], { concurrency: "unbounded" })
      const [first] = String.split(stdout, "\n")
      expect(first).toMatch(/^\(offline, on the scripted model; OPENAI_API_KEY=sk-\.\.\. npm start runs it on OpenAI/)
      expect(stdout).toContain("▸ Three trips at once")
      expect(exitCode).toBe(0)
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer)))
})

describe("npm run example -- chat", () => {
  it.effect("a second start of the chat, on the same SQLite file, remembers the first", () =>
    Effect.gen(function*() {
      const { exitCode, stderr, stdout } = yield* runner("chat")
      expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
      expect(stdout.split("second start")[1]).toContain("assistant> You are Ada.")
    }), 60_000)
})

describe("npm run example -- batches", () => {
  it.effect(
    "a batch outlives the server that ran it: interrupted, the ended runs' results kept",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("batches")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain(
          "second server: interrupted, {\"done\":3,\"failed\":0,\"pending\":0,\"running\":0,\"cancelled\":2}"
        )
        expect(stdout).toContain("  quick 3: done (summary of quick 3)")
        expect(stdout).toContain("  slow 2: cancelled")
      }),
    60_000
  )
})

describe("npm run example -- approval", () => {
  it.effect(
    "the run suspends before the email, another process approves, the resumed run sends it once; a team too",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("approval")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        const lines = stdout.trim().split("\n")
        expect(lines[0]).toMatch(/^suspended: send_email .* waits for approval$/)
        expect(lines[1]).toMatch(/^approved in process \d+$/)
        // once by the agent, once by the team's mailer
        expect(lines.filter((line) => line.includes("✉ sent"))).toHaveLength(2)
        expect(lines).toContain("resumed: I sent Ada the Q3 report. (3 steps, 2 tool calls)")
        expect(lines).toContain("team suspended: mailer waits for send_email (run office-run.mailer)")
        expect(lines.at(-1)).toBe(
          "team resumed: researcher and mailer answered. Ada has the Q3 report, final since Monday."
        )
      }),
    60_000
  )
})

describe("npm run example -- durable", () => {
  it.effect(
    "a run killed mid-run goes on in another process: only the idempotent call in flight is made again",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("durable")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain("this process runs it again: \"Booked: TP 1234 to Lisbon, paid, confirmation sent.\"")
        expect(stdout).toContain(
          "every call, both processes: search_flights, charge_card, send_confirmation, send_confirmation"
        )
      }),
    60_000
  )
})

describe("npm run example -- durable-dag", () => {
  it.effect(
    "the DAG waits for the approval across an engine restart, then finishes without a model call twice",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("durable-dag")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout.trim().split("\n")).toEqual([
          "run report-ada.mail waits for send_email; the engine stops",
          "a new engine: approved",
          "  ✉ sent to ada@example.com",
          "research: ada@example.com",
          "mail: Ada has the report.",
          "3 model calls in all: none made twice"
        ])
      }),
    60_000
  )
})

describe("npm run example -- mcp", () => {
  it.effect(
    "an agent calls the tools of server-everything over stdio (a bad call is a ToolInputInvalid it reads), then serves itself over HTTP and is called through the SDK's client",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("mcp")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toMatch(/^\d+ tools, e\.g\. everything_echo/m)
        expect(stdout).toContain("✓ everything_get-sum: The sum of 19 and 23 is 42.")
        expect(stdout).toMatch(/^✓ everything_get-structured-content: \{"temperature":/m)
        expect(stdout).toMatch(/\[image: image\/png, \d+ bytes\]/)
        expect(stdout).toContain(
          "✗ everything_get-sum: Error: invalid arguments for tool \"everything_get-sum\": (root): must have required property 'b'; a: must be number"
        )
        expect(stdout).toContain("served over MCP at /mcp: mcp-user")
        expect(stdout).toContain("through MCP: The sum of 2 and 40 is 42.")
        expect(stdout).toMatch(/^progress: mcp-user: started \| mcp-user: calling everything_get-sum \| /m)
      }),
    60_000
  )
})

describe("npm run example -- providers", () => {
  it.effect(
    "agents on @effect/ai-anthropic and @effect/ai-openai answer with a tool; an OpenAI outage falls back to Anthropic",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("providers")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain(
          "▸ @effect/ai-anthropic: \"It is 21°C with clear skies in Lisbon.\" (2 steps, 1 tool call)"
        )
        expect(stdout).toContain(
          "▸ @effect/ai-openai: \"It is 21°C with clear skies in Lisbon.\" (2 steps, 1 tool call)"
        )
        expect(stdout).toContain(
          "▸ fallback: OpenAI answered 503 4 times; \"It is 21°C with clear skies in Lisbon.\" (steps by claude-local, claude-local)"
        )
      }),
    60_000
  )
})

describe("npm run example -- recording", () => {
  it.effect(
    "records a run against the local server, replays it with no server, and catches a changed prompt",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("recording")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout.split("\n").filter((line) => line.length > 0)).toEqual([
          "recorded: \"19°C and light rain in Dublin: take an umbrella.\" (2 requests to the server)",
          "the file: effect-agents/recording version 1, 2 calls (generate, generate), no key in it: true",
          "replayed: \"19°C and light rain in Dublin: take an umbrella.\" (1 tool call, no server)",
          "changed prompt: InvalidRequest: replay of weather.json: the request differs from recorded call 1 at messages[1].content: recorded \"Weather in Dublin?\", got \"Weather in Cork?\""
        ])
      }),
    60_000
  )
})

describe("npm run example -- tracing", () => {
  it.effect(
    "prints the run's spans with their GenAI attributes on the console exporter, the failed attempt in error",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("tracing")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        const names = [...stdout.matchAll(/^ {2}name: '([^']+)',$/gm)].map((match) => match[1])
        // spans print as they end: the innermost first
        expect(names).toEqual([
          "chat gpt-4o-mini",
          "chat gpt-4o-mini",
          "execute_tool get_weather",
          "agent.step",
          "chat gpt-4o-mini",
          "agent.step",
          "invoke_agent Weather Agent"
        ])
        expect(stdout).toContain("'error.type': 'ModelUnavailable'")
        expect(stdout).toContain("'gen_ai.provider.name': 'openai'")
        expect(stdout).toContain("'gen_ai.tool.name': 'get_weather'")
        expect(stdout).toContain("'gen_ai.usage.input_tokens': 132")
        expect(stdout).toContain("answer: 24°C and sunny in Rome.")
      }),
    60_000
  )
})

describe("npm run example -- budgets", () => {
  it.effect(
    "a team stopped by its token budget before its slow member answers; a dollar budget priced",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("budgets")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toMatch(/BudgetExceeded: Research crossed its budget of 2500 tokens \(spent \d+\)/)
        expect(stdout).toContain("stopped after less than 600 ms")
        expect(stdout).toMatch(/\d+ tokens, \$0\.\d{6}/)
      }),
    60_000
  )
})

describe("npm run example -- guardrails", () => {
  it.effect(
    "an input guardrail trips beside the model call; an answer corrected; a tool call rejected",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("guardrails")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain("GuardrailTripped: the input guardrail \"no_homework\" of \"tutor\" tripped")
        expect(stdout).toContain("stopped after less than 2 s")
        expect(stdout).toContain("Ask Ms. Dupont, your history teacher. (2 model calls")
        expect(stdout).toContain("→ Only commands that read are allowed.")
      }),
    60_000
  )
})

describe("npm run example -- handoffs", () => {
  it.effect(
    "a triage agent hands over to billing, then to support; each answers for its run",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("handoffs")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain("── triage hands over to billing\n  billing: I see two charges")
        expect(stdout).toContain("answered by billing in 2 steps")
        expect(stdout).toContain("── triage hands over to support")
        expect(stdout).toContain("answered by support in 2 steps")
      }),
    60_000
  )
})

describe("npm run example -- openai-compatible", () => {
  it.effect(
    "the openai SDK talks to a served agent: a completion, a stream with its usage, JSON in its schema, a 404",
    () =>
      Effect.gen(function*() {
        const { exitCode, stderr, stdout } = yield* runner("openai-compatible")
        expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
        expect(stdout).toContain("GET /v1/models: weather")
        expect(stdout).toContain("chat.completion: It is 18°C and sunny in Paris. (finish_reason: stop)")
        expect(stdout).toMatch(/^It is 18°C and sunny in Paris\.\n {2}usage: \{"prompt_tokens":\d+/m)
        expect(stdout).toContain("response_format json_schema: {\"city\":\"Paris\",\"temperatureC\":18}")
        expect(stdout).toContain("a model not served: 404 {")
        expect(stdout).toContain("\"code\":\"model_not_found\"")
      }),
    60_000
  )
})
