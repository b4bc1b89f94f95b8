import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
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
  devDependencies: Packages
})
const manifest = Schema.decodeUnknownSync(Manifest)(
  JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
)

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => path.join(entry.parentPath, entry.name))

/** The packages `src/` imports at run time or for its types: `effect`, `@effect/platform`, `openai`. */
const importedPackages = (): ReadonlySet<string> => {
  const names = new Set<string>()
  for (const file of sourceFiles(path.join(root, "src"))) {
    // the code's imports, not those of its JSDoc examples
    const code = fs.readFileSync(file, "utf8").split("\n").filter((line) => !/^\s*\*/.test(line)).join("\n")
    for (const [, specifier] of code.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      if (specifier === undefined || specifier.startsWith(".") || specifier.startsWith("node:")) continue
      const parts = specifier.split("/")
      names.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!)
    }
  }
  return names
}

/** Effect's packages: one copy in an app, so the app's, never one of ours nested beside it. */
const isEffectPackage = (name: string) => name === "effect" || name.startsWith("@effect/")

describe("package.json", () => {
  it("declares every package src/ imports: Effect's as peers (and dev copies), the rest as dependencies", () => {
    const imported = [...importedPackages()].sort()
    expect(imported).toEqual(["@effect/platform", "@effect/platform-node", "effect", "openai"])
    for (const name of imported) {
      if (isEffectPackage(name)) {
        expect({ name, peer: manifest.peerDependencies[name] !== undefined }).toEqual({ name, peer: true })
        expect({ name, dependency: manifest.dependencies[name] }).toEqual({ name, dependency: undefined })
        expect({ name, dev: manifest.devDependencies[name] }).toEqual({
          name,
          dev: manifest.peerDependencies[name]
        })
      } else {
        expect({ name, dependency: manifest.dependencies[name] !== undefined }).toEqual({ name, dependency: true })
      }
    }
  })

  it("asks for the Effect 3 line", () => {
    expect(manifest.peerDependencies).toEqual({
      "@effect/platform": expect.stringMatching(/^\^0\.97\./),
      "@effect/platform-node": expect.stringMatching(/^\^0\.108\./),
      "effect": expect.stringMatching(/^\^3\./)
    })
  })
})
