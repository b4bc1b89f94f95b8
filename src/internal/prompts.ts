/**
 * Every text the library writes to a model, in one place: the re-ask of an
 * answer that does not decode, a team leader's instructions for each mode,
 * the members' answers a broadcasting leader synthesises, the re-route after
 * a member failed, and the description of an agent or team as a tool.
 */
import type { Issue } from "../AgentError.js"
import * as LanguageModel from "../LanguageModel.js"
import type * as Run from "../Run.js"

/** The re-ask of an answer that does not match the output Schema. */
export const correction = (issues: ReadonlyArray<Issue>): LanguageModel.UserMessage =>
  LanguageModel.user(
    "Your answer does not match the required output schema:\n" +
      issues.map((issue) => `- ${issue.path}: ${issue.message}`).join("\n") +
      "\nAnswer again with only a JSON value that matches the schema."
  )

/** A member of a team, as its leader sees it: its name and what it does. */
export interface Member {
  readonly name: string
  readonly role: string | undefined
}

const roster = (members: ReadonlyArray<Member>): string =>
  members.map(({ name, role }) => `- "${name}"${role === undefined || role.length === 0 ? "" : `: ${role}`}`)
    .join("\n")

/** A team leader's instructions: the team's own, then what its mode asks of it, then its members. */
export const leaderInstructions = (
  team: string,
  mode: Run.TeamMode,
  instructions: string,
  members: ReadonlyArray<Member>
): string => {
  const intro = instructions.length === 0 ? "" : `${instructions}\n\n`
  const lead = `${intro}You lead the team "${team}". `
  const listed = `\n\nMembers:\n${roster(members)}`
  switch (mode) {
    case "coordinate":
      return `${lead}Delegate tasks to its members with your tools, one tool per member, each task ` +
        "self-contained. Ask several members at once when their tasks are independent. When a member fails, you " +
        "may ask it again, ask another member or answer without it. Then answer the request with one synthesis " +
        `of their results.${listed}`
    case "route":
      return `${lead}Do not answer the request yourself: choose the one member best suited to answer it, and ` +
        `answer with JSON naming that member; the member's answer is the team's.${listed}`
    case "broadcast":
      return `${lead}Every member of the team was given the request; you get their answers, and answer the ` +
        `request with one synthesis of them.${listed}`
  }
}

/** A routing leader's next message after the member it chose failed. */
export const routeAgain = (member: string, error: string): LanguageModel.UserMessage =>
  LanguageModel.user(`"${member}" failed: ${error}\nChoose a member again: the same one to try again, or another.`)

/** What a broadcasting leader synthesises: every member's answer, or its failure. */
export const memberAnswers = (
  answers: ReadonlyArray<{ readonly member: string; readonly content: string; readonly failed: boolean }>
): LanguageModel.UserMessage =>
  LanguageModel.user(
    "The members of your team answered the request above:\n\n" +
      answers.map(({ content, failed, member }) =>
        failed ? `## ${member} (failed)\nError: ${content}` : `## ${member}\n${content}`
      ).join("\n\n") +
      "\n\nAnswer the request with one synthesis of their answers."
  )

/** The description of an agent or team as a tool, when its caller gives none. */
export const delegationDescription = (name: string, kind: string | undefined, role: string | undefined): string =>
  `Delegate a task to ${kind === undefined ? "" : `the ${kind} `}"${name}"${
    role === undefined || role.length === 0 ? "" : `: ${role}`
  }`

/** The description of a handoff tool (see `Agent.handoff`). */
export const handoffDescription = (name: string, role: string): string =>
  `Hand the conversation over to "${name}", who continues it and answers${role.length === 0 ? "" : `: ${role}`}`

/** The result of a handoff tool's call, in the conversation the target continues. */
export const handedOver = (name: string): string => `The conversation was handed over to "${name}".`

/** The description of a delegation tool's one parameter. */
export const taskDescription = (name: string): string => `The task or question for ${name}, self-contained`

/** The request to summarise the older part of a conversation. */
export const summarize = (conversation: string): ReadonlyArray<LanguageModel.Message> => [
  LanguageModel.system(
    "Summarise the conversation below for the assistant who continues it: the facts, names, decisions and " +
      "open questions it needs. Write only the summary."
  ),
  LanguageModel.user(conversation)
]

/** A summary of earlier turns, as the history's first message. */
export const summary = (text: string): LanguageModel.UserMessage =>
  LanguageModel.user(`(A summary of the earlier conversation.)\n${text}`)
