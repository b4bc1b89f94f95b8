/**
 * What an MCP server serves, from a `Registry`: each agent, team, DAG and
 * tool as an MCP tool (its name, schemas and call), independent of the SDK.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Agent from "../../Agent.js"
import type { ServerShuttingDown } from "../../http/AgentApi.js"
import type * as Registry from "../../http/Registry.js"
import type * as Run from "../../Run.js"
import type { Forwarded } from "../../RunEvent.js"
import * as Runnable from "../../Runnable.js"
import * as Session from "../../Session.js"
import type * as SessionStore from "../../SessionStore.js"
import type * as Tool from "../../Tool.js"
import * as Wire from "../http/wire.js"
import * as Render from "../render.js"
import * as Names from "./names.js"

export type JsonObject = Readonly<Record<string, unknown>>

/** A tool's answer, as MCP's `CallToolResult` has it. */
export interface CallResult {
  readonly content: ReadonlyArray<{ readonly type: "text"; readonly text: string }>
  readonly structuredContent?: JsonObject | undefined
  readonly isError?: boolean | undefined
  readonly [key: string]: unknown
}

/** Where a call's progress goes: each event of its run (steps, tool calls, members). */
export type Progress = (event: Forwarded) => Effect.Effect<void>

/** An MCP tool: its name and schemas, and its call. */
export interface ServedTool {
  readonly name: string
  readonly description: string
  readonly inputSchema: JsonObject
  readonly outputSchema: JsonObject | undefined
  readonly call: (args: JsonObject, progress: Progress) => Effect.Effect<CallResult>
}

/** How the calls run: within the host's runs in flight (an agent server's drain), with the services given. */
export interface Settings {
  readonly registry: Registry.Service
  readonly sessions: Option.Option<SessionStore.Service>
  readonly track: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | ServerShuttingDown>
}

const text = (value: string): CallResult["content"] => [{ type: "text", text: value }]

const isObjectSchema = (schema: unknown): schema is JsonObject =>
  typeof schema === "object" && schema !== null && (schema as JsonObject).type === "object"

/** A typed failure as the client reads it: its tag and message; a defect says no more than that. */
const failure = (cause: Cause.Cause<unknown>): CallResult => {
  const error = Cause.failureOption(cause)
  const message = Option.match(error, {
    onNone: () => (Cause.isInterruptedOnly(cause) ? "the call was interrupted" : "the call failed unexpectedly"),
    onSome: (e) =>
      typeof e === "object" && e !== null && "_tag" in e
        ? `${String(e._tag)}: ${(e as { message?: unknown }).message ?? ""}`
        : Render.text(e)
  })
  return { content: text(message), isError: true }
}

/** Runs a call, its failures and defects as an error result the client reads. */
const answer = <E>(settings: Settings, effect: Effect.Effect<CallResult, E>): Effect.Effect<CallResult> =>
  settings.track(effect).pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.succeed(failure(cause))
    )
  ) as Effect.Effect<CallResult>

const RunArgs = Schema.Struct({ input: Schema.String, sessionId: Schema.optional(Schema.String) })

/** An agent's or team's input: `input`, and `sessionId` when the server keeps sessions. */
const runInputSchema = (sessions: boolean): JsonObject => ({
  type: "object",
  properties: {
    input: { type: "string", description: "The message to run on" },
    ...(sessions
      ? { sessionId: { type: "string", description: "The conversation to continue (a new one for a new id)" } }
      : {})
  },
  required: ["input"]
})

const runnableTool = (settings: Settings, name: string, served: Registry.Served): ServedTool => {
  const format = Agent.isAgent(served.runnable) ? served.runnable.outputFormat : undefined
  const outputSchema = isObjectSchema(format?.schema) ? format.schema : undefined
  const decode = Schema.decodeUnknown(RunArgs)
  return {
    name,
    description: served.kind === "team"
      ? `Runs the team "${served.name}" on a message and answers with its result.`
      : `Runs the agent "${served.name}" on a message and answers with its result.`,
    inputSchema: runInputSchema(Option.isSome(settings.sessions)),
    outputSchema,
    call: (args, progress) =>
      answer(
        settings,
        Effect.gen(function*() {
          const { input, sessionId } = yield* decode(args)
          const session = sessionId === undefined
            ? undefined
            : Option.map(settings.sessions, (store) => Session.make(store, sessionId)).pipe(Option.getOrUndefined)
          const result: Run.RunResult<unknown> = yield* served.runnable.run(input, { session }).pipe(
            Runnable.withSink({ path: [], emit: progress })
          )
          const output = Wire.result(result).output
          return {
            content: text(result.content),
            ...(outputSchema !== undefined && typeof output === "object" && output !== null
              ? { structuredContent: output as JsonObject }
              : {})
          }
        })
      )
  }
}

const dagTool = (settings: Settings, name: string, served: Registry.ServedDag): ServedTool => {
  // MCP's input is an object: a DAG's input that is not one is sent as `input`
  const wrapped = !isObjectSchema(served.inputSchema)
  return {
    name,
    description: `Runs the DAG "${served.name}" on its input and answers with every node's result.`,
    inputSchema: wrapped
      ? { type: "object", properties: { input: served.inputSchema }, required: ["input"] }
      : served.inputSchema as JsonObject,
    outputSchema: undefined,
    call: (args, progress) =>
      answer(
        settings,
        served.run(wrapped ? args.input : args, {}).pipe(
          Runnable.withSink({ path: [], emit: progress }),
          Effect.map((result) => {
            const json = Wire.dagResult(result) as unknown as JsonObject
            return {
              content: text(Either.getOrElse(Render.json(json), () => Render.text(json))),
              structuredContent: json,
              isError: result.status === "failed"
            }
          })
        )
      )
  }
}

const plainTool = (settings: Settings, name: string, tool: Tool.Any): ServedTool => ({
  name,
  description: tool.description,
  inputSchema: tool.definition.parameters as unknown as JsonObject,
  outputSchema: undefined,
  call: (args) =>
    answer(
      settings,
      (tool.execute(args) as Effect.Effect<unknown, unknown, unknown>).pipe(
        Effect.provide(settings.registry.context as Context.Context<unknown>),
        Effect.flatMap((value) => Wire.toolResult(tool, value)),
        Effect.map(({ content, result }) => ({
          content: text(content),
          ...(typeof result === "object" && result !== null && !Array.isArray(result)
            ? { structuredContent: result as JsonObject }
            : {})
        }))
      ) as Effect.Effect<CallResult, unknown>
    )
})

/**
 * Every MCP tool of a registry: its agents and teams, its DAGs, its tools,
 * in that order, named as MCP allows (a clash numbered).
 */
export const tools = (settings: Settings): ReadonlyArray<ServedTool> => {
  const { registry } = settings
  const runnables = Array.from(registry.runnables.values())
  const dags = Array.from(registry.dags.values())
  const plain = Array.from(registry.tools.values())
  const names = Names.distinct("", [
    ...runnables.map((served) => served.name),
    ...dags.map((served) => served.name),
    ...plain.map((tool) => tool.name)
  ])
  let i = 0
  return [
    ...runnables.map((served) => runnableTool(settings, names[i++]!, served)),
    ...dags.map((served) => dagTool(settings, names[i++]!, served)),
    ...plain.map((tool) => plainTool(settings, names[i++]!, tool))
  ]
}
