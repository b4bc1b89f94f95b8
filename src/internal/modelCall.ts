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
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type * as LanguageModel from "../LanguageModel.js"
import type { ModelError } from "../ModelError.js"
import { MalformedResponse } from "../ModelError.js"
import * as Policy from "../Policy.js"
import type * as RunEvent from "../RunEvent.js"
import * as Retry from "./retry.js"
import type { Tracing } from "./tracing.js"

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
}

/** A model call done. */
export interface Called {
  readonly response: LanguageModel.GenerateResponse
  /** Attempts beyond the first, fallbacks included. */
  readonly retries: number
  /** When its first text came (the clock's milliseconds), if it had text. */
  readonly firstTextAt: number | undefined
}

/** A failure after streamed text reached the caller: final. */
class AfterText {
  constructor(readonly error: ModelError) {}
}

/** The timeout of a call's first attempt: the policy's, within the retry budget when it retries. */
export const firstTimeout = (policy: Policy.Policy): Duration.Duration | undefined => {
  const limit = policy.retry === undefined ? policy.modelTimeout : Duration.min(policy.modelTimeout, policy.retryBudget)
  return Policy.isLimited(limit) ? limit : undefined
}

/** The model call of step `step` on the conversation `messages`. */
export const call = (
  env: Env,
  messages: ReadonlyArray<LanguageModel.Message>,
  step: number
): Effect.Effect<Called, ModelError> =>
  Effect.suspend(() => {
    const request: LanguageModel.GenerateRequest = {
      messages,
      tools: env.tools,
      responseFormat: env.responseFormat,
      timeout: firstTimeout(env.policy)
    }
    let retries = 0
    let firstTextAt: number | undefined
    const attempt = (model: LanguageModel.Service, request: LanguageModel.GenerateRequest) =>
      traced(env, model, step, once(env, model, request, step, (at) => firstTextAt ??= at))
    const onModel = (model: LanguageModel.Service) => withRetries(env, model, request, attempt, () => retries++)
    let called = onModel(env.models[0]!)
    for (const fallback of env.models.slice(1)) {
      called = Effect.catchIf(called, isModelError, () => {
        retries++
        return onModel(fallback)
      })
    }
    return called.pipe(
      Effect.map((response): Called => ({ response, retries, firstTextAt })),
      Effect.mapError((error) => error instanceof AfterText ? error.error : error)
    )
  })

/** One attempt on one model: generated, or streamed (its text emitted as it comes). */
const once = (
  env: Env,
  model: LanguageModel.Service,
  request: LanguageModel.GenerateRequest,
  step: number,
  sawText: (at: number) => void
): Effect.Effect<LanguageModel.GenerateResponse, ModelError | AfterText> => {
  if (env.emit === undefined) {
    return Effect.map(model.generate(request), (response) => {
      if (response.text.length > 0) sawText(env.clock.unsafeCurrentTimeMillis())
      return response
    })
  }
  return streamed(env, env.emit, model.stream(request), step, sawText)
}

/** A streamed response, assembled: its text emitted delta by delta, its tool calls and finish collected. */
const streamed = (
  env: Env,
  emit: NonNullable<Env["emit"]>,
  parts: Stream.Stream<LanguageModel.StreamPart, ModelError>,
  step: number,
  sawText: (at: number) => void
): Effect.Effect<LanguageModel.GenerateResponse, ModelError | AfterText> =>
  Effect.suspend(() => {
    let text = ""
    const toolCalls: Array<LanguageModel.ToolCall> = []
    let finish: LanguageModel.FinishPart | undefined
    const { agent, path, runId } = env
    return Stream.runForEach(parts, (part) => {
      switch (part._tag) {
        case "TextDelta": {
          if (text.length === 0) sawText(env.clock.unsafeCurrentTimeMillis())
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
      Effect.mapError((error) => text.length > 0 ? new AfterText(error) : error),
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
        "gen_ai.usage.input_tokens": response.usage.inputTokens,
        "gen_ai.usage.output_tokens": response.usage.outputTokens
      })
    ),
    env.tracing.span("model.call", {
      kind: "client",
      attributes: { "gen_ai.request.model": model.model, "gen_ai.agent.name": env.agent, "agent.step": step }
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
  attempt: (
    model: LanguageModel.Service,
    request: LanguageModel.GenerateRequest
  ) => Effect.Effect<LanguageModel.GenerateResponse, ModelError | AfterText>,
  retried: () => void
): Effect.Effect<LanguageModel.GenerateResponse, ModelError | AfterText> => {
  const policy = env.policy
  if (policy.retry === undefined) return attempt(model, request)
  const clock = env.clock
  const startedAt = clock.unsafeCurrentTimeMillis()
  const budget = Duration.toMillis(policy.retryBudget)
  return Effect.catchIf(attempt(model, request), isModelError, (first) => {
    let attempts = 1
    // a failure after text is final: it leaves the retries as a value
    const again = Effect.suspend(() => {
      if (attempts++ === 1) return Effect.fail(first)
      retried()
      const left = Duration.millis(budget - (clock.unsafeCurrentTimeMillis() - startedAt))
      const timeout = Policy.isLimited(policy.modelTimeout) ? Duration.min(policy.modelTimeout, left) : left
      return attempt(model, { ...request, timeout }).pipe(
        Effect.map((response) => Either.right<LanguageModel.GenerateResponse>(response)),
        Effect.catchIf((error) => error instanceof AfterText, (error) => Effect.succeed(Either.left(error)))
      )
    })
    return Effect.retry(again, Policy.retrySchedule(policy, { startedAt })!).pipe(
      Effect.mapError((error) =>
        attempts <= 2
          ? error
          : Retry.gaveUp(error, attempts - 1, Duration.millis(clock.unsafeCurrentTimeMillis() - startedAt))
      ),
      Effect.flatMap((outcome): Effect.Effect<LanguageModel.GenerateResponse, AfterText> =>
        Either.isRight(outcome) ? Effect.succeed(outcome.right) : Effect.fail(outcome.left)
      )
    )
  })
}

const isModelError = (error: ModelError | AfterText): error is ModelError => !(error instanceof AfterText)
