/**
 * Records keyed by names from outside (a model's tool call, an HTTP path, a
 * DAG built from a plan) are read and written through their own properties
 * only: `record[name]` would find what every object inherits ("constructor",
 * "toString", "__proto__"), and `record["__proto__"] = value` would set the
 * prototype instead of a property.
 */

/** The value of `record`'s own property `key`; undefined when it has none, whatever it inherits. */
export const get = <A>(record: Readonly<Record<string, A>>, key: string): A | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined

/** Sets `record`'s own, enumerable property `key`, even `"__proto__"`. */
export const set = <A>(record: Record<string, A>, key: string, value: A): void => {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}
