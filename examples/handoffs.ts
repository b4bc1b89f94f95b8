/**
 * handoffs: a triage agent hands the conversation over to one of two
 * specialists (`Agent.handoff`), which continues the same run and answers
 * for it. Streamed: the switch is a `Handoff` event, and each event carries
 * the path of the agent speaking. The billing specialist gets the
 * conversation without its tool calls (`Agent.removeToolCalls`).
 *
 *   npm run example -- handoffs
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Agent, type LanguageModel, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const program = Effect.gen(function*() {
  const billing = yield* Agent.make({ name: "billing", instructions: "You handle invoices and refunds." })
  const support = yield* Agent.make({ name: "support", instructions: "You fix devices and connections." })
  const triage = yield* Agent.make({
    name: "triage",
    instructions: "Find out what the customer needs and hand them over to the right specialist.",
    toolkit: Toolkit.make(Agent.handoff(billing, { inputFilter: Agent.removeToolCalls }), Agent.handoff(support))
  })

  for (const question of ["I was charged twice for March.", "My router keeps rebooting."]) {
    yield* Console.log(`▸ "${question}"`)
    let speaking = ""
    yield* triage.stream(question).pipe(
      Stream.runForEach((event) => {
        switch (event._tag) {
          case "TextDelta": {
            const who = event.path.join(" › ")
            const lead = who === speaking ? "" : `${speaking === "" ? "" : "\n"}  ${who}: `
            speaking = who
            return write(lead + event.text)
          }
          case "Handoff":
            return write(`\n  ── ${event.agent} hands over to ${event.to}`)
          case "RunCompleted":
            return write(
              `\n  answered by ${event.result.answeredBy?.join(" › ")} in ${event.result.steps.length} steps\n\n`
            )
          default:
            return Effect.void
        }
      })
    )
    speaking = ""
  }
})

const write = (text: string) => Effect.sync(() => process.stdout.write(text))

// Offline: one scripted model for the three agents.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""

const ModelLive = ScriptedModel.layer((request) => {
  const system = systemOf(request)
  const user = request.messages.findLast((message) => message.role === "user")?.content ?? ""
  if (system.startsWith("Find out")) {
    const to = user.includes("charged") ? "transfer_to_billing" : "transfer_to_support"
    return {
      text: "Let me find the right person.",
      toolCalls: [{ name: to, arguments: {} }],
      chunkInterval: "20 millis"
    }
  }
  if (system.startsWith("You handle invoices")) {
    return { text: "I see two charges for March: I refunded the second one.", chunkInterval: "20 millis" }
  }
  return { text: "Update its firmware, then move it away from the microwave.", chunkInterval: "20 millis" }
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
