import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    sequence: { concurrent: false },
    testTimeout: 30_000,
    // packages that export their TypeScript sources under "source" (eventsource, for the MCP SDK and the AI SDK),
    // and the packages that import them: transformed, not loaded by Node
    server: { deps: { inline: [/@modelcontextprotocol\//, /@ai-sdk\//, "ai", "eventsource", "eventsource-parser"] } },
    // Postgres for the tests that need it (test/fixtures/postgres.ts)
    globalSetup: ["test/fixtures/postgresSetup.ts"],
    // the JSON report is what .ci/run counts
    reporters: ["default", "json"],
    outputFile: { json: ".vitest/results.json" }
  }
})
