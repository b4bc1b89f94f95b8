/**
 * effect-agents/effect-ai: every `@effect/ai` provider (Anthropic, OpenAI
 * and the others of `@effect/ai` 0.37) as this library's model. The root
 * entry does not load `@effect/ai`: only this one does.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as EffectAiModel from "./EffectAiModel.js"
