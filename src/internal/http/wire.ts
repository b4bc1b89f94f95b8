import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { ToolFailed } from "../../AgentError.js"
import type * as Dag from "../../Dag.js"
import type * as AgentApi from "../../http/AgentApi.js"
import * as Run from "../../Run.js"
import type { RunEvent } from "../../RunEvent.js"
import * as Tool from "../../Tool.js"
import * as Render from "../render.js"

/**
 * The output of a result as JSON. An agent without an output Schema answers
 * with its text, which is its output; an agent with one answered with the JSON
 * text of the encoded output (the loop decoded `content` into `output`), so
 * `content` parsed is exactly the output's encoded form, whatever the Schema
 * transforms (dates, options, classes).
 */
const outputOf = (result: Run.RunResult<unknown>): unknown => {
  if (result.output === result.content) return result.content
  return Either.getOrElse(
    Either.try((): unknown => JSON.parse(result.content)),
    () => result.output
  )
}

/** A run's result as it goes on the wire: its outputs (a team's leader's and members' too) as JSON. */
export const result = (run: Run.RunResult<unknown>): AgentApi.RunResult =>
  Run.isTeamResult(run)
    ? {
      ...run,
      output: outputOf(run),
      leader: { ...run.leader, output: outputOf(run.leader) },
      members: run.members.map((member) => ({ ...member, outcome: Either.map(member.outcome, result) }))
    }
    : { ...run, output: outputOf(run) }

/** An event of any run. */
export type AnyRunEvent = RunEvent<unknown>

/** A run's event as it goes on the wire. */
export const event = (event: RunEvent<unknown>): AgentApi.RunEvent =>
  event._tag === "RunCompleted" ? { ...event, result: result(event.result) } : event

/**
 * A tool's result as JSON: encoded with its `success` Schema when it has
 * one; `null` for `undefined`, as its content says. A result JSON cannot
 * represent fails as it does for a model (see `Tool.toContent`).
 */
export const toolResult = (tool: Tool.Any, value: unknown): Effect.Effect<AgentApi.ToolResult, ToolFailed> =>
  Effect.gen(function*() {
    const content = yield* Tool.toContent(tool, value)
    const json = tool.success === undefined ? value : yield* Effect.orDie(Schema.encodeUnknown(tool.success)(value))
    return { tool: tool.name, result: json === undefined ? null : json, content }
  })

/**
 * A node's error as JSON: its fields, with its `_tag` and `message`; a
 * field that is an Error as its message. A `ToolFailed` is its `tool` and
 * `message` only (never the raw cause it holds, as over the rest of the API);
 * an error whose fields JSON cannot represent (a cycle, a BigInt) is its
 * `_tag` and its message as readable text.
 */
const errorJson = (error: unknown): unknown => {
  if (typeof error !== "object" || error === null) {
    return Either.isRight(Render.json(error))
      ? error
      : Render.text(error)
  }
  if (error instanceof ToolFailed) return { _tag: error._tag, tool: error.tool, message: error.message }
  const tag = Predicate.hasProperty(error, "_tag") ? { _tag: error._tag } : {}
  try {
    const fields: Record<string, unknown> = { ...error }
    for (const [key, value] of Object.entries(fields)) {
      if (value instanceof Error) fields[key] = value.message
    }
    const json = { ...fields, ...tag, ...(error instanceof Error ? { message: error.message } : {}) }
    if (Either.isRight(Render.json(json))) return json
  } catch {
    // a getter that throws: what can be read is below
  }
  return { ...tag, message: Render.text(error) }
}

/** A DAG's result as it goes on the wire. */
export const dagResult = (result: Dag.DagResult<Record<string, unknown>, unknown>): AgentApi.DagResult => ({
  ...result,
  nodes: Object.fromEntries(
    Object.entries(result.nodes).map(([name, node]): [string, AgentApi.DagNodeResult] => {
      return [name, node.status === "failed" ? { ...node, error: errorJson(node.error) } : node]
    })
  )
})

/** A DAG's event as it goes on the wire: a failed node's error as JSON, the result as {@link dagResult}. */
export const dagEvent = (event: Dag.DagEvent): AgentApi.DagEvent => {
  switch (event._tag) {
    case "NodeFailed":
      return { ...event, error: errorJson(event.error) }
    case "DagCompleted":
      return { ...event, result: dagResult(event.result) }
    default:
      return event
  }
}
