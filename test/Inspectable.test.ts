import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted, Schema } from "effect"
import { Agent, Dag, Team, Tool, Toolkit } from "effect-agents"
import { OpenAiClient, OpenAiModel } from "effect-agents/openai"
import { inspect } from "node:util"

const apiKey = "sk-proj-inspectable-0123456789abcdef"

const weather = Tool.make("get_weather", {
  description: "Current weather in a city",
  parameters: { city: Schema.String },
  handler: ({ city }) => `18°C in ${city}`
})

const fixtures = Effect.gen(function*() {
  const model = yield* OpenAiModel.make({ model: "gpt-4o-mini" })
  const forecaster = yield* Agent.make({
    name: "forecaster",
    instructions: "Our private prompt",
    model,
    toolkit: Toolkit.make(weather)
  })
  const writer = yield* Agent.make({ name: "writer", instructions: "Write.", model })
  const team = yield* Team.make({
    name: "desk",
    mode: "route",
    leader: { instructions: "Pick one.", model },
    members: [forecaster, writer]
  })
  const dag = Dag.make<string>("report").pipe(
    Dag.node("ingest", (_, input) => Effect.succeed(input)),
    Dag.node("summary", { dependsOn: ["ingest"], run: ({ ingest }) => Effect.succeed(ingest) })
  )
  return { forecaster, team, dag }
}).pipe(Effect.provide(OpenAiClient.layer({ apiKey: Redacted.make(apiKey) })))

/** What `String`, `JSON.stringify` and Node's inspect (what `console.log` prints) show of a value. */
const shown = (value: unknown) => ({ string: String(value), json: JSON.stringify(value), inspect: inspect(value) })

describe("Inspectable", () => {
  it.scoped("an agent shows its name, its model and its tools: no instructions, closures or key", () =>
    Effect.gen(function*() {
      const { forecaster } = yield* fixtures
      const { inspect, json, string } = shown(forecaster)
      expect(inspect).toBe(
        "{\n  _id: 'Agent',\n  name: 'forecaster',\n  model: 'gpt-4o-mini',\n  tools: [ 'get_weather' ]\n}"
      )
      expect(JSON.parse(json)).toEqual({
        _id: "Agent",
        name: "forecaster",
        model: "gpt-4o-mini",
        tools: ["get_weather"]
      })
      // as Effect's own data types: the JSON, indented
      expect(string).toBe(JSON.stringify(JSON.parse(json), null, 2))
      for (const text of [string, json, inspect]) {
        expect(text).not.toContain(apiKey)
        expect(text).not.toContain("private prompt")
      }
    }))

  it("a tool shows its name and description, not its Schemas or handler; a toolkit, its tools' names", () => {
    expect(shown(weather)).toEqual({
      string:
        "{\n  \"_id\": \"Tool\",\n  \"name\": \"get_weather\",\n  \"description\": \"Current weather in a city\"\n}",
      json: "{\"_id\":\"Tool\",\"name\":\"get_weather\",\"description\":\"Current weather in a city\"}",
      inspect: "{\n  _id: 'Tool',\n  name: 'get_weather',\n  description: 'Current weather in a city'\n}"
    })
    expect(shown(Toolkit.make(weather))).toEqual({
      string: "{\n  \"_id\": \"Toolkit\",\n  \"tools\": [\n    \"get_weather\"\n  ]\n}",
      json: "{\"_id\":\"Toolkit\",\"tools\":[\"get_weather\"]}",
      inspect: "{ _id: 'Toolkit', tools: [ 'get_weather' ] }"
    })
  })

  it.scoped("a team shows its name, its mode and its members' names", () =>
    Effect.gen(function*() {
      const { team } = yield* fixtures
      const { inspect, json, string } = shown(team)
      const expected = { _id: "Team", name: "desk", mode: "route", members: ["forecaster", "writer"] }
      expect(inspect).toBe(
        "{\n  _id: 'Team',\n  name: 'desk',\n  mode: 'route',\n  members: [ 'forecaster', 'writer' ]\n}"
      )
      expect(JSON.parse(json)).toEqual(expected)
      expect(string).toBe(JSON.stringify(expected, null, 2))
      expect(`${string}${json}${inspect}`).not.toContain(apiKey)
    }))

  it.scoped("a DAG shows its name and what each node depends on, whole in Node's inspect", () =>
    Effect.gen(function*() {
      const { dag } = yield* fixtures
      const { inspect, json, string } = shown(dag)
      const expected = { _id: "Dag", name: "report", dependsOn: { ingest: [], summary: ["ingest"] } }
      expect(inspect).toBe("{\n  _id: 'Dag',\n  name: 'report',\n  dependsOn: { ingest: [], summary: [ 'ingest' ] }\n}")
      expect(JSON.parse(json)).toEqual(expected)
      expect(string).toBe(JSON.stringify(expected, null, 2))
    }))
})
