/**
 * tools: a plain function, a Promise (cancelled through its AbortSignal), an
 * Effect that uses a service from a scoped layer, and a blocking function on
 * a worker thread; a tool called directly; then an agent with all of them.
 *
 *   npm run example -- tools
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Context, Duration, Effect, Fiber, Layer, Schema } from "effect"
import { Agent, Printer, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"
import { setTimeout as delay } from "node:timers/promises"

// A plain synchronous function.
const convert = Tool.make("convert_currency", {
  description: "Convert an amount between currencies",
  parameters: { amount: Schema.Number, from: Schema.String, to: Schema.String },
  handler: ({ amount, from, to }) => `${amount} ${from} = ${(amount * 1.08).toFixed(2)} ${to}`
})

// A Promise-returning function: the signal fires if the call is interrupted,
// exactly what `fetch(url, { signal })` needs.
const lookupFlight = Tool.make("lookup_flight", {
  description: "Look up a flight's status",
  parameters: { flight: Schema.String },
  handler: async ({ flight }, signal) => {
    await delay(150, undefined, { signal }) // stands in for fetch(`https://api…/${flight}`, { signal })
    return { flight, status: "on time", gate: "B12" }
  }
})

// An Effect that needs a service: a connection pool from a scoped layer,
// opened once and closed when the program ends.
class Bookings extends Context.Tag("example/Bookings")<Bookings, {
  readonly find: (name: string) => Effect.Effect<ReadonlyArray<string>>
}>() {}

const BookingsLive = Layer.scoped(
  Bookings,
  Effect.acquireRelease(
    Effect.as(Console.log("[bookings] pool opened"), {
      find: (name: string) => Effect.succeed([`${name}: Lisbon, 12–15 May`, `${name}: Porto, 16 May`])
    }),
    () => Console.log("[bookings] pool closed")
  )
)

const findBookings = Tool.make("find_bookings", {
  description: "Find a traveller's bookings",
  parameters: { name: Schema.String },
  handler: ({ name }) => Effect.flatMap(Bookings, (bookings) => bookings.find(name))
})

// A blocking, CPU-heavy function: it runs on a worker thread.
const countPrimes = Tool.blocking("count_primes", {
  description: "Count the primes below a number (CPU heavy)",
  parameters: { below: Schema.Int },
  success: Schema.Int,
  module: new URL("./lib/primes.mjs", import.meta.url),
  export: "countPrimes"
})

const toolkit = Toolkit.make(convert, lookupFlight, findBookings, countPrimes)

const program = Effect.gen(function*() {
  // Call tools directly, with the same decoding and policies the model gets.
  yield* Console.log(yield* toolkit.execute("convert_currency", { amount: 100, from: "EUR", to: "USD" }))

  // The blocking tool leaves the event loop free: a fiber keeps ticking meanwhile.
  let ticks = 0
  const ticker = yield* Effect.fork(
    Effect.forever(Effect.zipRight(Effect.sleep("10 millis"), Effect.sync(() => ticks++)))
  )
  const [elapsed, primes] = yield* Effect.timed(toolkit.execute("count_primes", { below: 3_000_000 }))
  yield* Fiber.interrupt(ticker)
  yield* Console.log(`count_primes: ${primes} primes below 3,000,000 in ${Math.round(Duration.toMillis(elapsed))} ms`)
  yield* Console.log(`meanwhile the main thread ticked ${ticks} times (every 10 ms)\n`)

  // An agent with every tool; the scripted model calls each one once.
  const agent = yield* Agent.make({
    name: "Travel Desk",
    instructions: "Help travellers with bookings, flights, money and (oddly) primes.",
    toolkit
  })
  yield* Printer.printResponse(
    agent,
    "I'm Ada. What are my bookings, is TP1351 on time, what is 250 EUR in USD, and how many primes are below 100,000?",
    { showMetrics: true }
  )
}).pipe(
  Effect.provide(
    ScriptedModel.layer(
      ScriptedModel.useEachTool({
        arguments: {
          convert_currency: { amount: 250, from: "EUR", to: "USD" },
          lookup_flight: { flight: "TP1351" },
          find_bookings: { name: "Ada" },
          count_primes: { below: 100_000 }
        },
        latency: "200 millis"
      })
    )
  )
)

program.pipe(Effect.provide(BookingsLive), NodeRuntime.runMain)
