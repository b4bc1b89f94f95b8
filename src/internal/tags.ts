import * as Predicate from "effect/Predicate"

/** Whether `u` has a string `_tag` among `tags`: the guards of the error groups. */
export const hasTagIn = (u: unknown, tags: ReadonlySet<string>): boolean =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)
