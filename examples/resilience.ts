/**
 * resilience: retries with exponential backoff (honouring retry-after),
 * timeouts that interrupt the work, and a fallback model. Every failure is a
 * typed value, handled with `Effect.catchTags`.
 *
 *   npm run example -- resilience
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Schedule, Schema } from "effect"
import { Agent, AgentError, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const agentOn = (script: ScriptedModel.Script, options?: Partial<Agent.Options<string, string, Toolkit.Any>>) =>
  Effect.flatMap(
    ScriptedModel.make(script, { model: "primary" }),
    (model) => Agent.make({ name: "Resilient Agent", instructions: "", ...options, model })
  )

const program = Effect.gen(function*() {
  // 1. Two 503s, then an answer: the default policy retries with jittered
  //    exponential backoff from 200 ms (5 attempts in all).
  const flaky = yield* agentOn([{
    fail: { error: new AgentError.ModelUnavailable({ message: "503 upstream overloaded", status: 503 }), times: 2 },
    text: "Answered on the third attempt."
  }])
  const [elapsed, result] = yield* Effect.timed(flaky.run("Hello"))
  yield* Console.log(
    `1. retry:    "${result.content}" after ${result.metrics.retries} retries, ${
      Math.round(Duration.toMillis(elapsed))
    } ms`
  )

  // 2. A 429 asking to wait 1 s: the retry waits at least that long.
  const limited = yield* agentOn([{
    fail: { error: new AgentError.RateLimited({ message: "429 slow down", retryAfter: Duration.seconds(1) }) },
    text: "Answered after the rate limit."
  }])
  const [waited] = yield* Effect.timed(limited.run("Hello"))
  yield* Console.log(`2. 429:      retried after retry-after; the run took ${Math.round(Duration.toMillis(waited))} ms`)

  // 3. A model that never answers: a 500 ms model timeout, no retries.
  const hanging = yield* agentOn(() => ({ hang: true }), { policy: { modelTimeout: "500 millis", retry: false } })
  const timedOut = yield* hanging.run("Hello").pipe(
    Effect.map((r) => r.content),
    Effect.catchTag("ModelTimeout", (error) => Effect.succeed(`caught ${error._tag}: ${error.message}`))
  )
  yield* Console.log(`3. timeout:  ${timedOut}`)

  // 4. A tool that takes too long: the whole run is limited to 1 s, and the
  //    tool's work is interrupted (its finalizer runs).
  const crawl = Tool.make("crawl", {
    description: "Crawl a site (slow)",
    parameters: { url: Schema.String },
    handler: () =>
      Effect.sleep("1 minute").pipe(
        Effect.as("done"),
        Effect.onInterrupt(() => Console.log("   (the crawl was interrupted and cleaned up)"))
      )
  })
  const crawler = yield* agentOn([{ toolCalls: [{ name: "crawl", arguments: { url: "https://effect.website" } }] }], {
    toolkit: Toolkit.make(crawl),
    policy: { runTimeout: "1 second" }
  })
  const runTimedOut = yield* crawler.run("Crawl the site").pipe(
    Effect.map((r) => r.content),
    Effect.catchTags({ RunTimeout: (error) => Effect.succeed(`caught ${error._tag}: ${error.message}`) })
  )
  yield* Console.log(`4. run:      ${runTimedOut}`)

  // 5. The primary model's key was revoked: the fallback model answers.
  const backup = yield* ScriptedModel.make([{ text: "The backup model answered." }], { model: "backup" })
  const degraded = yield* agentOn(
    [{ fail: { error: new AgentError.AuthenticationFailed({ message: "401 key revoked", status: 401 }) } }],
    { policy: { fallback: [backup], retry: Schedule.recurs(1) } }
  )
  const fallback = yield* degraded.run("Hello")
  yield* Console.log(`5. fallback: "${fallback.content}" (from the ${fallback.steps[0]!.model} model)`)
})

program.pipe(NodeRuntime.runMain)
