/**
 * The store on `@effect/sql` (SQLite, Postgres): `effect-agents/sql`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as SqlStore from "./SqlStore.js"
