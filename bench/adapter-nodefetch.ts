/**
 * effect-agents in the peer benchmark with `OpenAiClient.nodeFetch()`: the
 * same agent, DAG and runs as `bench/adapter.ts`, the SDK's requests over
 * Node's own HTTP client with keep-alive agents instead of the global fetch.
 */
import { OpenAiClient } from "effect-agents/openai"
import { transport } from "./adapter.js"

transport.fetch = OpenAiClient.nodeFetch()

export { capabilities, close, createAgent, createDag, packages } from "./adapter.js"
export const name = "effect-agents-nodefetch"
export const framework = "effect-agents (Agent.run over OpenAiModel, default policy) with OpenAiClient.nodeFetch()"
