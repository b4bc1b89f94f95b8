import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, HashMap, Logger, Ref, Schedule, Schema, Stream, TestClock } from "effect"
import { Agent, AgentError, LanguageModel, Policy, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const unavailable = new AgentError.ModelUnavailable({ message: "upstream is down", status: 503 })

const agentWith = (script: ScriptedModel.Script, policy?: Policy.Options, extra?: { readonly toolkit?: Toolkit.Any }) =>
  Effect.gen(function*() {
    const model = yield* ScriptedModel.make(script)
    const agent = yield* Agent.make({ name: "resilient", instructions: "", model, policy, toolkit: extra?.toolkit })
    return { agent, model }
  })

/** How many requests the model has seen. */
const seen = (model: ScriptedModel.ScriptedModel) => Effect.map(model.requests, (requests) => requests.length)

describe("retries", () => {
  it.effect("follow the policy's schedule, then succeed", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith(
        [{ fail: { error: unavailable, times: 2 }, text: "ok" }],
        { retry: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(3))) }
      )
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("99 millis")
      expect(yield* seen(model)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* seen(model)).toBe(2)
      yield* TestClock.adjust("199 millis")
      expect(yield* seen(model)).toBe(2)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.content).toBe("ok")
      expect(result.metrics.retries).toBe(2)
    }))

  it.effect("the default schedule: jittered exponential from 200 ms, 5 attempts in all", () =>
    Effect.gen(function*() {
      const attemptedAt: Array<number> = []
      const down = LanguageModel.make({
        model: "down",
        generate: () =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            attemptedAt.push(now)
            return Effect.fail(unavailable)
          })
      })
      const agent = yield* Agent.make({ name: "patient", instructions: "", model: down })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("1 minute")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "ModelUnavailable", status: 503, attempts: 5 })
      expect(error.message).toMatch(/^upstream is down \(gave up after 5 attempts over \d+s \d+ms\)$/)
      expect(attemptedAt).toHaveLength(5)
      const delays = attemptedAt.slice(1).map((at, i) => at - attemptedAt[i]!)
      // each delay is 200 ms × 2^n times a jitter factor in [0.8, 1.2]
      delays.forEach((delay, n) => {
        expect(delay).toBeGreaterThanOrEqual(0.8 * 200 * 2 ** n)
        expect(delay).toBeLessThanOrEqual(1.2 * 200 * 2 ** n)
      })
    }))

  it.effect("wait the retry-after of a RateLimited error, not the backoff, plus at most a fifth of it", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(2) })
      const { agent, model } = yield* agentWith([{ fail: { error: limited }, text: "ok" }], {
        retry: Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(3)))
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("1999 millis")
      expect(yield* seen(model)).toBe(1)
      yield* TestClock.adjust("401 millis")
      expect((yield* Fiber.join(fiber)).content).toBe("ok")
      expect(yield* seen(model)).toBe(2)
    }))

  it.effect("a retry-after shorter than the backoff is honoured, plus at most 100 ms", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.millis(100) })
      const { agent, model } = yield* agentWith([{ fail: { error: limited }, text: "ok" }], {
        retry: Schedule.spaced("5 seconds").pipe(Schedule.intersect(Schedule.recurs(3)))
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("99 millis")
      expect(yield* seen(model)).toBe(1)
      yield* TestClock.adjust("101 millis")
      expect((yield* Fiber.join(fiber)).content).toBe("ok")
    }))

  it.effect("runs rate-limited together come back spread over the jitter, none sooner than retry-after", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(1) })
      const retriedAt: Array<number> = []
      const model = LanguageModel.make({
        model: "busy",
        generate: (request) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            if (request.messages.length > 1) return Effect.fail(limited) // never: one message per run
            const first = !retried.has(request.messages[0]!.content)
            retried.add(request.messages[0]!.content)
            if (first) return Effect.fail(limited)
            retriedAt.push(now)
            return Effect.succeed({
              text: "ok",
              toolCalls: [],
              usage: LanguageModel.emptyUsage,
              finishReason: "stop",
              model: "busy"
            })
          })
      })
      const retried = new Set<string>()
      const agent = yield* Agent.make({ name: "herd", instructions: "", model })
      const runs = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 50 }, (_, i) => `run ${i}`), (input) => agent.run(input), {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(runs)
      expect(retriedAt).toHaveLength(50)
      expect(Math.min(...retriedAt)).toBeGreaterThanOrEqual(1000)
      expect(Math.max(...retriedAt)).toBeLessThanOrEqual(1200)
      // spread over the window, not at one instant
      expect(new Set(retriedAt).size).toBeGreaterThan(25)
      expect(Math.max(...retriedAt) - Math.min(...retriedAt)).toBeGreaterThan(100)
    }))

  it.effect("a retry-after over maxRetryAfter is not waited for: the RateLimited error, with its delay, at once", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "daily quota", retryAfter: Duration.days(1) })
      const { agent, model } = yield* agentWith([{ fail: { error: limited }, text: "tomorrow" }])
      expect(yield* Effect.flip(agent.run("hi"))).toStrictEqual(limited)
      expect(yield* seen(model)).toBe(1)
      const patient = yield* agentWith([{ fail: { error: limited }, text: "tomorrow" }], {
        maxRetryAfter: "2 days",
        retryBudget: "2 days"
      })
      const fiber = yield* Effect.fork(patient.agent.run("hi"))
      yield* TestClock.adjust("1 day")
      yield* TestClock.adjust("6 hours")
      expect((yield* Fiber.join(fiber)).content).toBe("tomorrow")
    }))

  it.effect("a server that never answers: the call and its retries end within the retry budget, and say so", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith(() => ({ hang: true }))
      const fiber = yield* Effect.fork(Effect.flip(agent.run("hi")))
      yield* TestClock.adjust("4 minutes")
      yield* TestClock.adjust("1 second")
      expect(yield* seen(model)).toBe(3)
      yield* TestClock.adjust(Duration.subtract(Duration.seconds(59), Duration.millis(1)))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      if (error._tag !== "ModelTimeout") return expect.fail("the last attempt timed out")
      expect(error.attempts).toBe(3)
      expect(error.elapsed).toStrictEqual(Duration.minutes(5))
      // the last attempt had what was left of the budget
      expect(Duration.lessThan(error.timeout, Duration.minutes(1))).toBe(true)
      expect(error.message).toMatch(/^model call timed out after \d+s \d+ms \(gave up after 3 attempts over 5m\)$/)
    }))

  it.effect("each retry is logged at warning level with its attempt, delay and error", () =>
    Effect.gen(function*() {
      const logs: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, logLevel, message }) =>
        logs.push({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      )
      const { agent } = yield* agentWith([{ fail: { error: unavailable, times: 2 }, text: "ok" }], {
        retry: Schedule.spaced("1 second")
      })
      const fiber = yield* Effect.fork(
        agent.run("hi").pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(logs).toEqual([1, 2].map((retry) => ({
        level: "WARN",
        message: ["model call failed; retrying"],
        annotations: { attempt: retry + 1, delay: "1s", error: "ModelUnavailable: upstream is down" }
      })))
    }))

  it.effect("a RateLimited error without retry-after backs off by the schedule", () =>
    Effect.gen(function*() {
      const limited = new AgentError.RateLimited({ message: "slow down" })
      const { agent, model } = yield* agentWith([{ fail: { error: limited }, text: "ok" }], {
        retry: Schedule.spaced("300 millis")
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("299 millis")
      expect(yield* seen(model)).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect((yield* Fiber.join(fiber)).content).toBe("ok")
    }))

  it.effect("non-retryable errors are not retried", () =>
    Effect.gen(function*() {
      for (
        const error of [
          new AgentError.InvalidRequest({ message: "bad", status: 400 }),
          new AgentError.AuthenticationFailed({ message: "who are you", status: 401 }),
          new AgentError.MalformedResponse({ message: "garbage" })
        ]
      ) {
        const { agent, model } = yield* agentWith([{ fail: { error }, text: "unreachable" }])
        expect(yield* Effect.flip(agent.run("hi"))).toStrictEqual(error)
        expect(yield* seen(model)).toBe(1)
      }
    }))

  it.effect("can be turned off for one run", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith([{ fail: { error: unavailable }, text: "ok" }])
      expect(yield* Effect.flip(agent.run("hi", { policy: { retry: false } }))).toStrictEqual(unavailable)
      expect(yield* seen(model)).toBe(1)
    }))

  it.effect("a stream that failed after its text reached the caller is not retried", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith([{ text: "Hello there", cutAfter: 1 }, { text: "unreachable" }])
      const error = yield* Effect.flip(Stream.runDrain(agent.stream("hi")))
      expect(error._tag).toBe("ModelUnavailable")
      expect(yield* seen(model)).toBe(1)
    }))

  it.effect("a stream that failed before any text is retried", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith([{ text: "Hello there", cutAfter: 0 }, { text: "Hello again" }], {
        retry: Schedule.recurs(1)
      })
      const last = yield* Stream.runLast(agent.stream("hi"))
      expect(last._tag === "Some" && last.value._tag === "RunCompleted" && last.value.result.content).toBe(
        "Hello again"
      )
      expect(yield* seen(model)).toBe(2)
    }))
})

describe("timeouts", () => {
  it.effect("a model call that hangs times out with ModelTimeout, and is retried", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith(() => ({ hang: true }), {
        modelTimeout: "1 second",
        retry: Schedule.recurs(1)
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("1 second")
      expect(yield* seen(model)).toBe(2)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(fiber)).toStrictEqual(
        Exit.fail(
          new AgentError.ModelTimeout({ timeout: Duration.seconds(1), attempts: 2, elapsed: Duration.seconds(2) })
        )
      )
    }))

  it.effect("a tool timeout from the policy is reported to the model", () =>
    Effect.gen(function*() {
      const slow = Tool.make("slow", { description: "", parameters: {}, handler: () => Effect.never })
      const { agent, model } = yield* agentWith(
        [{ toolCalls: [{ name: "slow" }] }, { text: "the tool timed out" }],
        { toolTimeout: "2 seconds" },
        { toolkit: Toolkit.make(slow) }
      )
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber)).content).toBe("the tool timed out")
      const toolMessage = (yield* model.requests)[1]!.messages.at(-1)!
      expect(toolMessage.content).toBe("Error: tool \"slow\" timed out after 2s")
    }))

  it.effect("a run timeout interrupts the tool in flight; its finalizer runs once", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(0)
      const slow = Tool.make("slow", {
        description: "",
        parameters: { n: Schema.Number },
        handler: () => Effect.never.pipe(Effect.ensuring(Ref.update(finalized, (n) => n + 1)))
      })
      const { agent } = yield* agentWith(
        [{ toolCalls: [{ name: "slow", arguments: { n: 1 } }], latency: "1 second" }],
        { runTimeout: "5 seconds", toolTimeout: Duration.infinity },
        { toolkit: Toolkit.make(slow) }
      )
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.await(fiber)).toStrictEqual(
        Exit.fail(new AgentError.RunTimeout({ agent: "resilient", timeout: Duration.seconds(5) }))
      )
      expect(yield* Ref.get(finalized)).toBe(1)
    }))
})

describe("LanguageModel.make", () => {
  it.effect("enforces the request's timeout for providers that do not", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const slow = LanguageModel.make({
        model: "slow",
        generate: () => Effect.never.pipe(Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)))
      })
      const timeout = Duration.seconds(3)
      const request: LanguageModel.GenerateRequest = { messages: [LanguageModel.user("hi")], tools: [], timeout }
      const generate = yield* Effect.fork(Effect.flip(slow.generate(request)))
      const stream = yield* Effect.fork(Effect.flip(Stream.runDrain(slow.stream(request))))
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(generate)).toStrictEqual(new AgentError.ModelTimeout({ timeout }))
      expect(yield* Fiber.join(stream)).toStrictEqual(new AgentError.ModelTimeout({ timeout }))
      expect(yield* Ref.get(interrupted)).toBe(2)
    }))

  it.effect("the agent sends its policy's model timeout with every request", () =>
    Effect.gen(function*() {
      const { agent, model } = yield* agentWith([{ text: "ok" }], { modelTimeout: "45 seconds" })
      yield* agent.run("hi")
      expect((yield* model.requests)[0]!.timeout).toStrictEqual(Duration.seconds(45))
    }))
})

describe("fallback", () => {
  it.effect("a fallback model answers when the primary fails, even with a non-retryable error", () =>
    Effect.gen(function*() {
      const backup = yield* ScriptedModel.make([{ text: "from the backup" }], { model: "backup" })
      const { agent, model } = yield* agentWith(
        [{ fail: { error: new AgentError.AuthenticationFailed({ message: "revoked key" }) } }],
        { fallback: [backup] }
      )
      const result = yield* agent.run("hi")
      expect(result.content).toBe("from the backup")
      expect(result.steps[0]!.model).toBe("backup")
      expect(result.metrics.retries).toBe(1)
      expect(yield* seen(model)).toBe(1)
    }))

  it.effect("the primary's retries come first, then the fallback", () =>
    Effect.gen(function*() {
      const backup = yield* ScriptedModel.make([{ text: "from the backup" }], { model: "backup" })
      const { agent, model } = yield* agentWith([{ fail: { error: unavailable, times: 10 } }], {
        retry: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))),
        fallback: [backup]
      })
      const fiber = yield* Effect.fork(agent.run("hi"))
      yield* TestClock.adjust("2 seconds")
      const result = yield* Fiber.join(fiber)
      expect(result.content).toBe("from the backup")
      expect(yield* seen(model)).toBe(3)
      expect(result.metrics.retries).toBe(3)
    }))
})

describe("Policy", () => {
  it("merges settings over a policy; unset ones keep their value", () => {
    const policy = Policy.make({ modelTimeout: "5 seconds", retry: false })
    expect(policy.modelTimeout).toStrictEqual(Duration.seconds(5))
    expect(policy.retry).toBeUndefined()
    expect(policy.toolTimeout).toStrictEqual(Policy.defaults.toolTimeout)
    expect(Policy.merge({ runTimeout: "1 minute" })(policy).runTimeout).toStrictEqual(Duration.minutes(1))
  })
})
