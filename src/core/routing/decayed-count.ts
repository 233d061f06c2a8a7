/**
 * A count that fades with time (exponentially, time constant τ): recent successes and failures
 * weigh, old ones are forgotten, with no window to slide and O(1) memory.
 */

/** A decayed count as of `atMs`. */
export interface DecayedCount {
  value: number
  atMs: number
}

/** A zero count. */
export function createDecayedCount (now: number): DecayedCount {
  return { value: 0, atMs: now }
}

/** The count at `now`. */
export function decayedValue (c: DecayedCount, now: number, decayMs: number): number {
  return c.value * Math.exp(-Math.max(0, now - c.atMs) / decayMs)
}

/** Adds `amount` at `now`. */
export function addDecayed (c: DecayedCount, amount: number, now: number, decayMs: number): void {
  c.value = decayedValue(c, now, decayMs) + amount
  c.atMs = Math.max(c.atMs, now)
}
