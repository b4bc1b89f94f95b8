import * as Http from "node:http"
import * as Https from "node:https"
import { Readable } from "node:stream"
import * as Zlib from "node:zlib"

export interface Options {
  /** Sockets per origin at most (default: unbounded). */
  readonly maxSockets?: number | undefined
}

const toHeaders = (incoming: Http.IncomingHttpHeaders): Headers => {
  const headers = new Headers()
  for (const [key, value] of Object.entries(incoming)) {
    if (value === undefined) continue
    if (Array.isArray(value)) { for (const item of value) headers.append(key, item) }
    else headers.set(key, value)
  }
  return headers
}

const decoded = (response: Http.IncomingMessage): Readable => {
  switch (response.headers["content-encoding"]) {
    case "gzip":
      return response.pipe(Zlib.createGunzip())
    case "deflate":
      return response.pipe(Zlib.createInflate())
    case "br":
      return response.pipe(Zlib.createBrotliDecompress())
    default:
      return response
  }
}

/** Whether a content type is JSON (`application/json`, `application/problem+json`, ...), as the SDK reads it. */
const isJson = (contentType: string | undefined): boolean => {
  const media = contentType?.split(";")[0]?.trim().toLowerCase() ?? ""
  return media === "application/json" || media.endsWith("+json")
}

/**
 * A `fetch` for the `openai` SDK over Node's own HTTP client with keep-alive
 * agents: the requests the SDK makes (a JSON body, a JSON or event-stream
 * answer) go the short way; anything else (a streamed or multipart body,
 * another scheme) goes to the global `fetch`. A JSON answer is read whole
 * before the Response is made (the SDK reads it whole anyway); any other body
 * (an event stream, whatever its label) is handed over as it arrives. Abort and connection errors are Node's
 * own (`AbortError`, `ECONNREFUSED`, ...), which the SDK maps as it maps
 * fetch's.
 */
export const make = (options?: Options): typeof fetch => {
  const agentOptions = { keepAlive: true, maxSockets: options?.maxSockets ?? Infinity }
  const http = new Http.Agent(agentOptions)
  const https = new Https.Agent(agentOptions)

  const nodeFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url)
    const body = init?.body
    const plain = typeof input === "string" || input instanceof URL
    if (
      !plain || (url.protocol !== "http:" && url.protocol !== "https:") || !(body == null || typeof body === "string")
    ) {
      return fetch(input, init)
    }
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value
    })
    const client = url.protocol === "https:" ? Https : Http
    return new Promise<Response>((resolve, reject) => { // allowed: a fetch is a Promise, made from Node's callbacks
      const request = client.request(url, {
        method: init?.method ?? "GET",
        headers,
        agent: url.protocol === "https:" ? https : http,
        ...(init?.signal ? { signal: init.signal } : {})
      }, (response) => {
        const status = response.statusCode ?? 200
        const responseHeaders = toHeaders(response.headers)
        const stream = decoded(response)
        const respond = (responseBody: ConstructorParameters<typeof Response>[0]) =>
          resolve(
            new Response(responseBody, { status, statusText: response.statusMessage ?? "", headers: responseHeaders })
          )
        if (status === 204 || status === 304) {
          response.resume()
          respond(null)
          return
        }
        if (!isJson(response.headers["content-type"])) {
          respond(Readable.toWeb(stream) as ReadableStream<Uint8Array>)
          return
        }
        const chunks: Array<Buffer> = []
        stream.on("data", (chunk: Buffer) => chunks.push(chunk))
        stream.on("end", () => respond(Buffer.concat(chunks)))
        stream.on("error", reject)
      })
      request.on("error", reject)
      request.end(body ?? undefined)
    })
  }
  return nodeFetch as typeof fetch
}
