import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The JSON Schema of a Schema's encoded side, without the `$schema` marker,
 * with every non-recursive `$ref` replaced by its definition: models read a
 * plain schema more reliably. Recursive definitions stay in `$defs`.
 */
export const fromSchema = (schema: Schema.Schema.AnyNoContext): JSONSchema.JsonSchema7Root => {
  const { $schema: _, $defs, ...root } = JSONSchema.make(schema)
  if ($defs === undefined) return root
  const kept: Record<string, unknown> = {}
  const inline = (node: unknown, resolving: ReadonlySet<string>): unknown => {
    if (Array.isArray(node)) return node.map((item) => inline(item, resolving))
    if (!isRecord(node)) return node
    if (typeof node.$ref === "string" && node.$ref.startsWith("#/$defs/")) {
      const name = node.$ref.slice("#/$defs/".length)
      if (resolving.has(name)) {
        kept[name] ??= null
        return node
      }
      const { $ref: _, ...siblings } = node
      return { ...(inline($defs[name], new Set([...resolving, name])) as object), ...siblings }
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inline(value, resolving)]))
  }
  const result = inline(root, new Set()) as JSONSchema.JsonSchema7Root
  const recursive = Object.keys(kept)
  if (recursive.length === 0) return result
  return {
    ...result,
    $defs: Object.fromEntries(recursive.map((name) => [name, inline($defs[name], new Set([name]))]))
  } as JSONSchema.JsonSchema7Root
}

const subschemas = (schema: Record<string, unknown>): ReadonlyArray<unknown> => [
  ...(isRecord(schema.properties) ? Object.values(schema.properties) : []),
  ...(isRecord(schema.$defs) ? Object.values(schema.$defs) : []),
  ...(Array.isArray(schema.items) ? schema.items : [schema.items]),
  ...(Array.isArray(schema.anyOf) ? schema.anyOf : []),
  ...(Array.isArray(schema.oneOf) ? schema.oneOf : []),
  ...(Array.isArray(schema.allOf) ? schema.allOf : [])
]

/**
 * Whether a JSON Schema fits the rules of strict structured outputs: every
 * object closes its properties (`additionalProperties: false`) and requires
 * all of them. A schema with optional fields is sent without strict mode.
 */
export const isStrictCompatible = (schema: unknown): boolean => {
  if (!isRecord(schema)) return true
  if (schema.type === "object") {
    const properties = isRecord(schema.properties) ? Object.keys(schema.properties) : []
    const required = Array.isArray(schema.required) ? schema.required : []
    if (schema.additionalProperties !== false) return false
    if (!properties.every((key) => required.includes(key))) return false
  }
  return subschemas(schema).every(isStrictCompatible)
}
