/**
 * OpenAI's Responses API (`POST /v1/responses`) for the test server: the
 * request body read as a `LanguageModel` request, a response as the JSON
 * body and the SSE events the API sends (what `@effect/ai-openai` reads).
 */
import * as Schema from "effect/Schema"
import type * as LanguageModel from "../../LanguageModel.js"

const InputText = Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) })

const Content = Schema.Union(Schema.String, Schema.Array(InputText))

const MessageItem = Schema.Struct({
  type: Schema.optional(Schema.Literal("message")),
  role: Schema.Literal("system", "developer", "user", "assistant"),
  content: Content
})

const FunctionCallItem = Schema.Struct({
  type: Schema.Literal("function_call"),
  call_id: Schema.String,
  name: Schema.String,
  arguments: Schema.String
})

const FunctionCallOutputItem = Schema.Struct({
  type: Schema.Literal("function_call_output"),
  call_id: Schema.String,
  output: Schema.Union(Schema.String, Schema.Array(InputText))
})

/** The body of a Responses request, as far as the server reads it. */
export const Body = Schema.Struct({
  model: Schema.String,
  input: Schema.Union(Schema.String, Schema.Array(Schema.Union(MessageItem, FunctionCallItem, FunctionCallOutputItem))),
  tools: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    type: Schema.String,
    name: Schema.optional(Schema.String),
    description: Schema.optional(Schema.NullOr(Schema.String)),
    parameters: Schema.optional(Schema.NullOr(Schema.Object)),
    strict: Schema.optional(Schema.NullOr(Schema.Boolean))
  })))),
  text: Schema.optional(Schema.NullOr(Schema.Struct({
    format: Schema.optional(Schema.NullOr(Schema.Struct({
      type: Schema.String,
      name: Schema.optional(Schema.String),
      schema: Schema.optional(Schema.Object),
      strict: Schema.optional(Schema.NullOr(Schema.Boolean))
    })))
  }))),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean))
})

export type Body = typeof Body.Type

const textOf = (content: typeof Content.Type): string =>
  typeof content === "string" ? content : content.map((part) => part.text ?? "").join("")

/** A tool result as the agent wrote it: `@effect/ai` sends results as JSON, a text as a JSON string. */
const resultText = (output: string): string => {
  try {
    const value: unknown = JSON.parse(output)
    return typeof value === "string" ? value : output
  } catch {
    return output
  }
}

/** The body read as a `LanguageModel` request (what the script sees); consecutive items of a turn are merged. */
export const toRequest = (body: Body): LanguageModel.GenerateRequest => {
  const messages: Array<LanguageModel.Message> = []
  const names = new Map<string, string>()
  const items = typeof body.input === "string" ? [{ role: "user" as const, content: body.input }] : body.input
  for (const item of items) {
    if ("role" in item) {
      const content = textOf(item.content)
      if (item.role === "assistant") messages.push({ role: "assistant", content, toolCalls: [] })
      else messages.push({ role: item.role === "user" ? "user" : "system", content })
    } else if (item.type === "function_call") {
      names.set(item.call_id, item.name)
      const call = { id: item.call_id, name: item.name, arguments: item.arguments }
      const last = messages.at(-1)
      if (last?.role === "assistant") messages[messages.length - 1] = { ...last, toolCalls: [...last.toolCalls, call] }
      else messages.push({ role: "assistant", content: "", toolCalls: [call] })
    } else {
      const output = typeof item.output === "string" ? item.output : textOf(item.output)
      messages.push({
        role: "tool",
        toolCallId: item.call_id,
        name: names.get(item.call_id) ?? "",
        content: resultText(output),
        isError: false
      })
    }
  }
  const format = body.text?.format
  return {
    messages,
    tools: (body.tools ?? []).flatMap((tool) =>
      tool.type === "function" && tool.name !== undefined
        ? [{
          name: tool.name,
          description: tool.description ?? "",
          parameters: (tool.parameters ?? {}) as LanguageModel.ToolDefinition["parameters"],
          strict: tool.strict === true
        }]
        : []
    ),
    responseFormat: format?.type === "json_schema" && format.name !== undefined
      ? {
        name: format.name,
        schema: (format.schema ?? {}) as LanguageModel.ResponseFormat["schema"],
        strict: format.strict === true
      }
      : undefined
  }
}

const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  type: "message",
  id: `msg_${id}`,
  role: "assistant",
  status,
  content: status === "completed" ? [{ type: "output_text", text, annotations: [] }] : []
})

const callItem = (call: LanguageModel.ToolCall, index: number, done: boolean) => ({
  type: "function_call",
  id: `fc_${index}_${call.id}`,
  call_id: call.id,
  name: call.name,
  arguments: done ? call.arguments : "",
  status: done ? "completed" : "in_progress"
})

const outputOf = (id: string, response: LanguageModel.GenerateResponse) => [
  ...(response.text.length > 0 || response.toolCalls.length === 0 ? [messageItem(id, response.text, "completed")] : []),
  ...response.toolCalls.map((call, index) => callItem(call, index, true))
]

/** A Responses API response object, in progress (no output) or done. */
export const responseBody = (
  id: string,
  created: number,
  response: LanguageModel.GenerateResponse,
  done = true
) => ({
  id: `resp_${id}`,
  object: "response",
  created_at: created,
  status: done ? "completed" : "in_progress",
  error: null,
  incomplete_details: null,
  instructions: null,
  model: response.model,
  output: done ? outputOf(id, response) : [],
  parallel_tool_calls: true,
  tools: [],
  tool_choice: "auto",
  metadata: null,
  temperature: null,
  top_p: null,
  usage: done
    ? {
      input_tokens: response.usage.inputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: response.usage.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: response.usage.inputTokens + response.usage.outputTokens
    }
    : null
})

/**
 * The SSE events of a streamed response, as JSON values: `head` until the
 * first text delta (created, the message item added), `delta` for each text
 * piece, `tail` after the last (the message done, each tool call added,
 * its arguments, done, then `response.completed`). Sequence numbers count
 * from `head` on.
 */
export const events = (id: string, created: number, response: LanguageModel.GenerateResponse) => {
  let sequence = 0
  const next = <A extends object>(event: A) => ({ ...event, sequence_number: sequence++ })
  const itemId = `msg_${id}`
  const hasMessage = response.text.length > 0 || response.toolCalls.length === 0
  const head = [
    next({ type: "response.created", response: responseBody(id, created, response, false) }),
    ...(hasMessage
      ? [next({ type: "response.output_item.added", output_index: 0, item: messageItem(id, "", "in_progress") })]
      : [])
  ]
  const delta = (text: string) =>
    next({ type: "response.output_text.delta", output_index: 0, content_index: 0, item_id: itemId, delta: text })
  const tail = () => {
    const first = hasMessage ? 1 : 0
    return [
      ...(hasMessage
        ? [
          next({
            type: "response.output_item.done",
            output_index: 0,
            item: messageItem(id, response.text, "completed")
          })
        ]
        : []),
      ...response.toolCalls.flatMap((call, index) => [
        next({ type: "response.output_item.added", output_index: first + index, item: callItem(call, index, false) }),
        next({
          type: "response.function_call_arguments.delta",
          output_index: first + index,
          item_id: `fc_${index}_${call.id}`,
          delta: call.arguments
        }),
        next({ type: "response.output_item.done", output_index: first + index, item: callItem(call, index, true) })
      ]),
      next({ type: "response.completed", response: responseBody(id, created, response) })
    ]
  }
  return { head, delta, tail }
}
