/**
 * One model call of a step, with the run's policy: an attempt (generated, or
 * streamed and assembled), retries on each model within the retry budget,
 * then the fallback models. Streamed text that reached the caller cannot be
 * taken back: a call that fails after it is neither retried nor handed to a
 * fallback.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import { MalformedResponse } from "../ModelError.js"
import * as Policy from "../Policy.js"
import * as Pricing from "../Pricing.js"
import type * as RunEvent from "../RunEvent.js"
import * as Budget from "./budget.js"
import * as Retry from "./retry.js"
import { operation, type Tracing } from "./tracing.js"

/** What a model call needs to know of its run. */
export interface Env {
  readonly runId: string
  readonly agent: string
  readonly path: ReadonlyArray<string>
  /** Where a streamed run's events go; absent, the model is called with `generate`. */
  readonly emit: ((event: RunEvent.TextDelta) => Effect.Effect<unknown>) | undefined
  readonly clock: Clock.Clock
  readonly tracing: Tracing
  readonly policy: Policy.Policy
  /** The model, then its fallbacks. */
  readonly models: ReadonlyArray<LanguageModel.Service>
  readonly tools: ReadonlyArray<LanguageModel.ToolDefinition>
  readonly responseFormat: LanguageModel.ResponseFormat | undefined
  /** The timeout of a call's first attempt (see {@link firstTimeout}), fixed for the run. */
  readonly firstTimeout: Duration.Duration | undefined
  /** The prices of the models, for the calls' costs. */
  readonly prices: Pricing.PriceTable
  /** The counter of the budgeted run the run is part of, which each call charges. */
  readonly budget: Budget.Counter | undefined
}

/** What a response cost, when its model has a price. */
export const costOf = (env: Env, response: LanguageModel.GenerateResponse): number | undefined =>
  Pricing.costOf(env.prices, response.model, response.usage)

/** A run's cost so far, and a call's. */
export const addCost = (total: number | undefined, cost: number | undefined): number | undefined =>
  cost === undefined ? total : (total ?? 0) + cost

/**
 * What a model call keeps as it goes: its attempts beyond the first
 * (fallbacks included), and when a streamed attempt's first text reached the
 * caller. That text cannot be taken back: from then on, a failure is final.
 */
export class Tally {
  retries = 0
  streamedTextAt: number | undefined = undefined

  /** Whether a failure may be retried, or handed to a fallback: no text reached the caller. */
  readonly open = (): boolean => this.streamedTextAt === undefined

  /** When the call's first text came: its first streamed delta, or the generated `response` at `now`. */
  firstTextAt(response: LanguageModel.GenerateResponse, now: number): number | undefined {
    return this.streamedTextAt ?? (response.text.length > 0 ? now : undefined)
  }
}

/** The timeout of a call's first attempt: the policy's, within the retry budget when it retries. */
export const firstTimeout = (policy: Policy.Policy): Duration.Duration | undefined => {
  const limit = policy.retry === undefined ? policy.modelTimeout : Duration.min(policy.modelTimeout, policy.retryBudget)
  return Policy.isLimited(limit) ? limit : undefined
}

/**
 * The model call of step `step` on the conversation `messages`, counted in
 * `tally`. Made in the step that runs it, and run once: a happy call costs a
 * step no more than the model's own effect and one handler for its failure.
 */
export const call = (
  env: Env,
  messages: ReadonlyArray<LanguageModel.Message>,
  step: number,
  tally: Tally
): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
  const request: LanguageModel.GenerateRequest = {
    messages,
    tools: env.tools,
    responseFormat: env.responseFormat,
    timeout: env.firstTimeout
  }
  const attempt: Attempt = (model, request) => traced(env, model, step, once(env, model, request, step, tally))
  let called = withRetries(env, env.models[0]!, request, attempt, tally)
  for (let i = 1; i < env.models.length; i++) {
    const fallback = env.models[i]!
    called = Effect.catchIf(called, tally.open, () => {
      tally.retries++
      return withRetries(env, fallback, request, attempt, tally)
    })
  }
  // one more call against the budget as it starts (its tokens and cost are charged once the run has them: see `spent`)
  return env.budget === undefined ? called : Effect.zipRight(Budget.charge(env.budget, { modelCalls: 1 }), called)
}

/**
 * A response's tokens and cost charged to the budget, once the run's state
 * has them (a run stopped by its budget reports the call that crossed it).
 */
export const spent = <A, E>(
  env: Env,
  response: LanguageModel.GenerateResponse,
  next: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  if (env.budget === undefined) return next
  const costUsd = costOf(env, response)
  const charged = Effect.zipRight(
    Budget.charge(env.budget, { tokens: response.usage.inputTokens + response.usage.outputTokens, costUsd }),
    next
  )
  return costUsd !== undefined || !Budget.limits(env.budget, "costUsd") ? charged : Effect.zipRight(
    unpriced(response.model),
    charged
  )
}

/** The models whose calls a dollar budget could not count, each told once. */
const unpricedModels = new Set<string>()

const unpriced = (model: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (unpricedModels.has(model)) return Effect.void
    unpricedModels.add(model)
    return Effect.logWarning(
      `the model "${model}" has no price: its calls count nothing in a costUsd budget (see Pricing.layer)`
    )
  })

/** One attempt of a call on one model. */
type Attempt = (
  model: LanguageModel.Service,
  request: LanguageModel.GenerateRequest
) => Effect.Effect<LanguageModel.GenerateResponse, ModelError>

/** One attempt on one model: generated, or streamed (its text emitted as it comes). */
const once = (
  env: Env,
  model: LanguageModel.Service,
  request: LanguageModel.GenerateRequest,
  step: number,
  tally: Tally
): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
  env.emit === undefined ? model.generate(request) : streamed(env, env.emit, model.stream(request), step, tally)

/** A streamed response, assembled: its text emitted delta by delta, its tool calls and finish collected. */
const streamed = (
  env: Env,
  emit: NonNullable<Env["emit"]>,
  parts: Stream.Stream<LanguageModel.StreamPart, ModelError>,
  step: number,
  tally: Tally
): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
  Effect.suspend(() => {
    let text = ""
    const toolCalls: Array<LanguageModel.ToolCall> = []
    let finish: LanguageModel.FinishPart | undefined
    const { agent, path, runId } = env
    return Stream.runForEach(parts, (part) => {
      switch (part._tag) {
        case "TextDelta": {
          tally.streamedTextAt ??= env.clock.unsafeCurrentTimeMillis()
          text += part.text
          return emit({ _tag: "TextDelta", runId, agent, path, step, text: part.text })
        }
        case "ToolCall": {
          toolCalls.push(part.toolCall)
          return Effect.void
        }
        case "Finish": {
          finish = part
          return Effect.void
        }
      }
    }).pipe(
      Effect.flatMap(() =>
        finish === undefined
          ? Effect.fail(new MalformedResponse({ message: "the stream ended without a finish part" }))
          : Effect.succeed({
            text,
            toolCalls,
            usage: finish.usage,
            finishReason: finish.finishReason,
            model: finish.model
          })
      )
    )
  })

/** An attempt in a span, when a tracer listens, with the response's model and usage. */
const traced = <E>(
  env: Env,
  model: LanguageModel.Service,
  step: number,
  attempt: Effect.Effect<LanguageModel.GenerateResponse, E>
): Effect.Effect<LanguageModel.GenerateResponse, E> => {
  if (!env.tracing.traced) return attempt
  return attempt.pipe(
    Effect.tap((response) =>
      env.tracing.annotate({
        "gen_ai.response.model": response.model,
        "gen_ai.response.finish_reasons": [response.finishReason],
        "gen_ai.usage.input_tokens": response.usage.inputTokens,
        "gen_ai.usage.output_tokens": response.usage.outputTokens
      })
    ),
    env.tracing.span(`${operation.chat} ${model.model}`, {
      kind: "client",
      attributes: {
        "gen_ai.operation.name": operation.chat,
        ...(model.provider === undefined ? {} : { "gen_ai.provider.name": model.provider }),
        "gen_ai.request.model": model.model,
        "gen_ai.request.stream": env.emit !== undefined,
        "gen_ai.agent.name": env.agent,
        "agent.step": step
      }
    })
  )
}

/**
 * The attempts on one model: the first, then (after a retryable failure) the
 * policy's retries, each within what is left of the retry budget. The retry
 * machinery starts at the first failure, which is the schedule's first input:
 * a call that succeeds pays nothing for it.
 */
const withRetries = (
  env: Env,
  model: LanguageModel.Service,
  request: LanguageModel.GenerateRequest,
  attempt: Attempt,
  tally: Tally
): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
  const policy = env.policy
  if (policy.retry === undefined) return attempt(model, request)
  const clock = env.clock
  const startedAt = clock.unsafeCurrentTimeMillis()
  return Effect.catchIf(attempt(model, request), tally.open, (first) => {
    const budget = Duration.toMillis(policy.retryBudget)
    let attempts = 1
    const again = Effect.suspend(() => {
      if (attempts++ === 1) return Effect.fail(first)
      tally.retries++
      const left = Duration.millis(budget - (clock.unsafeCurrentTimeMillis() - startedAt))
      const timeout = Policy.isLimited(policy.modelTimeout) ? Duration.min(policy.modelTimeout, left) : left
      return attempt(model, { ...request, timeout })
    })
    const schedule = Policy.retrySchedule(policy, { startedAt })!
    return Effect.mapError(Effect.retry(again, { schedule, while: tally.open }), (error) =>
      // a failure after streamed text is final, not a retry that gave up
      attempts <= 2 || !tally.open()
        ? error
        : Retry.gaveUp(error, attempts - 1, Duration.millis(clock.unsafeCurrentTimeMillis() - startedAt)))
  })
}
