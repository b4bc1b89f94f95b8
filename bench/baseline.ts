/**
 * The floor: the same agent loop written by hand on the `openai` SDK, the
 * way an application without a framework would (Promise.all for a step's tool
 * calls, an AbortSignal for cancellation, the SDK's defaults otherwise).
 */
import OpenAI from "openai"
import type { BenchAgent, BenchAgentOptions } from "./client.js"

export const createAgent = (options: BenchAgentOptions): BenchAgent => {
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey })
  const tools: Array<OpenAI.Chat.Completions.ChatCompletionTool> = [{
    type: "function",
    function: { name: options.tool.name, description: options.tool.description, parameters: options.tool.jsonSchema }
  }]
  return {
    run: async (input, signal) => {
      const messages: Array<OpenAI.Chat.Completions.ChatCompletionMessageParam> = [
        { role: "system", content: options.systemPrompt },
        { role: "user", content: input }
      ]
      for (let step = 0; step < options.maxSteps; step++) {
        const completion = await client.chat.completions.create({ model: options.model, messages, tools }, { signal })
        const message = completion.choices[0]!.message
        messages.push(message)
        const calls = message.tool_calls ?? []
        if (calls.length === 0) return message.content ?? ""
        const results = await Promise.all(calls.map(async (call) => ({
          role: "tool" as const,
          tool_call_id: call.id,
          content: call.type === "function"
            ? await options.tool.execute(JSON.parse(call.function.arguments || "{}") as { x: number })
            : ""
        })))
        messages.push(...results)
      }
      throw new Error("max steps exceeded")
    }
  }
}
