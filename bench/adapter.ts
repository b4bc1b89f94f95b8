/**
 * effect-agents in the team's peer benchmark (../shared/bench): the library
 * used the way an application would. One runtime with the OpenAI model layer,
 * built once per agent; an Agent with one Tool; `run` and `stream` through
 * `ManagedRuntime.runPromiseExit`, whose `signal` interrupts the run's fiber
 * (which aborts the HTTP request in flight). Library defaults throughout: the
 * default policy (retries with backoff honouring retry-after, timeouts), the
 * SDK's global fetch. `bench/adapter-nodefetch.ts` is the same with
 * `OpenAiClient.nodeFetch()`.
 */
import { Cause, Context, Effect, Exit, Layer, ManagedRuntime, Redacted, Schema, Stream } from "effect"
import { Agent, type AgentError, Dag, OpenAiClient, OpenAiModel, Tool, Toolkit } from "../src/index.js"

export const name = "effect-agents"
export const framework = "effect-agents (Agent.run over OpenAiModel, default policy)"
export const packages = ["effect", "openai"]
export const capabilities = {
  cancel: "AbortSignal given to ManagedRuntime.runPromise interrupts the run's fiber",
  dag: "Dag.run: every node a TaskGroup task, forked when its last dependency completes",
  stream: true
}

interface AgentOptions {
  readonly baseURL: string
  readonly apiKey: string
  readonly model: string
  readonly tool: {
    readonly name: string
    readonly description: string
    readonly execute: (args: { x: number }) => Promise<string>
  }
  readonly systemPrompt: string
  readonly maxSteps: number
}

interface RunOptions {
  readonly signal?: AbortSignal
  readonly onDelta?: (text: string) => void
}

/**
 * A run's Promise: its value, or its failure as the rejection (the typed
 * error itself, or the interruption). `runPromiseExit` rather than
 * `runPromise`, whose FiberFailure pretty-prints the cause with stack traces
 * on every rejection (~100 µs each, a third of a cancelled run's cost).
 */
const settle = <A, E>(exit: Promise<Exit.Exit<A, E>>): Promise<A> =>
  exit.then((exit) => Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause)))

const runtimes: Array<{ readonly dispose: () => Promise<void> }> = []

/** The client's transport: the SDK's default (the global fetch) unless an adapter sets one. */
export const transport: { fetch?: typeof fetch | undefined } = {}

const clientLayer = (options: { readonly apiKey: string; readonly baseURL: string }) =>
  OpenAiClient.layer({ apiKey: Redacted.make(options.apiKey), baseURL: options.baseURL, fetch: transport.fetch })

export function createAgent(options: AgentOptions) {
  const runtime = ManagedRuntime.make(
    OpenAiModel.layer({ model: options.model }).pipe(
      Layer.provide(clientLayer(options))
    )
  )
  runtimes.push(runtime)
  const tool = Tool.make(options.tool.name, {
    description: options.tool.description,
    parameters: { x: Schema.Number },
    handler: (args) => options.tool.execute(args)
  })
  const agent = runtime.runSync(
    Agent.make({
      name: "bench",
      instructions: options.systemPrompt,
      toolkit: Toolkit.make(tool),
      maxSteps: options.maxSteps
    })
  )
  return {
    run: (input: string, { signal }: RunOptions = {}) =>
      settle(runtime.runPromiseExit(Effect.map(agent.run(input), (result) => ({ text: result.content })), { signal })),
    stream: (input: string, { signal, onDelta }: RunOptions = {}) =>
      settle(runtime.runPromiseExit(
        agent.stream(input).pipe(
          Stream.runFold("", (text, event) => {
            if (event._tag !== "TextDelta") return text
            onDelta?.(event.text)
            return text + event.text
          }),
          Effect.map((text) => ({ text }))
        ),
        { signal }
      ))
  }
}

interface DagOptions {
  readonly baseURL: string
  readonly apiKey: string
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly model: string; readonly deps: ReadonlyArray<string> }>
}

// One agent per node on its own OpenAiModel (the node's model name is its script), the DAG built
// from names known at run time, as an application reading a workflow from configuration would.
class BenchDag
  extends Context.Tag("bench/Dag")<BenchDag, Dag.Dag<string, Record<string, string>, AgentError.AgentError>>()
{}

export function createDag(options: DagOptions) {
  const build = Effect.gen(function*() {
    let dag: Dag.Dag<string, Record<string, string>, AgentError.AgentError> = Dag.make<string>("bench")
    for (const node of options.nodes) {
      const model = yield* OpenAiModel.make({ model: node.model })
      const agent = yield* Agent.make({ name: node.id, instructions: "", model })
      dag = dag.pipe(Dag.node(node.id, {
        dependsOn: node.deps,
        run: (deps, input) =>
          Effect.map(
            agent.run(`${input} node ${node.id} given [${Object.values(deps).join(" | ")}]`),
            (result) => result.content
          )
      }))
    }
    return dag
  })
  const runtime = ManagedRuntime.make(
    Layer.scoped(BenchDag, build).pipe(
      Layer.provide(clientLayer(options))
    )
  )
  runtimes.push(runtime)
  const dag = runtime.runSync(BenchDag)
  return {
    run: (input: string, { signal }: RunOptions = {}) =>
      settle(runtime.runPromiseExit(
        Dag.run(dag, input).pipe(
          Effect.flatMap((result) =>
            result.status === "completed"
              ? Effect.succeed(Object.fromEntries(
                Object.entries(result.nodes).map(([id, node]) => [id, node.status === "completed" ? node.output : ""])
              ))
              : Effect.fail(new Error(`the DAG ${result.status}`))
          )
        ),
        { signal }
      ))
  }
}

export async function close() {
  await Promise.all(runtimes.map((runtime) => runtime.dispose()))
}
