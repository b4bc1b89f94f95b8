import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import { identity } from "effect/Function"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type { RunOptions } from "../Agent.js"
import type { AgentError, Issue, ModelError } from "../AgentError.js"
import { issuesOf, MalformedResponse, MaxStepsExceeded, OutputInvalid, RunTimeout } from "../AgentError.js"
import * as LanguageModel from "../LanguageModel.js"
import * as Policy from "../Policy.js"
import * as Run from "../Run.js"
import type { Input, RunMetrics, RunResult, Step, ToolCallRecord } from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import * as TaskGroup from "../TaskGroup.js"
import * as Toolkit from "../Toolkit.js"
import * as JsonSchema from "./jsonSchema.js"
import type * as Metering from "./metering.js"
import * as Retry from "./retry.js"
import * as Spent from "./spent.js"
import { isTracing } from "./tracing.js"

/** The structured output of an agent: its response format and its decoder. */
export interface OutputSpec<Output> {
  readonly format: LanguageModel.ResponseFormat
  readonly decode: (text: string) => Either.Either<Output, ReadonlyArray<Issue>>
}

export const outputSpec = <Output, I>(name: string, schema: Schema.Schema<Output, I>): OutputSpec<Output> => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all" })
  const jsonSchema = JsonSchema.fromSchema(schema)
  return {
    format: { name: toIdentifier(name), schema: jsonSchema, strict: JsonSchema.isStrictCompatible(jsonSchema) },
    decode: (text) =>
      Either.try({
        try: (): unknown => JSON.parse(text),
        catch: (error): ReadonlyArray<Issue> => [
          { path: "(root)", message: `the answer is not valid JSON: ${(error as Error).message}` }
        ]
      }).pipe(Either.flatMap((json) => Either.mapLeft(decode(json), issuesOf)))
  }
}

/** A name usable as a tool or schema name: letters, digits, `_` and `-`. */
export const toIdentifier = (name: string): string =>
  name.trim().replace(/[^a-zA-Z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64) || "agent"

/** What the loop needs to know of an agent. */
export interface LoopConfig<Output> {
  readonly name: string
  readonly instructions: string
  readonly model: LanguageModel.Service
  readonly toolkit: Toolkit.Any
  /** Whether some tools hand tasks to other runs, whose spending the run's metrics then add. */
  readonly delegates: boolean
  /** Updates the library's metrics when a run ends. */
  readonly meter: Metering.Meter
  /** The services the tools need, captured when the agent was made. */
  readonly context: Context.Context<never>
  readonly maxSteps: number
  readonly toolConcurrency: number | "unbounded"
  readonly policy: Policy.Policy
  readonly output: OutputSpec<Output> | undefined
}

/** The final answer of a run. */
interface Answer<Output> {
  readonly content: string
  readonly output: Output
}

/** A tool call of a step, done. */
interface ToolCallResult {
  readonly record: ToolCallRecord
  readonly message: LanguageModel.ToolMessage
}

/** The timeout of a model call's first attempt: the policy's, within the retry budget when it retries. */
const attemptTimeout = (policy: Policy.Policy): Duration.Duration | undefined => {
  const limit = policy.retry === undefined ? policy.modelTimeout : Duration.min(policy.modelTimeout, policy.retryBudget)
  return Policy.isLimited(limit) ? limit : undefined
}

/** Receives the events of a streamed run; absent for `run`. */
export type Emit<Output> = (event: RunEvent.RunEvent<Output>) => Effect.Effect<unknown>

const toMessages = (instructions: string, input: Input): Array<LanguageModel.Message> => {
  const messages: Array<LanguageModel.Message> = typeof input === "string" ? [LanguageModel.user(input)] : [...input]
  if (instructions.length > 0 && messages[0]?.role !== "system") messages.unshift(LanguageModel.system(instructions))
  return messages
}

const correction = (issues: ReadonlyArray<Issue>): LanguageModel.UserMessage =>
  LanguageModel.user(
    "Your answer does not match the required output schema:\n" +
      issues.map((issue) => `- ${issue.path}: ${issue.message}`).join("\n") +
      "\nAnswer again with only a JSON value that matches the schema."
  )

/**
 * Runs an agent: call the model, run the step's tool calls concurrently,
 * feed their results back, until a final answer or `maxSteps`. With `emit`
 * (the run is streamed), or under a sink (the run is nested in a streamed
 * one), the model is streamed and the events are emitted; otherwise the model
 * is called with `generate` and nothing is emitted.
 */
export const runLoop = <Output>(
  config: LoopConfig<Output>,
  input: Input,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<RunResult<Output>, AgentError> => {
  if (typeof input === "string") return runDecoded(config, input, options, emit)
  const decoded = Run.decodeInput(config.name, input)
  return Either.isLeft(decoded) ? Effect.fail(decoded.left) : runDecoded(config, decoded.right, options, emit)
}

const runDecoded = <Output>(
  config: LoopConfig<Output>,
  input: Input,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined
): Effect.Effect<RunResult<Output>, AgentError> =>
  emit !== undefined
    ? runWith(config, input, options, emit, [config.name])
    : Effect.flatMap(FiberRef.get(RunEvent.currentSink), (sink) => {
      if (sink === undefined) return runWith(config, input, options, undefined, [config.name])
      // A run nested in a streamed one streams into it, below it in the tree, and is
      // the sink of the runs nested in it. Its RunCompleted is its caller's business.
      const path = [...sink.path, config.name]
      const forward: Emit<Output> = (event) => event._tag === "RunCompleted" ? Effect.void : sink.emit(event)
      return Effect.locally(runWith(config, input, options, forward, path), RunEvent.currentSink, {
        path,
        emit: sink.emit
      })
    })

const runWith = <Output>(
  config: LoopConfig<Output>,
  input: Input,
  options: RunOptions | undefined,
  emit: Emit<Output> | undefined,
  path: ReadonlyArray<string>
): Effect.Effect<RunResult<Output>, AgentError> =>
  Effect.flatMap(Effect.zip(isTracing, Effect.clock), ([traced, clock]) => {
    // spans (and their attributes) only where a tracer can see them
    const span: (name: string, options: Tracer.SpanOptions) => <A, E, R>(
      self: Effect.Effect<A, E, R>
    ) => Effect.Effect<A, E, R> = traced ? (name, options) => Effect.withSpan(name, options) : () => identity
    const annotate = (attributes: Record<string, unknown>): Effect.Effect<void> =>
      traced ? Effect.annotateCurrentSpan(attributes) : Effect.void

    const policy = options?.policy === undefined ? config.policy : Policy.merge(config.policy, options.policy)
    const maxSteps = options?.maxSteps ?? config.maxSteps
    const runId = options?.runId ?? crypto.randomUUID()
    const agent = config.name
    const models = [config.model, ...policy.fallback]
    const retrying = policy.retry !== undefined
    const retryBudgetMs = Duration.toMillis(policy.retryBudget)
    const toolOptions = { defaultTimeout: Policy.isLimited(policy.toolTimeout) ? policy.toolTimeout : undefined }
    // the model enforces its call's timeout: it can stop the call more cheaply than a racing fiber;
    // with retries, no attempt may outlast the retry budget
    const timeout = attemptTimeout(policy)
    const tools = config.toolkit.definitions
    const responseFormat = config.output?.format

    const messages = toMessages(config.instructions, input)
    const steps: Array<Step> = []
    let startedAt = clock.unsafeCurrentTimeMillis()
    let inputTokens = 0
    let outputTokens = 0
    let toolCalls = 0
    let retries = 0
    let timeToFirstTokenMs: number | undefined
    // what the runs it handed tasks to spent (see `delegates`)
    let delegated: RunMetrics | undefined

    const markFirstToken = Effect.sync(() => {
      timeToFirstTokenMs ??= clock.unsafeCurrentTimeMillis() - startedAt
    })

    // One attempt of a model call (its timeout travels in the request). `partial` is set once
    // streamed text reached the caller: such a call is not retried, as its text cannot be taken back.
    let partial = false
    const attempt = (model: LanguageModel.Service, request: LanguageModel.GenerateRequest, step: number) => {
      const call: Effect.Effect<LanguageModel.GenerateResponse, ModelError> = emit === undefined
        ? Effect.map(model.generate(request), (response) => {
          if (response.text.length > 0) timeToFirstTokenMs ??= clock.unsafeCurrentTimeMillis() - startedAt
          return response
        })
        : streamed(model, request, step, emit)
      if (!traced) return call
      return call.pipe(
        Effect.tap((response) =>
          annotate({
            "gen_ai.response.model": response.model,
            "gen_ai.usage.input_tokens": response.usage.inputTokens,
            "gen_ai.usage.output_tokens": response.usage.outputTokens
          })
        ),
        span("model.call", {
          captureStackTrace: false,
          kind: "client",
          attributes: { "gen_ai.request.model": model.model, "gen_ai.agent.name": agent, "agent.step": step }
        })
      )
    }

    const streamed = (
      model: LanguageModel.Service,
      request: LanguageModel.GenerateRequest,
      step: number,
      emit: Emit<Output>
    ): Effect.Effect<LanguageModel.GenerateResponse, ModelError> =>
      Effect.suspend(() => {
        let text = ""
        const calls: Array<LanguageModel.ToolCall> = []
        let finish: LanguageModel.FinishPart | undefined
        return model.stream(request).pipe(
          Stream.runForEach((part) => {
            switch (part._tag) {
              case "TextDelta": {
                text += part.text
                partial = true
                return Effect.zipRight(
                  markFirstToken,
                  emit({ _tag: "TextDelta", runId, agent, path, step, text: part.text })
                )
              }
              case "ToolCall": {
                calls.push(part.toolCall)
                return Effect.void
              }
              case "Finish": {
                finish = part
                return Effect.void
              }
            }
          }),
          Effect.flatMap(() =>
            finish === undefined
              ? Effect.fail(new MalformedResponse({ message: "the stream ended without a finish part" }))
              : Effect.succeed({
                text,
                toolCalls: calls,
                usage: finish.usage,
                finishReason: finish.finishReason,
                model: finish.model
              })
          )
        )
      })

    // A model call with the policy: retries on each model, then the fallbacks.
    const callModel = (step: number): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
      // A snapshot: the conversation grows after the call, the request must not.
      const request: LanguageModel.GenerateRequest = { messages: messages.slice(), tools, responseFormat, timeout }
      const once = (model: LanguageModel.Service, request: LanguageModel.GenerateRequest) =>
        Effect.suspend(() => {
          partial = false
          return attempt(model, request, step)
        })
      let call = withRetries(models[0]!, request, once)
      for (const fallback of models.slice(1)) {
        call = Effect.catchAll(call, (error) => {
          if (partial) return Effect.fail(error)
          retries++
          return withRetries(fallback, request, once)
        })
      }
      return call
    }

    // The retry machinery starts at the first failure, which is the schedule's first input:
    // a call that succeeds pays nothing for it. Every attempt ends within the retry budget.
    const withRetries = (
      model: LanguageModel.Service,
      request: LanguageModel.GenerateRequest,
      once: (model: LanguageModel.Service, request: LanguageModel.GenerateRequest) => Effect.Effect<
        LanguageModel.GenerateResponse,
        ModelError
      >
    ): Effect.Effect<LanguageModel.GenerateResponse, ModelError> => {
      if (!retrying) return once(model, request)
      const startedAt = clock.unsafeCurrentTimeMillis()
      return Effect.catchAll(once(model, request), (first) => {
        if (partial) return Effect.fail(first)
        let attempts = 1
        const again = Effect.suspend(() => {
          if (attempts++ === 1) return Effect.fail(first)
          retries++
          const left = Duration.millis(retryBudgetMs - (clock.unsafeCurrentTimeMillis() - startedAt))
          return once(model, { ...request, timeout: timeout === undefined ? left : Duration.min(timeout, left) })
        })
        return Effect.retry(again, { schedule: Policy.retrySchedule(policy, { startedAt })!, while: () => !partial })
          .pipe(Effect.mapError((error) =>
            attempts > 2
              ? Retry.gaveUp(error, attempts - 1, Duration.millis(clock.unsafeCurrentTimeMillis() - startedAt))
              : error
          ))
      })
    }

    const callTool = (step: number, toolCall: LanguageModel.ToolCall): Effect.Effect<ToolCallResult> => {
      const call = Effect.suspend(() => {
        const started = clock.unsafeCurrentTimeMillis()
        return Effect.flatMap(
          Toolkit.handleCall(config.toolkit, toolCall, toolOptions),
          ({ error, message }): Effect.Effect<ToolCallResult> => {
            const record: ToolCallRecord = {
              id: toolCall.id,
              name: toolCall.name,
              arguments: toolCall.arguments,
              result: message.content,
              isError: message.isError,
              durationMs: clock.unsafeCurrentTimeMillis() - started
            }
            const result = { record, message }
            let after: Effect.Effect<unknown> = Effect.void
            if (traced && error !== undefined) after = annotate({ "tool.error": error._tag })
            if (emit !== undefined) {
              after = Effect.zipRight(
                after,
                emit({ _tag: "ToolCallCompleted", runId, agent, path, step, call: record })
              )
            }
            return after === Effect.void ? Effect.succeed(result) : Effect.as(after, result)
          }
        )
      })
      const announced = emit === undefined
        ? call
        : Effect.zipRight(emit({ _tag: "ToolCallStarted", runId, agent, path, step, toolCall }), call)
      return span("tool.call", {
        captureStackTrace: false,
        attributes: { "gen_ai.tool.name": toolCall.name, "gen_ai.tool.call.id": toolCall.id, "agent.step": step }
      })(announced)
    }

    const finishStep = (step: Step) => {
      steps.push(step)
      return emit === undefined ? Effect.void : emit({ _tag: "StepCompleted", runId, agent, path, step })
    }

    const metrics = (): RunMetrics => ({
      inputTokens: inputTokens + (delegated?.inputTokens ?? 0),
      outputTokens: outputTokens + (delegated?.outputTokens ?? 0),
      totalTokens: inputTokens + outputTokens + (delegated?.totalTokens ?? 0),
      durationMs: clock.unsafeCurrentTimeMillis() - startedAt,
      timeToFirstTokenMs,
      steps: steps.length + (delegated?.steps ?? 0),
      toolCalls: toolCalls + (delegated?.toolCalls ?? 0),
      retries: retries + (delegated?.retries ?? 0)
    })
    const account = (spent: RunMetrics) => {
      delegated = delegated === undefined
        ? spent
        : Run.sumMetrics([delegated, spent])
    }

    const complete = (content: string, output: Output): Effect.Effect<RunResult<Output>> =>
      Effect.suspend(() => {
        const result: RunResult<Output> = { runId, agent, content, output, messages, steps, metrics: metrics() }
        let done: Effect.Effect<unknown> = Effect.void
        if (traced) {
          done = annotate({
            "gen_ai.usage.input_tokens": inputTokens,
            "gen_ai.usage.output_tokens": outputTokens,
            "agent.steps": steps.length
          })
        }
        if (emit !== undefined) done = Effect.zipRight(done, emit({ _tag: "RunCompleted", runId, agent, path, result }))
        return done === Effect.void ? Effect.succeed(result) : Effect.as(done, result)
      })

    // The final answer of a step without tool calls: the run's answer, or one corrective re-ask
    // when it does not decode with the output Schema (`undefined`: take another step).
    let correctionsLeft = 1
    const finalAnswer = (
      index: number,
      response: LanguageModel.GenerateResponse
    ): Effect.Effect<Answer<Output> | undefined, OutputInvalid> => {
      if (config.output === undefined) {
        return Effect.succeed({ content: response.text, output: response.text as Output })
      }
      const decoded = config.output.decode(response.text)
      if (Either.isRight(decoded)) return Effect.succeed({ content: response.text, output: decoded.right })
      if (correctionsLeft === 0 || index + 1 >= maxSteps) {
        return Effect.fail(new OutputInvalid({ agent, content: response.text, issues: decoded.left }))
      }
      correctionsLeft--
      messages.push(correction(decoded.left))
      return Effect.succeed(undefined)
    }

    // One step: the model, then its tool calls (one inline; several as a task group). Succeeds
    // with the run's answer once the model gave it, `undefined` to take another step.
    const step = (index: number): Effect.Effect<Answer<Output> | undefined, AgentError> =>
      Effect.flatMap(callModel(index), (response) => {
        inputTokens += response.usage.inputTokens
        outputTokens += response.usage.outputTokens
        messages.push(LanguageModel.assistant(response.text, response.toolCalls))
        const record = (toolCallRecords: ReadonlyArray<ToolCallRecord>): Step => ({
          index,
          text: response.text,
          toolCalls: toolCallRecords,
          usage: response.usage,
          finishReason: response.finishReason,
          model: response.model
        })
        const calls = response.toolCalls
        if (calls.length === 0) return Effect.zipRight(finishStep(record([])), finalAnswer(index, response))
        toolCalls += calls.length
        // The step's tool calls are one task group: interrupting the run interrupts every call in
        // flight and waits for their finalizers. One call needs no fiber of its own.
        const results: Effect.Effect<ReadonlyArray<ToolCallResult>> = calls.length === 1
          ? Effect.map(callTool(index, calls[0]!), (result) => [result])
          : TaskGroup.forEach(calls, (toolCall) => callTool(index, toolCall), { concurrency: config.toolConcurrency })
        return Effect.flatMap(results, (results) => {
          for (const { message } of results) messages.push(message)
          return Effect.as(finishStep(record(results.map(({ record }) => record))), undefined)
        })
      })

    const stepsFrom = (index: number): Effect.Effect<RunResult<Output>, AgentError> =>
      index >= maxSteps
        ? Effect.fail(new MaxStepsExceeded({ agent, maxSteps }))
        : Effect.flatMap(
          span("agent.step", { captureStackTrace: false, attributes: { "agent.step": index } })(step(index)),
          (answer) => answer === undefined ? stepsFrom(index + 1) : complete(answer.content, answer.output)
        )

    const loop = Effect.suspend(() => {
      startedAt = clock.unsafeCurrentTimeMillis()
      return emit === undefined
        ? stepsFrom(0)
        : Effect.zipRight(emit({ _tag: "RunStarted", runId, agent, path, input: Run.inputText(input) }), stepsFrom(0))
    })

    // the tools' services, captured when the agent was made
    const provided = Effect.provide(config.delegates ? Spent.accounting(loop, account) : loop, config.context)
    const limited = Policy.isLimited(policy.runTimeout)
      ? Effect.timeoutFail(provided, {
        duration: policy.runTimeout,
        onTimeout: () => new RunTimeout({ agent, timeout: policy.runTimeout })
      })
      : provided
    return span("agent.run", {
      captureStackTrace: false,
      attributes: { "gen_ai.agent.name": agent, "gen_ai.request.model": config.model.model, "run.id": runId }
    })(
      Effect.onExit(
        Spent.reporting(limited, Effect.sync(metrics)),
        (exit) =>
          Effect.sync(() =>
            config.meter.record(exit, {
              inputTokens,
              outputTokens,
              modelCalls: steps.length,
              toolCalls,
              retries,
              durationMs: clock.unsafeCurrentTimeMillis() - startedAt
            })
          )
      )
    )
  })
