/**
 * How an agent copes with a world that fails: retries of model calls,
 * timeouts at every level, and fallback models.
 *
 * The defaults bound what the library controls: a model call is retried on
 * retryable errors with a jittered exponential backoff from 200 ms (factor 2,
 * 5 attempts in all), or after the `retry-after` a provider gave (plus up to
 * a fifth of it, at random; over a minute, it is not waited for), each attempt
 * times out after 2 minutes, and the call with all its retries ends within 5
 * minutes; with at most `maxSteps` steps, a run is bounded too. Each retry is
 * logged at warning level, and the last error says how many attempts were
 * made over how long.
 * Tool calls (your code) and whole runs get a timeout when you set one:
 * `toolTimeout` (or a tool's own `timeout`) and `runTimeout`. Each costs a
 * timer fiber per call or run, which is why they are not on by default. Every
 * setting can be changed per agent and per run.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Policy } from "effect-agents"
 *
 * const patient = Policy.make({
 *   retry: Schedule.exponential("1 second").pipe(Schedule.intersect(Schedule.recurs(8))),
 *   modelTimeout: "5 minutes",
 *   runTimeout: "30 minutes"
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import * as Retry from "./internal/retry.js"
import type * as LanguageModel from "./LanguageModel.js"
import type { ModelError } from "./ModelError.js"

/**
 * A resolved policy.
 *
 * @since 0.1.0
 * @category models
 */
export interface Policy {
  /**
   * The backoff between attempts of a model call, or `undefined` for no
   * retries. Only retryable errors are retried, and a `RateLimited` error
   * with a `retryAfter` is retried after that (see {@link retrySchedule}).
   */
  readonly retry: Schedule.Schedule<unknown, ModelError> | undefined
  /** The limit of one attempt of a model call, enforced by the model (see `GenerateRequest.timeout`). */
  readonly modelTimeout: Duration.Duration
  /**
   * The limit of a model call with all its retries and their waits: no retry
   * starts after it, and the last attempt gets only what is left of it.
   */
  readonly retryBudget: Duration.Duration
  /**
   * The longest `retry-after` a retry waits for. A rate-limited call told to
   * wait longer fails at once with its `RateLimited` error (which carries the
   * delay), so that the caller decides.
   */
  readonly maxRetryAfter: Duration.Duration
  /** The limit of one tool call, for tools without a timeout of their own (default: none). */
  readonly toolTimeout: Duration.Duration
  /** The limit of a whole run (default: none). */
  readonly runTimeout: Duration.Duration
  /** Models tried in turn, each with the same retries, when the model fails. */
  readonly fallback: ReadonlyArray<LanguageModel.Service>
  /** What the run may spend, its whole tree counted (see {@link Budget}); none by default. */
  readonly budget: Budget | undefined
}

/**
 * What a run may spend, counted over its whole tree: its own model and tool
 * calls, the agents it calls as tools, a team's members, a DAG's nodes, at
 * every depth. Each limit is optional:
 *
 * - `tokens`: input and output tokens of the model calls;
 * - `costUsd`: what the model calls cost, in US dollars (of the models with
 *   a price: see `Pricing`);
 * - `modelCalls`, `toolCalls`: how many calls start (a call over the limit
 *   does not start);
 * - `duration`: the run's time, like a run timeout over the tree.
 *
 * Tokens and cost are counted as each model call ends: the call that
 * crosses the limit stops the whole tree at once (the calls in flight are
 * interrupted, their finalizers run), and the run fails with
 * `BudgetExceeded`. A nested run's own budget applies inside its parent's:
 * its calls count against both, and crossing its own fails that run only
 * (an agent called as a tool fails the call, which its caller's model reads).
 *
 * @since 0.1.0
 * @category models
 */
export interface Budget {
  readonly tokens?: number | undefined
  readonly costUsd?: number | undefined
  readonly modelCalls?: number | undefined
  readonly toolCalls?: number | undefined
  readonly duration?: Duration.Duration | undefined
}

/**
 * The settings of a {@link Budget}, the duration as any `DurationInput`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BudgetOptions extends Omit<Budget, "duration"> {
  readonly duration?: Duration.DurationInput | undefined
}

/**
 * The settings of a policy; what is left out keeps its current value. A
 * timeout of `Duration.infinity` means none; `retry: false` means no retries.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly retry?: Schedule.Schedule<unknown, ModelError> | false | undefined
  readonly modelTimeout?: Duration.DurationInput | undefined
  readonly retryBudget?: Duration.DurationInput | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  readonly toolTimeout?: Duration.DurationInput | undefined
  readonly runTimeout?: Duration.DurationInput | undefined
  readonly fallback?: ReadonlyArray<LanguageModel.Service> | undefined
  /** Its limits join (and override, one by one) those of the policy's budget. */
  readonly budget?: BudgetOptions | undefined
}

/**
 * The default backoff: exponential from 200 ms with factor 2, jittered
 * (each delay times a random factor in [0.8, 1.2]), at most 4 retries
 * (5 attempts in all).
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultRetry: Schedule.Schedule<unknown, ModelError> = Schedule.exponential("200 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(4))
)

/**
 * The default policy.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults: Policy = {
  retry: defaultRetry,
  modelTimeout: Duration.minutes(2),
  retryBudget: Duration.minutes(5),
  maxRetryAfter: Duration.minutes(1),
  toolTimeout: Duration.infinity,
  runTimeout: Duration.infinity,
  fallback: [],
  budget: undefined
}

/**
 * Overrides some settings of a policy.
 *
 * @example
 * ```ts
 * import { Policy } from "effect-agents"
 *
 * const strict = Policy.merge(Policy.defaults, { retry: false, runTimeout: "30 seconds" })
 * const noRetries = Policy.merge({ retry: false }) // data-last, for pipe
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge: {
  (options: Options | undefined): (self: Policy) => Policy
  (self: Policy, options: Options | undefined): Policy
} = dual(2, (self: Policy, options: Options | undefined): Policy => {
  if (options === undefined) return self
  return {
    retry: options.retry === undefined ? self.retry : options.retry === false ? undefined : options.retry,
    modelTimeout: options.modelTimeout === undefined ? self.modelTimeout : Duration.decode(options.modelTimeout),
    retryBudget: options.retryBudget === undefined ? self.retryBudget : Duration.decode(options.retryBudget),
    maxRetryAfter: options.maxRetryAfter === undefined ? self.maxRetryAfter : Duration.decode(options.maxRetryAfter),
    toolTimeout: options.toolTimeout === undefined ? self.toolTimeout : Duration.decode(options.toolTimeout),
    runTimeout: options.runTimeout === undefined ? self.runTimeout : Duration.decode(options.runTimeout),
    fallback: options.fallback ?? self.fallback,
    budget: mergeBudget(self.budget, options.budget)
  }
})

/** A budget's limits, and some more (or other) ones. */
const mergeBudget = (self: Budget | undefined, options: BudgetOptions | undefined): Budget | undefined => {
  if (options === undefined) return self
  const { duration, ...counts } = options
  const merged: Budget = { ...self, ...counts }
  return duration === undefined ? merged : { ...merged, duration: Duration.decode(duration) }
}

/**
 * A policy from the defaults and some settings.
 *
 * @example
 * ```ts
 * import { Policy } from "effect-agents"
 *
 * const noRetries = Policy.make({ retry: false })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Policy => merge(defaults, options)

/**
 * The schedule a model call is retried with: the policy's backoff, only
 * while the error is retryable; after a `RateLimited` error that says when
 * to come back (`retryAfter`), that delay plus up to a fifth of it at random
 * (at least up to 100 ms), so that calls limited together do not come back
 * together; a `retryAfter` over `maxRetryAfter` ends the retries. No retry
 * starts after `retryBudget`, counted from `startedAt` (the call's first
 * attempt) or else from the first failure. Each retry is logged at warning
 * level with its attempt, delay and error. `undefined` when the policy has no
 * retries.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LanguageModel, Policy } from "effect-agents"
 *
 * const schedule = Policy.retrySchedule(Policy.defaults)!
 * const call = LanguageModel.generate({ messages: [LanguageModel.user("hi")], tools: [] }).pipe(
 *   Effect.retry(schedule)
 * )
 * ```
 *
 * @since 0.1.0
 * @category scheduling
 */
export const retrySchedule = (
  policy: Policy,
  options?: { readonly startedAt?: number | undefined }
): Schedule.Schedule<number, ModelError> | undefined =>
  policy.retry === undefined ? undefined : Retry.schedule(policy.retry, {
    budget: policy.retryBudget,
    maxRetryAfter: policy.maxRetryAfter,
    startedAt: options?.startedAt
  })

/**
 * Whether a timeout setting limits anything (`Duration.infinity` does not).
 *
 * @since 0.1.0
 * @category scheduling
 */
export const isLimited = (timeout: Duration.Duration): boolean => Duration.isFinite(timeout)
