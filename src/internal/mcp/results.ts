/**
 * What an MCP client makes of a server's answers: results as the model reads
 * them, arguments checked with the SDK's validator, progress notifications
 * checked.
 */
import type { CallToolResult } from "@modelcontextprotocol/client"
import type { AjvJsonSchemaValidator } from "@modelcontextprotocol/client/validators/ajv"
import * as Either from "effect/Either"
import type { Issue } from "../../AgentError.js"
import type * as Tool from "../../Tool.js"
import type * as Progress from "../progress.js"
import * as Render from "../render.js"

const base64Bytes = (data: unknown): number => {
  if (typeof data !== "string") return 0
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding)
}

const str = (u: unknown, fallback: string): string => typeof u === "string" ? u : fallback

/** A content block as the model reads it: text as it is, anything else as a short description. */
const blockText = (block: unknown): string => {
  if (typeof block !== "object" || block === null) return ""
  const b = block as Record<string, unknown>
  switch (b.type) {
    case "text":
      return str(b.text, "")
    case "image":
    case "audio":
      return `[${b.type}: ${str(b.mimeType, "unknown type")}, ${base64Bytes(b.data)} bytes]`
    case "resource": {
      const resource = (typeof b.resource === "object" && b.resource !== null ? b.resource : {}) as Record<
        string,
        unknown
      >
      const uri = str(resource.uri, "unknown")
      if (typeof resource.text === "string") return `[resource: ${uri}]\n${resource.text}`
      return `[resource: ${uri}, ${str(resource.mimeType, "unknown type")}, ${base64Bytes(resource.blob)} bytes]`
    }
    case "resource_link":
      return `[resource link: ${str(b.uri, "unknown")}${typeof b.name === "string" ? ` (${b.name})` : ""}]`
    default:
      return `[${str(b.type, "unknown")} content]`
  }
}

/**
 * What the model reads of a result: its `structuredContent` as JSON when it
 * has one (its text blocks repeat it), followed by its other blocks; else
 * its blocks, one after the other.
 */
export const resultText = (result: CallToolResult): string => {
  const blocks: ReadonlyArray<unknown> = Array.isArray(result.content) ? result.content : []
  const structured = result.structuredContent
  if (structured !== undefined && structured !== null) {
    const json = Either.getOrElse(Render.json(structured), () => Render.text(structured))
    const others = blocks.filter((block) => (block as { type?: unknown } | null)?.type !== "text").map(blockText)
    return [json, ...others].join("\n")
  }
  return blocks.map(blockText).join("\n")
}

/** Ajv's message ("data/b must be string, data must have ...") as issues with paths. */
const ajvIssues = (message: string): ReadonlyArray<Issue> =>
  message.split(/, (?=data[/ ])/).map((part) => {
    const match = /^data((?:\/[^ ]*)?) (.*)$/s.exec(part)
    if (match === null) return { path: "(root)", message: part }
    const path = match[1]!.split("/").filter((p) => p !== "").join(".")
    return { path: path === "" ? "(root)" : path, message: match[2]! }
  })

/** The SDK's validator (Ajv) for a schema, or undefined when it cannot compile it. */
export const validatorOf = (
  ajv: AjvJsonSchemaValidator,
  schema: Readonly<Record<string, unknown>>
): Tool.JsonSchemaValidator | undefined => {
  try {
    const validate = ajv.getValidator(schema as Parameters<AjvJsonSchemaValidator["getValidator"]>[0])
    return (args) => {
      const result = validate(args)
      return result.valid ? [] : ajvIssues(result.errorMessage)
    }
  } catch {
    return undefined
  }
}

const finite = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

/** A server's progress notification, checked: its progress, and its total and message when they are valid. */
export const progressOf = (reported: unknown): Progress.Progress | undefined => {
  if (typeof reported !== "object" || reported === null) return undefined
  const { message, progress, total } = reported as Record<string, unknown>
  if (!finite(progress)) return undefined
  return {
    progress,
    ...(finite(total) ? { total } : {}),
    ...(typeof message === "string" ? { message: message.slice(0, 1000) } : {})
  }
}
