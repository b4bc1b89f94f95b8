/**
 * What an agent server serves, by name: agents, anything else that runs
 * like one (`Agent.Runnable`: teams), DAGs, and tools on their own (served
 * over MCP, see `McpServer` of `effect-agents/mcp`). The server looks names
 * up here and nowhere else, so a new kind of runnable needs no change to the
 * server.
 *
 * The registry also keeps the context it was built in: the services the
 * agents' tools need, for tools run directly over HTTP.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { Registry } from "effect-agents/http"
 *
 * const RegistryLive = Registry.layer(Effect.gen(function*() {
 *   const assistant = yield* Agent.make({ name: "assistant", instructions: "Be helpful." })
 *   return { agents: [assistant] }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as Agent from "../Agent.js"
import { issuesOf } from "../AgentError.js"
import * as Dag from "../Dag.js"
import * as JsonSchema from "../internal/jsonSchema.js"
import * as Policy from "../Policy.js"
import type * as Tool from "../Tool.js"
import * as Toolkit from "../Toolkit.js"
import { AgentNotFound, DagInputInvalid, DagNotFound } from "./AgentApi.js"

/**
 * The kinds of runnables served. Teams are served at the same endpoints as
 * agents; `GET /health` lists each kind apart.
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "agent" | "team"

/**
 * A runnable served under its name.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 *
 * const tools = (served: Registry.Served) => Object.keys(served.toolkit.tools)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Served {
  readonly kind: Kind
  readonly name: string
  readonly runnable: Agent.Runnable<unknown>
  /** The tools `POST /v1/agents/{name}/tools/{tool}` can run (none for a team). */
  readonly toolkit: Toolkit.Any
  /** How those tools run: with the agent's tool timeout, as the agent's model's calls do. */
  readonly toolOptions: Tool.ExecuteOptions
}

/**
 * A DAG served under its name: its run from a JSON input, which its input
 * Schema decodes. Made by {@link dag}.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 *
 * const run = (served: Registry.ServedDag) => served.run({ quarter: "Q3" }, { concurrency: 2 })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ServedDag {
  readonly name: string
  /** The JSON Schema of its input (what an MCP client is told to send). */
  readonly inputSchema: JSONSchema.JsonSchema7Root
  /** The nodes, in the order they were added, each with the nodes it depends on. */
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly dependsOn: ReadonlyArray<string> }>
  readonly run: (
    input: unknown,
    options: Dag.RunOptions
  ) => Effect.Effect<Dag.DagResult<Record<string, unknown>, unknown>, DagInputInvalid | Dag.DefinitionError>
  /** The same run as a stream of its events (`Dag.stream`), once the input decoded. */
  readonly stream: (
    input: unknown,
    options: Dag.RunOptions
  ) => Effect.Effect<Stream.Stream<Dag.DagEvent, Dag.DefinitionError>, DagInputInvalid>
}

/**
 * A DAG to serve, with the Schema of its input: a request's JSON input is
 * decoded with it before anything runs (`DagInputInvalid`, 400, when it does
 * not decode). The DAG's nodes must need no services: provide them to the
 * nodes when building it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Dag } from "effect-agents"
 * import { Registry } from "effect-agents/http"
 *
 * const double = Dag.make<number>("double").pipe(Dag.node("twice", (_, n) => Effect.succeed(n * 2)))
 * const RegistryLive = Registry.layer({ dags: [Registry.dag(double, Schema.Number)] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const dag = <I, IEncoded, Out, E>(
  self: Dag.Dag<I, Out, E, never>,
  input: Schema.Schema<I, IEncoded>
): ServedDag => {
  const decode = (json: unknown) =>
    Schema.decodeUnknown(input, { errors: "all" })(json).pipe(
      Effect.mapError((error) => new DagInputInvalid({ dag: self.name, issues: issuesOf(error) }))
    )
  return {
    name: self.name,
    inputSchema: JsonSchema.fromSchema(input as Schema.Schema.AnyNoContext),
    nodes: Array.from(self.graph.nodes.values(), ({ dependsOn, name }) => ({ name, dependsOn })),
    run: (json, options) =>
      Effect.flatMap(decode(json), (decoded) => Dag.run(self, decoded, options)) as Effect.Effect<
        Dag.DagResult<Record<string, unknown>, unknown>,
        DagInputInvalid | Dag.DefinitionError
      >,
    stream: (json, options) =>
      Effect.map(decode(json), (decoded) => Dag.stream(self, decoded, options)) as Effect.Effect<
        Stream.Stream<Dag.DagEvent, Dag.DefinitionError>,
        DagInputInvalid
      >
  }
}

/**
 * What an agent server serves: agents and teams by name (`runnables`), and
 * DAGs, which take a typed input rather than a message, in a map of their own.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 *
 * const isServed = (registry: Registry.Service, name: string) => registry.runnables.has(name)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly runnables: ReadonlyMap<string, Served>
  readonly dags: ReadonlyMap<string, ServedDag>
  /** Tools served on their own, by name: over MCP (`McpServer`), not the HTTP API. */
  readonly tools: ReadonlyMap<string, Tool.Any>
  /** The services the tools need: the context the registry was built in. */
  readonly context: Context.Context<never>
}

/**
 * The registry of an agent server.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Registry } from "effect-agents/http"
 *
 * const names = Effect.map(Registry.Registry, (registry) => Registry.names(registry).agents)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class Registry extends Context.Tag("effect-agents/http/Registry")<Registry, Service>() {}

/**
 * What to serve: agents (whose tools can also be run directly), teams or
 * any other `Agent.Runnable`, and DAGs (see {@link dag}).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly agents?: ReadonlyArray<Agent.Agent<unknown>> | undefined
  readonly teams?: ReadonlyArray<Agent.Runnable<unknown>> | undefined
  readonly dags?: ReadonlyArray<ServedDag> | undefined
  /** Tools served on their own (over MCP, see `McpServer`), needing the registry's context. */
  readonly tools?: ReadonlyArray<Tool.Any> | undefined
}

/**
 * Builds a registry. Two runnables, two DAGs or two tools with one name are
 * a programming error and throw.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 * import type { Agent } from "effect-agents"
 *
 * declare const researcher: Agent.Agent
 * declare const writer: Agent.Agent
 * const registry = Registry.make({ agents: [researcher, writer] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options, context: Context.Context<never> = Context.empty()): Service => {
  const runnables = new Map<string, Served>()
  const add = (served: Served) => {
    if (runnables.has(served.name)) throw new Error(`Registry.make: two runnables are named "${served.name}"`)
    runnables.set(served.name, served)
  }
  for (const agent of options.agents ?? []) {
    add({
      kind: "agent",
      name: agent.name,
      runnable: agent,
      toolkit: agent.toolkit,
      toolOptions: {
        defaultTimeout: Policy.isLimited(agent.policy.toolTimeout) ? agent.policy.toolTimeout : undefined
      }
    })
  }
  for (const team of options.teams ?? []) {
    add({ kind: "team", name: team.name, runnable: team, toolkit: Toolkit.empty, toolOptions: {} })
  }
  const dags = new Map<string, ServedDag>()
  for (const served of options.dags ?? []) {
    if (dags.has(served.name)) throw new Error(`Registry.make: two DAGs are named "${served.name}"`)
    dags.set(served.name, served)
  }
  const tools = new Map<string, Tool.Any>()
  for (const tool of options.tools ?? []) {
    if (tools.has(tool.name)) throw new Error(`Registry.make: two tools are named "${tool.name}"`)
    tools.set(tool.name, tool)
  }
  return { runnables, dags, tools, context }
}

/**
 * A layer of the registry, from options or from an Effect that builds them
 * (the agents, say). The context the layer is built in is kept for the
 * tools: provide their services to this layer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { Registry } from "effect-agents/http"
 *
 * const RegistryLive = Registry.layer(
 *   Effect.map(Agent.make({ name: "assistant", instructions: "Be helpful." }), (assistant) => ({ agents: [assistant] }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = never, R = never>(options: Options | Effect.Effect<Options, E, R>): Layer.Layer<
  Registry,
  E,
  R
> =>
  Layer.effect(
    Registry,
    Effect.gen(function*() {
      const resolved = Effect.isEffect(options) ? yield* options : options
      return make(resolved, yield* Effect.context<never>())
    })
  )

/**
 * The runnable served under `name`, or `AgentNotFound`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Registry } from "effect-agents/http"
 *
 * const run = Effect.flatMap(Registry.Registry, (registry) => Registry.runnable(registry, "assistant")).pipe(
 *   Effect.flatMap((served) => served.runnable.run("Hi"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category lookups
 */
export const runnable = (registry: Service, name: string): Effect.Effect<Served, AgentNotFound> => {
  const served = registry.runnables.get(name)
  return served === undefined
    ? Effect.fail(new AgentNotFound({ agent: name, available: Array.from(registry.runnables.keys()) }))
    : Effect.succeed(served)
}

/**
 * The DAG served under `name`, or `DagNotFound`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Registry } from "effect-agents/http"
 *
 * const run = Effect.flatMap(Registry.Registry, (registry) => Registry.servedDag(registry, "report")).pipe(
 *   Effect.flatMap((served) => served.run("Q3", {}))
 * )
 * ```
 *
 * @since 0.1.0
 * @category lookups
 */
export const servedDag = (registry: Service, name: string): Effect.Effect<ServedDag, DagNotFound> => {
  const served = registry.dags.get(name)
  return served === undefined
    ? Effect.fail(new DagNotFound({ dag: name, available: Array.from(registry.dags.keys()) }))
    : Effect.succeed(served)
}

/**
 * The names served, by kind.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 *
 * const { agents, teams } = Registry.names(Registry.make({}))
 * ```
 *
 * @since 0.1.0
 * @category lookups
 */
export const names = (registry: Service): {
  readonly agents: ReadonlyArray<string>
  readonly teams: ReadonlyArray<string>
  readonly dags: ReadonlyArray<string>
} => {
  const all = Array.from(registry.runnables.values())
  return {
    agents: all.filter((served) => served.kind === "agent").map((served) => served.name),
    teams: all.filter((served) => served.kind === "team").map((served) => served.name),
    dags: Array.from(registry.dags.keys())
  }
}
