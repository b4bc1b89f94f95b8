/**
 * The layers of src/, read from the source with TypeScript's parser: which
 * module imports which (value and type imports alike, `export … from` and
 * `import()` included), and what Node loads for the root entry.
 *
 * - the core (agents, teams, DAGs, task groups, models, tools, policies,
 *   events) imports nothing of the layers above it: the HTTP server, the
 *   OpenAI provider, the test helpers, the printer;
 * - the model seam (`LanguageModel`, `ModelError`, `Policy`) imports nothing
 *   of the agent layer;
 * - `import … from "effect-agents"` does not load the `openai` SDK;
 * - the modules of the provider, of the test helpers and the printer are on
 *   no import cycle.
 */
import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Root from "effect-agents"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")

/** A module of src/ by its path from the root (`src/Agent.ts`), or a package by its name (`openai`, `node:http`). */
type Module = string

const sourceFiles = (dir: string): Array<Module> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort()

/** Every module specifier a file names in code (not in comments): imports, re-exports, `import()`, `import("…")` types. */
const specifiers = (file: string, text: string): Array<string> => {
  const found: Array<string> = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text)
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      if (ts.isStringLiteral(node.moduleReference.expression)) found.push(node.moduleReference.expression.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments
      if (argument !== undefined && ts.isStringLiteralLike(argument)) found.push(argument.text)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      if (ts.isStringLiteral(node.argument.literal)) found.push(node.argument.literal.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true))
  return found
}

const manifest: { readonly exports: Record<string, { readonly source?: string } | string> } = JSON.parse(
  fs.readFileSync(path.join(root, "package.json"), "utf8")
)

/** The package's own entries (`effect-agents`, `effect-agents/http`, …) and the sources they point at. */
const entries: ReadonlyMap<string, Module> = new Map(
  Object.entries(manifest.exports).flatMap(([subpath, target]) =>
    typeof target === "object" && target.source !== undefined
      ? [[path.posix.join("effect-agents", subpath), path.posix.normalize(target.source)] as const]
      : []
  )
)

/** What a specifier in `from` names: a file of src/ (its `.js` written for its `.ts`), or a package. */
const resolve = (from: Module, specifier: string): Module => {
  if (specifier.startsWith(".")) {
    const target = path.posix.join(path.posix.dirname(from), specifier).replace(/\.js$/, ".ts")
    if (target.endsWith(".ts")) return target
    return fs.existsSync(path.join(root, `${target}.ts`)) ? `${target}.ts` : `${target}/index.ts`
  }
  const own = entries.get(specifier)
  if (own !== undefined) return own
  if (specifier.startsWith("node:")) return specifier
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

/** The import graph of src/: each file and the modules it names. */
const graph: ReadonlyMap<Module, ReadonlyArray<Module>> = new Map(
  sourceFiles("src").map((file) => [
    file,
    [...new Set(specifiers(file, fs.readFileSync(path.join(root, file), "utf8")).map((s) => resolve(file, s)))]
  ])
)

/** Every module `from` reaches, each with the chain of imports that reaches it first (`from` first). */
const reach = (from: Module): ReadonlyMap<Module, ReadonlyArray<Module>> => {
  const chains = new Map<Module, ReadonlyArray<Module>>()
  const queue: Array<ReadonlyArray<Module>> = (graph.get(from) ?? []).map((next) => [from, next])
  for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) {
    const module = chain[chain.length - 1]!
    if (chains.has(module)) continue
    chains.set(module, chain)
    for (const next of graph.get(module) ?? []) if (!chains.has(next)) queue.push([...chain, next])
  }
  return chains
}

/** The chains of imports from `roots` to every module they reach that `forbidden` matches, as `a → b → c`. */
const violations = (roots: ReadonlyArray<Module>, forbidden: (module: Module) => boolean): Array<string> =>
  roots.flatMap((from) =>
    [...reach(from)].filter(([module]) => forbidden(module)).map(([, chain]) => chain.join(" → "))
  )

const under = (...dirs: ReadonlyArray<string>) => (module: Module) => dirs.some((dir) => module.startsWith(`${dir}/`))

/** The core: what runs agents, teams and DAGs, and the seams providers and tools plug into. */
const core = [
  "src/Agent.ts",
  "src/Team.ts",
  "src/Dag.ts",
  "src/TaskGroup.ts",
  "src/LanguageModel.ts",
  "src/Tool.ts",
  "src/Toolkit.ts",
  "src/Policy.ts",
  "src/ModelError.ts",
  "src/RunEvent.ts",
  "src/Run.ts",
  "src/RunState.ts",
  "src/Runnable.ts",
  "src/Session.ts",
  "src/SessionStore.ts"
]

/** What sits above the core: the HTTP server, the OpenAI provider, the SQL store, the test helpers (each with its machinery), the printer. */
const aboveTheCore = (module: Module) =>
  under(
    "src/http",
    "src/internal/http",
    "src/openai",
    "src/internal/openai",
    "src/sql",
    "src/internal/sql",
    "src/testing",
    "src/internal/testing"
  )(module) ||
  module === "src/Printer.ts" ||
  module === "openai" ||
  module.startsWith("@effect/sql")

describe("the import graph of src/", () => {
  it("reads every kind of import, in code only", () => {
    const text = [
      "/**",
      " * import { Doc } from \"./doc.js\"",
      " */",
      "import type { A } from \"./a.js\"",
      "import {",
      "  b",
      "} from \"./b.js\"",
      "export * as C from \"./c.js\"",
      "export type { D } from \"./d.js\"",
      "import \"./e.js\"",
      "const f = await import(\"./f.js\")",
      "type G = typeof import(\"./g.js\")",
      "const text = \"import x from './string.js'\""
    ].join("\n")
    expect(specifiers("src/X.ts", text)).toEqual(["./a.js", "./b.js", "./c.js", "./d.js", "./e.js", "./f.js", "./g.js"])
  })

  it("follows imports through files to packages: the openai SDK from effect-agents/openai", () => {
    // the walker finds what the checks below say is absent
    const chains = reach("src/index.ts")
    expect(chains.get("effect")?.length).toBeGreaterThan(1)
    expect(chains.get("src/internal/loop.ts")?.[0]).toBe("src/index.ts")
    expect(reach(entries.get("effect-agents/openai") ?? "src/openai/index.ts").has("openai")).toBe(true)
  })

  it("the core imports nothing of the HTTP server, the OpenAI provider, the SQL store, the test helpers or the printer", () => {
    expect({
      missing: core.filter((module) => !graph.has(module)),
      imports: violations(core, aboveTheCore)
    }).toEqual({ missing: [], imports: [] })
  })

  it("the model seam (LanguageModel, ModelError, Policy) imports nothing of the agent layer", () => {
    const seam = ["src/LanguageModel.ts", "src/ModelError.ts", "src/Policy.ts"]
    const agentLayer = new Set(["AgentError.ts", "Agent.ts", "Team.ts"])
    expect({
      missing: seam.filter((module) => !graph.has(module)),
      imports: violations(seam, (module) => agentLayer.has(path.posix.basename(module)))
    }).toEqual({ missing: [], imports: [] })
  })

  it("the root entry reaches no import of the openai SDK, nor of @effect/sql, nor of @effect/ai", () => {
    const rootEntry = entries.get("effect-agents")
    expect(rootEntry).toBe("src/index.ts")
    expect(
      violations(
        [rootEntry!],
        (module) => module === "openai" || module.startsWith("@effect/sql") || module.startsWith("@effect/ai")
      )
    ).toEqual([])
  })

  it("no module of the OpenAI provider, of the test helpers, nor the printer is on an import cycle", () => {
    const layers = [
      "src/openai/index.ts",
      "src/openai/OpenAiClient.ts",
      "src/openai/OpenAiModel.ts",
      "src/internal/openai/chatCompletions.ts",
      "src/testing/index.ts",
      "src/testing/OpenAiCompatServer.ts",
      "src/testing/ScriptedModel.ts",
      "src/internal/testing/script.ts",
      "src/Printer.ts",
      "src/ModelError.ts"
    ]
    // and by name, wherever they are: the check also reads a tree where they were elsewhere
    const names = new Set(layers.map((module) => path.posix.basename(module)).filter((name) => name !== "index.ts"))
    const checked = (module: Module) => layers.includes(module) || names.has(path.posix.basename(module))
    expect({
      missing: layers.filter((module) => !graph.has(module)),
      // a module on a cycle reaches itself
      cycles: [...graph.keys()].filter(checked).flatMap((module) => {
        const back = reach(module).get(module)
        return back === undefined ? [] : [back.join(" → ")]
      })
    }).toEqual({ missing: [], cycles: [] })
  })

  it("no module of src/ is on an import cycle, type imports included", () => {
    const cycles = [...graph.keys()].filter((module) => module.startsWith("src/")).flatMap((module) => {
      const back = reach(module).get(module)
      return back === undefined ? [] : [back.join(" → ")]
    })
    expect(cycles).toEqual([])
  })
})

/**
 * The URLs of the modules Node loads for `specifier` (ESM, through a resolve
 * hook, and CommonJS, through `require.cache`), imported by name from the
 * package's root under the `source` condition, as tests and examples do.
 */
const loadedBy = (specifier: string) => {
  const hooks = `const seen = new Set()
export async function resolve(specifier, context, next) {
  if (specifier === "layers-probe:loaded") {
    return { url: "data:text/javascript,export default " + encodeURIComponent(JSON.stringify([...seen])), shortCircuit: true }
  }
  const resolved = await next(specifier, context)
  seen.add(resolved.url)
  return resolved
}`
  const main = `import { register, createRequire } from "node:module"
import { pathToFileURL } from "node:url"
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}))
try {
  await import(process.argv[1])
} catch (error) {
  console.log(JSON.stringify(["failed: " + error]))
  process.exit(0)
}
const { default: esm } = await import("layers-probe:loaded")
const cjs = Object.keys(createRequire(process.cwd() + "/").cache).map((file) => pathToFileURL(file).href)
console.log(JSON.stringify([...esm, ...cjs]))`
  return Command.make(
    process.execPath,
    "--conditions=source",
    "--import",
    "tsx",
    "--input-type=module",
    "-e",
    main,
    specifier
  ).pipe(
    Command.workingDirectory(root),
    Command.string,
    Effect.map((out): ReadonlyArray<string> => JSON.parse(out))
  )
}

const isOpenAiSdk = (url: string) => url.includes("/node_modules/openai/")

describe("loading the package", () => {
  it.effect("import … from \"effect-agents\" does not load the openai SDK; effect-agents/openai does", () =>
    Effect.gen(function*() {
      const [core, provider] = yield* Effect.all([loadedBy("effect-agents"), loadedBy("effect-agents/openai")], {
        concurrency: 2
      })
      const failed = (url: string) => url.startsWith("failed: ")
      // the probe sees what it looks for: the core's own modules, and the SDK where it is loaded
      expect(core.filter(failed)).toEqual([])
      expect(core.filter((url) => url.endsWith("/src/internal/loop.ts")).length).toBe(1)
      // (its first three files, if any, say enough)
      expect(core.filter(isOpenAiSdk).slice(0, 3)).toEqual([])
      expect(provider.filter(failed)).toEqual([])
      expect(provider.filter(isOpenAiSdk).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeContext.layer)))
})

/** An entry's exports, imported when the test runs, so that the other checks of this file run where it is missing. */
const exportsOf = (specifier: string): Effect.Effect<Record<string, unknown>> =>
  Effect.promise(() => import(/* @vite-ignore */ specifier))

describe("the names that moved between layers", () => {
  it.effect("the provider is effect-agents/openai's, not the root entry's; the model errors are ModelError's", () =>
    Effect.gen(function*() {
      const OpenAi = yield* exportsOf("effect-agents/openai")
      const Testing = yield* exportsOf("effect-agents/testing")
      expect(["OpenAiClient", "OpenAiModel"].filter((name) => Object.hasOwn(Root, name))).toEqual([])
      expect(Object.keys(OpenAi).sort()).toEqual(["OpenAiClient", "OpenAiModel"])
      expect(Object.keys(Testing).sort()).toEqual([
        "AnthropicCompatServer",
        "OpenAiCompatServer",
        "Recording",
        "ScriptedModel"
      ])
      expect(Root.ModelError.RateLimited).toBe(Root.AgentError.RateLimited)
    }))

  it("printing is the Printer's: printResponse, formatTimeline, printTimeline", () => {
    expect(["printResponse", "formatTimeline", "printTimeline"].filter((name) => Object.hasOwn(Root.Printer, name)))
      .toEqual(["printResponse", "formatTimeline", "printTimeline"])
    expect({
      agent: ["printResponse"].filter((name) => Object.hasOwn(Root.Agent, name)),
      dag: ["formatTimeline", "printTimeline"].filter((name) => Object.hasOwn(Root.Dag, name))
    }).toEqual({ agent: [], dag: [] })
  })
})
