import { describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import { checkExamples, extractExamples } from "../scripts/check-examples.js"

const root = path.resolve(import.meta.dirname, "..")

const source = [
  "/**", //                                 1
  " * Adds.", //                            2
  " *", //                                  3
  " * @example", //                         4
  " * ```ts", //                            5
  " * import { Effect } from \"effect\"", // 6
  "const pasted = 1", //                    7: a line that lost its `*`
  " * const sum = Effect.succeed(1 + 2)", // 8
  " * ```", //                              9
  " */", //                                 10
  "export const add = (a: number, b: number) => a + b", // 11
  "/* ```ts", //                            12: not JSDoc
  "const ignored = 1", //                   13
  "``` */", //                              14
  "/**", //                                 15
  " * @example", //                         16
  " * ```ts", //                            17
  " * const n: number = \"one\"", //        18
  " * ```", //                              19
  " */", //                                 20
  "export const two = 2" //                 21
].join("\n")

describe("scripts/check-examples", () => {
  it("extracts the ts blocks of JSDoc comments, each with the line of its first line of code", () => {
    expect(extractExamples("src/Add.ts", source)).toEqual([
      {
        file: "src/Add.ts",
        line: 6,
        code: "import { Effect } from \"effect\"\nconst pasted = 1\nconst sum = Effect.succeed(1 + 2)"
      },
      { file: "src/Add.ts", line: 18, code: "const n: number = \"one\"" }
    ])
  })

  it("typechecks them in one program and reports each error at its line in the source file", () => {
    const failures = checkExamples(root, extractExamples("src/Add.ts", source))
    expect(failures).toEqual([
      {
        example: "src/Add.ts:18",
        at: "src/Add.ts:18:7",
        message: "TS2322: Type 'string' is not assignable to type 'number'."
      }
    ])
  })

  it("gives each example its own names", () => {
    const same = { file: "src/Same.ts", code: "const value = 1\nconsole.log(value)" }
    expect(checkExamples(root, [{ ...same, line: 3 }, { ...same, line: 9 }])).toEqual([])
  })
})
