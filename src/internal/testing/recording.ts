/**
 * The recording file (version 1): its Schema, and how a request is compared
 * with a recorded one. Read by `Recording` (which writes it) and by
 * `ScriptedModel.replay` (which answers from it).
 */
import * as Schema from "effect/Schema"
import * as LanguageModel from "../../LanguageModel.js"
import { ModelError } from "../../ModelError.js"

/** What the file says it is. */
export const format = "effect-agents/recording"

/** The version of the format this library writes and reads. */
export const version = 1

const JsonSchema = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** A request as recorded: everything but its timeout, which is the policy's, not the conversation's. */
export const Request = Schema.Struct({
  messages: Schema.Array(LanguageModel.Message),
  tools: Schema.Array(Schema.Struct({
    name: Schema.String,
    description: Schema.String,
    parameters: JsonSchema,
    strict: Schema.Boolean
  })),
  toolChoice: Schema.optional(Schema.Union(
    Schema.Literal("auto", "none", "required"),
    Schema.Struct({ tool: Schema.String })
  )),
  parallelToolCalls: Schema.optional(Schema.Boolean),
  responseFormat: Schema.optional(Schema.Struct({ name: Schema.String, schema: JsonSchema, strict: Schema.Boolean }))
})

export type Request = typeof Request.Type

export const StreamPart = Schema.Union(
  Schema.TaggedStruct("TextDelta", { text: Schema.String }),
  Schema.TaggedStruct("ToolCall", { toolCall: LanguageModel.ToolCall }),
  Schema.TaggedStruct("Finish", {
    usage: LanguageModel.Usage,
    finishReason: LanguageModel.FinishReason,
    model: Schema.String
  })
)

/** One model call: its request, and its response (generated), its parts (streamed) or its error. */
export const Call = Schema.Struct({
  method: Schema.Literal("generate", "stream"),
  request: Request,
  response: Schema.optional(LanguageModel.GenerateResponse),
  parts: Schema.optional(Schema.Array(StreamPart)),
  error: Schema.optional(ModelError),
  durationMs: Schema.optional(Schema.Number)
})

export type Call = typeof Call.Type

export const File = Schema.Struct({
  format: Schema.Literal(format),
  version: Schema.Literal(version),
  model: Schema.String,
  provider: Schema.optional(Schema.String),
  calls: Schema.Array(Call)
})

export type File = typeof File.Type

/** The request as the file keeps it. */
export const toRecorded = (request: LanguageModel.GenerateRequest): Request => {
  const { timeout: _, ...rest } = request
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as unknown as Request
}

const encodeRequest = Schema.encodeSync(Request)

const show = (value: unknown): string => {
  const text = value === undefined ? "nothing" : JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** Where two JSON values first differ: the path, what was recorded there and what came; undefined when equal. */
const firstDifference = (recorded: unknown, actual: unknown, path: string): string | undefined => {
  if (Object.is(recorded, actual)) return undefined
  const bothObjects = typeof recorded === "object" && recorded !== null && typeof actual === "object" &&
    actual !== null && Array.isArray(recorded) === Array.isArray(actual)
  if (!bothObjects) return `at ${path || "the request"}: recorded ${show(recorded)}, got ${show(actual)}`
  const keys = new Set([...Object.keys(recorded), ...Object.keys(actual)])
  for (const key of keys) {
    const at = Array.isArray(recorded) ? `${path}[${key}]` : path ? `${path}.${key}` : key
    const difference = firstDifference(
      (recorded as Record<string, unknown>)[key],
      (actual as Record<string, unknown>)[key],
      at
    )
    if (difference !== undefined) return difference
  }
  return undefined
}

/** Where a request first differs from a recorded one (`at messages[2].content: recorded "...", got "..."`), if it does. */
export const difference = (recorded: Request, request: LanguageModel.GenerateRequest): string | undefined =>
  firstDifference(encodeRequest(recorded), encodeRequest(toRecorded(request)), "")
