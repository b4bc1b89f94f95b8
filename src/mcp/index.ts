/**
 * Tools from any MCP server (on the official MCP TypeScript SDK):
 * `effect-agents/mcp`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as McpClient from "./McpClient.js"
