/**
 * What runs like an agent: agents, teams of them, and anything else with a
 * name, a `run` and a `stream` (`Agent.asTool`, `Team.make`'s members and the
 * HTTP server take any `Runnable`).
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import type { Runnable } from "effect-agents"
 *
 * // one agent in front of another: a Runnable of your own
 * const withFallback = (first: Runnable.Runnable, second: Runnable.Runnable): Runnable.Runnable => ({
 *   name: first.name,
 *   run: (input, options) => Effect.orElse(first.run(input, options), () => second.run(input, options)),
 *   stream: (input, options) => Stream.orElse(first.stream(input, options), () => second.stream(input, options))
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import type { AgentError } from "./AgentError.js"
import * as RunContext from "./internal/runContext.js"
import type * as Policy from "./Policy.js"
import type * as Run from "./Run.js"
import type { Forwarded, RunEvent } from "./RunEvent.js"
import type * as RunState from "./RunState.js"
import type * as Session from "./Session.js"

/**
 * Settings of one run, over the runnable's own.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  readonly policy?: Policy.Options | undefined
  readonly maxSteps?: number | undefined
  /** The run's id (default: a random UUID). */
  readonly runId?: string | undefined
  /**
   * Called with the run's state after each half of each step (see
   * `RunState`), and once with the state a resumed run starts from when it
   * holds the answer: store it, and `agent.resume` continues the run from it.
   */
  readonly onState?: ((state: RunState.RunState) => Effect.Effect<void>) | undefined
  /**
   * The conversation the run continues (see `Session`): its history goes
   * before the input, and the run's turn is appended when it succeeds.
   */
  readonly session?: Session.Session | undefined
  /**
   * With a session: also keep the turn of a run that fails (its input, and
   * its steps up to the failure). Default: a failed or interrupted run
   * appends nothing.
   */
  readonly keepFailedTurn?: boolean | undefined
}

/**
 * Anything that runs like an agent: agents, and teams of them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Runnable<Output = string> {
  readonly name: string
  /** Runs to the final answer. */
  run(input: Run.Input, options?: RunOptions): Effect.Effect<Run.RunResult<Output>, AgentError>
  /** The same run, as a backpressured stream of its events. */
  stream(input: Run.Input, options?: RunOptions): Stream.Stream<RunEvent<Output>, AgentError>
}

/**
 * How a runnable is named and described as a tool (`agent.asTool`).
 *
 * @since 0.1.0
 * @category models
 */
export interface AsToolOptions {
  /** Default: the runnable's name made a valid tool name (`"Web Searcher"` → `"Web_Searcher"`). */
  readonly name?: string | undefined
  /** Default: the runnable's name and role (an agent's instructions, a team's description). */
  readonly description?: string | undefined
}

/**
 * Where the events of the runs started under it go, and where in the tree of
 * agents those runs sit.
 *
 * @since 0.1.0
 * @category events
 */
export interface Sink {
  /** The path the runs' names are appended to. */
  readonly path: ReadonlyArray<string>
  readonly emit: (event: Forwarded) => Effect.Effect<unknown>
}

/**
 * Runs an effect with the events of the runs it starts going to `sink`: how
 * anything that runs agents (a team, a DAG, your own code) collects their
 * events. The runs stream their models and emit every event but their
 * `RunCompleted`, at `sink.path` and their name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { type Agent, type RunEvent, Runnable } from "effect-agents"
 *
 * declare const member: Agent.Agent
 * const events: Array<RunEvent.Forwarded> = []
 * const run = member.run("Find X").pipe(
 *   Runnable.withSink({ path: ["Research Team"], emit: (event) => Effect.sync(() => events.push(event)) })
 * ) // events get paths like ["Research Team", "searcher"]
 * ```
 *
 * @since 0.1.0
 * @category events
 */
export const withSink: {
  (sink: Sink): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, sink: Sink): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, sink: Sink) => RunContext.streamingTo(self, sink.path, sink.emit)
)

/**
 * A stream of the events `body` emits (of any type `A`), with the runs under
 * it streaming their `Forwarded` events into it at `path`. The stream is
 * backpressured (the body waits when the consumer is behind), ends when the
 * body succeeds, fails when it fails, and stopping it interrupts the body.
 * Agents, teams and DAGs stream through this.
 *
 * @example
 * ```ts
 * import { Runnable } from "effect-agents"
 *
 * const events = Runnable.stream(["my-workflow"], (emit) =>
 *   emit({ _tag: "RunStarted", runId: "r1", agent: "my-workflow", path: ["my-workflow"], input: "go" })
 * )
 * ```
 *
 * @since 0.1.0
 * @category events
 */
export const stream = <A, E, R>(
  path: ReadonlyArray<string>,
  body: (emit: (event: A | Forwarded) => Effect.Effect<unknown>) => Effect.Effect<unknown, E, R>
): Stream.Stream<A | Forwarded, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<A | Forwarded, E>({ capacity: 16 })
    const emit = (event: A | Forwarded) => mailbox.offer(event)
    yield* body(emit).pipe(
      withSink({ path, emit }),
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))
