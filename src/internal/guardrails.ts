/**
 * The checks of guardrails (see `Guardrail`): each in its span, a trip
 * emitted as a `GuardrailTripped` event and failing with the error of that
 * name. The loop and a team's run call them at their points: a run's input,
 * its answer, each tool call.
 */
import * as Effect from "effect/Effect"
import type { AgentError } from "../AgentError.js"
import { GuardrailTripped } from "../AgentError.js"
import type * as Guardrail from "../Guardrail.js"
import * as LanguageModel from "../LanguageModel.js"
import type * as RunEvent from "../RunEvent.js"
import type * as RunState from "../RunState.js"
import type { Tracing } from "./tracing.js"

type Kind = GuardrailTripped["kind"]

/** What the checks need to know of their run. */
export interface Env {
  readonly runId: string
  readonly agent: string
  readonly path: ReadonlyArray<string>
  readonly emit: ((event: RunEvent.GuardrailTripped) => Effect.Effect<unknown>) | undefined
  readonly tracing: Tracing
}

/** A verdict, as an Effect. */
const verdictOf = <V>(checked: Guardrail.Checked<V>): Effect.Effect<V, AgentError> =>
  Effect.isEffect(checked) ? checked : Effect.succeed(checked)

/** One check, in its span. */
const check = <V>(
  env: Env,
  kind: Kind,
  name: string,
  run: () => Guardrail.Checked<V>
): Effect.Effect<V, AgentError> => {
  const checked = Effect.suspend(() => verdictOf(run()))
  return env.tracing.span("guardrail.check", {
    attributes: { "guardrail.name": name, "guardrail.kind": kind, "gen_ai.agent.name": env.agent }
  })(checked)
}

/** The run stops: its `GuardrailTripped` event, then the failure. */
export const tripped = (env: Env, kind: Kind, name: string, info: unknown): Effect.Effect<never, GuardrailTripped> => {
  const error = new GuardrailTripped({ guardrail: name, kind, agent: env.agent, info })
  if (env.emit === undefined) return Effect.fail(error)
  const { agent, path, runId } = env
  return Effect.zipRight(
    env.emit({ _tag: "GuardrailTripped", runId, agent, path, guardrail: name, kind, info }),
    Effect.fail(error)
  )
}

/** Input guardrails, all at once: the first trip fails, and interrupts the others. */
export const inputs = (
  env: Env,
  guardrails: ReadonlyArray<Guardrail.InputGuardrail>,
  input: Guardrail.InputCheck
): Effect.Effect<void, AgentError> =>
  Effect.forEach(
    guardrails,
    (guardrail) =>
      Effect.flatMap(
        check(env, "input", guardrail.name, () => guardrail.check(input)),
        (verdict) => verdict._tag === "Trip" ? tripped(env, "input", guardrail.name, verdict.info) : Effect.void
      ),
    { concurrency: "unbounded", discard: true }
  )

/** The input guardrails of a run, in two: those that block its first model call, and those beside it. */
export const splitInputs = (
  env: Env,
  guardrails: ReadonlyArray<Guardrail.InputGuardrail> | undefined,
  input: Guardrail.InputCheck
): {
  readonly blocking: Effect.Effect<void, AgentError> | undefined
  readonly parallel: Effect.Effect<void, AgentError> | undefined
} => {
  if (guardrails === undefined || guardrails.length === 0) return { blocking: undefined, parallel: undefined }
  const blocking = guardrails.filter((guardrail) => guardrail.mode === "blocking")
  const parallel = guardrails.filter((guardrail) => guardrail.mode === "parallel")
  return {
    blocking: blocking.length === 0 ? undefined : inputs(env, blocking, input),
    parallel: parallel.length === 0 ? undefined : inputs(env, parallel, input)
  }
}

/** What an output guardrail found: none, or its trip and whether the model may correct its answer. */
export interface OutputTrip {
  readonly guardrail: Guardrail.OutputGuardrail<never>
  readonly trip: Guardrail.Trip
}

/** Output guardrails on an answer, in order: the first trip, if any. */
export const outputs = <Output>(
  env: Env,
  guardrails: ReadonlyArray<Guardrail.OutputGuardrail<Output>>,
  answer: Guardrail.OutputCheck<Output>
): Effect.Effect<OutputTrip | undefined, AgentError> =>
  Effect.suspend(() => {
    const next = (i: number): Effect.Effect<OutputTrip | undefined, AgentError> => {
      const guardrail = guardrails[i]
      if (guardrail === undefined) return Effect.succeed(undefined)
      return Effect.flatMap(
        check(env, "output", guardrail.name, () => guardrail.check(answer)),
        (verdict) =>
          verdict._tag === "Trip"
            ? Effect.succeed({ guardrail: guardrail as Guardrail.OutputGuardrail<never>, trip: verdict })
            : next(i + 1)
      )
    }
    return next(0)
  })

/** Output guardrails that must pass: the first trip fails. */
export const outputsPass = <Output>(
  env: Env,
  guardrails: ReadonlyArray<Guardrail.OutputGuardrail<Output>> | undefined,
  answer: Guardrail.OutputCheck<Output>
): Effect.Effect<void, AgentError> =>
  guardrails === undefined || guardrails.length === 0
    ? Effect.void
    : Effect.flatMap(outputs(env, guardrails, answer), (found) =>
      found === undefined ? Effect.void : tripped(env, "output", found.guardrail.name, found.trip.info))

/** What the model reads when an output guardrail asks it to correct its answer. */
export const correction = (found: OutputTrip): LanguageModel.UserMessage =>
  LanguageModel.user(
    found.trip.message ??
      `Your answer did not pass the check "${found.guardrail.name}". Answer again so that it does.`
  )

/** The tool guardrails that guard a tool. */
export const forTool = (
  guardrails: ReadonlyArray<Guardrail.ToolGuardrail>,
  tool: string
): ReadonlyArray<Guardrail.ToolGuardrail> =>
  guardrails.filter((guardrail) => guardrail.tools === undefined || guardrail.tools.includes(tool))

/**
 * Tool guardrails, before or after a call, in order: the first rejection's
 * message, or none; a trip fails.
 */
export const toolCall = (
  env: Env,
  guardrails: ReadonlyArray<Guardrail.ToolGuardrail>,
  when: "before" | "after",
  call: LanguageModel.ToolCall,
  result?: Guardrail.ToolResult
): Effect.Effect<string | undefined, AgentError> =>
  Effect.suspend(() => {
    const next = (i: number): Effect.Effect<string | undefined, AgentError> => {
      const guardrail = guardrails[i]
      if (guardrail === undefined) return Effect.succeed(undefined)
      const checkOf = when === "before"
        ? guardrail.before === undefined ? undefined : () => guardrail.before!(call)
        : guardrail.after === undefined
        ? undefined
        : () => guardrail.after!(call, result!)
      if (checkOf === undefined) return next(i + 1)
      return Effect.flatMap(check(env, "tool", guardrail.name, checkOf), (verdict) => {
        switch (verdict._tag) {
          case "Pass":
            return next(i + 1)
          case "Reject":
            return Effect.succeed(verdict.message)
          case "Trip":
            return tripped(env, "tool", guardrail.name, verdict.info)
        }
      })
    }
    return next(0)
  })

/** An answer the loop decided on, and the state it leaves. */
export interface Decided<Output> {
  readonly state: RunState.RunState
  readonly answer?: { readonly content: string; readonly output: Output } | undefined
}

/**
 * An answer through the output guardrails: passed, it stands; tripped, the
 * run fails, or (`onTrip: "correct"`, once per run, within `maxSteps`) the
 * model is asked to correct it.
 */
export const answer = <Output>(
  env: Env,
  guardrails: ReadonlyArray<Guardrail.OutputGuardrail<Output>> | undefined,
  maxSteps: number,
  decided: Decided<Output>
): Effect.Effect<Decided<Output>, AgentError> => {
  const answered = decided.answer
  if (answered === undefined || guardrails === undefined || guardrails.length === 0) return Effect.succeed(decided)
  return Effect.flatMap(
    outputs(env, guardrails, { agent: env.agent, content: answered.content, output: answered.output }),
    (found): Effect.Effect<Decided<Output>, AgentError> => {
      if (found === undefined) return Effect.succeed(decided)
      const { state } = decided
      if (found.guardrail.onTrip === "correct" && state.correctionsLeft > 0 && state.steps.length < maxSteps) {
        const messages = [...state.messages, correction(found)]
        return Effect.succeed({
          state: { ...state, answer: undefined, messages, correctionsLeft: state.correctionsLeft - 1 }
        })
      }
      return tripped(env, "output", found.guardrail.name, found.trip.info)
    }
  )
}
