/**
 * A team: a leader and its members (agents, or teams), run as one tree of
 * fibers. A team is to agents what a task group is to fibers: its members
 * run concurrently under the leader, and whatever happens to the team
 * happens to all of them.
 *
 * - `coordinate`: the leader delegates sub-tasks to its members through
 *   tools generated from them (one per member, named and described from the
 *   member's name and role), several at once when it asks for several in one
 *   step, then answers with a synthesis.
 * - `route`: the leader chooses the one member to answer; that member's
 *   answer is the team's, unchanged.
 * - `broadcast`: every member gets the task at once; the leader synthesises
 *   their answers.
 *
 * A team is an `Agent.Runnable`: it has `run`, `stream` and `asTool`, so
 * teams nest, run in `Agent.runAll`, print with `Printer.printResponse` and
 * are served over HTTP like agents.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Team } from "effect-agents"
 * import { ScriptedModel } from "effect-agents/testing"
 *
 * const program = Effect.gen(function*() {
 *   const searcher = yield* Agent.make({ name: "Web Searcher", instructions: "Search the web for facts." })
 *   const analyst = yield* Agent.make({ name: "Analyst", instructions: "Explain what facts mean." })
 *   const team = yield* Team.make({
 *     name: "Research Team",
 *     mode: "coordinate",
 *     leader: { instructions: "Research the question with your members, then answer it." },
 *     members: [searcher, analyst]
 *   })
 *   const result = yield* team.run("Is Effect production-ready?")
 *   console.log(result.content, result.members.length, result.metrics.totalTokens)
 * }).pipe(Effect.provide(ScriptedModel.layer(ScriptedModel.useEachTool())))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Agent from "./Agent.js"
import type { AgentError } from "./AgentError.js"
import type * as Guardrail from "./Guardrail.js"
import * as Delegate from "./internal/delegate.js"
import * as Prompts from "./internal/prompts.js"
import * as SessionRun from "./internal/sessionRun.js"
import * as internal from "./internal/team.js"
import * as LanguageModel from "./LanguageModel.js"
import * as Policy from "./Policy.js"
import * as Run from "./Run.js"
import type { RunEvent } from "./RunEvent.js"
import * as Runnable from "./Runnable.js"
import type * as Tool from "./Tool.js"
import * as Toolkit from "./Toolkit.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Team")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * How a team works (see the module's description): `"coordinate"`,
 * `"route"` or `"broadcast"`.
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = Run.TeamMode

/**
 * What a member's failure does: `"report"` (the default) tells the leader,
 * which may retry the member, ask another or answer without it (in
 * `coordinate` mode as an error tool result; in `route` mode the leader
 * routes again, at most once per member; in `broadcast` mode the leader
 * synthesises with the failure in view); `"fail"` fails the team with the
 * member's error and interrupts every other member.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberFailure = internal.MemberFailure

/**
 * The leader: its instructions (the team adds what it needs to know of its
 * members and its mode), and its model (default: the `LanguageModel` in
 * context).
 *
 * @since 0.1.0
 * @category models
 */
export interface LeaderOptions {
  readonly instructions: string
  /** The model to use instead of the `LanguageModel` in context. */
  readonly model?: LanguageModel.Service | undefined
}

/**
 * The options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<M extends Mode, Members extends ReadonlyArray<Agent.Runnable<unknown>>> {
  readonly name: string
  readonly mode: M
  readonly leader: LeaderOptions
  /** Agents or teams, with distinct names. */
  readonly members: Members
  /** What the team does, for a leader it is a member of (default: its leader's instructions). */
  readonly description?: string | undefined
  /**
   * How many members run at once: the delegations of one step in
   * `coordinate` mode, the members in `broadcast` mode (default: all).
   */
  readonly concurrency?: number | "unbounded" | undefined
  /** The leader's steps before the run fails with `MaxStepsExceeded` (default 10). */
  readonly maxSteps?: number | undefined
  /**
   * The leader's retries, model timeout and fallbacks; `runTimeout` is the
   * whole team's (default none): when it fires, every member is
   * interrupted and the team fails with `RunTimeout`. `toolTimeout` bounds
   * each delegation of `coordinate` mode. `budget` is the whole team's too:
   * the leader's and every member's calls count against it (see
   * `Policy.Budget`).
   */
  readonly policy?: Policy.Options | undefined
  /** What a member's failure does (default `"report"`). */
  readonly onMemberFailure?: MemberFailure | undefined
  /**
   * Checks of the team's input and answer (see `Guardrail`): a parallel
   * input guardrail runs beside the whole team's work, and interrupts it
   * when it trips; an output guardrail's trip fails the run (a team does not
   * correct its answer). Each member keeps its own.
   */
  readonly guardrails?: Pick<Guardrail.Guardrails<OutputOf<M, Members>>, "input" | "output"> | undefined
}

/**
 * One delegation of a team's run (see `Run.MemberRun`).
 *
 * @since 0.1.0
 * @category models
 */
export type MemberRun = Run.MemberRun

/**
 * A team's result (see `Run.TeamResult`).
 *
 * @since 0.1.0
 * @category models
 */
export type TeamResult<Output = string> = Run.TeamResult<Output>

/**
 * A team. `run` and `stream` work as an agent's: the stream holds the
 * leader's events at the team's path and every member's below it
 * (`["Research Team", "Web Searcher"]`), each member's ending with a
 * `MemberCompleted` event, and last the team's `RunCompleted` with its
 * {@link TeamResult}.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import type { Team } from "effect-agents"
 *
 * declare const team: Team.Team
 * const events = team.stream("Research Effect").pipe(
 *   Stream.runForEach((event) => Effect.log(event.path.join(" › "), event._tag))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Team<Output = string> extends Agent.Runnable<Output>, Pipeable, Inspectable.Inspectable {
  readonly [TypeId]: TypeId
  readonly mode: Mode
  readonly description: string
  /** The leader, an agent named after the team. */
  readonly leader: Agent.Agent<unknown>
  readonly members: ReadonlyArray<Agent.Runnable<unknown>>
  readonly onMemberFailure: MemberFailure
  run(input: Agent.Input, options?: Agent.RunOptions): Effect.Effect<TeamResult<Output>, AgentError>
  stream(input: Agent.Input, options?: Agent.RunOptions): Stream.Stream<RunEvent<Output>, AgentError>
  /**
   * Continues the suspended run `runId` (see `Approval`) once its approvals
   * are decided (`Agent.approve`, `Agent.reject`), in this process or
   * another sharing the `RunStore`. A coordinating team's leader goes on
   * from its kept state; in the other modes, the members that had answered
   * answer from their kept states, the suspended ones go on, and the others
   * (a member that failed, a team) run again. A run that is not kept is
   * `RunNotFound`; another team's, `InputInvalid`.
   */
  resume(runId: string, options?: Agent.RunOptions): Effect.Effect<TeamResult<Output>, AgentError>
  /** `resume` as a stream of the rest of the run's events, like `stream`. */
  resumeStream(runId: string, options?: Agent.RunOptions): Stream.Stream<RunEvent<Output>, AgentError>
  /**
   * The team as a tool another agent (or team) can delegate a task to, as
   * `agent.asTool()`: the same mechanism.
   */
  asTool(options?: Agent.AsToolOptions): Tool.Tool<string, { readonly input: string }, string>
}

/**
 * The output of a team: a `route` team answers with one of its members'
 * outputs; the others with their leader's text.
 *
 * @since 0.1.0
 * @category type-level
 */
export type OutputOf<M extends Mode, Members extends ReadonlyArray<Agent.Runnable<unknown>>> = M extends "route"
  ? RunnableOutput<Members[number]>
  : string

/**
 * The output of a runnable.
 *
 * @since 0.1.0
 * @category type-level
 */
export type RunnableOutput<R> = R extends Agent.Runnable<infer Output> ? Output : never

/**
 * Whether a value is a {@link Team}.
 *
 * @example
 * ```ts
 * import { Team, type Agent } from "effect-agents"
 *
 * declare const runnable: Agent.Runnable
 * if (Team.isTeam(runnable)) console.log(runnable.mode, runnable.members.length)
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTeam = (u: unknown): u is Team<unknown> => Predicate.hasProperty(u, TypeId)

/**
 * Whether a run's result is a team's.
 *
 * @example
 * ```ts
 * import { Team, type Agent } from "effect-agents"
 *
 * declare const result: Agent.RunResult
 * const delegations = Team.isTeamResult(result) ? result.members.length : 0
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTeamResult: <Output>(result: Agent.RunResult<Output>) => result is TeamResult<Output> = Run.isTeamResult

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  },
  ...Inspectable.BaseProto,
  toJSON(this: Team<unknown>) {
    return { _id: "Team", name: this.name, mode: this.mode, members: this.members.map((member) => member.name) }
  }
}

/**
 * Builds a team: its leader is an agent named after the team, on the
 * `LanguageModel` in context unless `leader.model` is given. Members are
 * agents or teams with distinct names (a programming error otherwise: the
 * Effect dies). Like `Agent.make`, it is an Effect, so a team is a service
 * like any other.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Team } from "effect-agents"
 *
 * class Support extends Effect.Service<Support>()("Support", {
 *   effect: Effect.gen(function*() {
 *     const billing = yield* Agent.make({ name: "Billing", instructions: "Answer questions about invoices." })
 *     const tech = yield* Agent.make({ name: "Tech", instructions: "Troubleshoot the product." })
 *     return yield* Team.make({
 *       name: "Support",
 *       mode: "route",
 *       leader: { instructions: "Send each question to the right desk." },
 *       members: [billing, tech]
 *     })
 *   })
 * }) {}
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  <const Members extends ReadonlyArray<Agent.Runnable<unknown>>, M extends Mode>(
    options: Options<M, Members> & { readonly leader: { readonly model: LanguageModel.Service } }
  ): Effect.Effect<Team<OutputOf<M, Members>>>
  <const Members extends ReadonlyArray<Agent.Runnable<unknown>>, M extends Mode>(
    options: Options<M, Members>
  ): Effect.Effect<Team<OutputOf<M, Members>>, never, LanguageModel.LanguageModel>
} = <const Members extends ReadonlyArray<Agent.Runnable<unknown>>, M extends Mode>(options: Options<M, Members>) =>
  Effect.gen(function*() {
    const model = options.leader.model ?? (yield* LanguageModel.LanguageModel)
    const members: ReadonlyArray<Agent.Runnable<unknown>> = options.members
    if (members.length === 0) return yield* Effect.dieMessage(`Team.make: the team "${options.name}" has no members`)
    const byName = new Map<string, Agent.Runnable<unknown>>()
    for (const member of members) {
      if (byName.has(member.name)) {
        return yield* Effect.dieMessage(`Team.make: two members of "${options.name}" are named "${member.name}"`)
      }
      byName.set(member.name, member)
    }
    const mode: Mode = options.mode
    const policy = Policy.merge(Policy.defaults, options.policy)
    const common = {
      name: options.name,
      instructions: Prompts.leaderInstructions(
        options.name,
        mode,
        options.leader.instructions,
        members.map((member) => ({ name: member.name, role: Delegate.roleOf(member) }))
      ),
      model,
      maxSteps: options.maxSteps,
      // the team's run timeout and budget bound the leader with the members
      policy: { ...options.policy, runTimeout: Duration.infinity, budget: undefined }
    }
    const [first, ...rest] = members.map((member) => member.name)
    const leader: Agent.Agent<unknown> = mode === "route"
      ? yield* Agent.make({
        ...common,
        output: Schema.Struct({
          member: Schema.Literal(first!, ...rest).annotations({ description: "The name of the member to answer" })
        })
      })
      : yield* Agent.make({
        ...common,
        toolkit: mode === "coordinate" ? Toolkit.make(...members.map((member) => Agent.asTool(member))) : undefined,
        toolConcurrency: options.concurrency
      })
    const config: internal.TeamConfig = {
      name: options.name,
      mode,
      leader,
      members,
      byName,
      concurrency: options.concurrency ?? "unbounded",
      policy,
      onMemberFailure: options.onMemberFailure ?? "report",
      guardrails: (options.guardrails ?? {}) as internal.TeamConfig["guardrails"]
    }
    type Output = OutputOf<M, Members>
    const team: Team<Output> = Object.assign(Object.create(Proto), {
      name: options.name,
      mode,
      description: options.description ?? options.leader.instructions,
      leader,
      members,
      onMemberFailure: config.onMemberFailure,
      run: (input: Agent.Input, runOptions?: Agent.RunOptions) =>
        SessionRun.around(
          config.name,
          input,
          runOptions,
          (input, options) => internal.run<Output>(config, input, options, undefined)
        ),
      stream: (input: Agent.Input, runOptions?: Agent.RunOptions) =>
        Runnable.stream(
          [config.name],
          (emit: (event: RunEvent<Output>) => Effect.Effect<unknown>) =>
            SessionRun.around(config.name, input, runOptions, (input, options) =>
              internal.run<Output>(config, input, options, emit))
        ),
      resume: (runId: string, runOptions?: Agent.RunOptions) =>
        internal.resume<Output>(config, runId, runOptions, undefined),
      resumeStream: (runId: string, runOptions?: Agent.RunOptions) =>
        Runnable.stream(
          [config.name],
          (emit: (event: RunEvent<Output>) => Effect.Effect<unknown>) =>
            internal.resume<Output>(config, runId, runOptions, emit)
        ),
      asTool: (toolOptions?: Agent.AsToolOptions) => Delegate.tool(team, "team", toolOptions)
    })
    return team
    // the overloads tell whether the LanguageModel is needed: only when `leader.model` is not given
  }) as Effect.Effect<Team<OutputOf<M, Members>>>
