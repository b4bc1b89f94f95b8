/**
 * chat: a terminal chat that remembers across restarts. Its conversation is
 * a session in a SQLite file (in the system's temp directory); each start
 * opens the store again and goes on where the last one stopped. On a
 * terminal it reads your lines (an empty line ends it; run it again and it
 * still knows you); otherwise it plays two starts of a short conversation.
 * The model is scripted: it remembers your name from the history it reads.
 *
 *   npm run example -- chat
 */
import { Terminal } from "@effect/platform"
import { NodeRuntime, NodeTerminal } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Console, Effect, Layer } from "effect"
import { Agent, type LanguageModel, Session } from "effect-agents"
import { SqlStore } from "effect-agents/sql"
import { ScriptedModel } from "effect-agents/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const dir = path.join(os.tmpdir(), "effect-agents-chat")
fs.mkdirSync(dir, { recursive: true })
const filename = path.join(dir, "chat.db")

// the store: migrated when the layer starts, closed when the program ends
const Store = SqlStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename })))

/** Answers from the conversation it is given: all it knows is in the session's history. */
const reply = (request: LanguageModel.GenerateRequest): ScriptedModel.Turn => {
  const said = request.messages.filter((message) => message.role === "user").map((message) => message.content)
  const name = said.map((line) => /my name is (\w+)/i.exec(line)?.[1]).findLast((name) => name !== undefined)
  const last = said.at(-1) ?? ""
  if (/my name is/i.test(last)) return { text: `Nice to meet you, ${name}.` }
  if (/name/i.test(last)) return { text: name === undefined ? "You have not told me your name." : `You are ${name}.` }
  return { text: `(${said.length} things you have said so far)` }
}

const chatter = Effect.gen(function*() {
  const agent = yield* Agent.make({
    name: "chat",
    instructions: "Chat briefly.",
    model: yield* ScriptedModel.make(reply)
  })
  const session = yield* Session.open("terminal", { lastMessages: 40 })
  return (line: string) =>
    Effect.gen(function*() {
      const result = yield* agent.run(line, { session })
      yield* Console.log(`assistant> ${result.content}`)
    })
})

/** One start of the program: the store opened again, the lines said, the store closed. */
const start = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const say = yield* chatter
    for (const line of lines) {
      yield* Console.log(`you> ${line}`)
      yield* say(line)
    }
  }).pipe(Effect.provide(Store))

const interactive = Effect.gen(function*() {
  const terminal = yield* Terminal.Terminal
  const say = yield* chatter
  yield* Console.log(`Chatting in ${filename} (an empty line ends; run again to go on).`)
  while (true) {
    yield* terminal.display("you> ")
    const line = yield* terminal.readLine
    if (line.trim().length === 0) return
    yield* say(line)
  }
}).pipe(Effect.provide(Layer.merge(Store, NodeTerminal.layer)))

const demo = Effect.gen(function*() {
  yield* Effect.provide(Effect.flatMap(Session.open("terminal"), (session) => session.clear), Store)
  yield* Console.log(`first start (${filename}):`)
  yield* start(["Hello!", "My name is Ada."])
  yield* Console.log("second start, the same file:")
  yield* start(["What is my name?"])
})

NodeRuntime.runMain(process.stdin.isTTY ? interactive : demo)
