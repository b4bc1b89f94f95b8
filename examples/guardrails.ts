/**
 * guardrails: checks that stop a run before it does harm. A tutor's input
 * guardrail (a moderation agent) runs beside its first model call: on a
 * request to do homework it trips, and the call in flight is interrupted.
 * An output guardrail asks the model once to take an email address out of
 * its answer; a tool guardrail rejects a destructive shell command, and the
 * model reads why.
 *
 *   npm run example -- guardrails
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect, Schema } from "effect"
import { Agent, Guardrail, type LanguageModel, Tool, Toolkit } from "effect-agents"
import { ScriptedModel } from "effect-agents/testing"

const program = Effect.gen(function*() {
  // a moderation agent: the guardrail runs it on the input
  const moderator = yield* Agent.make({
    name: "moderator",
    instructions: "Say whether the request asks you to do someone's homework.",
    output: Schema.Struct({ homework: Schema.Boolean })
  })
  const noHomework = Guardrail.input({
    name: "no_homework",
    check: ({ input }) =>
      Effect.map(moderator.run(input), ({ output }) => output.homework ? Guardrail.trip(output) : Guardrail.pass)
  })
  const noEmails = Guardrail.output({
    name: "no_emails",
    onTrip: "correct",
    check: ({ content }) =>
      /\S+@\S+/.test(content) ? Guardrail.trip("email", "Answer again without any email address.") : Guardrail.pass
  })
  const shell = Tool.make("shell", {
    description: "Run a shell command",
    parameters: { command: Schema.String },
    handler: ({ command }) => `$ ${command}\nnotes.txt  report.pdf`
  })
  const readOnly = Guardrail.tool({
    name: "read_only",
    tools: ["shell"],
    before: (call) =>
      call.arguments.includes("rm ") ? Guardrail.reject("Only commands that read are allowed.") : Guardrail.pass
  })
  const tutor = yield* Agent.make({
    name: "tutor",
    instructions: "Explain things; never do the student's work.",
    toolkit: Toolkit.make(shell),
    guardrails: { input: [noHomework], output: [noEmails], tool: [readOnly] }
  })

  yield* Console.log("▸ \"Write my homework essay on the French Revolution\"")
  const [elapsed, stopped] = yield* Effect.timed(
    Effect.either(tutor.run("Write my homework essay on the French Revolution"))
  )
  if (stopped._tag === "Left") yield* Console.log(`  ${stopped.left._tag}: ${stopped.left.message}`)
  // the tutor's model takes 2 s to answer: its call was interrupted when the moderator tripped
  yield* Console.log(`  stopped after ${Duration.toMillis(elapsed) < 2000 ? "less than" : "over"} 2 s`)

  yield* Console.log("\n▸ \"Who can help me with the French Revolution?\"")
  const helped = yield* tutor.run("Who can help me with the French Revolution?")
  yield* Console.log(`  ${helped.content} (${helped.steps.length} model calls: the first answer had an email)`)

  yield* Console.log("\n▸ \"Clean up my files\"")
  const cleaned = yield* tutor.run("Clean up my files")
  for (const call of cleaned.steps.flatMap((step) => step.toolCalls)) {
    yield* Console.log(`  ${call.name} ${call.arguments} → ${call.result}`)
  }
  yield* Console.log(`  ${cleaned.content}`)
})

// Offline: one scripted model for the tutor and its moderator.
const systemOf = (request: LanguageModel.GenerateRequest) =>
  request.messages[0]?.role === "system" ? request.messages[0].content : ""
const lastOf = (request: LanguageModel.GenerateRequest) => request.messages.at(-1)

const ModelLive = ScriptedModel.layer((request) => {
  const user = request.messages.findLast((message) => message.role === "user")?.content ?? ""
  if (systemOf(request).startsWith("Say whether")) {
    return { text: JSON.stringify({ homework: user.includes("homework") }), latency: "300 millis" }
  }
  if (user.includes("Clean up")) {
    return lastOf(request)?.role === "tool"
      ? { text: "I may only read your files: I listed them instead." }
      : { toolCalls: [{ name: "shell", arguments: { command: "rm -rf ~/notes" } }] }
  }
  if (user.startsWith("Answer again")) return { text: "Ask Ms. Dupont, your history teacher." }
  if (user.includes("Who can help")) return { text: "Write to dupont@school.example." }
  return { text: "Here is your essay: ...", latency: "2 seconds" }
})

program.pipe(Effect.provide(ModelLive), NodeRuntime.runMain)
