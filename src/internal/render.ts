/**
 * Values from outside (what a tool returns, throws or rejects with) as text,
 * totally: nothing here throws, whatever the value holds (a cycle, a BigInt,
 * a getter that throws, a Proxy).
 *
 * - {@link json}: the JSON text of a value, or why JSON cannot represent it.
 *   Stricter than `JSON.stringify`, which turns what it cannot represent into
 *   something else (`null`, `{}`) or drops it: a function, a symbol, NaN or
 *   Infinity, a Map, a Set (and the like) anywhere in the value is refused,
 *   as are a BigInt and a cycle, which make it throw. What a value's `toJSON`
 *   gives is used, as `JSON.stringify` does (a Date is its ISO string). A
 *   property that is `undefined` is left out and the value `undefined` is
 *   `null`, as JSON says nothing of "nothing".
 * - {@link text}: readable text of any value, for a failure's message: its
 *   `message` when it has one, a string as it is, else its JSON, else what
 *   `util.inspect` shows (cycles and BigInts included).
 */
import * as Either from "effect/Either"
import { inspect } from "node:util"

const lossy: ReadonlySet<string> = new Set([
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "Promise",
  "RegExp",
  "Error",
  "ArrayBuffer",
  "SharedArrayBuffer",
  "DataView"
])

const where = (path: ReadonlyArray<string | number>): string => path.length === 0 ? "" : ` at ${path.join(".")}`

const holds = (what: string, path: ReadonlyArray<string | number>): string =>
  path.length === 0 ? `it is ${what}` : `it holds ${what}${where(path)}`

/** The built-in kind of an object JSON would turn into `{}` or garbage, if it is one. */
const lossyKind = (value: object): string | undefined => {
  if (ArrayBuffer.isView(value)) return "a binary array"
  const tag = Object.prototype.toString.call(value).slice(8, -1)
  return lossy.has(tag) ? `a ${tag}` : undefined
}

/** Why `value` (at `path`, under `ancestors`) is not JSON, or undefined when it is. */
const notJson = (
  value: unknown,
  path: Array<string | number>,
  ancestors: Array<object>
): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : holds(String(value), path)
    case "bigint":
      return holds("a BigInt", path)
    case "symbol":
      return holds("a symbol", path)
    case "function":
      return holds("a function", path)
  }
  if (value === null) return undefined
  let object = value as object
  if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
    const json: unknown = (object as { toJSON: (key: string) => unknown }).toJSON(String(path.at(-1) ?? ""))
    if (typeof json !== "object" || json === null) return notJson(json, path, ancestors)
    object = json
  }
  if (ancestors.includes(object)) return holds("a circular structure", path)
  const kind = lossyKind(object)
  if (kind !== undefined) return holds(kind, path)
  ancestors.push(object)
  let reason: string | undefined
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length && reason === undefined; i++) {
      path.push(i)
      reason = notJson(object[i], path, ancestors)
      path.pop()
    }
  } else {
    for (const key of Object.keys(object)) {
      path.push(key)
      reason = notJson((object as Record<string, unknown>)[key], path, ancestors)
      path.pop()
      if (reason !== undefined) break
    }
  }
  ancestors.pop()
  return reason
}

/**
 * The JSON text of `value`, or (on the left) why JSON cannot represent it:
 * "it is a BigInt", "it holds a circular structure at a.b". Strings,
 * numbers, booleans and null take a short way.
 */
export const json = (value: unknown): Either.Either<string, string> => {
  if (value === null || value === undefined) return Either.right("null")
  if (typeof value === "string" || typeof value === "boolean") return Either.right(JSON.stringify(value))
  try {
    const reason = notJson(value, [], [])
    if (reason !== undefined) return Either.left(reason)
    return Either.right(JSON.stringify(value) ?? "null")
  } catch (error) {
    return Either.left(`it cannot be read: ${text(error)}`)
  }
}

const inspectOptions = { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 2000 } as const

const messageOf = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const message: unknown = (value as { message?: unknown }).message
  return typeof message === "string" && message.length > 0 ? message : undefined
}

/**
 * Readable text of any value, for a failure's message: its `message` when it
 * has a non-empty one, a string as it is, else its JSON (see {@link json}),
 * else what `util.inspect` shows; an Error without a message is its name.
 */
export const text = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    const message = messageOf(value)
    if (message !== undefined) return message
    if (value instanceof Error) return value.name
    const encoded = json(value)
    return Either.isRight(encoded) ? encoded.right : inspect(value, inspectOptions)
  } catch {
    return "a value that cannot be read"
  }
}
