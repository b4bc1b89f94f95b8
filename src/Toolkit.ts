/**
 * A set of tools, by name: what an agent's model may call.
 *
 * `toolkit.execute(name, args)` runs one tool directly with the same decoding,
 * timeout and retry as a model's call; {@link handleCall} runs a model's tool
 * call and turns any outcome into the tool message the model reads next.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Tool, Toolkit } from "effect-agents"
 *
 * const add = Tool.make("add", {
 *   description: "Add two numbers",
 *   parameters: { a: Schema.Number, b: Schema.Number },
 *   handler: ({ a, b }) => a + b
 * })
 * const toolkit = Toolkit.make(add)
 *
 * const three = toolkit.execute("add", { a: 1, b: 2 }) // Effect<number, ToolError>
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type { ToolError } from "./AgentError.js"
import { ToolFailed, ToolInputInvalid, ToolNotFound } from "./AgentError.js"
import * as Own from "./internal/own.js"
import * as Render from "./internal/render.js"
import * as LanguageModel from "./LanguageModel.js"
import * as Tool from "./Tool.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Toolkit")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface Toolkit<in out Tools extends Record<string, Tool.Any>> extends Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly tools: Tools
  /** Every tool as the model sees it. */
  readonly definitions: ReadonlyArray<LanguageModel.ToolDefinition>
  /**
   * Runs one tool by name: decodes `args` with its parameters Schema and
   * applies its timeout and retry schedule. An unknown name fails with
   * `ToolNotFound` (names are looked up among the toolkit's own tools:
   * "constructor" is unknown unless a tool has that name).
   */
  execute<Name extends string>(
    name: Name,
    args: unknown,
    options?: Tool.ExecuteOptions
  ): Effect.Effect<
    Name extends keyof Tools ? Tool.Success<Tools[Name]> : unknown,
    ToolError,
    Name extends keyof Tools ? Tool.Requirements<Tools[Name]> : Requirements<Toolkit<Tools>>
  >
}

/**
 * Any toolkit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Any {
  readonly [TypeId]: TypeId
  readonly tools: Record<string, Tool.Any>
  readonly definitions: ReadonlyArray<LanguageModel.ToolDefinition>
}

/**
 * The tools of a toolkit.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Tools<T> = T extends Toolkit<infer Tools> ? Tools : never

/**
 * The services a toolkit's handlers need.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Requirements<T> = T extends Toolkit<infer Tools> ? Tool.Requirements<Tools[keyof Tools]> : never

/**
 * A record of tools keyed by their names.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ToolsByName<Tools extends ReadonlyArray<Tool.Any>> = {
  readonly [T in Tools[number] as T["name"]]: T
}

/**
 * Whether a value is a {@link Toolkit}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isToolkit = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  ...Inspectable.BaseProto,
  toJSON(this: Any) {
    return { _id: "Toolkit", tools: Object.keys(this.tools) }
  },
  execute(this: Any, name: string, args: unknown, options?: Tool.ExecuteOptions) {
    const tool = Own.get(this.tools, name)
    return tool === undefined
      ? Effect.fail(new ToolNotFound({ tool: name, available: Object.keys(this.tools) }))
      : tool.execute(args, options)
  }
}

const fromRecord = <Tools extends Record<string, Tool.Any>>(tools: Tools): Toolkit<Tools> =>
  Object.assign(Object.create(Proto), {
    tools,
    definitions: Object.values(tools).map((tool) => tool.definition)
  })

/**
 * Builds a toolkit from tools. Two tools with one name are a programming
 * error and throw.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Tool, Toolkit } from "effect-agents"
 *
 * const echo = Tool.make("echo", {
 *   description: "Repeat the text",
 *   parameters: { text: Schema.String },
 *   handler: ({ text }) => text
 * })
 * const toolkit = Toolkit.make(echo)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const Tools extends ReadonlyArray<Tool.Any>>(...tools: Tools): Toolkit<ToolsByName<Tools>> => {
  const record: Record<string, Tool.Any> = {}
  for (const tool of tools) {
    if (Object.hasOwn(record, tool.name)) throw new Error(`Toolkit.make: two tools are named "${tool.name}"`)
    Own.set(record, tool.name, tool)
  }
  return fromRecord(record as ToolsByName<Tools>)
}

/**
 * The toolkit with no tools.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Toolkit<{}> = fromRecord({})

/**
 * Merges toolkits into one. Two tools with one name throw.
 *
 * @example
 * ```ts
 * import { Toolkit } from "effect-agents"
 *
 * declare const search: Toolkit.Toolkit<{}>
 * declare const math: Toolkit.Toolkit<{}>
 * const all = Toolkit.merge(search, math)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = <const Toolkits extends ReadonlyArray<Any>>(
  ...toolkits: Toolkits
): Toolkit<MergedTools<Toolkits>> =>
  make(...toolkits.flatMap((toolkit) => Object.values(toolkit.tools))) as unknown as Toolkit<MergedTools<Toolkits>>

/**
 * @since 0.1.0
 * @category type-level
 */
export type MergedTools<Toolkits extends ReadonlyArray<Any>> = {
  readonly [K in keyof UnionToIntersection<Tools<Toolkits[number]>>]: Extract<
    UnionToIntersection<Tools<Toolkits[number]>>[K],
    Tool.Any
  >
}

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never

/**
 * What came of one tool call: the message for the model, and the error when
 * the call failed.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallResult {
  readonly message: LanguageModel.ToolMessage
  readonly error: ToolError | undefined
}

const parseArguments = (tool: string, text: string): Effect.Effect<unknown, ToolInputInvalid> =>
  Effect.try({
    try: () => (text.trim() === "" ? {} : JSON.parse(text)) as unknown,
    catch: (error) =>
      new ToolInputInvalid({
        tool,
        issues: [{ path: "(root)", message: `arguments are not valid JSON: ${(error as Error).message}` }]
      })
  })

/** The tool message of a failed call, with its error. */
const failedCall = (toolCall: LanguageModel.ToolCall, error: ToolError): CallResult => ({
  message: LanguageModel.toolResult({
    toolCallId: toolCall.id,
    name: toolCall.name,
    content: `Error: ${error.message}`,
    isError: true
  }),
  error
})

/**
 * Runs a tool call made by a model: parses its JSON arguments, runs the tool
 * and renders the result as text. It never fails: a failed call (bad
 * arguments, unknown tool, a failing handler, a timeout, a result JSON cannot
 * represent, even a defect) becomes an error tool message that tells the
 * model what went wrong, so it can recover. The name is looked up among the
 * toolkit's own tools only: "constructor" or "__proto__" is an unknown tool.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Toolkit } from "effect-agents"
 *
 * declare const toolkit: Toolkit.Toolkit<{}>
 * const result = Toolkit.handleCall(toolkit, { id: "call_1", name: "add", arguments: "{\"a\":1,\"b\":2}" })
 * // Effect<CallResult>: { message: { role: "tool", content: "3", isError: false, ... }, error: undefined }
 * ```
 *
 * @since 0.1.0
 * @category execution
 */
export const handleCall = <T extends Any>(
  toolkit: T,
  toolCall: LanguageModel.ToolCall,
  options?: Tool.ExecuteOptions
): Effect.Effect<CallResult, never, Requirements<T>> => {
  const tool = Own.get(toolkit.tools, toolCall.name)
  const outcome: Effect.Effect<string, ToolError, unknown> = tool === undefined
    ? Effect.fail(new ToolNotFound({ tool: toolCall.name, available: Object.keys(toolkit.tools) }))
    : parseArguments(toolCall.name, toolCall.arguments).pipe(
      Effect.flatMap((args) => tool.execute(args, options)),
      Effect.flatMap((value) => Tool.toContent(tool, value))
    )
  return Effect.matchCauseEffect(outcome, {
    onSuccess: (content): Effect.Effect<CallResult> =>
      Effect.succeed({
        message: LanguageModel.toolResult({ toolCallId: toolCall.id, name: toolCall.name, content }),
        error: undefined
      }),
    onFailure: (cause): Effect.Effect<CallResult> => {
      const failure = Cause.failureOrCause(cause)
      if (Either.isLeft(failure)) return Effect.succeed(failedCall(toolCall, failure.left))
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      // a defect (of a tool not made by Tool.make, say): the model reads it too
      const defect = Cause.squash(cause)
      return Effect.succeed(
        failedCall(toolCall, new ToolFailed({ tool: toolCall.name, message: Render.text(defect), error: defect }))
      )
    }
  }) as Effect.Effect<CallResult, never, Requirements<T>>
}
