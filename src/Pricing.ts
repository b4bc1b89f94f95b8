/**
 * What model calls cost: a price table per model, in US dollars per million
 * tokens (input, output, and cached input where the provider reports it).
 * The table shipped ({@link openAi}) has OpenAI's current text models; a
 * model it does not know has no price, and its calls count nothing in
 * `RunMetrics.costUsd` nor in a `costUsd` budget. Override or extend the
 * table with {@link layer} where the agents are made.
 *
 * A model is found by its name as the provider answers it: exactly, or by
 * the longest name in the table it starts with followed by `-` (a dated
 * snapshot, `gpt-4o-2024-08-06`, is priced as `gpt-4o`); a provider prefix
 * (`openai/gpt-4o`) is ignored.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Pricing } from "effect-agents"
 *
 * const agent = Agent.make({ name: "a", instructions: "" }).pipe(
 *   Effect.provide(Pricing.layer({ ...Pricing.openAi, "my-model": { input: 0.5, output: 1.5 } }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type * as LanguageModel from "./LanguageModel.js"

/**
 * The price of a model, in US dollars per million tokens. Cached input
 * tokens are priced at `cachedInput` when given, else at `input`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Price {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number | undefined
}

/**
 * Prices by model name.
 *
 * @since 0.1.0
 * @category models
 */
export type PriceTable = Readonly<Record<string, Price>>

/**
 * OpenAI's current text models, at their standard (not batch, not flex)
 * prices per million tokens.
 *
 * @since 0.1.0
 * @category tables
 */
export const openAi: PriceTable = {
  "gpt-5.1": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-chat-latest": { input: 1.25, cachedInput: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cachedInput: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cachedInput: 0.005, output: 0.4 },
  "gpt-5-pro": { input: 15, output: 120 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "o3": { input: 2, cachedInput: 0.5, output: 8 },
  "o3-pro": { input: 20, output: 80 },
  "o3-mini": { input: 1.1, cachedInput: 0.55, output: 4.4 },
  "o4-mini": { input: 1.1, cachedInput: 0.275, output: 4.4 },
  "o1": { input: 15, cachedInput: 7.5, output: 60 }
}

/**
 * The price table the agents use: {@link openAi} unless a layer gives
 * another (see {@link layer}). An agent reads it when it is made.
 *
 * @since 0.1.0
 * @category services
 */
export class Prices extends Context.Reference<Prices>()("effect-agents/Pricing/Prices", {
  defaultValue: (): PriceTable => openAi
}) {}

/**
 * A layer of the price table the agents made under it use.
 *
 * @example
 * ```ts
 * import { Pricing } from "effect-agents"
 *
 * const PricesLive = Pricing.layer({ ...Pricing.openAi, "gpt-4o": { input: 2, output: 8 } })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (table: PriceTable): Layer.Layer<never> => Layer.succeed(Prices, table)

/**
 * The price of a model in a table: by its exact name, or the longest name
 * it starts with followed by `-` (a dated snapshot); none when unknown.
 *
 * @example
 * ```ts
 * import { Pricing } from "effect-agents"
 *
 * console.log(Pricing.lookup(Pricing.openAi, "gpt-4o-mini-2024-07-18")) // gpt-4o-mini's price
 * ```
 *
 * @since 0.1.0
 * @category pricing
 */
export const lookup = (table: PriceTable, model: string): Price | undefined => {
  const name = model.slice(model.lastIndexOf("/") + 1)
  if (Object.hasOwn(table, name)) return table[name]
  let best: string | undefined
  for (const key of Object.keys(table)) {
    if (name.startsWith(`${key}-`) && (best === undefined || key.length > best.length)) best = key
  }
  return best === undefined ? undefined : table[best]
}

/**
 * What a model call's usage costs at a price, in US dollars.
 *
 * @example
 * ```ts
 * import { Pricing } from "effect-agents"
 *
 * const usd = Pricing.cost({ input: 2.5, output: 10 }, { inputTokens: 1000, outputTokens: 100 }) // 0.0035
 * ```
 *
 * @since 0.1.0
 * @category pricing
 */
export const cost = (price: Price, usage: LanguageModel.Usage): number => {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens)
  return ((usage.inputTokens - cached) * price.input + cached * (price.cachedInput ?? price.input) +
    usage.outputTokens * price.output) / 1_000_000
}

/**
 * What a call to `model` with `usage` costs by `table`; none when the model has no price.
 *
 * @example
 * ```ts
 * import { Pricing } from "effect-agents"
 *
 * const usd = Pricing.costOf(Pricing.openAi, "gpt-4o", { inputTokens: 1000, outputTokens: 100 })
 * ```
 *
 * @since 0.1.0
 * @category pricing
 */
export const costOf = (table: PriceTable, model: string, usage: LanguageModel.Usage): number | undefined => {
  const price = lookup(table, model)
  return price === undefined ? undefined : cost(price, usage)
}
