/**
 * Handoffs (`Agent.handoff`): a tool whose call ends the calling agent's
 * turn, and another agent continues the same run with the conversation. The
 * tool is a plain tool (its result tells the model the conversation was
 * handed over); what makes it a handoff is its entry here, which the loop
 * reads after each step.
 */
import type * as LanguageModel from "../LanguageModel.js"
import type * as Tool from "../Tool.js"

/** What a run needs to know of the agent a handoff goes to: its name, and how to continue a run as it. */
export interface Target<Config> {
  readonly name: string
  readonly config: () => Config
}

/** A handoff tool's target and filter. */
export interface Spec<Config> {
  readonly target: Target<Config>
  /** What of the conversation the target gets (default: all of it). */
  readonly inputFilter:
    | ((messages: ReadonlyArray<LanguageModel.Message>) => ReadonlyArray<LanguageModel.Message>)
    | undefined
}

const specs = new WeakMap<Tool.Any, Spec<unknown>>()

/** Marks `tool` as a handoff to `spec`'s target. */
export const register = <Config>(tool: Tool.Any, spec: Spec<Config>): void => {
  specs.set(tool, spec as Spec<unknown>)
}

/** The handoffs of a toolkit's tools, by tool name. */
export const of = <Config>(tools: Iterable<Tool.Any>): ReadonlyMap<string, Spec<Config>> => {
  const found = new Map<string, Spec<Config>>()
  for (const tool of tools) {
    const spec = specs.get(tool)
    if (spec !== undefined) found.set(tool.name, spec as Spec<Config>)
  }
  return found
}

/**
 * A conversation without its tool calls: tool results go, and an assistant
 * message keeps its text (one with none goes).
 */
export const removeToolCalls = (
  messages: ReadonlyArray<LanguageModel.Message>
): ReadonlyArray<LanguageModel.Message> =>
  messages.flatMap((message): ReadonlyArray<LanguageModel.Message> => {
    if (message.role === "tool") return []
    if (message.role !== "assistant" || message.toolCalls.length === 0) return [message]
    return message.content.length === 0 ? [] : [{ ...message, toolCalls: [] }]
  })
