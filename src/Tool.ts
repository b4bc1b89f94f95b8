/**
 * A tool: something an agent's model can call, with Schema-typed parameters.
 *
 * The parameters Schema decodes the model's arguments and gives the JSON
 * Schema the model sees. The handler may return an Effect, a Promise (it is
 * given an `AbortSignal` that fires when the call is interrupted) or a plain
 * value; whatever it throws, rejects or fails with becomes a typed
 * `ToolFailed` whose message is readable text of it, whatever it holds (a
 * cycle, a BigInt). {@link blocking} runs a blocking function on a worker
 * thread.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * const add = Tool.make("add", {
 *   description: "Add two numbers",
 *   parameters: { a: Schema.Number, b: Schema.Number },
 *   handler: ({ a, b }) => a + b
 * })
 *
 * const program = add.execute({ a: 1, b: 2 }) // Effect<number, ToolError>
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import type * as JSONSchema from "effect/JSONSchema"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { issuesOf, ToolFailed, ToolInputInvalid, ToolTimeout } from "./AgentError.js"
import type { Issue, ToolError } from "./AgentError.js"
import * as Journal from "./internal/journal.js"
import * as JsonSchema from "./internal/jsonSchema.js"
import * as JsonSchemaValidate from "./internal/jsonSchemaValidate.js"
import * as Progress from "./internal/progress.js"
import * as Render from "./internal/render.js"
import { moduleSpecifier, runInWorker } from "./internal/worker.js"
import type * as LanguageModel from "./LanguageModel.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Tool")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A tool named `Name`, called with `Params`, succeeding with `Success`, and
 * needing the services `R`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tool<Name extends string, Params, Success, R = never> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly name: Name
  readonly description: string
  /** The Schema that decodes the arguments. */
  readonly parameters: Schema.Schema.AnyNoContext
  /** The Schema that encodes a result for the model, when one was given. */
  readonly success: Schema.Schema.AnyNoContext | undefined
  /** The tool as the model sees it. */
  readonly definition: LanguageModel.ToolDefinition
  /** The tool's own timeout; when unset, the agent's policy gives one. */
  readonly timeout: Duration.Duration | undefined
  /** Retries of failed calls (`ToolFailed`, `ToolTimeout`). */
  readonly retry: Schedule.Schedule<unknown, ToolError> | undefined
  /**
   * Whether the tool hands its task to another run (`agent.asTool()`,
   * `team.asTool()`): what that run spends counts in the calling run's
   * metrics.
   */
  readonly delegates: boolean
  /**
   * Whether a call must wait for a person's approval (`needsApproval`);
   * absent when none ever does. Arguments that do not decode need none (the
   * call fails with `ToolInputInvalid` without running).
   */
  readonly needsApproval: ((args: unknown, context: ApprovalContext) => Effect.Effect<boolean, never, R>) | undefined
  /**
   * Whether a call may be made twice (`idempotent`): in a durable run, a
   * call in flight at a crash is made again only then; otherwise the model
   * is told its outcome is unknown.
   */
  readonly idempotent: boolean
  /** Runs the handler on decoded parameters (no timeout, no retry). */
  handle(params: Params): Effect.Effect<Success, ToolFailed, R>
  /**
   * Decodes `args` and runs the handler with the tool's timeout and retry
   * schedule: the same path a model's call takes.
   */
  execute(args: unknown, options?: ExecuteOptions): Effect.Effect<Success, ToolError, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ExecuteOptions {
  /** The timeout to use when the tool has none of its own. */
  readonly defaultTimeout?: Duration.DurationInput | undefined
}

/**
 * Where a call that may need approval is made: the run, its agent, its path
 * from the outermost run, and the model's id for the call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApprovalContext {
  readonly runId: string
  readonly agent: string
  readonly path: ReadonlyArray<string>
  readonly toolCallId: string
}

/**
 * When a tool's calls need a person's approval: always (`true`), never
 * (`false`, the default), or as a function of the decoded parameters says.
 *
 * @since 0.1.0
 * @category models
 */
export type NeedsApproval<Params, R> =
  | boolean
  | ((params: Params, context: ApprovalContext) => boolean | Effect.Effect<boolean, never, R>)

/**
 * The tool call a handler's Effect runs for, in a durable run
 * (`effect-agents/durable`): its run, the model's id for the call, and an
 * idempotency key, the same on every attempt of this call across crashes,
 * to pass on to the APIs the tool calls (a payment's `Idempotency-Key`,
 * say). None outside durable runs.
 *
 * @example
 * ```ts
 * import { Effect, Option, Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * declare const charge: (amount: number, idempotencyKey: string | undefined) => Effect.Effect<string>
 *
 * const chargeCard = Tool.make("charge_card", {
 *   description: "Charge the customer's card",
 *   parameters: { amount: Schema.Number },
 *   handler: ({ amount }) =>
 *     Effect.flatMap(Tool.currentCall, (call) =>
 *       charge(amount, Option.getOrUndefined(Option.map(call, (info) => info.idempotencyKey))))
 * })
 * ```
 *
 * @since 0.1.0
 * @category durable runs
 */
export const currentCall: Effect.Effect<Option.Option<CallInfo>> = FiberRef.get(Journal.currentCall)

/**
 * @since 0.1.0
 * @category durable runs
 */
export type CallInfo = Journal.CallInfo

/**
 * Reports the progress of the tool call the handler runs: a streamed run
 * emits it as a `ToolProgress` event (an MCP server's progress
 * notifications reach the run's stream this way). Outside of a streamed
 * run's tool call it does nothing.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * const crawl = Tool.make("crawl", {
 *   description: "Crawl pages",
 *   parameters: { pages: Schema.Number },
 *   handler: ({ pages }) =>
 *     Effect.forEach(Array.from({ length: pages }, (_, i) => i + 1), (page) =>
 *       Tool.progress(page, { total: pages, message: `page ${page}` })).pipe(Effect.as("crawled"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category progress
 */
export const progress = (
  progress: number,
  options?: { readonly total?: number | undefined; readonly message?: string | undefined }
): Effect.Effect<void> =>
  Progress.report({
    progress,
    ...(options?.total === undefined ? {} : { total: options.total }),
    ...(options?.message === undefined ? {} : { message: options.message })
  })

/**
 * Any tool.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any extends Tool<string, never, unknown, unknown> {}

/**
 * @since 0.1.0
 * @category type-level
 */
export type Parameters<T> = T extends Tool<infer _N, infer P, infer _S, infer _R> ? P : never

/**
 * @since 0.1.0
 * @category type-level
 */
export type Success<T> = T extends Tool<infer _N, infer _P, infer S, infer _R> ? S : never

/**
 * @since 0.1.0
 * @category type-level
 */
export type Requirements<T> = T extends Tool<infer _N, infer _P, infer _S, infer R> ? R : never

/**
 * The parameters of a tool: a Schema, or the fields of a `Schema.Struct`.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ParametersInput = Schema.Schema.AnyNoContext | Schema.Struct.Fields

/**
 * The decoded type of a {@link ParametersInput}.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ParametersOf<P extends ParametersInput> = P extends Schema.Schema.AnyNoContext ? Schema.Schema.Type<P>
  : P extends Schema.Struct.Fields ? Schema.Struct.Type<P>
  : never

/**
 * What a handler may return: an Effect, a Promise, or a plain value.
 *
 * @since 0.1.0
 * @category models
 */
export type HandlerResult<A, E, R> = Effect.Effect<A, E, R> | PromiseLike<A> | A

/**
 * Whether a value is a {@link Tool}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTool = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

const namePattern = /^[a-zA-Z0-9_-]{1,64}$/

const toSchema = (parameters: ParametersInput): Schema.Schema.AnyNoContext =>
  Schema.isSchema(parameters) ? parameters : Schema.Struct(parameters) as unknown as Schema.Schema.AnyNoContext

/**
 * What a handler failed with, as a `ToolFailed`: encoded by the `failure`
 * Schema when it has one and it encodes, else as readable text. Total: a
 * value no Schema, no JSON and no `String` can handle still gives one.
 */
const failed = (tool: string, error: unknown, failure?: Schema.Schema.AnyNoContext): ToolFailed => {
  let message: string | undefined
  if (failure !== undefined) {
    try {
      const encoded = Schema.encodeUnknownEither(failure)(error)
      if (Either.isRight(encoded)) {
        message = Either.getOrElse(Render.json(encoded.right), () => Render.text(encoded.right))
      }
    } catch {
      // a Schema whose transformation throws: the error as it is
    }
  }
  return new ToolFailed({ tool, message: message ?? Render.text(error), error })
}

const fromPromise = <A>(
  tool: string,
  promise: PromiseLike<A>,
  controller: AbortController | undefined,
  failure: Schema.Schema.AnyNoContext | undefined
): Effect.Effect<A, ToolFailed> =>
  Effect.async<A, ToolFailed>((resume) => {
    try {
      promise.then(
        (value) => resume(Effect.succeed(value)),
        (error) => resume(Effect.fail(failed(tool, error, failure)))
      )
    } catch (error) {
      // a thenable whose `then` throws
      resume(Effect.fail(failed(tool, error, failure)))
    }
    if (controller !== undefined) return Effect.sync(() => controller.abort())
  })

/** The signal given to handlers that do not declare one: it never fires. */
const neverAborted: AbortSignal = new AbortController().signal

interface Definition<Params, Success, R> {
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Schema.AnyNoContext
  readonly success: Schema.Schema.AnyNoContext | undefined
  readonly strict: boolean | undefined
  readonly timeout: Duration.DurationInput | undefined
  readonly retry: Schedule.Schedule<unknown, ToolError> | undefined
  readonly delegates: boolean | undefined
  readonly needsApproval?: NeedsApproval<Params, R> | undefined
  readonly idempotent?: boolean | undefined
  /** The JSON Schema the model sees, when it is not the parameters Schema's. */
  readonly jsonSchema?: JSONSchema.JsonSchema7Root | undefined
  /** How the arguments are checked, when not by the parameters Schema. */
  readonly decode?: ((args: unknown) => Effect.Effect<Params, ToolInputInvalid>) | undefined
  readonly handle: (params: Params) => Effect.Effect<Success, ToolFailed, R>
}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  ...Inspectable.BaseProto,
  toJSON(this: Any) {
    return { _id: "Tool", name: this.name, description: this.description }
  }
}

const always = () => Effect.succeed(true)

/** A tool's `needsApproval` as a function of the model's arguments; none when no call ever needs one. */
const approvalOf = <Params, R>(
  needsApproval: NeedsApproval<Params, R> | undefined,
  decode: (args: unknown) => Effect.Effect<Params, unknown>
): ((args: unknown, context: ApprovalContext) => Effect.Effect<boolean, never, R>) | undefined => {
  if (needsApproval === undefined || needsApproval === false) return undefined
  if (needsApproval === true) return always
  return (args, context) =>
    Effect.matchEffect(decode(args), {
      onFailure: () => Effect.succeed(false),
      onSuccess: (params) => {
        const answer = needsApproval(params, context)
        return typeof answer === "boolean" ? Effect.succeed(answer) : answer
      }
    })
}

const makeTool = <Name extends string, Params, Success, R>(
  definition: Definition<Params, Success, R> & { readonly name: Name }
): Tool<Name, Params, Success, R> => {
  if (!namePattern.test(definition.name)) {
    throw new Error(`Tool name "${definition.name}" must match ${namePattern} (letters, digits, "_" and "-")`)
  }
  const name = definition.name
  const parameters = definition.jsonSchema ?? JsonSchema.fromSchema(definition.parameters)
  const decodeSchema = Schema.decodeUnknown(definition.parameters, { errors: "all" })
  const decode = definition.decode ??
    ((args: unknown) =>
      Effect.mapError(decodeSchema(args), (error) => new ToolInputInvalid({ tool: name, issues: issuesOf(error) })))
  const timeout = definition.timeout === undefined ? undefined : Duration.decode(definition.timeout)
  const retry = definition.retry
  const handle = definition.handle
  const tool: Tool<Name, Params, Success, R> = Object.assign(Object.create(Proto), {
    name,
    description: definition.description,
    parameters: definition.parameters,
    success: definition.success,
    definition: {
      name,
      description: definition.description,
      parameters,
      strict: definition.strict ?? JsonSchema.isStrictCompatible(parameters)
    },
    timeout,
    retry,
    delegates: definition.delegates ?? false,
    needsApproval: approvalOf(definition.needsApproval, decode),
    idempotent: definition.idempotent ?? false,
    handle,
    execute(args: unknown, options?: ExecuteOptions) {
      const limit = timeout ??
        (options?.defaultTimeout === undefined ? undefined : Duration.decode(options.defaultTimeout))
      return Effect.flatMap(
        decode(args),
        (params: Params) => {
          let call: Effect.Effect<Success, ToolFailed | ToolTimeout, R> = handle(params)
          if (limit !== undefined) {
            call = Effect.timeoutFail(call, {
              duration: limit,
              onTimeout: () => new ToolTimeout({ tool: name, timeout: limit })
            })
          }
          return retry === undefined ? call : Effect.retry(call, retry)
        }
      )
    }
  })
  return tool
}

/**
 * A handler (a plain value, a Promise or an Effect) as an Effect that fails
 * with a `ToolFailed` only; it gets an `AbortSignal` when it declares one.
 */
const handlerOf = <Params, A, E, R>(
  name: string,
  handler: (params: Params, signal: AbortSignal) => HandlerResult<A, E, R>,
  failure: Schema.Schema.AnyNoContext | undefined
) => {
  const usesSignal = handler.length >= 2
  return (params: Params): Effect.Effect<A, ToolFailed, R> =>
    Effect.suspend(() => {
      // an AbortController is costly to make: only for handlers that take the signal
      const controller = usesSignal ? new AbortController() : undefined
      return Effect.try({
        try: () => handler(params, controller?.signal ?? neverAborted),
        catch: (error) => failed(name, error, failure)
      }).pipe(
        Effect.flatMap((result): Effect.Effect<A, ToolFailed, R> => {
          if (Effect.isEffect(result)) {
            return Effect.catchAllDefect(
              Effect.mapError(result as Effect.Effect<A, E, R>, (error) => failed(name, error, failure)),
              (defect) => Effect.fail(failed(name, defect))
            )
          }
          if (Predicate.isPromiseLike(result)) return fromPromise(name, result, controller, failure)
          return Effect.succeed(result)
        })
      )
    })
}

/**
 * Defines a tool. The handler receives the decoded parameters and an
 * `AbortSignal` that fires when the call is interrupted (a timeout, a
 * cancelled run), when it declares that second parameter; it may return an
 * Effect, a Promise or a plain value.
 * Services the handler's Effect needs become the tool's requirements.
 *
 * `success` (a Schema) encodes results for the model; without it, strings go
 * as they are and anything else as JSON. `failure` encodes the handler's own
 * typed failures the same way.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * // a plain function
 * const add = Tool.make("add", {
 *   description: "Add two numbers",
 *   parameters: { a: Schema.Number, b: Schema.Number },
 *   handler: ({ a, b }) => a + b
 * })
 *
 * // a Promise, cancelled through the signal
 * const fetchPage = Tool.make("fetch_page", {
 *   description: "Download a web page",
 *   parameters: { url: Schema.String },
 *   handler: ({ url }, signal) => fetch(url, { signal }).then((r) => r.text()),
 *   timeout: "10 seconds"
 * })
 *
 * // an Effect
 * const now = Tool.make("now", {
 *   description: "The current time",
 *   parameters: {},
 *   handler: () => Effect.map(Effect.clockWith((clock) => clock.currentTimeMillis), (ms) => new Date(ms).toISOString())
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  P extends ParametersInput,
  A,
  E = never,
  R = never,
  SI = A,
  FI = E
>(name: Name, options: {
  readonly description: string
  readonly parameters: P
  readonly success?: Schema.Schema<A, SI> | undefined
  readonly failure?: Schema.Schema<E, FI> | undefined
  readonly handler: (params: ParametersOf<P>, signal: AbortSignal) => HandlerResult<A, E, R>
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: Schedule.Schedule<unknown, ToolError> | undefined
  readonly strict?: boolean | undefined
  /** Whether the handler hands its task to another run, whose spending is the caller's (see `Agent.asTool`). */
  readonly delegates?: boolean | undefined
  /** Whether a call waits for a person's approval before it runs (see `Approval`). */
  readonly needsApproval?: NeedsApproval<ParametersOf<P>, R> | undefined
  /**
   * Whether a call may be made twice with the same effect (default false).
   * In a durable run, a call in flight at a crash is made again only then;
   * otherwise the model is told its outcome is unknown.
   */
  readonly idempotent?: boolean | undefined
}): Tool<Name, ParametersOf<P>, A, R> => {
  const failure: Schema.Schema.AnyNoContext | undefined = options.failure
  return makeTool({
    name,
    description: options.description,
    parameters: toSchema(options.parameters),
    success: options.success,
    strict: options.strict,
    timeout: options.timeout,
    retry: options.retry,
    delegates: options.delegates,
    needsApproval: options.needsApproval,
    idempotent: options.idempotent,
    handle: handlerOf(name, options.handler, failure)
  })
}

/**
 * The arguments of a {@link fromJsonSchema} tool: a JSON object that
 * conforms to its JSON Schema.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonArguments = Readonly<Record<string, unknown>>

/**
 * A validator of a {@link fromJsonSchema} tool's arguments: what is wrong
 * where, empty when they conform.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonSchemaValidator = (args: unknown) => ReadonlyArray<Issue>

const JsonArgumentsSchema: Schema.Schema.AnyNoContext = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/**
 * Defines a tool whose parameters are a JSON Schema rather than an Effect
 * Schema: a tool from elsewhere (an MCP server, a configuration file). The
 * model sees the JSON Schema as it is, in strict mode only when it fits the
 * strict rules (every object closed, every property required) unless
 * `strict` says otherwise. The arguments are checked against it, so bad
 * arguments are a `ToolInputInvalid` with readable issues, as for any tool;
 * `validate` replaces the built-in check (which knows the keywords tool
 * parameters use and accepts any other). Arguments must be a JSON object.
 * The handler is what {@link make}'s is: a value, a Promise given an
 * `AbortSignal`, or an Effect. `parameters` of the tool is a Schema of
 * any JSON object.
 *
 * @example
 * ```ts
 * import { Tool } from "effect-agents"
 *
 * const greet = Tool.fromJsonSchema("greet", {
 *   description: "Greet someone",
 *   parameters: {
 *     type: "object",
 *     properties: { name: { type: "string", minLength: 1 } },
 *     required: ["name"]
 *   },
 *   handler: (args) => `Hello, ${String(args.name)}!`
 * })
 *
 * const program = greet.execute({ name: "Ada" }) // Effect<string, ToolError>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJsonSchema = <const Name extends string, A, E = never, R = never>(name: Name, options: {
  readonly description: string
  /** The JSON Schema of the arguments (an object schema). */
  readonly parameters: JSONSchema.JsonSchema7Root | Readonly<Record<string, unknown>>
  readonly handler: (args: JsonArguments, signal: AbortSignal) => HandlerResult<A, E, R>
  /** Checks the arguments instead of the built-in validator. */
  readonly validate?: JsonSchemaValidator | undefined
  readonly failure?: Schema.Schema<E, unknown> | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: Schedule.Schedule<unknown, ToolError> | undefined
  readonly strict?: boolean | undefined
  readonly needsApproval?: NeedsApproval<JsonArguments, R> | undefined
  readonly idempotent?: boolean | undefined
}): Tool<Name, JsonArguments, A, R> => {
  const { $schema: _, ...jsonSchema } = options.parameters as Record<string, unknown>
  const validate: JsonSchemaValidator = options.validate ??
    ((args) => JsonSchemaValidate.validate(jsonSchema, args))
  const decode = (args: unknown): Effect.Effect<JsonArguments, ToolInputInvalid> =>
    Effect.suspend(() => {
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        return Effect.fail(
          new ToolInputInvalid({
            tool: name,
            issues: [{ path: "(root)", message: `Expected a JSON object, actual ${Render.text(args)}` }]
          })
        )
      }
      let issues: ReadonlyArray<Issue>
      try {
        issues = validate(args)
      } catch (error) {
        issues = [{ path: "(root)", message: `the arguments could not be checked: ${Render.text(error)}` }]
      }
      return issues.length === 0
        ? Effect.succeed(args as JsonArguments)
        : Effect.fail(new ToolInputInvalid({ tool: name, issues }))
    })
  const failure: Schema.Schema.AnyNoContext | undefined = options.failure
  return makeTool({
    name,
    description: options.description,
    parameters: JsonArgumentsSchema,
    jsonSchema: jsonSchema as unknown as JSONSchema.JsonSchema7Root,
    decode,
    success: undefined,
    strict: options.strict,
    timeout: options.timeout,
    retry: options.retry,
    delegates: false,
    needsApproval: options.needsApproval,
    idempotent: options.idempotent,
    handle: handlerOf(name, options.handler, failure)
  })
}

/**
 * Defines a tool whose work is a blocking, synchronous function (or one that
 * keeps the CPU busy): each call runs `module[export](params)` on a worker
 * thread, so the event loop and every other fiber keep going. Interrupting
 * the call (a timeout, a cancelled run) terminates the thread, which stops
 * the work for real.
 *
 * The function lives in a module because a worker thread shares no memory
 * with the caller: it imports the module itself, so the module must be one
 * Node loads on its own (JavaScript, such as a `.mjs` file or your compiled
 * output; TypeScript loaders like tsx do not register in worker threads on
 * Node 20). Its argument and result cross threads by structured clone (a
 * result it cannot copy, such as a function, is a `ToolFailed`); with a
 * `success` Schema the result is decoded with it. Each call starts a thread
 * of its own (a few milliseconds), worth it for work that blocks for longer.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * // ./primes.js: export const countPrimes = ({ below }) => { ... }
 * const countPrimes = Tool.blocking("count_primes", {
 *   description: "Count the primes below a number (CPU heavy)",
 *   parameters: { below: Schema.Int },
 *   success: Schema.Int,
 *   module: new URL("./primes.js", import.meta.url),
 *   export: "countPrimes"
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const blocking = <const Name extends string, P extends ParametersInput, A = unknown, SI = A>(
  name: Name,
  options: {
    readonly description: string
    readonly parameters: P
    readonly success?: Schema.Schema<A, SI> | undefined
    /** The module that exports the function: a file URL, an absolute path or a package name. */
    readonly module: string | URL
    /** The name of the function's export (default `"default"`). */
    readonly export?: string | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly retry?: Schedule.Schedule<unknown, ToolError> | undefined
    readonly strict?: boolean | undefined
  }
): Tool<Name, ParametersOf<P>, A, never> => {
  const module = moduleSpecifier(options.module)
  const exportName = options.export ?? "default"
  const parameters = toSchema(options.parameters)
  const encodeParams = Schema.encodeUnknown(parameters)
  const success = options.success
  const decodeResult: (u: unknown) => Effect.Effect<A, ToolFailed> = success === undefined
    ? (u) => Effect.succeed(u as A)
    : (u) =>
      Effect.mapError(
        Schema.decodeUnknown(success)(u),
        (error) => new ToolFailed({ tool: name, message: `result does not match the success schema: ${error.message}` })
      )
  return makeTool({
    name,
    description: options.description,
    parameters,
    success,
    strict: options.strict,
    timeout: options.timeout,
    retry: options.retry,
    delegates: false,
    handle: (params: ParametersOf<P>) =>
      encodeParams(params).pipe(
        Effect.orDie,
        Effect.flatMap((args) => runInWorker(module, exportName, args)),
        Effect.mapError((message) => new ToolFailed({ tool: name, message })),
        Effect.flatMap(decodeResult)
      )
  })
}

/** A result as JSON text for the model, or a `ToolFailed` saying why JSON cannot represent it. */
const jsonContent = (tool: string, value: unknown): Effect.Effect<string, ToolFailed> => {
  const encoded = Render.json(value)
  return Either.isRight(encoded)
    ? Effect.succeed(encoded.right)
    : Effect.fail(new ToolFailed({ tool, message: `the result is not JSON: ${encoded.left}` }))
}

/**
 * The text a tool result reaches the model as: a string as it is; anything
 * else encoded by the tool's `success` Schema when it has one, else as JSON.
 *
 * A result JSON cannot represent fails with a `ToolFailed` that says why
 * ("the result is not JSON: it holds a BigInt at total"): a BigInt, a cycle,
 * a function, a symbol, NaN or Infinity, a Map, a Set and the like, anywhere
 * in it, rather than become something else (`JSON.stringify` would drop a
 * function and turn a Map into `{}`). A property that is `undefined` is left
 * out and `undefined` itself is `null`, as in JSON; a value's `toJSON` is
 * used (a Date is its ISO string).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Tool } from "effect-agents"
 *
 * const today = Tool.make("today", {
 *   description: "Today's date",
 *   parameters: {},
 *   success: Schema.DateFromString,
 *   handler: () => new Date(0)
 * })
 * const text = Effect.flatMap(today.execute({}), (date) => Tool.toContent(today, date))
 * // Effect<string>: "1970-01-01T00:00:00.000Z"
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const toContent = (tool: Any, value: unknown): Effect.Effect<string, ToolFailed> => {
  if (typeof value === "string") return Effect.succeed(value)
  if (tool.success === undefined) return jsonContent(tool.name, value)
  return Schema.encodeUnknown(tool.success)(value).pipe(
    Effect.mapError((error) =>
      new ToolFailed({ tool: tool.name, message: `result does not match the success schema: ${error.message}` })
    ),
    Effect.flatMap((encoded) => typeof encoded === "string" ? Effect.succeed(encoded) : jsonContent(tool.name, encoded))
  )
}
