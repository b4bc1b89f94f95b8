/**
 * effect-agents as an application would use it: the built package, one
 * runtime with the OpenAI model layer, an Agent with one Tool, runs through
 * `Agent.runPromise` whose signal interrupts the run (and aborts its request
 * in flight at once). The library's defaults throughout, and the SDK's
 * global fetch unless another is given (`OpenAiClient.nodeFetch()`). Used by
 * `npm run bench` (`bench/client.ts`) and the peer benchmark's adapters.
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Redacted, Schema, Stream } from "effect"
import { Agent, LanguageModel, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"

export interface Options {
  readonly baseURL: string
  readonly apiKey: string
  readonly model: string
  readonly systemPrompt: string
  readonly maxSteps: number
  readonly tool: {
    readonly name: string
    readonly description: string
    readonly execute: (args: { readonly x: number }) => Promise<string>
  }
}

/**
 * A run's Promise, as `Agent.runPromise` settles one: its value, or its
 * failure as the rejection (the typed error itself, or the signal's reason
 * once the signal stopped it). `runPromiseExit` rather than `runPromise`,
 * whose FiberFailure pretty-prints the cause with stack traces on every
 * rejection (~100 µs each, a third of a cancelled run's cost).
 */
export const settle = <A, E>(exit: Promise<Exit.Exit<A, E>>, signal: AbortSignal | undefined): Promise<A> =>
  exit.then((exit) =>
    Exit.isSuccess(exit)
      ? exit.value
      : Promise.reject(
        signal?.aborted && Cause.isInterruptedOnly(exit.cause) ? signal.reason : Cause.squash(exit.cause)
      )
  )

/** The OpenAI client layer for the benchmark's server. */
export const clientLayer = (options: Pick<Options, "apiKey" | "baseURL">, fetch?: typeof globalThis.fetch) =>
  OpenAiClient.layer({ apiKey: Redacted.make(options.apiKey), baseURL: options.baseURL, fetch })

export const createAgent = (options: Options, fetch?: typeof globalThis.fetch) => {
  const runtime = ManagedRuntime.make(
    OpenAiModel.layer({ model: options.model }).pipe(Layer.provide(clientLayer(options, fetch)))
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
    run: (input: string, signal?: AbortSignal): Promise<string> =>
      Agent.runPromise(agent, input, { signal }).then((result) => result.content),
    stream: (input: string, signal?: AbortSignal, onDelta?: (text: string) => void): Promise<string> => {
      const text = Stream.runFold(agent.stream(input), "", (text, event) => {
        if (event._tag !== "TextDelta") return text
        onDelta?.(event.text)
        return text + event.text
      })
      return settle(
        signal === undefined
          ? runtime.runPromiseExit(text)
          : runtime.runPromiseExit(Effect.locally(text, LanguageModel.currentAbortSignal, signal), { signal }),
        signal
      )
    },
    dispose: () => runtime.dispose()
  }
}
