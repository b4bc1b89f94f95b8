import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")

const Packages = Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), {
  default: () => ({})
})
const Manifest = Schema.Struct({
  name: Schema.String,
  dependencies: Packages,
  peerDependencies: Packages,
  peerDependenciesMeta: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: Schema.Struct({ optional: Schema.optional(Schema.Boolean) }) }),
    { default: () => ({}) }
  ),
  devDependencies: Packages,
  exports: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})
const manifest = Schema.decodeUnknownSync(Manifest)(
  JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
)

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))

/**
 * The packages `src/` imports at run time or for its types (`effect`,
 * `@effect/platform`, `openai`), each with the directories of `src/` whose
 * files import it.
 */
const importedPackages = (): ReadonlyMap<string, ReadonlySet<string>> => {
  const importers = new Map<string, Set<string>>()
  for (const file of sourceFiles(path.join(root, "src"))) {
    // the code's imports, not those of its JSDoc examples
    const code = fs.readFileSync(file, "utf8").split("\n").filter((line) => !/^\s*\*/.test(line)).join("\n")
    for (const [, specifier] of code.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      if (specifier === undefined || specifier.startsWith(".") || specifier.startsWith("node:")) continue
      const parts = specifier.split("/")
      const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
      const dirs = importers.get(name) ?? new Set()
      dirs.add(path.relative(root, path.dirname(file)).split(path.sep).join("/"))
      importers.set(name, dirs)
    }
  }
  return importers
}

/** Effect's packages: one copy in an app, so the app's, never one of ours nested beside it. */

/**
 * The packages only one entry needs, with the directories of `src/` that
 * make that entry: optional peers, so an app that does not use the entry
 * installs nothing for it.
 */
const optionalPeers: Record<string, ReadonlyArray<string>> = {
  "@effect/ai": ["src/effect-ai", "src/internal/effect-ai"],
  "@effect/cluster": ["src/durable"],
  "@effect/sql": ["src/durable", "src/internal/sql", "src/sql"],
  "@effect/workflow": ["src/durable"],
  "@modelcontextprotocol/client": ["src/internal/mcp"],
  "@modelcontextprotocol/server": ["src/internal/mcp"],
  "openai": ["src/internal/openai", "src/openai"]
}

describe("package.json", () => {
  it("declares every package src/ imports as a peer (with a dev copy): Effect's required, the OpenAI SDK, @effect/ai, @effect/sql and the durable engine optional", () => {
    const imported = importedPackages()
    expect([...imported.keys()].sort()).toEqual(
      [
        "@effect/ai",
        "@effect/cluster",
        "@effect/platform",
        "@effect/platform-node",
        "@effect/sql",
        "@effect/workflow",
        "@modelcontextprotocol/client",
        "@modelcontextprotocol/server",
        "effect",
        "openai"
      ]
    )
    expect(manifest.dependencies).toEqual({})
    for (const name of imported.keys()) {
      expect({
        name,
        peer: manifest.peerDependencies[name] !== undefined,
        optional: manifest.peerDependenciesMeta[name]?.optional ?? false,
        dev: manifest.devDependencies[name]
      }).toEqual({
        name,
        peer: true,
        optional: Object.hasOwn(optionalPeers, name),
        dev: manifest.peerDependencies[name]
      })
    }
  })

  it("imports an optional peer only from the entry that needs it", () => {
    const imported = importedPackages()
    for (const [name, dirs] of Object.entries(optionalPeers)) {
      expect({ name, importers: [...(imported.get(name) ?? [])].sort() }).toEqual({ name, importers: dirs })
    }
  })

  it("asks for the Effect 3 line, and the openai SDK 6, @effect/sql, the durable engine and the MCP SDK 2 (client and server) only for what needs them", () => {
    expect(manifest.peerDependencies).toEqual({
      "@effect/ai": expect.stringMatching(/^\^0\.37\./),
      "@effect/cluster": expect.stringMatching(/^\^0\.60\./),
      "@effect/workflow": expect.stringMatching(/^\^0\.19\./),
      "@effect/platform": expect.stringMatching(/^\^0\.97\./),
      "@effect/platform-node": expect.stringMatching(/^\^0\.108\./),
      "@effect/sql": expect.stringMatching(/^\^0\.52\./),
      "@modelcontextprotocol/client": expect.stringMatching(/^\^2\./),
      "@modelcontextprotocol/server": expect.stringMatching(/^\^2\./),
      "effect": expect.stringMatching(/^\^3\./),
      "openai": expect.stringMatching(/^\^6\./)
    })
    expect(manifest.peerDependenciesMeta).toEqual({
      "@effect/ai": { optional: true },
      "@effect/cluster": { optional: true },
      "@effect/sql": { optional: true },
      "@effect/workflow": { optional: true },
      "@modelcontextprotocol/client": { optional: true },
      "@modelcontextprotocol/server": { optional: true },
      "openai": { optional: true }
    })
  })
})

/** How Node resolves each specifier from the package's root (a self-reference by its name). */
const resolveAll = (specifiers: ReadonlyArray<string>, conditions: ReadonlyArray<string>) =>
  Command.make(
    process.execPath,
    ...conditions.map((condition) => `--conditions=${condition}`),
    "-e",
    `const out = {}
for (const specifier of JSON.parse(process.argv[1])) {
  try { out[specifier] = { path: require.resolve(specifier) } }
  catch (error) { out[specifier] = { code: error.code, message: error.message.split("\\n")[0] } }
}
console.log(JSON.stringify(out))`,
    JSON.stringify(specifiers)
  ).pipe(
    Command.workingDirectory(root),
    Command.string,
    Effect.map((out): Record<string, { path?: string; code?: string; message?: string }> => JSON.parse(out))
  )

const publicEntries = {
  "effect-agents": "index",
  "effect-agents/testing": "testing/index",
  "effect-agents/openai": "openai/index",
  "effect-agents/http": "http/index",
  "effect-agents/sql": "sql/index",
  "effect-agents/durable": "durable/index",
  "effect-agents/mcp": "mcp/index",
  "effect-agents/effect-ai": "effect-ai/index"
}
const notExported = [
  "effect-agents/internal/loop",
  "effect-agents/internal/loop.js",
  "effect-agents/src/internal/loop.ts",
  "effect-agents/dist/internal/loop.js",
  "effect-agents/openai/OpenAiModel",
  "effect-agents/testing/ScriptedModel",
  "effect-agents/internal/openai/chatCompletions"
]

/** Where a public entry resolves: its source under the `source` condition, its build otherwise. */
const expected = (file: string, conditions: ReadonlyArray<string>) =>
  conditions.includes("source") ? path.join(root, "src", `${file}.ts`) : path.join(root, "dist", `${file}.js`)

describe("package.json exports", () => {
  for (const conditions of [["source"], []]) {
    it.effect(`resolves the public entries and package.json, not the internal modules (conditions: [${conditions}])`, () =>
      Effect.gen(function*() {
        const resolved = yield* resolveAll(
          [...Object.keys(publicEntries), "effect-agents/package.json", ...notExported],
          conditions
        )
        for (const [specifier, file] of Object.entries(publicEntries)) {
          const target = expected(file, conditions)
          const outcome = resolved[specifier]!
          // without a build (npm pack builds dist/ first), Node resolved the entry to a file not there yet
          const found = outcome.path ??
            (outcome.code === "MODULE_NOT_FOUND" && outcome.message?.includes(`'${target}'`) ? target : outcome.message)
          expect({ specifier, found }).toEqual({ specifier, found: target })
        }
        expect(resolved["effect-agents/package.json"]).toEqual({ path: path.join(root, "package.json") })
        for (const specifier of notExported) {
          expect({ specifier, code: resolved[specifier]?.code }).toEqual({
            specifier,
            code: "ERR_PACKAGE_PATH_NOT_EXPORTED"
          })
        }
      }).pipe(Effect.provide(NodeContext.layer)))
  }

  it("points each entry's types and build where tsconfig.build.json compiles its source", () => {
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (subpath === "./package.json") continue
      const { default: built, source, types } = target as Record<string, string>
      expect(source).toMatch(/^\.\/src\/.*\.ts$/)
      expect(fs.existsSync(path.join(root, source!))).toBe(true)
      const stem = source!.replace(/^\.\/src\//, "./dist/").replace(/\.ts$/, "")
      expect({ subpath, types, built }).toEqual({ subpath, types: `${stem}.d.ts`, built: `${stem}.js` })
    }
  })

  it("lists its public entries explicitly", () => {
    expect(Object.keys(manifest.exports).sort()).toEqual([
      ".",
      "./durable",
      "./effect-ai",
      "./http",
      "./mcp",
      "./openai",
      "./package.json",
      "./sql",
      "./testing"
    ])
  })
})
