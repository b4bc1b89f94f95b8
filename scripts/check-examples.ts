/**
 * Typechecks every ```ts example in the JSDoc of src/: each becomes a module
 * of its own (in memory, beside src/, so `effect-agents`,
 * `effect-agents/openai`, `effect-agents/http` and `effect-agents/testing`
 * resolve to the sources through the `source` condition), and one
 * TypeScript program checks them all with the project's compiler options.
 * Prints each failing example's errors at their lines in src/, and exits 1
 * if any failed.
 *
 *   npm run check:examples
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import ts from "typescript"

/** One ```ts block of a JSDoc comment. */
export interface Example {
  /** The source file, relative to the root. */
  readonly file: string
  /** The 1-based line of the example's first line of code in `file`. */
  readonly line: number
  readonly code: string
}

/** One error of an example, at its place in the source file. */
export interface Failure {
  /** The example's first line: `src/Agent.ts:12`. */
  readonly example: string
  /** Where the error is: `src/Agent.ts:14:7`. */
  readonly at: string
  readonly message: string
}

/** The ```ts blocks of the JSDoc comments (`/** ... *\/`) in a file's text. */
export const extractExamples = (file: string, text: string): Array<Example> => {
  const examples: Array<Example> = []
  const lines = text.split("\n")
  let inComment = false
  let block: { line: number; code: Array<string> } | undefined
  lines.forEach((raw, index) => {
    if (!inComment) {
      if (/^\s*\/\*\*/.test(raw) && !raw.includes("*/")) inComment = true
      return
    }
    if (/^\s*\*\//.test(raw)) {
      inComment = false
      block = undefined
      return
    }
    // a comment line without its leading `*` is taken as it is
    const content = raw.replace(/^\s*\* ?/, "")
    if (block === undefined) {
      if (/^```(ts|typescript)\s*$/.test(content.trim())) block = { line: index + 2, code: [] }
    } else if (content.trim() === "```") {
      examples.push({ file, line: block.line, code: block.code.join("\n") })
      block = undefined
    } else {
      block.code.push(content)
    }
  })
  return examples
}

/** The .ts files under a directory. */
const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()

/** The project's compiler options, made lenient only where an example's nature asks. */
const compilerOptions = (root: string): ts.CompilerOptions => {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (parsed === undefined) throw new Error("cannot read tsconfig.json")
  // an example shows a value without using it
  return { ...parsed.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false }
}

/**
 * Typechecks examples in one program. Each is a module at a path of its own
 * under `<root>/.examples/`, which exists only in memory.
 */
export const checkExamples = (root: string, examples: ReadonlyArray<Example>): Array<Failure> => {
  const options = compilerOptions(root)
  const virtual = new Map<string, Example>()
  examples.forEach((example, index) => {
    const name = `${example.file.replace(/[^a-zA-Z0-9]+/g, "_")}_L${example.line}_${index}.ts`
    virtual.set(path.join(root, ".examples", name), example)
  })
  const host = ts.createCompilerHost(options, true)
  const { fileExists, getSourceFile, readFile } = host
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file)
  // each is a module (package.json's "type": "module"), so its names are its own
  const text = (example: Example) => `${example.code}\n`
  host.readFile = (file) => {
    const example = virtual.get(file)
    return example === undefined ? readFile.call(host, file) : text(example)
  }
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) => {
    const example = virtual.get(file)
    return example === undefined
      ? getSourceFile.call(host, file, languageVersion, onError, shouldCreate)
      : ts.createSourceFile(file, text(example), languageVersion, true)
  }
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host })
  const failures: Array<Failure> = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const example = diagnostic.file === undefined ? undefined : virtual.get(path.normalize(diagnostic.file.fileName))
    if (diagnostic.file === undefined || example === undefined || diagnostic.start === undefined) {
      // not an example's: the options, or a file of src/ (which `npm run typecheck` reports)
      if (diagnostic.file === undefined) failures.push({ example: "(options)", at: "(options)", message })
      continue
    }
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    failures.push({
      example: `${example.file}:${example.line}`,
      at: `${example.file}:${example.line + at.line}:${at.character + 1}`,
      message: `TS${diagnostic.code}: ${message}`
    })
  }
  return failures
}

const main = (root: string) => {
  const files = sourceFiles(path.join(root, "src"))
  const examples = files.flatMap((file) =>
    extractExamples(path.relative(root, file).split(path.sep).join("/"), fs.readFileSync(file, "utf8"))
  )
  const started = performance.now()
  const failures = checkExamples(root, examples)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  for (const failure of failures) {
    console.error(`${failure.at} - ${failure.message} (the example at ${failure.example})`)
  }
  const failed = new Set(failures.map((failure) => failure.example)).size
  console.log(
    failures.length === 0
      ? `check:examples: the ${examples.length} JSDoc examples of src/ compile (${seconds} s)`
      : `check:examples: ${failed} of the ${examples.length} JSDoc examples of src/ do not compile`
  )
  if (failures.length > 0) process.exitCode = 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(path.resolve(import.meta.dirname, ".."))
}
