/**
 * What a request body must be before it is parsed: JSON, by its content
 * type, that does not nest too deep.
 */

/** The methods whose requests carry a body to an endpoint. */
const withBody = new Set(["POST", "PUT", "PATCH"])

/** Whether a request of this method must have a JSON body. */
export const takesBody = (method: string): boolean => withBody.has(method)

/** `application/json`, in any case, with or without parameters (`; charset=utf-8`). */
export const isJson = (contentType: string | undefined): boolean =>
  contentType !== undefined && contentType.split(";")[0]!.trim().toLowerCase() === "application/json"

/**
 * How deep a body's JSON may nest arrays and objects. Schema's issues and
 * `JSON.stringify` recurse: 100 000 levels overflow the stack.
 */
export const maxDepth = 64

const quote = 0x22
const backslash = 0x5c
const openBracket = 0x5b
const closeBracket = 0x5d
const openBrace = 0x7b
const closeBrace = 0x7d

/** Whether JSON text nests arrays and objects deeper than `max`: one pass, strings skipped. */
export const nestedDeeperThan = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (inString) {
      if (char === backslash) i++
      else if (char === quote) inString = false
    } else if (char === quote) {
      inString = true
    } else if (char === openBracket || char === openBrace) {
      if (++depth > max) return true
    } else if (char === closeBracket || char === closeBrace) {
      depth--
    }
  }
  return false
}
