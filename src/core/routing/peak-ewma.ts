/**
 * Peak-EWMA latency, as Finagle's and Linkerd's load balancers keep it: a sample above the
 * estimate replaces it at once (one slow answer makes a provider expensive now), a sample below
 * pulls it down with weight 1 − e^(−Δt/τ), and with no samples the estimate decays toward zero
 * with time constant τ, so an idle provider gets tried again and re-measured.
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

/** The estimate at `now` (decayed since the last sample), or undefined if never measured. */
export function peakEwmaAt (e: PeakEwma, now: number, decayMs: number): number | undefined {
  if (e.valueMs === undefined) return undefined
  return e.valueMs * Math.exp(-Math.max(0, now - e.atMs) / decayMs)
}

/** Adds a measured latency. */
export function observeLatency (e: PeakEwma, sampleMs: number, now: number, decayMs: number): void {
  const current = peakEwmaAt(e, now, decayMs)
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
 * because another answered first). It can only raise the estimate, never lower it.
 */
export function observeAtLeast (e: PeakEwma, elapsedMs: number, now: number, decayMs: number): void {
  const current = peakEwmaAt(e, now, decayMs)
  if (current !== undefined && elapsedMs <= current) return
  e.valueMs = elapsedMs
  e.atMs = now
}
