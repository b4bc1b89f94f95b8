import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import {
  Chunk,
  Context,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Ref,
  Schedule,
  Schema,
  Stream,
  String as Str,
  TestClock
} from "effect"
import { Agent, AgentError, RunEvent, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"
import { fileURLToPath } from "node:url"

const blockingModule = new URL("./fixtures/blocking.mjs", import.meta.url)

/** A value JSON cannot represent: it refers to itself. */
const circular = (): Record<string, unknown> => {
  const value: Record<string, unknown> = { name: "loop" }
  value.self = value
  return value
}

/** A model's call of a tool with no arguments, by name. */
const callOf = (name: string) => ({ id: `call_${name}`, name, arguments: "{}" })

class Point extends Schema.Class<Point>("Point")({ x: Schema.Number, y: Schema.Number }) {}

describe("Tool.make", () => {
  it.effect("runs plain, Promise and Effect handlers on decoded parameters", () =>
    Effect.gen(function*() {
      const plain = Tool.make("add", {
        description: "Add",
        parameters: { a: Schema.Number, b: Schema.Number },
        handler: ({ a, b }) => a + b
      })
      const promised = Tool.make("upper", {
        description: "Upper-case",
        parameters: { text: Schema.String },
        handler: async ({ text }) => text.toUpperCase()
      })
      const effectful = Tool.make("double", {
        description: "Double",
        parameters: Schema.Struct({ n: Schema.NumberFromString }),
        handler: ({ n }) => Effect.succeed(n * 2)
      })
      expect(yield* plain.execute({ a: 1, b: 2 })).toBe(3)
      expect(yield* promised.execute({ text: "hi" })).toBe("HI")
      expect(yield* effectful.execute({ n: "21" })).toBe(42)
      expectTypeOf(plain.execute({})).toEqualTypeOf<Effect.Effect<number, AgentError.ToolError>>()
    }))

  it.effect("reports arguments that do not decode as ToolInputInvalid with readable issues", () =>
    Effect.gen(function*() {
      const tool = Tool.make("add", {
        description: "Add",
        parameters: { a: Schema.Number, b: Schema.Number },
        handler: ({ a, b }) => a + b
      })
      const error = yield* Effect.flip(tool.execute({ a: "1" }))
      expect(error._tag).toBe("ToolInputInvalid")
      if (error._tag !== "ToolInputInvalid") return
      expect(error.issues).toEqual([
        { path: "a", message: "Expected number, actual \"1\"" },
        { path: "b", message: "is missing" }
      ])
      expect(error.message).toContain("invalid arguments for tool \"add\"")
    }))

  it.effect("turns a throw, a rejection, a typed failure and a defect into ToolFailed", () =>
    Effect.gen(function*() {
      const throwing = Tool.make("throwing", {
        description: "",
        parameters: {},
        handler: (): string => {
          throw new Error("sync boom")
        }
      })
      const rejecting = Tool.make("rejecting", {
        description: "",
        parameters: {},
        handler: () => Promise.reject(new Error("async boom"))
      })
      const failing = Tool.make("failing", {
        description: "",
        parameters: {},
        handler: () => Effect.fail({ code: 42 })
      })
      const dying = Tool.make("dying", {
        description: "",
        parameters: {},
        handler: () => Effect.die(new Error("defect boom"))
      })
      const errors = yield* Effect.forEach(
        [throwing, rejecting, failing, dying],
        (tool) => Effect.flip(tool.execute({}))
      )
      expect(errors.map((error) => [error._tag, error.message])).toEqual([
        ["ToolFailed", "sync boom"],
        ["ToolFailed", "async boom"],
        ["ToolFailed", "{\"code\":42}"],
        ["ToolFailed", "defect boom"]
      ])
    }))

  it.effect("encodes typed failures with the failure Schema", () =>
    Effect.gen(function*() {
      class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.String }) {}
      const tool = Tool.make("lookup", {
        description: "",
        parameters: { id: Schema.String },
        failure: NotFound,
        handler: ({ id }) => Effect.fail(new NotFound({ id }))
      })
      const error = yield* Effect.flip(tool.execute({ id: "x1" }))
      expect(JSON.parse(error.message)).toEqual({ _tag: "NotFound", id: "x1" })
      expect(error._tag === "ToolFailed" && error.error).toBeInstanceOf(NotFound)
    }))

  it.effect("renders results for the model: strings as they are, else by the success Schema or as JSON", () =>
    Effect.gen(function*() {
      const text = Tool.make("text", { description: "", parameters: {}, handler: () => "plain" })
      const list = Tool.make("list", { description: "", parameters: {}, handler: () => [1, 2] })
      const point = Tool.make("point", {
        description: "",
        parameters: {},
        success: Point,
        handler: () => new Point({ x: 1, y: 2 })
      })
      const date = Tool.make("date", {
        description: "",
        parameters: {},
        success: Schema.DateFromString,
        handler: () => new Date(0)
      })
      const nothing = Tool.make("nothing", { description: "", parameters: {}, handler: () => undefined })
      const tools: ReadonlyArray<Tool.Tool<string, {}, unknown>> = [text, list, point, date, nothing]
      const rendered = yield* Effect.forEach(
        tools,
        (tool) => Effect.flatMap(tool.execute({}), (value) => Tool.toContent(tool, value))
      )
      expect(rendered).toEqual([
        "plain",
        "[1,2]",
        "{\"x\":1,\"y\":2}",
        "1970-01-01T00:00:00.000Z",
        "null"
      ])
    }))

  it.effect("gives the model the JSON Schema of the parameters, strict when every field is required", () =>
    Effect.sync(() => {
      const strict = Tool.make("search", {
        description: "Search the web",
        parameters: { query: Schema.String.annotations({ description: "what to look for" }), limit: Schema.Int },
        handler: () => "ok"
      })
      expect(strict.definition).toEqual({
        name: "search",
        description: "Search the web",
        strict: true,
        parameters: {
          type: "object",
          required: ["query", "limit"],
          properties: {
            query: { type: "string", description: "what to look for" },
            limit: { type: "integer", description: "an integer", title: "int" }
          },
          additionalProperties: false
        }
      })
      const loose = Tool.make("loose", {
        description: "",
        parameters: { query: Schema.String, limit: Schema.optional(Schema.Int) },
        handler: () => "ok"
      })
      expect(loose.definition.strict).toBe(false)
    }))

  it("keeps recursive definitions in $defs and inlines the rest", () => {
    interface Category {
      readonly name: string
      readonly children: ReadonlyArray<Category>
    }
    const Category = Schema.Struct({
      name: Schema.String,
      children: Schema.Array(Schema.suspend((): Schema.Schema<Category> => Category))
    }).annotations({ identifier: "Category" })
    const tool = Tool.make("tree", { description: "", parameters: { root: Category }, handler: () => "" })
    const node = {
      type: "object",
      required: ["name", "children"],
      properties: { name: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/Category" } } },
      additionalProperties: false
    }
    expect(tool.definition.parameters).toEqual({
      type: "object",
      required: ["root"],
      properties: { root: node },
      additionalProperties: false,
      $defs: { Category: node }
    })
  })

  it("refuses a name a model API would reject", () => {
    expect(() => Tool.make("web search", { description: "", parameters: {}, handler: () => "" })).toThrow(/must match/)
  })

  it.effect("interrupting a Promise handler fires its AbortSignal", () =>
    Effect.gen(function*() {
      const aborted = yield* Deferred.make<string>()
      const tool = Tool.make("hang", {
        description: "",
        parameters: {},
        handler: (_, signal) =>
          new Promise<string>(() => {
            signal.addEventListener("abort", () => Effect.runSync(Deferred.succeed(aborted, "aborted")))
          })
      })
      const fiber = yield* Effect.fork(tool.execute({}))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      expect(yield* Deferred.await(aborted)).toBe("aborted")
    }))

  it.effect("a timeout interrupts the call, runs its finalizer once and fails with ToolTimeout", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const tool = Tool.make("slow", {
        description: "",
        parameters: {},
        timeout: "1 second",
        handler: () =>
          Effect.sleep("1 minute").pipe(Effect.as("done"), Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
      })
      const fiber = yield* Effect.fork(tool.execute({}))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(exit).toStrictEqual(Exit.fail(new AgentError.ToolTimeout({ tool: "slow", timeout: Duration.seconds(1) })))
      expect(yield* Ref.get(finalized)).toBe(1)
    }))

  it.effect("the tool's own timeout wins over the default one", () =>
    Effect.gen(function*() {
      const tool = Tool.make("slow", {
        description: "",
        parameters: {},
        timeout: "5 seconds",
        handler: () => Effect.as(Effect.sleep("3 seconds"), "done")
      })
      const fiber = yield* Effect.fork(tool.execute({}, { defaultTimeout: "1 second" }))
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(fiber)).toBe("done")
    }))

  it.effect("retries failed calls with the tool's schedule", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const tool = Tool.make("flaky", {
        description: "",
        parameters: {},
        retry: Schedule.recurs(2),
        handler: () =>
          Effect.flatMap(
            Ref.updateAndGet(calls, (n) => n + 1),
            (n) => n < 3 ? Effect.fail("not yet") : Effect.succeed(n)
          )
      })
      expect(yield* tool.execute({})).toBe(3)
    }))

  it.effect("handlers may need services, provided by a scoped layer", () =>
    Effect.gen(function*() {
      class Database extends Context.Tag("test/Database")<Database, { readonly query: (sql: string) => string }>() {}
      const events: Array<string> = []
      const DatabaseLive = Layer.scoped(
        Database,
        Effect.acquireRelease(
          Effect.sync(() => {
            events.push("open")
            return { query: (sql: string) => `rows for ${sql}` }
          }),
          () => Effect.sync(() => events.push("close"))
        )
      )
      const query = Tool.make("query", {
        description: "Run SQL",
        parameters: { sql: Schema.String },
        handler: ({ sql }) => Effect.map(Database, (db) => db.query(sql))
      })
      const toolkit = Toolkit.make(query)
      const execute = toolkit.execute("query", { sql: "select 1" })
      expectTypeOf(execute).toEqualTypeOf<Effect.Effect<string, AgentError.ToolError, Database>>()
      expect(yield* Effect.provide(execute, DatabaseLive)).toBe("rows for select 1")
      expect(events).toEqual(["open", "close"])
    }))
})

describe("Tool: values JSON cannot represent", () => {
  it.live("a rejection, a throw, a failure or a defect with such a value is a ToolFailed with a readable message", () =>
    Effect.gen(function*() {
      const failWith = (name: string, handler: () => unknown) =>
        Tool.make(name, { description: "", parameters: {}, handler })
      const tools = [
        failWith("rejects_circular", () => Promise.reject(circular())),
        failWith("rejects_bigint", () => Promise.reject({ id: 1n })),
        failWith("throws_bigint", () => {
          throw 10n
        }),
        failWith("fails_circular", () => Effect.fail(circular())),
        failWith("dies_circular", () => Effect.die(circular())),
        Tool.make("fails_encoded_bigint", {
          description: "",
          parameters: {},
          failure: Schema.Struct({ n: Schema.BigIntFromSelf }),
          handler: () => Effect.fail({ n: 10n })
        })
      ]
      // before the fix, the first rejection never settled: the guard fails the test rather than hang it
      const errors = yield* Effect.forEach(tools, (tool) => Effect.flip(tool.execute({}))).pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "a rejection never settled" })
      )
      expect(errors.map((error) => [error._tag, error.message])).toEqual([
        ["ToolFailed", "<ref *1> { name: 'loop', self: [Circular *1] }"],
        ["ToolFailed", "{ id: 1n }"],
        ["ToolFailed", "10n"],
        ["ToolFailed", "<ref *1> { name: 'loop', self: [Circular *1] }"],
        ["ToolFailed", "<ref *1> { name: 'loop', self: [Circular *1] }"],
        ["ToolFailed", "{ n: 10n }"]
      ])
    }))

  it.scopedLive("a process whose tools reject with such values keeps running (in a child process)", () =>
    Effect.gen(function*() {
      const script = fileURLToPath(new URL("./fixtures/oddRejections.ts", import.meta.url))
      const child = yield* Command.start(
        Command.make(process.execPath, "--conditions=source", "--import", "tsx", script).pipe(
          Command.workingDirectory(fileURLToPath(new URL("..", import.meta.url)))
        )
      )
      const [stdout, stderr, exitCode] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(child.stdout)),
        Stream.mkString(Stream.decodeText(child.stderr)),
        child.exitCode
      ], { concurrency: "unbounded" })
      // the message shows what the process printed when it died
      expect(exitCode, stderr).toBe(0)
      expect(JSON.parse(Str.trim(stdout))).toEqual([
        "Error: <ref *1> { name: 'loop', self: [Circular *1] }",
        "Error: { id: 1n }"
      ])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a result JSON cannot represent is a ToolFailed the model reads, not a defect nor other JSON", () =>
    Effect.gen(function*() {
      const returning = (name: string, value: () => unknown) =>
        Tool.make(name, { description: "", parameters: {}, handler: value })
      const bigint = returning("bigint", () => 10n)
      const toolkit = Toolkit.make(
        bigint,
        returning("circular", circular),
        returning("function", () => () => 1),
        returning("symbol", () => Symbol("s")),
        returning("set", () => ({ seen: new Set([1]) })),
        returning("nan", () => [1, NaN]),
        returning("method", () => ({ items: [{ run: () => 1 }] })),
        Tool.make("encoded_bigint", {
          description: "",
          parameters: {},
          success: Schema.BigIntFromSelf,
          handler: () => 10n
        }),
        returning("fine", () => ({ when: new Date(0), skipped: undefined }))
      )
      const results = yield* Effect.forEach(
        Object.keys(toolkit.tools),
        (name) => Toolkit.handleCall(toolkit, callOf(name))
      )
      expect(results.map((result) => [result.message.content, result.error?._tag])).toEqual([
        ["Error: the result is not JSON: it is a BigInt", "ToolFailed"],
        ["Error: the result is not JSON: it holds a circular structure at self", "ToolFailed"],
        ["Error: the result is not JSON: it is a function", "ToolFailed"],
        ["Error: the result is not JSON: it is a symbol", "ToolFailed"],
        ["Error: the result is not JSON: it holds a Set at seen", "ToolFailed"],
        ["Error: the result is not JSON: it holds NaN at 1", "ToolFailed"],
        ["Error: the result is not JSON: it holds a function at items.0.run", "ToolFailed"],
        ["Error: the result is not JSON: it is a BigInt", "ToolFailed"],
        ["{\"when\":\"1970-01-01T00:00:00.000Z\"}", undefined]
      ])
      // the same over Tool.toContent
      const error = yield* Effect.flip(Tool.toContent(bigint, 10n))
      expect(error).toStrictEqual(
        new AgentError.ToolFailed({ tool: "bigint", message: "the result is not JSON: it is a BigInt" })
      )
    }))
})

describe("Tool.fromJsonSchema", () => {
  const search = Tool.fromJsonSchema("search", {
    description: "Search the docs",
    parameters: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: {
        query: { type: "string", minLength: 1 },
        limit: { type: "integer", minimum: 1, maximum: 10 },
        sort: { enum: ["new", "old"] }
      },
      required: ["query"]
    },
    handler: (args) => ({ query: args.query, limit: args.limit ?? 5 })
  })

  it("shows the model the JSON Schema as it is (without $schema), not strict when it has optional fields", () => {
    expect(search.definition).toEqual({
      name: "search",
      description: "Search the docs",
      parameters: {
        type: "object",
        properties: {
          query: { type: "string", minLength: 1 },
          limit: { type: "integer", minimum: 1, maximum: 10 },
          sort: { enum: ["new", "old"] }
        },
        required: ["query"]
      },
      strict: false
    })
    const closed = Tool.fromJsonSchema("closed", {
      description: "",
      parameters: {
        type: "object",
        properties: { a: { type: "string" } },
        required: ["a"],
        additionalProperties: false
      },
      handler: () => "ok"
    })
    expect(closed.definition.strict).toBe(true)
  })

  it.effect("runs the handler on arguments that conform", () =>
    Effect.gen(function*() {
      expect(yield* search.execute({ query: "effect" })).toEqual({ query: "effect", limit: 5 })
      const toolkit = Toolkit.make(search)
      const result = yield* Toolkit.handleCall(toolkit, {
        id: "c1",
        name: "search",
        arguments: "{\"query\":\"x\",\"limit\":2}"
      })
      expect(result.message.content).toBe("{\"query\":\"x\",\"limit\":2}")
    }))

  it.effect("turns arguments that do not conform into ToolInputInvalid with every issue and its path", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(search.execute({ limit: 20, sort: "best", extra: 1 }))
      expect(error).toBeInstanceOf(AgentError.ToolInputInvalid)
      expect((error as AgentError.ToolInputInvalid).issues).toEqual([
        { path: "query", message: "is missing" },
        { path: "limit", message: "Expected a number <= 10, actual 20" },
        { path: "sort", message: "Expected one of \"new\", \"old\", actual \"best\"" }
      ])
      const wrongType = yield* Effect.flip(search.execute({ query: 3 }))
      expect(wrongType.message).toBe("invalid arguments for tool \"search\": query: Expected string, actual 3")
      const notObject = yield* Effect.flip(search.execute([1]))
      expect(notObject.message).toBe(
        "invalid arguments for tool \"search\": (root): Expected a JSON object, actual [1]"
      )
    }))

  it.effect("uses a validator it is given, and a validator that throws is a ToolInputInvalid", () =>
    Effect.gen(function*() {
      const picky = Tool.fromJsonSchema("picky", {
        description: "",
        parameters: { type: "object" },
        validate: (args) => Object.keys(args as object).length === 0 ? [{ path: "(root)", message: "empty" }] : [],
        handler: () => "ok"
      })
      expect((yield* Effect.flip(picky.execute({}))).message).toBe(
        "invalid arguments for tool \"picky\": (root): empty"
      )
      expect(yield* picky.execute({ a: 1 })).toBe("ok")
      const broken = Tool.fromJsonSchema("broken", {
        description: "",
        parameters: { type: "object" },
        validate: () => {
          throw new Error("bad schema")
        },
        handler: () => "ok"
      })
      expect((yield* Effect.flip(broken.execute({}))).message).toBe(
        "invalid arguments for tool \"broken\": (root): the arguments could not be checked: bad schema"
      )
    }))

  it.effect("a failing handler is a ToolFailed; a Promise handler's signal fires on a timeout", () =>
    Effect.gen(function*() {
      const failing = Tool.fromJsonSchema("failing", {
        description: "",
        parameters: { type: "object" },
        handler: () => Promise.reject(new Error("server said no"))
      })
      const error = yield* Effect.flip(failing.execute({}))
      expect(error).toBeInstanceOf(AgentError.ToolFailed)
      expect(error.message).toBe("server said no")
      let aborted = false
      const slow = Tool.fromJsonSchema("slow", {
        description: "",
        parameters: { type: "object" },
        timeout: "1 second",
        handler: (_args, signal) =>
          new Promise<string>(() => {
            signal.addEventListener("abort", () => {
              aborted = true
            })
          })
      })
      const fiber = yield* Effect.fork(Effect.flip(slow.execute({})))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("ToolTimeout")
      expect(aborted).toBe(true)
    }))
})

describe("Toolkit", () => {
  it.effect("executes a tool by name and reports an unknown name", () =>
    Effect.gen(function*() {
      const toolkit = Toolkit.make(
        Tool.make("echo", { description: "", parameters: { text: Schema.String }, handler: ({ text }) => text })
      )
      expect(yield* toolkit.execute("echo", { text: "hi" })).toBe("hi")
      const error = yield* Effect.flip(toolkit.execute("ecko", {}))
      expect(error).toStrictEqual(new AgentError.ToolNotFound({ tool: "ecko", available: ["echo"] }))
    }))

  it.effect("names from a model are looked up among the toolkit's own tools: constructor, __proto__, toString", () =>
    Effect.gen(function*() {
      const echo = Tool.make("echo", { description: "", parameters: {}, handler: () => "echo" })
      const toolkit = Toolkit.make(echo)
      for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        const error = yield* Effect.flip(toolkit.execute(name, {}))
        expect(error).toStrictEqual(new AgentError.ToolNotFound({ tool: name, available: ["echo"] }))
        const result = yield* Toolkit.handleCall(toolkit, callOf(name))
        expect(result.message).toMatchObject({
          content: `Error: no tool named "${name}"; available tools: echo`,
          isError: true
        })
        expect(result.error?._tag).toBe("ToolNotFound")
      }
    }))

  it.effect("tools may be named like Object's own properties", () =>
    Effect.gen(function*() {
      const named = (name: string) => Tool.make(name, { description: "", parameters: {}, handler: () => name })
      const toolkit = Toolkit.make(named("constructor"), named("__proto__"), named("toString"))
      expect(Object.keys(toolkit.tools)).toEqual(["constructor", "__proto__", "toString"])
      expect(toolkit.definitions.map((definition) => definition.name)).toEqual(["constructor", "__proto__", "toString"])
      for (const name of ["constructor", "__proto__", "toString"]) {
        expect(yield* toolkit.execute(name, {})).toBe(name)
        expect((yield* Toolkit.handleCall(toolkit, callOf(name))).message.content).toBe(name)
      }
      expect(() => Toolkit.make(named("__proto__"), named("__proto__"))).toThrow(/two tools are named "__proto__"/)
    }))

  it.effect("handleCall turns a defect (of a tool not made by Tool.make) into a failure the model reads", () =>
    Effect.gen(function*() {
      const echo = Tool.make("echo", { description: "", parameters: {}, handler: () => "echo" })
      const dying: typeof echo = Object.assign(Object.create(Object.getPrototypeOf(echo)), echo, {
        execute: () => Effect.die(circular())
      })
      const result = yield* Toolkit.handleCall(Toolkit.make(dying), callOf("echo"))
      expect(result.message).toMatchObject({
        content: "Error: <ref *1> { name: 'loop', self: [Circular *1] }",
        isError: true
      })
      expect(result.error?._tag).toBe("ToolFailed")
    }))

  it("refuses two tools with one name", () => {
    const tool = Tool.make("echo", { description: "", parameters: {}, handler: () => "" })
    expect(() => Toolkit.make(tool, tool)).toThrow(/two tools are named "echo"/)
  })

  it.effect("handleCall turns every outcome into a tool message", () =>
    Effect.gen(function*() {
      const toolkit = Toolkit.make(
        Tool.make("add", {
          description: "",
          parameters: { a: Schema.Number, b: Schema.Number },
          handler: ({ a, b }) => a + b
        })
      )
      const ok = yield* Toolkit.handleCall(toolkit, { id: "1", name: "add", arguments: "{\"a\":1,\"b\":2}" })
      const badJson = yield* Toolkit.handleCall(toolkit, { id: "2", name: "add", arguments: "{\"a\":1," })
      const unknown = yield* Toolkit.handleCall(toolkit, { id: "3", name: "mul", arguments: "{}" })
      expect(ok.message).toEqual({ role: "tool", toolCallId: "1", name: "add", content: "3", isError: false })
      expect(badJson.message.isError).toBe(true)
      expect(badJson.error?._tag).toBe("ToolInputInvalid")
      expect(badJson.message.content).toMatch(
        /^Error: invalid arguments for tool "add": \(root\): arguments are not valid JSON/
      )
      expect(unknown.message.content).toBe("Error: no tool named \"mul\"; available tools: add")
    }))
})

describe("Tool.blocking", () => {
  it.live("runs a blocking function on a worker thread while other fibers keep running", () =>
    Effect.gen(function*() {
      const spin = Tool.blocking("spin", {
        description: "Keep the CPU busy",
        parameters: { ms: Schema.Number },
        success: Schema.Struct({ spunMs: Schema.Number, spins: Schema.Boolean }),
        module: blockingModule,
        export: "spin"
      })
      const done = yield* Deferred.make<void>()
      // A fiber on the main thread notes the longest pause between its turns.
      const ticker = Effect.gen(function*() {
        let last = Date.now()
        let longestPause = 0
        while (!(yield* Deferred.isDone(done))) {
          yield* Effect.yieldNow()
          const now = Date.now()
          longestPause = Math.max(longestPause, now - last)
          last = now
        }
        return longestPause
      })
      const tickerFiber = yield* Effect.fork(ticker)
      const started = Date.now()
      const result = yield* spin.execute({ ms: 500 })
      const elapsed = Date.now() - started
      yield* Deferred.succeed(done, undefined)
      const longestPause = yield* Fiber.join(tickerFiber)
      expect(result).toEqual({ spunMs: 500, spins: true })
      expect(elapsed).toBeGreaterThanOrEqual(500)
      // On the main thread the ticker would have stopped for the whole 500 ms; half of it
      // leaves room for a busy machine.
      expect(longestPause).toBeLessThan(250)
    }))

  it.live("uses the default export, and reports a throwing function as ToolFailed", () =>
    Effect.gen(function*() {
      const multiply = Tool.blocking("multiply", {
        description: "",
        parameters: { a: Schema.Number, b: Schema.Number },
        module: blockingModule
      })
      const explode = Tool.blocking("explode", {
        description: "",
        parameters: {},
        module: blockingModule.pathname,
        export: "explode"
      })
      expect(yield* multiply.execute({ a: 6, b: 7 })).toBe(42)
      const error = yield* Effect.flip(explode.execute({}))
      expect(error).toStrictEqual(
        new AgentError.ToolFailed({ tool: "explode", message: "the blocking function failed" })
      )
    }))

  it.live("a result that cannot leave the worker thread, or a throw of an odd value, is a ToolFailed", () =>
    Effect.gen(function*() {
      // each tool runs the fixture's export of its name
      const blocking = (name: string) =>
        Tool.blocking(name, { description: "", parameters: {}, module: blockingModule, export: name })
      const toolkit = Toolkit.make(
        blocking("returnsFunction"),
        blocking("throwsNull"),
        blocking("throwsBare"),
        blocking("returnsBigInt")
      )
      const results = yield* Effect.forEach(
        Object.keys(toolkit.tools),
        (name) => Toolkit.handleCall(toolkit, callOf(name))
      )
      expect(results.map((result) => [result.message.content, result.error?._tag])).toEqual([
        ["Error: the result cannot leave the worker thread: () => 1 could not be cloned.", "ToolFailed"],
        ["Error: null", "ToolFailed"],
        ["Error: {\"code\":\"E_BARE\"}", "ToolFailed"],
        ["Error: the result is not JSON: it is a BigInt", "ToolFailed"]
      ])
    }))

  it.live("a timeout terminates the worker thread", () =>
    Effect.gen(function*() {
      const spin = Tool.blocking("spin", {
        description: "",
        parameters: { ms: Schema.Number },
        module: blockingModule,
        export: "spin",
        timeout: "50 millis"
      })
      const started = Date.now()
      const error = yield* Effect.flip(spin.execute({ ms: 5_000 }))
      expect(error._tag).toBe("ToolTimeout")
      // The call returned once the thread was gone, long before the 5 s of work.
      expect(Date.now() - started).toBeLessThan(2_000)
    }))
})

describe("Tool.progress", () => {
  const crawl = Tool.make("crawl", {
    description: "Crawl pages",
    parameters: { pages: Schema.Number },
    handler: ({ pages }) =>
      Effect.forEach(
        Array.from({ length: pages }, (_, i) => i + 1),
        (page) => Tool.progress(page, { total: pages, ...(page === pages ? { message: "last page" } : {}) })
      ).pipe(Effect.as("crawled"))
  })

  it.effect("a streamed run emits a ToolProgress event per report, between the call's start and end", () =>
    Effect.gen(function*() {
      const model = yield* ScriptedModel.make([
        { toolCalls: [{ id: "c1", name: "crawl", arguments: { pages: 2 } }] },
        { text: "done" }
      ])
      const agent = yield* Agent.make({ name: "crawler", instructions: "", model, toolkit: Toolkit.make(crawl) })
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(agent.stream("crawl")))
      const toolEvents = events.filter((event) => event._tag.startsWith("Tool"))
      expect(toolEvents.map((event) => event._tag)).toEqual([
        "ToolCallStarted",
        "ToolProgress",
        "ToolProgress",
        "ToolCallCompleted"
      ])
      expect(events.filter(RunEvent.is("ToolProgress")).map(({ _tag, runId: _runId, ...rest }) => rest)).toEqual([
        { agent: "crawler", path: ["crawler"], step: 0, toolCallId: "c1", tool: "crawl", progress: 1, total: 2 },
        {
          agent: "crawler",
          path: ["crawler"],
          step: 0,
          toolCallId: "c1",
          tool: "crawl",
          progress: 2,
          total: 2,
          message: "last page"
        }
      ])
    }))

  it.effect("outside of a streamed run, a report goes nowhere", () =>
    Effect.gen(function*() {
      expect(yield* crawl.execute({ pages: 3 })).toBe("crawled")
      const model = yield* ScriptedModel.make([
        { toolCalls: [{ name: "crawl", arguments: { pages: 2 } }] },
        { text: "done" }
      ])
      const agent = yield* Agent.make({ name: "crawler", instructions: "", model, toolkit: Toolkit.make(crawl) })
      expect((yield* agent.run("crawl")).content).toBe("done")
    }))
})
