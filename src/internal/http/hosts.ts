/**
 * The `Host` header values a server answers to: its own names at its port
 * (the host it is bound to, `localhost`, `127.0.0.1`, `[::1]`), and the
 * names it is told of. A page whose name resolves to the server's address
 * (DNS rebinding) sends its own name, so it is refused.
 */

interface Authority {
  readonly name: string
  /** Absent when the header has none. */
  readonly port: string | undefined
}

/** `name[:port]`, `[v6]:port` included; names are case-insensitive. */
const parse = (authority: string): Authority => {
  const text = authority.trim().toLowerCase()
  const end = text.startsWith("[") ? text.indexOf("]") + 1 : 0
  const colon = text.indexOf(":", end)
  return colon === -1
    ? { name: text, port: undefined }
    : { name: text.slice(0, colon), port: text.slice(colon + 1) }
}

/** A host as it goes in a URL or a `Host` header: an IPv6 address in brackets. */
export const format = (host: string): string => host.includes(":") && !host.startsWith("[") ? `[${host}]` : host

/**
 * Whether a `Host` header names the server at `host:port`: one of its own
 * names at its port (port 80 may be left out), or one of `allowed`, each a
 * name (any port) or a `name:port`.
 */
export const matcher = (
  server: { readonly host: string; readonly port: number },
  allowed: ReadonlyArray<string>
): (header: string | undefined) => boolean => {
  const own = new Set([format(server.host).toLowerCase(), "localhost", "127.0.0.1", "[::1]"])
  const port = String(server.port)
  const extra = allowed.map(parse)
  return (header) => {
    if (header === undefined) return false
    const { name, port: given } = parse(header)
    if (own.has(name) && (given ?? "80") === port) return true
    return extra.some((entry) => entry.name === name && (entry.port === undefined || entry.port === given))
  }
}
