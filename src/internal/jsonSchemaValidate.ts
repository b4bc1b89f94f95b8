/**
 * A small JSON Schema validator for tool arguments: the keywords tool
 * parameters use (`type`, `properties`, `required`, `additionalProperties`,
 * `items`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`, `not`, bounds on
 * numbers, strings and arrays, `pattern`, local `$ref`s). A keyword it does
 * not know is accepted: the tool's server has the last word.
 */
import type { Issue } from "../AgentError.js"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const typeOf = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "array"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number"
  return typeof value
}

const hasType = (value: unknown, type: unknown): boolean => {
  const actual = typeOf(value)
  return type === actual || (type === "number" && actual === "integer")
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const deepEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
  }
  return false
}

const pathOf = (path: ReadonlyArray<string | number>): string => path.length === 0 ? "(root)" : path.join(".")

const resolve = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#")) return true
  let node: unknown = root
  for (const part of ref.slice(1).split("/").filter((p) => p !== "")) {
    const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~")
    node = isRecord(node) ? node[key] : undefined
  }
  return node ?? true
}

const check = (
  root: unknown,
  schema: unknown,
  value: unknown,
  path: ReadonlyArray<string | number>,
  depth: number
): Array<Issue> => {
  if (schema === true || schema === undefined) return []
  if (schema === false) return [{ path: pathOf(path), message: "no value is allowed here" }]
  if (!isRecord(schema) || depth > 64) return []
  const issues: Array<Issue> = []
  const at = pathOf(path)
  if (typeof schema.$ref === "string") issues.push(...check(root, resolve(root, schema.$ref), value, path, depth + 1))
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.some((type) => hasType(value, type))) {
      return [...issues, { path: at, message: `Expected ${types.join(" or ")}, actual ${show(value)}` }]
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => deepEqual(option, value))) {
    issues.push({ path: at, message: `Expected one of ${schema.enum.map(show).join(", ")}, actual ${show(value)}` })
  }
  if ("const" in schema && !deepEqual(schema.const, value)) {
    issues.push({ path: at, message: `Expected ${show(schema.const)}, actual ${show(value)}` })
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      issues.push({ path: at, message: `Expected a number >= ${schema.minimum}, actual ${value}` })
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      issues.push({ path: at, message: `Expected a number <= ${schema.maximum}, actual ${value}` })
    }
    if (typeof schema.exclusiveMinimum === "number" && value <= schema.exclusiveMinimum) {
      issues.push({ path: at, message: `Expected a number > ${schema.exclusiveMinimum}, actual ${value}` })
    }
    if (typeof schema.exclusiveMaximum === "number" && value >= schema.exclusiveMaximum) {
      issues.push({ path: at, message: `Expected a number < ${schema.exclusiveMaximum}, actual ${value}` })
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      issues.push({ path: at, message: `Expected a string of at least ${schema.minLength} characters` })
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) {
      issues.push({ path: at, message: `Expected a string of at most ${schema.maxLength} characters` })
    }
    if (typeof schema.pattern === "string") {
      let matches = true
      try {
        matches = new RegExp(schema.pattern, "u").test(value)
      } catch {
        // a pattern JavaScript cannot compile: the server decides
      }
      if (!matches) issues.push({ path: at, message: `Expected a string matching ${schema.pattern}` })
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      issues.push({ path: at, message: `Expected at least ${schema.minItems} items, actual ${value.length}` })
    }
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) {
      issues.push({ path: at, message: `Expected at most ${schema.maxItems} items, actual ${value.length}` })
    }
    if (schema.items !== undefined && !Array.isArray(schema.items)) {
      value.forEach((item, i) => issues.push(...check(root, schema.items, item, [...path, i], depth + 1)))
    }
  }
  if (isRecord(value)) {
    const properties = isRecord(schema.properties) ? schema.properties : {}
    if (Array.isArray(schema.required)) {
      for (const key of schema.required) {
        if (typeof key === "string" && !Object.hasOwn(value, key)) {
          issues.push({ path: pathOf([...path, key]), message: "is missing" })
        }
      }
    }
    for (const [key, item] of Object.entries(value)) {
      if (Object.hasOwn(properties, key)) {
        issues.push(...check(root, properties[key], item, [...path, key], depth + 1))
      } else if (schema.additionalProperties === false) {
        issues.push({ path: pathOf([...path, key]), message: "is unexpected" })
      } else if (isRecord(schema.additionalProperties)) {
        issues.push(...check(root, schema.additionalProperties, item, [...path, key], depth + 1))
      }
    }
  }
  if (Array.isArray(schema.allOf)) {
    for (const sub of schema.allOf) issues.push(...check(root, sub, value, path, depth + 1))
  }
  const alternatives = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : []
  if (alternatives.length > 0) {
    const outcomes = alternatives.map((sub) => check(root, sub, value, path, depth + 1))
    const passing = outcomes.filter((outcome) => outcome.length === 0).length
    if (passing === 0) {
      issues.push({
        path: at,
        message: `Expected a value matching one of ${alternatives.length} schemas: ${
          outcomes.map((outcome) => outcome.map((issue) => `${issue.path}: ${issue.message}`).join(", ")).join(" | ")
        }`
      })
    } else if (Array.isArray(schema.oneOf) && passing > 1) {
      issues.push({ path: at, message: `Expected a value matching exactly one schema, it matches ${passing}` })
    }
  }
  if (schema.not !== undefined && check(root, schema.not, value, path, depth + 1).length === 0) {
    issues.push({ path: at, message: "matches a schema it must not match" })
  }
  return issues
}

/** What is wrong where in `value` against the JSON Schema `schema`; empty when it conforms. */
export const validate = (schema: unknown, value: unknown): ReadonlyArray<Issue> => check(schema, schema, value, [], 0)
