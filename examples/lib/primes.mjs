// A CPU-heavy function for Tool.blocking: it runs on a worker thread, so it
// is plain JavaScript that Node loads by itself.

/** Counts the primes below `below` by trial division (deliberately slow). */
export const countPrimes = ({ below }) => {
  let count = 0
  for (let n = 2; n < below; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}
