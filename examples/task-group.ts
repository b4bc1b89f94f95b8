/**
 * task-group: a morning report needs the weather, the news and the markets,
 * fetched at once in a `TaskGroup` (Python's `asyncio.TaskGroup`). First all
 * three answer; then the weather service fails: the two other fetches are
 * interrupted, their connections are closed (printed), and every failure is
 * listed, including one raised while the group was cancelling.
 *
 *   npm run example -- task-group
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Duration, Effect, Exit, Schema } from "effect"
import { TaskGroup } from "effect-agents"

class FetchFailed extends Schema.TaggedError<FetchFailed>()("FetchFailed", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.source}: ${this.reason}`
  }
}

interface Source {
  readonly name: string
  readonly latency: Duration.DurationInput
  readonly body: string
  /** Fails after its latency. */
  readonly fails?: string
  /** Saves its answer to a cache first, uninterruptibly: it cannot be stopped halfway, and it may fail. */
  readonly cache?: { readonly takes: Duration.DurationInput; readonly fails?: string }
}

const outcome = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return "answered"
  const failed = Cause.failureOption(exit.cause)._tag === "Some"
  const interrupted = Cause.isInterrupted(exit.cause)
  return failed && interrupted ? "interrupted, and failed on its way out" : failed ? "failed" : "interrupted"
}

// A fetch opens a connection, waits for the answer and always closes the connection.
const fetch = (source: Source) =>
  Effect.acquireUseRelease(
    Console.log(`  ${source.name.padEnd(8)} connecting`),
    () =>
      Effect.gen(function*() {
        if (source.cache !== undefined) {
          const cache = source.cache
          yield* Effect.uninterruptible(Effect.gen(function*() {
            yield* Effect.sleep(cache.takes)
            if (cache.fails !== undefined) {
              return yield* new FetchFailed({ source: source.name, reason: cache.fails })
            }
          }))
        }
        yield* Effect.sleep(source.latency)
        if (source.fails !== undefined) return yield* new FetchFailed({ source: source.name, reason: source.fails })
        return source.body
      }),
    (_, exit) => Console.log(`  ${source.name.padEnd(8)} connection closed (${outcome(exit)})`)
  )

const report = ([weatherSource, newsSource, marketsSource]: readonly [Source, Source, Source]) =>
  TaskGroup.run((group) =>
    Effect.gen(function*() {
      const weather = yield* group.fork(fetch(weatherSource))
      const news = yield* group.fork(fetch(newsSource))
      const markets = yield* group.fork(fetch(marketsSource))
      return `Weather: ${yield* weather.join}\nNews:    ${yield* news.join}\nMarkets: ${yield* markets.join}`
    })
  ).pipe(Effect.timed)

const program = Effect.gen(function*() {
  yield* Console.log("▸ Three fetches at once")
  const [took, text] = yield* report([
    { name: "weather", latency: "300 millis", body: "18°C and sunny" },
    { name: "news", latency: "500 millis", body: "Effect 3.22 released" },
    { name: "markets", latency: "400 millis", body: "EUR/USD 1.09" }
  ])
  yield* Console.log(`\n${text}\n(${Math.round(Duration.toMillis(took))} ms: the slowest fetch, not the sum)\n`)

  yield* Console.log("▸ The weather service fails")
  const exit = yield* Effect.exit(report([
    { name: "weather", latency: "200 millis", body: "", fails: "HTTP 503 Service Unavailable" },
    { name: "news", latency: "800 millis", body: "Effect 3.22 released" },
    // busy writing its cache when the weather fails: it finishes that, then fails too
    { name: "markets", latency: "400 millis", body: "", cache: { takes: "300 millis", fails: "cache disk full" } }
  ]))
  if (Exit.isSuccess(exit)) return
  const failures = [...Cause.failures(exit.cause)]
  yield* Console.log(`\nThe report failed with ${failures.length} failures (interruptions are not failures):`)
  for (const failure of failures) yield* Console.log(`  • ${failure.message}`)
})

program.pipe(NodeRuntime.runMain)
