/**
 * The playground in a real browser: headless Chromium (Debian's, at
 * /usr/bin/chromium) driven by playwright-core, against a server started
 * here. Without chromium the tests fail on CI (`CI=true`, where `.ci/run`
 * installs it) and are skipped elsewhere, with one line saying why.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Config, Context, Deferred, Effect, Layer, Redacted, Schema } from "effect"
import { Agent, Dag, Team, Tool, Toolkit } from "effect-agents"
import { AgentServer, Registry } from "effect-agents/http"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { OpenAiCompatServer, ScriptedModel } from "effect-agents/testing"
import { existsSync } from "node:fs"
import { type Browser, chromium, type Page } from "playwright-core"

const executablePath = "/usr/bin/chromium"
const installed = existsSync(executablePath)
const onCi = Effect.runSync(Config.boolean("CI").pipe(Config.withDefault(false)))
if (!installed && !onCi) console.log(`playground: skipped, no chromium at ${executablePath} (apt-get install chromium)`)

/** Where the screenshots go: the test's own directory; the README's (docs/) with UPDATE_SCREENSHOTS=true. */
const screenshots = Effect.runSync(Config.boolean("UPDATE_SCREENSHOTS").pipe(Config.withDefault(false)))
  ? "docs"
  : ".vitest"

/** How long the page may take to show something: bounded, never a sleep. */
const timeout = 15_000

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** A headless Chromium, closed with the scope; on CI, its absence fails the test with the reason. */
const browser = Effect.acquireRelease(
  installed
    ? promise(() =>
      chromium.launch({
        executablePath,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync"
        ]
      })
    )
    : Effect.dieMessage(
      `playground: no chromium at ${executablePath}; CI installs it (.ci/run: apt-get install chromium)`
    ),
  (browser: Browser) => promise(() => browser.close())
)

/** A page on the playground; every error it logs (a CSP violation, an exception) is kept. */
const open = (browser: Browser, url: string) =>
  Effect.gen(function*() {
    const page = yield* promise(() => browser.newPage({ viewport: { width: 1280, height: 860 } }))
    const errors: Array<string> = []
    page.on("pageerror", (error) => errors.push(error.message))
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text())
    })
    yield* promise(() => page.goto(`${url}/playground`))
    yield* promise(() => page.waitForSelector("body[data-ready=true]", { timeout }))
    return { page, errors }
  })

const run = (page: Page, target: string, input: string) =>
  promise(async () => {
    await page.selectOption("#target", target)
    await page.fill("#input", input)
    await page.click("#run")
  })

const text = (page: Page, selector: string) => promise(() => page.locator(selector).allTextContents())

// -----------------------------------------------------------------------------
// The server: a team whose members call tools, a DAG with an agent in a node,
// an agent on a model server that never answers, and one that answers HTML
// -----------------------------------------------------------------------------

const webSearch = Tool.make("web_search", {
  description: "Search the web",
  parameters: { query: Schema.String },
  handler: ({ query }) => `3 pages about ${query}`
})

const calculate = Tool.make("calculate", {
  description: "Evaluate arithmetic",
  parameters: { expression: Schema.String },
  handler: () => 42
})

const hostile =
  "<img src=x onerror=\"document.body.dataset.pwned='yes'\"><script>document.body.dataset.pwned='yes'</script>"

const member = (name: string, tool: typeof webSearch | typeof calculate, argument: Record<string, unknown>) =>
  Effect.flatMap(
    ScriptedModel.make(ScriptedModel.useEachTool({
      arguments: { [tool.name]: argument },
      latency: "30 millis",
      chunkInterval: "10 millis"
    })),
    (model) => Agent.make({ name, instructions: "Use your tool, then answer.", model, toolkit: Toolkit.make(tool) })
  )

const registry = (compat: OpenAiCompatServer.OpenAiCompatServer, summaryGate: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const searcher = yield* member("Web Searcher", webSearch, { query: "Effect 3.0 release" })
    const analyst = yield* member("Analyst", calculate, { expression: "6 * 7" })
    const leader = yield* ScriptedModel.make(ScriptedModel.useEachTool({
      arguments: {
        Web_Searcher: { input: "When did Effect 3.0 ship?" },
        Analyst: { input: "What is 6 * 7?" }
      },
      answer: () => "Effect 3.0 shipped in April 2024; 6 * 7 is 42.",
      chunkInterval: "10 millis"
    }))
    const team = yield* Team.make({
      name: "Research Team",
      mode: "coordinate",
      leader: { instructions: "Delegate, then answer.", model: leader },
      members: [searcher, analyst]
    })
    const summarizer = yield* member("summarizer", webSearch, { query: "Q3 figures" })
    const report = Dag.make<string>("report").pipe(
      Dag.node("ingest", (_, quarter) => Effect.succeed(quarter.toUpperCase())),
      Dag.node("summary", {
        dependsOn: ["ingest"],
        run: ({ ingest }) =>
          Deferred.await(summaryGate).pipe(
            Effect.zipRight(summarizer.run(`Summarize ${ingest}`)),
            Effect.map((result) => result.content)
          )
      }),
      Dag.node("check", { dependsOn: ["ingest"], run: ({ ingest }) => Effect.succeed(ingest.length > 0) }),
      Dag.node("publish", { dependsOn: ["summary", "check"], run: ({ summary }) => Effect.succeed(summary) })
    )
    const remote = yield* OpenAiModel.make({ model: "sim" }).pipe(
      Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-test"), baseURL: compat.url })),
      Effect.flatMap((model) => Agent.make({ name: "remote", instructions: "", model }))
    )
    const echo = yield* Effect.flatMap(
      ScriptedModel.make(() => ({ text: hostile })),
      (model) => Agent.make({ name: "echo", instructions: "", model })
    )
    return { agents: [remote, echo], teams: [team], dags: [Registry.dag(report, Schema.String)] }
  })

const serve = (options?: AgentServer.Options) =>
  Effect.gen(function*() {
    const compat = yield* OpenAiCompatServer.make(() => ({ hang: true }))
    /** The DAG's "summary" node waits for it: the page shows the DAG mid-run. */
    const summaryGate = yield* Deferred.make<void>()
    const context = yield* Layer.build(
      AgentServer.layer({ port: 0, playground: true, ...options }).pipe(
        Layer.provide(Registry.layer(registry(compat, summaryGate)))
      )
    )
    return { server: Context.get(context, AgentServer.AgentServer), compat, summaryGate }
  })

describe.skipIf(!installed && !onCi)("the playground", () => {
  it.scopedLive("is one page from memory, with a policy that allows its own script and style only", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const response = yield* HttpClient.get(`${server.url}/playground`).pipe(Effect.provide(FetchHttpClient.layer))
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("text/html; charset=utf-8")
      const policy = response.headers["content-security-policy"]!
      expect(policy).toContain("default-src 'none'")
      expect(policy).toContain("connect-src 'self'")
      expect(policy).toContain("require-trusted-types-for 'script'")
      expect(policy).toMatch(/script-src 'sha256-[\w+/=]+'/)
      const page = yield* response.text
      expect(page).not.toMatch(/(src|href)="https?:/)
      console.log(`playground: the page is ${(Buffer.byteLength(page) / 1024).toFixed(1)} KB`)
      expect(Buffer.byteLength(page)).toBeLessThan(40 * 1024)
      // without a token, the page is the API's: only for a Host that names the server (no DNS rebinding)
      const rebound = yield* HttpClient.execute(
        HttpClientRequest.get(`${server.url}/playground`).pipe(HttpClientRequest.setHeader("host", "evil.example"))
      ).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layer))
      expect(rebound.status).toBe(403)
    }))

  it.scopedLive(
    "runs a team live: the members as a tree, each tool call, the answer and the metrics",
    () =>
      Effect.gen(function*() {
        const { server } = yield* serve()
        const { errors, page } = yield* open(yield* browser, server.url)
        expect(yield* text(page, "#target optgroup")).toHaveLength(3)

        yield* run(page, "Research Team", "When did Effect 3.0 ship, and what is 6 * 7?")
        yield* promise(() => page.waitForSelector("#status.completed", { timeout }))

        // the tree, by path: the team, and its members below it, done
        const paths = yield* promise(() =>
          page.locator("li.member").evaluateAll((items) => items.map((item) => item.getAttribute("data-path")))
        )
        expect(paths).toEqual(["Research Team", "Research Team/Web Searcher", "Research Team/Analyst"])
        expect(yield* text(page, "li.member.done > .head .name")).toHaveLength(3)
        expect(yield* text(page, "li.member.running")).toEqual([])
        // each member's tool call: arguments, result, duration
        const search = yield* text(page, "li[data-path='Research Team/Web Searcher'] li.call.ok[data-tool=web_search]")
        expect(search).toHaveLength(1)
        expect(search[0]).toMatch(
          /^web_search\(\{"query":"Effect 3\.0 release"\}\) → 3 pages about Effect 3\.0 release\d+ ms$/
        )
        const calc = yield* text(page, "li[data-path='Research Team/Analyst'] li.call.ok[data-tool=calculate]")
        expect(calc[0]).toContain("({\"expression\":\"6 * 7\"}) → 42")
        // the leader's delegations are its tool calls
        expect(yield* text(page, "li[data-path='Research Team'] > .tools > li.call")).toHaveLength(2)
        expect((yield* text(page, "#answer"))[0]).toBe("Effect 3.0 shipped in April 2024; 6 * 7 is 42.")
        const metrics = (yield* text(page, "#metrics"))[0]!
        expect(metrics).toMatch(/tokens in\d+tokens out\d+tokens\d+steps6tool calls4/)
        expect(metrics).toContain("duration")
        yield* promise(() => page.screenshot({ path: `${screenshots}/playground-team.png`, fullPage: true }))
        expect(errors).toEqual([])
      }),
    60_000
  )

  it.scopedLive("runs a DAG live: its graph, every node done, and its timeline", () =>
    Effect.gen(function*() {
      const { server, summaryGate } = yield* serve()
      const { errors, page } = yield* open(yield* browser, server.url)
      yield* promise(() => page.selectOption("#target", "report"))
      // the graph is drawn before the run: four nodes pending, four edges
      yield* promise(() => page.waitForSelector(".dag-node[data-node=publish].pending", { timeout }))
      expect(yield* promise(() => page.locator("#graph path").count())).toBe(4)

      yield* run(page, "report", "\"q3\"")
      // live: the nodes light up as they run; "summary" waits at its gate
      yield* promise(() => page.waitForSelector(".dag-node[data-node=summary].running", { timeout }))
      yield* promise(() => page.waitForSelector(".dag-node[data-node=check].completed", { timeout }))
      expect(yield* text(page, ".dag-node.pending .label")).toEqual(["publish"])
      yield* Deferred.succeed(summaryGate, undefined)
      yield* promise(() => page.waitForSelector("#status.completed", { timeout }))
      expect(yield* text(page, ".dag-node.completed .label")).toEqual(["ingest", "summary", "check", "publish"])
      expect(yield* text(page, "li.member.running")).toEqual([])
      expect(yield* text(page, "#timeline .row .name")).toEqual(["ingest", "summary", "check", "publish"])
      for (const outcome of yield* text(page, "#timeline .row .outcome")) expect(outcome).toMatch(/^✓ \d+ ms$/)
      // the agent inside a node, below it, with its tool call
      expect(yield* text(page, "li[data-path='report/summary/summarizer'] li.call.ok[data-tool=web_search]"))
        .toHaveLength(1)
      expect((yield* text(page, "#metrics"))[0]).toContain("statuscompletednodes4")
      yield* promise(() => page.screenshot({ path: `${screenshots}/playground-dag.png`, fullPage: true }))
      expect(errors).toEqual([])
    }), 60_000)

  it.scopedLive(
    "Stop aborts the request, which interrupts the run down to the model's request",
    () =>
      Effect.gen(function*() {
        const { compat, server } = yield* serve()
        const { errors, page } = yield* open(yield* browser, server.url)
        yield* run(page, "remote", "hang")
        yield* compat.awaitStats((stats) => stats.open === 1)
        yield* promise(() => page.click("#stop"))
        yield* promise(() => page.waitForSelector("#status.stopped", { timeout }))
        expect(yield* text(page, "li[data-path=remote] > .head .state")).toEqual(["stopped"])
        const stats = yield* compat.awaitStats((stats) => stats.abortedByClient === 1).pipe(
          Effect.timeoutFail({
            duration: "10 seconds",
            onTimeout: () => new Error("the model's request was not closed")
          })
        )
        expect(stats).toMatchObject({ open: 0, abortedByClient: 1, completed: 0 })
        expect(yield* promise(() => page.isEnabled("#run"))).toBe(true)
        expect(errors).toEqual([])
      }),
    60_000
  )

  it.scopedLive(
    "replays a logged run (started detached) from its first event: the tree, the calls, the answer",
    () =>
      Effect.gen(function*() {
        const { server } = yield* serve()
        const started = yield* HttpClientRequest.post(`${server.url}/v1/agents/Research%20Team/runs`).pipe(
          HttpClientRequest.bodyUnsafeJson({ input: "When did Effect 3.0 ship?", detach: true, runId: "logged-1" }),
          HttpClient.execute,
          Effect.provide(FetchHttpClient.layer)
        )
        expect(started.status).toBe(202)
        const { errors, page } = yield* open(yield* browser, server.url)
        yield* promise(async () => {
          await page.fill("#replay-id", "logged-1")
          await page.click("#replay")
        })
        yield* promise(() => page.waitForSelector("#status.completed", { timeout }))
        const paths = yield* promise(() =>
          page.locator("li.member").evaluateAll((items) => items.map((item) => item.getAttribute("data-path")))
        )
        expect(paths).toEqual(["Research Team", "Research Team/Web Searcher", "Research Team/Analyst"])
        expect(yield* text(page, "li.call.ok")).toHaveLength(4)
        expect((yield* text(page, "#answer"))[0]).toBe("Effect 3.0 shipped in April 2024; 6 * 7 is 42.")
        // a run the server never logged: its 404, said on the page
        yield* promise(async () => {
          await page.fill("#replay-id", "no-such-run")
          await page.click("#replay")
        })
        yield* promise(() => page.waitForSelector("#status.failed", { timeout }))
        expect((yield* text(page, "#error"))[0]).toContain("404")
        expect(errors.filter((error) => !error.includes("404"))).toEqual([])
      }),
    60_000
  )

  it.scopedLive("renders what the server sends as text, never as HTML", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const { errors, page } = yield* open(yield* browser, server.url)
      yield* run(page, "echo", hostile)
      yield* promise(() => page.waitForSelector("#status.completed", { timeout }))
      expect((yield* text(page, "#answer"))[0]).toBe(hostile)
      expect(yield* promise(() => page.locator("#view img, #view script").count())).toBe(0)
      expect(yield* promise(() => page.evaluate("document.body.dataset.pwned"))).toBeUndefined()
      expect(errors).toEqual([])
    }), 60_000)

  it.scopedLive("with a bearer token, the page asks for it and sends it", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ token: Redacted.make("s3cret") })
      const { errors, page } = yield* open(yield* browser, server.url)
      expect(yield* promise(() => page.isVisible("#token"))).toBe(true)
      yield* run(page, "echo", "hi")
      yield* promise(() => page.waitForSelector("#status.failed", { timeout }))
      expect((yield* text(page, "#error"))[0]).toContain("401")
      yield* promise(() => page.fill("#token", "s3cret"))
      yield* promise(() => page.click("#run"))
      yield* promise(() => page.waitForSelector("#status.completed", { timeout }))
      // the token stays in the page's memory: not in its storage, nor its URL
      expect(yield* promise(() => page.evaluate("[localStorage.length, sessionStorage.length, location.href]")))
        .toEqual([0, 0, `${server.url}/playground`])
      // the failed fetch logs a 401 in the console: the only error
      expect(errors.filter((error) => !error.includes("401"))).toEqual([])
    }), 60_000)
})
