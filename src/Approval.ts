/**
 * Approvals: a tool made with `needsApproval` does not run until a person
 * says so. A run that reaches such a call finishes the step's other calls,
 * then suspends (`AgentError.RunSuspended`, with a {@link Request} per call
 * waiting); `Agent.approve` or `Agent.reject` records a {@link Decision}, and
 * `agent.resume(runId)` goes on, in this process or another sharing the
 * store (`RunStore`), minutes or days later.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 *
 * declare const mailer: Agent.Agent
 *
 * const program = mailer.run("Send the report to Ada").pipe(
 *   Effect.catchTag("RunSuspended", (suspended) =>
 *     Effect.gen(function*() {
 *       for (const request of suspended.approvals) {
 *         yield* Agent.approve(suspended.runId, request.approvalId, { by: "ada@example.com" })
 *       }
 *       return yield* mailer.resume(suspended.runId)
 *     }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as LanguageModel from "./LanguageModel.js"

/**
 * A tool call waiting for a person: which run asked (its id, its agent and
 * its path from the run that suspended), in which step, and the call itself
 * (the tool's name and its arguments as the model wrote them).
 *
 * @since 0.1.0
 * @category models
 */
export const Request = Schema.Struct({
  approvalId: Schema.String,
  runId: Schema.String,
  agent: Schema.String,
  path: Schema.Array(Schema.String),
  step: Schema.Number,
  toolCall: LanguageModel.ToolCall
}).annotations({ identifier: "ApprovalRequest" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * A person's answer: approved (`always`: every later call of the tool in
 * the run too) or rejected (the model reads `message` as the tool's
 * result); who decided, when given, and when (milliseconds since the epoch).
 *
 * @since 0.1.0
 * @category models
 */
export const Decision = Schema.Struct({
  approved: Schema.Boolean,
  always: Schema.optional(Schema.Boolean),
  message: Schema.optional(Schema.String),
  by: Schema.optional(Schema.String),
  at: Schema.Number
}).annotations({ identifier: "ApprovalDecision" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Decision extends Schema.Schema.Type<typeof Decision> {}

/**
 * A request and, once given, its decision.
 *
 * @since 0.1.0
 * @category models
 */
export const Approval = Schema.Struct({
  ...Request.fields,
  decision: Schema.optional(Decision)
}).annotations({ identifier: "Approval" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Approval extends Schema.Schema.Type<typeof Approval> {}

/**
 * What the model reads as the result of a rejected call when the rejection
 * gave no message.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultRejection = "A person rejected this tool call; it did not run."
