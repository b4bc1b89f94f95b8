/**
 * effect-agents as an application would use it: one runtime with the OpenAI
 * model layer, an Agent with one Tool, runs through `runPromiseExit` whose
 * signal interrupts the run. The library's defaults throughout, and the SDK's
 * global fetch unless another is given (`OpenAiClient.nodeFetch()`).
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Redacted, Schema } from "effect"
import { Agent, OpenAiClient, OpenAiModel, Tool, Toolkit } from "../src/index.js"
import type { BenchAgent, BenchAgentOptions } from "./client.js"

export const createAgent = (options: BenchAgentOptions, fetch?: typeof globalThis.fetch): BenchAgent => {
  const runtime = ManagedRuntime.make(
    OpenAiModel.layer({ model: options.model }).pipe(
      Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make(options.apiKey), baseURL: options.baseURL, fetch }))
    )
  )
  const tool = Tool.make(options.tool.name, {
    description: options.tool.description,
    parameters: { x: Schema.Number },
    handler: (args) => options.tool.execute(args)
  })
  const agent = runtime.runSync(
    Agent.make({
      name: "bench",
      instructions: options.systemPrompt,
      toolkit: Toolkit.make(tool),
      maxSteps: options.maxSteps
    })
  )
  return {
    run: (input, signal) =>
      // runPromiseExit: runPromise's FiberFailure pretty-prints the cause on every rejection
      runtime.runPromiseExit(Effect.map(agent.run(input), (result) => result.content), signal ? { signal } : undefined)
        .then((exit) => Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause)))
  }
}
