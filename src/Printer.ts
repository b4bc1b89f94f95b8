/**
 * Prints runs to the terminal. {@link printResponse} prints an agent's (or a
 * team's) run the way Agno's `print_response` does: the message, the tool
 * calls in one line each, the response (streamed as it arrives with
 * `stream: true`) and, on request, the metrics. {@link printTimeline} draws
 * a finished run of a DAG, one bar per node on a shared time axis.
 *
 * Output goes to the {@link Writer} in context, standard output by default,
 * so tests and other front ends can capture it. The printer sits above the
 * core: it imports agents, teams and DAGs, and none of them imports it.
 *
 * @example
 * ```ts
 * import { type Agent, Printer } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 * const program = Printer.printResponse(agent, "What is the weather in Paris?", { stream: true, showMetrics: true })
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { Input, RunMetrics, Runnable, RunOptions, RunResult, ToolCallRecord } from "./Agent.js"
import type { AgentError } from "./AgentError.js"
import type * as Dag from "./Dag.js"
import { decodeInput, inputText } from "./Run.js"
import * as RunEvent from "./RunEvent.js"
import type { MemberRun } from "./Team.js"

/**
 * Where printed text goes.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriterService {
  readonly write: (text: string) => Effect.Effect<void>
  /** Whether to use ANSI styles. */
  readonly color: boolean
}

/** Standard output: styled when it is a terminal, unless `NO_COLOR` is set. */
const standardOutput: WriterService = {
  write: (text) => Effect.sync(() => process.stdout.write(text)),
  color: process.stdout.isTTY === true
}

/**
 * `NO_COLOR` (https://no-color.org), read through Effect's `Config`: any value
 * but the empty string turns the styles of standard output off. A writer
 * provided with `color: true` keeps them, as an explicit setting should.
 */
const noColor: Effect.Effect<boolean> = Config.string("NO_COLOR").pipe(
  Config.withDefault(""),
  Config.map((value) => value !== ""),
  Effect.orElseSucceed(() => false)
)

/**
 * The writer in context; standard output (styled when it is a terminal and
 * `NO_COLOR` is not set) unless another is provided.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Printer } from "effect-agents"
 *
 * const lines: Array<string> = []
 * const capture = Effect.provideService(Printer.Writer, {
 *   write: (text) => Effect.sync(() => lines.push(text)),
 *   color: false
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class Writer extends Context.Reference<Writer>()("effect-agents/Printer/Writer", {
  defaultValue: (): WriterService => standardOutput
}) {}

/**
 * @since 0.1.0
 * @category models
 */
export interface PrintOptions extends RunOptions {
  /** Print the response as it streams in (default false). */
  readonly stream?: boolean | undefined
  /** Print each tool call with its result (default true). */
  readonly showToolCalls?: boolean | undefined
  /** Print tokens, steps, tool calls, retries and timings (default false). */
  readonly showMetrics?: boolean | undefined
  /**
   * Print the response of each member a team (or an agent) delegated to,
   * under the tool calls (default false; Agno's `show_members_responses`).
   */
  readonly showMemberResponses?: boolean | undefined
}

const truncate = (text: string, max: number): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`
}

const milliseconds = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`)

/**
 * One tool call in one line: `name(args) → result (duration)`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatToolCall = (call: ToolCallRecord): string =>
  `${call.isError ? "✗" : "•"} ${call.name}(${truncate(call.arguments, 60)}) → ${truncate(call.result, 80)} (${
    milliseconds(call.durationMs)
  })`

/**
 * The metrics of a run in one line.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatMetrics = (metrics: RunMetrics): string =>
  [
    `tokens ${metrics.inputTokens} in · ${metrics.outputTokens} out · ${metrics.totalTokens} total`,
    `steps ${metrics.steps}`,
    `tool calls ${metrics.toolCalls}`,
    `retries ${metrics.retries}`,
    `first token ${metrics.timeToFirstTokenMs === undefined ? "–" : milliseconds(metrics.timeToFirstTokenMs)}`,
    `duration ${milliseconds(metrics.durationMs)}`
  ].join(" │ ")

/**
 * Runs a runnable (an agent, or a team) and prints the run. Returns the
 * run's result.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Printer } from "effect-agents"
 *
 * declare const agent: Agent.Agent
 * const program = Printer.printResponse(agent, "Hello", { stream: true })
 * ```
 *
 * @since 0.1.0
 * @category printing
 */
export const printResponse = <Output>(
  runnable: Runnable<Output>,
  input: Input,
  options?: PrintOptions
): Effect.Effect<RunResult<Output>, AgentError> =>
  Effect.gen(function*() {
    // the run's own input check, before anything is printed
    const message = typeof input === "string" ? input : yield* decodeInput(runnable.name, input)
    const writer = yield* Writer
    const color = writer.color && (writer !== standardOutput || !(yield* noColor))
    const style = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
    const heading = (title: string) => writer.write(`${style("1;36", `▸ ${title}`)}\n`)
    const showToolCalls = options?.showToolCalls ?? true
    const showMemberResponses = options?.showMemberResponses ?? false

    yield* heading(`Message to ${runnable.name}`)
    yield* writer.write(`${inputText(message)}\n\n`)

    const finish = (result: RunResult<Output>) =>
      options?.showMetrics
        ? Effect.zipRight(heading("Metrics"), writer.write(`${style("2", formatMetrics(result.metrics))}\n`))
        : Effect.void

    const memberResponse = (member: string, durationMs: number, content: string, isError: boolean) =>
      Effect.zipRight(
        heading(`Response from ${member} (${milliseconds(durationMs)})`),
        writer.write(`${isError ? `✗ ${content}` : content}\n`)
      )

    if (!options?.stream) {
      const result = yield* runnable.run(message, options)
      const calls = result.steps.flatMap((step) => step.toolCalls)
      if (showToolCalls && calls.length > 0) {
        yield* heading("Tool calls")
        yield* writer.write(calls.map((call) => `${formatToolCall(call)}\n`).join("") + "\n")
      }
      if (showMemberResponses && Predicate.hasProperty(result, "members") && Array.isArray(result.members)) {
        for (const run of result.members as ReadonlyArray<MemberRun>) {
          const failed = Either.isLeft(run.outcome)
          const content = Either.isRight(run.outcome) ? run.outcome.right.content : run.outcome.left.message
          yield* memberResponse(run.member, run.durationMs, content, failed)
          yield* writer.write("\n")
        }
      }
      yield* heading(`Response (${milliseconds(result.metrics.durationMs)})`)
      yield* writer.write(`${result.content}\n\n`)
      yield* finish(result)
      return result
    }

    // Streaming: a section heading is written when its first line arrives.
    let section: "none" | "tools" | "response" | "member" = "none"
    // tool lines and member responses end with a newline; streamed text does not
    const leave = (next: "tools" | "response" | "member") =>
      Effect.suspend(() => {
        const gap = section === "response" ? "\n\n" : section === "none" ? "" : "\n"
        section = next
        return writer.write(gap)
      })
    const enter = (next: "tools" | "response") =>
      section === next
        ? Effect.void
        : Effect.zipRight(leave(next), heading(next === "tools" ? "Tool calls" : "Response"))
    // Members' responses wait for the end of the step that asked for them, so that they come
    // after its tool calls, as when the run is not streamed.
    const pending: Array<RunEvent.MemberCompleted> = []
    const flush = Effect.suspend(() =>
      Effect.forEach(
        pending.splice(0),
        (event) =>
          Effect.zipRight(
            leave("member"),
            memberResponse(event.agent, event.durationMs, event.content, event.isError)
          ),
        { discard: true }
      )
    )
    let streamedText = false
    const completed = yield* runnable.stream(message, options).pipe(
      Stream.tap((event) => {
        // the runs delegated to: their responses, when asked for
        if (event._tag === "MemberCompleted" && event.path.length === 2) {
          if (showMemberResponses) pending.push(event)
          return Effect.void
        }
        // runs nested in this one (agents called as tools, a team's members) stream too: print this run's own events
        if (event.path.length > 1) return Effect.void
        switch (event._tag) {
          case "TextDelta":
            streamedText = true
            return Effect.zipRight(flush, Effect.zipRight(enter("response"), writer.write(event.text)))
          case "ToolCallCompleted":
            return showToolCalls
              ? Effect.zipRight(enter("tools"), writer.write(`${formatToolCall(event.call)}\n`))
              : Effect.void
          case "StepCompleted":
            return flush
          default:
            return Effect.void
        }
      }),
      Stream.filter(RunEvent.is("RunCompleted")),
      Stream.runLast,
      Effect.flatMap(Effect.orDieWith(() => new Error("the run's stream ended without a RunCompleted event")))
    )
    yield* flush
    // a routing team streams no text of its own: its answer is its member's
    if (!streamedText && completed.result.content.length > 0) {
      yield* enter("response")
      yield* writer.write(completed.result.content)
    }
    yield* writer.write("\n\n")
    yield* finish(completed.result)
    return completed.result
  })

// -----------------------------------------------------------------------------
// timelines
// -----------------------------------------------------------------------------

/**
 * Options of {@link formatTimeline}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TimelineOptions {
  /** Columns of the time axis (default 50). */
  readonly width?: number | undefined
  /** ANSI colours (default false). */
  readonly color?: boolean | undefined
}

const marks = {
  completed: { bar: "█", sign: "✓", style: "32" },
  failed: { bar: "█", sign: "✗", style: "31" },
  interrupted: { bar: "▒", sign: "⊘", style: "33" },
  skipped: { bar: "", sign: "–", style: "2" }
} as const

/**
 * A finished run of a DAG as a timeline: one bar per node on a shared time axis, from
 * its start to its end, and its outcome. Nodes that ran side by side show
 * side by side; a gap before a bar is a node waiting for its dependencies.
 *
 * ```
 * ▸ Timeline of report: completed in 1.20 s
 *            0 ms                                             1.20 s
 * ingest    ████████                                          ✓ 200 ms
 * stats             ████████████                              ✓ 300 ms
 * analysis          ████████████████████████████████          ✓ 800 ms
 * report                                            ████████  ✓ 200 ms
 * ```
 *
 * @example
 * ```ts
 * import { type Dag, Printer } from "effect-agents"
 *
 * declare const result: Dag.DagResult
 * console.log(Printer.formatTimeline(result, { width: 40 }))
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTimeline = <Out, E>(result: Dag.DagResult<Out, E>, options?: TimelineOptions): string => {
  const width = Math.max(10, Math.floor(options?.width ?? 50))
  const style = (code: string, text: string) => (options?.color ? `\x1b[${code}m${text}\x1b[0m` : text)
  const nodes = result.nodes as Record<string, Dag.NodeResult>
  const names = result.order as ReadonlyArray<string>
  const nameWidth = Math.max(4, ...names.map((name) => name.length)) + 2
  const total = Math.max(result.durationMs, 1)
  const column = (ms: number) => Math.round((ms / total) * width)
  const from = milliseconds(0)
  const to = milliseconds(result.durationMs)
  const lines = [
    style("1;36", `▸ Timeline of ${result.dag}: ${result.status} in ${milliseconds(result.durationMs)}`),
    style("2", `${" ".repeat(nameWidth)}${from}${" ".repeat(Math.max(1, width - from.length - to.length))}${to}`)
  ]
  for (const name of names) {
    const node = nodes[name]!
    const mark = marks[node.status]
    let bar = ""
    let label: string
    if (node.status === "skipped") {
      bar = " ".repeat(width)
      label = node.blockedBy === undefined ? "skipped" : `skipped (${node.blockedBy} did not complete)`
    } else {
      const start = Math.min(column(node.startMs), width - 1)
      const end = Math.max(start + 1, column(node.startMs + node.durationMs))
      bar = " ".repeat(start) + style(mark.style, mark.bar.repeat(end - start)) + " ".repeat(Math.max(0, width - end))
      const retried = node.attempts > 1 ? `, ${node.attempts} attempts` : ""
      label = `${milliseconds(node.durationMs)}${retried}${node.status === "interrupted" ? " interrupted" : ""}`
    }
    lines.push(`${name.padEnd(nameWidth)}${bar}  ${style(mark.style, mark.sign)} ${label}`)
  }
  return lines.join("\n") + "\n"
}

/**
 * Prints the timeline of a finished run of a DAG ({@link formatTimeline}) to
 * the {@link Writer} in context (standard output by default, in colour on a
 * terminal), as {@link printResponse} prints an agent's run.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Dag, Printer } from "effect-agents"
 *
 * declare const dag: Dag.Dag<string, { readonly report: string }>
 * const program = Dag.run(dag, "Q3").pipe(Effect.tap((result) => Printer.printTimeline(result)))
 * ```
 *
 * @since 0.1.0
 * @category printing
 */
export const printTimeline = <Out, E>(
  result: Dag.DagResult<Out, E>,
  options?: Omit<TimelineOptions, "color">
): Effect.Effect<void> =>
  Effect.flatMap(
    Writer,
    (writer) => writer.write(formatTimeline(result, { width: options?.width, color: writer.color }))
  )
