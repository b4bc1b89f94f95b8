/**
 * resume: a run stopped between two steps and continued elsewhere. The first
 * "process" runs a travel agent with `onState`, which writes each state of
 * the run to a file as JSON; the run stops once its first step (the tool
 * calls) is stored, as a process that is shut down would. The second makes
 * the agent afresh, reads and decodes the state, and `agent.resume`s it: the
 * run goes on from its second step, and the tools are not called again.
 *
 *   npm run example -- resume
 */
import { FileSystem } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Exit, Schema } from "effect"
import { Agent, RunState, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const getWeather = Tool.make("get_weather", {
  description: "Get the weather forecast for a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => Effect.as(Console.log(`  tool: get_weather(${city})`), `${city}: 22°C, sunny`)
})

const searchFlights = Tool.make("search_flights", {
  description: "Search direct flights to a city",
  parameters: { to: Schema.String },
  handler: ({ to }) => Effect.as(Console.log(`  tool: search_flights(${to})`), ["TP601 08:40 €129", "FR622 17:05 €79"])
})

// A state as JSON text, and back: what a process stores and another loads.
const StateJson = Schema.parseJson(RunState.RunState)

// The agent as each process makes it, on a scripted model of its own that
// answers from the conversation: calls both tools, then answers from them.
const makeAgent = Effect.gen(function*() {
  const model = yield* ScriptedModel.make(ScriptedModel.useEachTool({
    arguments: { get_weather: { city: "Lisbon" }, search_flights: { to: "Lisbon" } },
    answer: ([weather, flights]) =>
      `Go: ${weather!.content}; the cheapest direct flight is ${
        (JSON.parse(flights!.content) as Array<string>).at(-1)
      }.`
  }))
  const agent = yield* Agent.make({
    name: "Travel Agent",
    instructions: "Plan short trips. Check the weather and the flights, then answer in one sentence.",
    model,
    toolkit: Toolkit.make(getWeather, searchFlights)
  })
  return { agent, model }
})

// The first process: stores every state, and stops the run after its first step.
const firstProcess = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { agent } = yield* makeAgent
    const store = (state: RunState.RunState) =>
      Schema.encode(StateJson)(state).pipe(
        Effect.flatMap((json) => fs.writeFileString(file, json)),
        Effect.orDie,
        // here the run stops, as when its process is shut down between two steps
        Effect.andThen(state.steps.length === 1 ? Effect.interrupt : Effect.void)
      )
    const exit = yield* Effect.exit(agent.run("Plan me a weekend in Lisbon.", { onState: store }))
    const size = (yield* fs.stat(file)).size
    yield* Console.log(
      `first process:  ${
        Exit.isInterrupted(exit) ? "stopped" : "ended"
      } after step 1; its state is ${size} bytes of JSON`
    )
  })

// The second process: a fresh agent continues the run from the stored state.
const secondProcess = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const state = yield* Effect.flatMap(fs.readFileString(file), Schema.decode(StateJson))
    yield* Console.log(`second process: resumes run ${state.runId} after step ${state.steps.length}`)
    const { agent, model } = yield* makeAgent
    const result = yield* agent.resume(state)
    const modelCalls = (yield* model.requests).length
    yield* Console.log(`answer:         ${result.content}`)
    yield* Console.log(
      `second process: ${modelCalls} model call, ${result.metrics.toolCalls - state.toolCalls} tool calls; ` +
        `the whole run: ${result.metrics.steps} steps, ${result.metrics.toolCalls} tool calls, ` +
        `${result.metrics.totalTokens} tokens`
    )
  })

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const file = yield* fs.makeTempFileScoped({ prefix: "run-state-", suffix: ".json" })
  yield* firstProcess(file)
  yield* secondProcess(file)
})

program.pipe(Effect.scoped, Effect.provide(NodeContext.layer), NodeRuntime.runMain)
