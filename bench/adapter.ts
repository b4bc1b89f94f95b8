/**
 * effect-agents in the team's peer benchmark (../shared/bench): the library
 * used the way an application would, imported as the package (its built
 * `dist/`, so `npm run build` first; the peers are plain JavaScript too,
 * where tsx would otherwise compile `src/` with a `__name` call on every
 * closure). One runtime with the OpenAI model layer, built once per agent;
 * an Agent with one Tool; `run` through `Agent.runPromise`, whose `signal`
 * interrupts the run's fiber and aborts its HTTP request in flight at once
 * (and `stream` the same way). Library defaults throughout: the default
 * policy (retries with backoff honouring retry-after, timeouts), the SDK's
 * global fetch. `bench/adapter-nodefetch.ts` is the same with
 * `OpenAiClient.nodeFetch()`.
 */
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { Agent, type AgentError, Dag } from "effect-agents"
import { OpenAiModel } from "effect-agents/openai"
import * as Library from "./library.js"

// The peers run as plain JavaScript. tsx, which runs this TypeScript adapter, turns Node's
// source-mapped stack traces on for the whole process, and every Error whose stack is read pays
// for it (undici reads the stack of each aborted request's error: ~10 ms of the 200 aborts in
// `cancel`). An application running the built library does not pay it; off, so the comparison
// is like for like.
process.setSourceMapsEnabled(false)

export const name = "effect-agents"
export const framework = "effect-agents (Agent.run over OpenAiModel, default policy)"
export const packages = ["effect", "openai"]
export const capabilities = {
  cancel: "Agent.runPromise's signal: interrupts the run's fiber and aborts its request at once",
  dag: "Dag.run: every node a TaskGroup task, forked when its last dependency completes",
  stream: true
}

interface RunOptions {
  readonly signal?: AbortSignal
  readonly onDelta?: (text: string) => void
}

const disposables: Array<{ readonly dispose: () => Promise<void> }> = []

/** The client's transport: the SDK's default (the global fetch) unless an adapter sets one. */
export const transport: { fetch?: typeof fetch | undefined } = {}

export function createAgent(options: Library.Options) {
  const agent = Library.createAgent(options, transport.fetch)
  disposables.push(agent)
  return {
    run: (input: string, { signal }: RunOptions = {}) => agent.run(input, signal).then((text) => ({ text })),
    stream: (input: string, { signal, onDelta }: RunOptions = {}) =>
      agent.stream(input, signal, onDelta).then((text) => ({ text }))
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
      Layer.provide(Library.clientLayer(options, transport.fetch))
    )
  )
  disposables.push(runtime)
  const dag = runtime.runSync(BenchDag)
  return {
    run: (input: string, { signal }: RunOptions = {}) =>
      Library.settle(
        runtime.runPromiseExit(
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
        ),
        signal
      )
  }
}

export async function close() {
  await Promise.all(disposables.map((disposable) => disposable.dispose()))
}
