/**
 * What an agent server serves, by name: agents, and anything else that runs
 * like one (`Agent.Runnable`: teams). The server looks names up here and
 * nowhere else, so a new kind of runnable needs no change to the server.
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
import * as Layer from "effect/Layer"
import type * as Agent from "../Agent.js"
import * as Policy from "../Policy.js"
import type * as Tool from "../Tool.js"
import * as Toolkit from "../Toolkit.js"
import { AgentNotFound } from "./AgentApi.js"

/**
 * The kinds of runnables served. Teams are served at the same endpoints as
 * agents; `GET /health` lists each kind apart.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 *
 * const kind: Registry.Kind = "team"
 * ```
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
 * What an agent server serves. DAGs, once they exist, get a map of their own
 * here (they take a typed input rather than a message), next to `runnables`.
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
 * What to serve: agents (whose tools can also be run directly), and teams or
 * any other `Agent.Runnable`.
 *
 * @example
 * ```ts
 * import { Registry } from "effect-agents/http"
 * import type { Agent } from "effect-agents"
 *
 * declare const researcher: Agent.Agent
 * declare const crew: Agent.Runnable
 * const options: Registry.Options = { agents: [researcher], teams: [crew] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly agents?: ReadonlyArray<Agent.Agent<unknown>> | undefined
  readonly teams?: ReadonlyArray<Agent.Runnable<unknown>> | undefined
}

/**
 * Builds a registry. Two runnables with one name are a programming error and
 * throw.
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
  return { runnables, context }
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
    dags: []
  }
}
