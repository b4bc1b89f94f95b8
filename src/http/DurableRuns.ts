/**
 * The durable runs of an agent server: what `"durable": true` on a run
 * request runs with. The server runs nothing durably unless its layer is
 * given this service; `Durable.layerServed` (`effect-agents/durable`) makes
 * it for every agent of the `Registry`, on `@effect/workflow`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { AgentError } from "../AgentError.js"
import type * as Run from "../Run.js"
import type { DurableNotServed } from "./AgentApi.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Runs agent `agent` durably under `runId` and waits for its result: the
   * same `runId` again (after a restart) is the same run.
   */
  readonly run: (
    agent: string,
    input: Run.Input,
    runId: string
  ) => Effect.Effect<Run.RunResult<unknown>, AgentError | DurableNotServed>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class DurableRuns extends Context.Tag("effect-agents/http/DurableRuns")<DurableRuns, Service>() {}
