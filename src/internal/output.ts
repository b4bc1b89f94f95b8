/**
 * An agent's structured output: the response format its model is asked for,
 * and the decoder of its answers.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Issue } from "../AgentError.js"
import { issuesOf } from "../AgentError.js"
import type * as LanguageModel from "../LanguageModel.js"
import * as JsonSchema from "./jsonSchema.js"

/** The structured output of an agent: its response format and its decoder. */
export interface OutputSpec<Output> {
  readonly format: LanguageModel.ResponseFormat
  readonly decode: (text: string) => Either.Either<Output, ReadonlyArray<Issue>>
}

export const outputSpec = <Output, I>(name: string, schema: Schema.Schema<Output, I>): OutputSpec<Output> => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all" })
  const jsonSchema = JsonSchema.fromSchema(schema)
  return {
    format: { name: toIdentifier(name), schema: jsonSchema, strict: JsonSchema.isStrictCompatible(jsonSchema) },
    decode: (text) =>
      Either.try({
        try: (): unknown => JSON.parse(text),
        catch: (error): ReadonlyArray<Issue> => [
          { path: "(root)", message: `the answer is not valid JSON: ${(error as Error).message}` }
        ]
      }).pipe(Either.flatMap((json) => Either.mapLeft(decode(json), issuesOf)))
  }
}

/** A name usable as a tool or schema name: letters, digits, `_` and `-`. */
export const toIdentifier = (name: string): string =>
  name.trim().replace(/[^a-zA-Z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64) || "agent"
