/**
 * What the stores of batches share: how a run's outcome is kept (its JSON,
 * whose length is what retention counts) and which finished batches to forget.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { StoreFailed } from "../../AgentError.js"
import { BatchItem } from "../../http/AgentApi.js"

/** A run's outcome as its JSON. */
export const ItemJson = Schema.parseJson(BatchItem)

/** A run's outcome as the JSON a store keeps. */
export const encodeItem = (item: typeof BatchItem.Type): Effect.Effect<string, StoreFailed> =>
  Schema.encode(ItemJson)(item).pipe(
    Effect.mapError((error) => new StoreFailed({ operation: "record a batch run", reason: error.message }))
  )

/** A finished batch as retention sees it: its id and the size of its results. */
export interface Finished {
  readonly id: string
  readonly size: number
}

/**
 * The finished batches to forget, oldest first: while there are more than
 * `limits.batches` of all `count` batches, or the finished ones' results are
 * over `limits.bytes`, the one that finished first goes.
 */
export const evictions = (
  finishedOldestFirst: Iterable<Finished>,
  count: number,
  limits: { readonly batches: number; readonly bytes: number }
): ReadonlyArray<string> => {
  const all = Array.from(finishedOldestFirst)
  let bytes = all.reduce((sum, batch) => sum + batch.size, 0)
  const evicted: Array<string> = []
  for (const oldest of all) {
    if (count - evicted.length <= limits.batches && bytes <= limits.bytes) break
    evicted.push(oldest.id)
    bytes -= oldest.size
  }
  return evicted
}
