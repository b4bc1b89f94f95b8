/**
 * Scrubbing secrets out of texts that leave the library: a provider's error
 * message that echoes the API key, say.
 */
import * as Redacted from "effect/Redacted"

const redacted = "<redacted>"

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const scrubOne = (secret: string): (text: string) => string => {
  const whole = new RegExp(escape(secret), "g")
  if (secret.length < 8) return (text) => text.includes(secret) ? text.replace(whole, redacted) : text
  // a masked form: a prefix of the secret (maybe none), three or more stars or dots (or an ellipsis), its last four
  const last4 = secret.slice(-4)
  const mask = "(?:[*.\\u2022]{3,}|[*.\\u2022]*\\u2026[*.\\u2022\\u2026]*)"
  const masked = new RegExp(`([\\w-]*)${mask}${escape(last4)}(?![\\w-])`, "g")
  return (text) => {
    const unmasked = text.includes(secret) ? text.replace(whole, redacted) : text
    return unmasked.includes(last4)
      ? unmasked.replace(masked, (match, prefix: string) => secret.startsWith(prefix) ? redacted : match)
      : unmasked
  }
}

/**
 * A function that replaces each secret in a text with `<redacted>`: whole,
 * and (for a secret of 8 characters or more) in the masked forms providers
 * print, a prefix of it and its last four characters around stars or dots
 * (`sk-abc***...***wxyz`, `sk-proj-****wxyz`, `sk-...wxyz`).
 */
export const make = (secrets: ReadonlyArray<string>): (text: string) => string => {
  const scrubs = secrets.filter((secret) => secret.length > 0).map(scrubOne)
  return (text) => scrubs.reduce((scrubbed, scrub) => scrub(scrubbed), text)
}

/** {@link make} for secrets given as `Redacted` values or strings (an option of the library's). */
export const fromSecrets = (
  secrets: ReadonlyArray<Redacted.Redacted | string> | undefined
): (text: string) => string =>
  make((secrets ?? []).map((secret) => Redacted.isRedacted(secret) ? Redacted.value(secret) : secret))
