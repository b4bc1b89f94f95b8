import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schema } from "effect"
import { AgentError, ModelError } from "effect-agents"

describe("ModelError", () => {
  it("is what AgentError re-exports: the same classes, Schema and guards under both names", () => {
    expect(AgentError.RateLimited).toBe(ModelError.RateLimited)
    expect(AgentError.ModelUnavailable).toBe(ModelError.ModelUnavailable)
    expect(AgentError.ModelTimeout).toBe(ModelError.ModelTimeout)
    expect(AgentError.InvalidRequest).toBe(ModelError.InvalidRequest)
    expect(AgentError.AuthenticationFailed).toBe(ModelError.AuthenticationFailed)
    expect(AgentError.MalformedResponse).toBe(ModelError.MalformedResponse)
    expect(AgentError.ModelError).toBe(ModelError.ModelError)
    expect(AgentError.isModelError).toBe(ModelError.isModelError)
    expect(AgentError.isRetryable).toBe(ModelError.isRetryable)
  })

  it.effect("a model error is an AgentError: caught by its tag, encoded by AgentError's Schema", () =>
    Effect.gen(function*() {
      const error = new ModelError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(2) })
      const failing: Effect.Effect<never, AgentError.AgentError> = Effect.fail(error)
      const caught = yield* failing.pipe(Effect.catchTag("RateLimited", (e) => Effect.succeed(e)))
      expect(caught).toBe(error)
      expect(Schema.encodeSync(AgentError.AgentError)(error)).toEqual({
        _tag: "RateLimited",
        message: "slow down",
        retryAfter: 2000
      })
      expect([ModelError.isRetryable(error), ModelError.isRetryable(new ModelError.InvalidRequest({ message: "400" }))])
        .toEqual([true, false])
    }))
})
