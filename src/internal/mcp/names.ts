/**
 * Tool names as models take them: `[a-zA-Z0-9_-]`, at most 64 characters,
 * distinct. MCP names may hold `.` or `/` and collide across servers.
 */

/** A name made of `[a-zA-Z0-9_-]` only. */
export const sanitise = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_")

/**
 * Names prefixed, sanitised, at most 64 characters, distinct (a clash after
 * sanitising gets `_2`, `_3`...), in the order given.
 */
export const distinct = (prefix: string, names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const taken = new Set<string>()
  return names.map((name) => {
    const base = `${prefix}${sanitise(name)}`.slice(0, 64) || "tool"
    let candidate = base
    for (let n = 2; taken.has(candidate); n++) candidate = `${base.slice(0, 64 - `_${n}`.length)}_${n}`
    taken.add(candidate)
    return candidate
  })
}
