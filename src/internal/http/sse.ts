import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** One Server-Sent Event. */
export interface Event {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
}

const encoder = new TextEncoder()

/**
 * One event in the wire format: its name, one `data` line (JSON text has no
 * raw newline), then a blank line.
 */
export const encode = (event: string, data: unknown): Uint8Array =>
  encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/** A logged event in the wire format: its `id`, its name, its data (JSON text, without a raw newline). */
export const frame = (entry: { readonly id: number; readonly event: string; readonly data: string }): Uint8Array =>
  encoder.encode(`id: ${entry.id}\nevent: ${entry.event}\ndata: ${entry.data}\n\n`)

interface Pending {
  readonly event: string
  readonly data: ReadonlyArray<string>
  readonly id: string | undefined
}

const empty: Pending = { event: "message", data: [], id: undefined }

/**
 * Reads Server-Sent Events from bytes: lines up to a blank line make an
 * event; `data` lines join with newlines; comments (`:`) and unknown fields
 * are skipped, as the specification says.
 */
export const decode = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Event, E, R> =>
  bytes.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.mapAccum(empty, (pending, line): [Pending, Option.Option<Event>] => {
      if (line === "") {
        return pending.data.length === 0
          ? [empty, Option.none()]
          : [empty, Option.some({ event: pending.event, data: pending.data.join("\n"), id: pending.id })]
      }
      if (line.startsWith(":")) return [pending, Option.none()]
      const colon = line.indexOf(":")
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
      switch (field) {
        case "event":
          return [{ ...pending, event: value }, Option.none()]
        case "data":
          return [{ ...pending, data: [...pending.data, value] }, Option.none()]
        case "id":
          return [{ ...pending, id: value }, Option.none()]
        default:
          return [pending, Option.none()]
      }
    }),
    Stream.filterMap((event) => event)
  )
