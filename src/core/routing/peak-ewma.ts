/**
 * Peak-EWMA latency, as Finagle's and Linkerd's load balancers keep it: a sample above the
 * estimate replaces it at once (one slow answer makes a provider expensive now), a sample below
 * pulls it down with weight 1 − e^(−Δt/τ). With no samples the estimate returns, with time
 * constant τ, to a resting value: the pool's typical latency. Finagle decays toward zero, which
 * makes a provider that was shunned for being slow (or failing) look fastest of all after a
 * while, so it is retried again and again and every retry lands in the callers' tail; returning
 * to the typical latency still lets an idle provider be tried and re-measured, once its cost
 * meets the busy providers' (whose cost is multiplied by their requests in flight).
 */

/** One provider's estimate; `valueMs` is undefined until its first measurement. */
export interface PeakEwma {
  valueMs: number | undefined
  /** When `valueMs` was last set. */
  atMs: number
}

/** A fresh, unmeasured estimate. */
export function createPeakEwma (now: number): PeakEwma {
  return { valueMs: undefined, atMs: now }
}

/** The estimate at `now` (moved toward `restMs` since the last sample), or undefined if never measured. */
export function peakEwmaAt (e: PeakEwma, now: number, decayMs: number, restMs: number): number | undefined {
  if (e.valueMs === undefined) return undefined
  return restMs + (e.valueMs - restMs) * Math.exp(-Math.max(0, now - e.atMs) / decayMs)
}

/** Adds a measured latency. */
export function observeLatency (e: PeakEwma, sampleMs: number, now: number, decayMs: number, restMs: number): void {
  const current = peakEwmaAt(e, now, decayMs, restMs)
  if (current === undefined || sampleMs >= current) {
    e.valueMs = sampleMs
  } else {
    const w = Math.exp(-Math.max(0, now - e.atMs) / decayMs)
    e.valueMs = current * w + sampleMs * (1 - w)
  }
  e.atMs = now
}

/**
 * Adds a lower bound: the provider took at least `elapsedMs` (a timeout, or an attempt cancelled
 * because the caller gave up). It can only raise the estimate, never lower it.
 */
export function observeAtLeast (e: PeakEwma, elapsedMs: number, now: number, decayMs: number, restMs: number): void {
  const current = peakEwmaAt(e, now, decayMs, restMs)
  if (current !== undefined && elapsedMs <= current) return
  e.valueMs = elapsedMs
  e.atMs = now
}
