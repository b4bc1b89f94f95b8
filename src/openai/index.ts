/**
 * effect-agents/openai: language models over the official `openai` SDK,
 * for OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio,
 * llama.cpp). The root entry does not load the SDK: only this one does.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as OpenAiClient from "./OpenAiClient.js"

/** @since 0.1.0 */
export * as OpenAiModel from "./OpenAiModel.js"
