/**
 * MCP in both directions (on the official MCP TypeScript SDK):
 * `effect-agents/mcp`. Tools from any MCP server in a toolkit
 * (`McpClient`), and agents, teams, DAGs and tools served to any MCP client
 * (`McpServer`).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as McpClient from "./McpClient.js"

/** @since 0.1.0 */
export * as McpServer from "./McpServer.js"
