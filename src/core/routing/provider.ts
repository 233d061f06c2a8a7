/**
 * One provider as a pool sees it: its live measurements (peak-EWMA latency, requests in flight,
 * decayed successes and failures, its latency samples), its counters, and where it stands in the
 * ejection cycle (active → ejected → probation → active). Its cost is what selection compares.
 */
import type { RoutingConfig } from './config.ts'
import { latencyFloorMs, providerLatencySamples, quantileRefreshSamples } from './constants.ts'
import { createDecayedCount, decayedValue, type DecayedCount } from './decayed-count.ts'
import { createPeakEwma, peakEwmaAt, type PeakEwma } from './peak-ewma.ts'
import { SampleRing } from './sample-ring.ts'

/** Where a provider stands: selectable, out for a back-off period, or let back in on a small share. */
export type ProviderStatus = 'active' | 'ejected' | 'probation'

/** A member of a pool, as the caller names it. */
export interface ProviderInfo {
  /** Peer id, address or endpoint URL: unique within the pool. */
  id: string
  /** Region the provider runs in, when known (e.g. `eu-west`). */
  region?: string
}

/** The live state of one provider in one pool. */
export interface ProviderState {
  readonly id: string
  region: string | undefined
  status: ProviderStatus
  readonly latency: PeakEwma
  /** Verified answers' latencies, for the p50/p99 shown to operators. */
  readonly samples: SampleRing
  inFlight: number
  readonly successes: DecayedCount
  readonly failures: DecayedCount
  consecutiveFailures: number
  /** Until when an ejected provider stays out. */
  ejectedUntilMs: number
  /** Ejections in a row without a quiet spell: the exponent of the next back-off. */
  backoffLevel: number
  /** Totals since the provider joined the pool. */
  requests: number
  ok: number
  errors: number
  timeouts: number
  wrong: number
  cancelled: number
  ejections: number
}

/** A provider that has not been asked anything yet. */
export function createProvider (info: ProviderInfo, now: number): ProviderState {
  return {
    id: info.id,
    region: info.region,
    status: 'active',
    latency: createPeakEwma(now),
    samples: new SampleRing(providerLatencySamples),
    inFlight: 0,
    successes: createDecayedCount(now),
    failures: createDecayedCount(now),
    consecutiveFailures: 0,
    ejectedUntilMs: 0,
    backoffLevel: 0,
    requests: 0,
    ok: 0,
    errors: 0,
    timeouts: 0,
    wrong: 0,
    cancelled: 0,
    ejections: 0
  }
}

/** Share of recent answers that were failures (decayed), 0 with no recent answers: what operators see. */
export function errorRate (p: ProviderState, now: number, config: RoutingConfig): number {
  const f = decayedValue(p.failures, now, config.errorDecayMs)
  const s = decayedValue(p.successes, now, config.errorDecayMs)
  return f + s < 1e-9 ? 0 : f / (f + s)
}

/**
 * The failure share selection uses: as `errorRate`, but counting one success more, so one old
 * failure with nothing since fades to zero instead of keeping a provider out for good, and one
 * failure among many successes hardly counts.
 */
export function failureShare (p: ProviderState, now: number, config: RoutingConfig): number {
  const f = decayedValue(p.failures, now, config.errorDecayMs)
  const s = decayedValue(p.successes, now, config.errorDecayMs)
  return f / (f + s + 1)
}

/** The pool's latency figures a provider's cost refers to, computed when first asked. */
export interface PoolLatencies {
  /** The pool's median answer time. */
  typicalMs: () => number
  /** What a provider not measured yet is assumed to take. */
  unmeasuredMs: () => number
}

/**
 * Where `p`'s latency estimate returns to while it gets no answers: the lower of the pool's
 * typical latency and its own median. Not zero, so a provider shunned as slow or failing does not
 * come to look fastest of all; not above the pool's typical, so it is tried again and re-measured
 * in time; not above its own median, so a fast provider that lost out to nearer ones comes back.
 */
export function restingLatencyMs (p: ProviderState, typicalMs: number): number {
  return Math.min(typicalMs, p.samples.quantile(0.5, quantileRefreshSamples) ?? typicalMs)
}

/**
 * What sending one more request to `p` is expected to cost: its peak-EWMA latency (while
 * unmeasured, the pool's fast answers' time, so it gets tried) × (1 + `inFlightCostWeight` × its
 * requests in flight) × the region factor × the failure penalty (1 + `errorCostWeight` × its
 * recent failure share). Lower is better.
 */
export function providerCost (p: ProviderState, now: number, config: RoutingConfig, clientRegion: string | undefined, pool: PoolLatencies): number {
  const measured = p.latency.valueMs === undefined ? undefined : peakEwmaAt(p.latency, now, config.latencyDecayMs, restingLatencyMs(p, pool.typicalMs()))
  const latency = Math.max(latencyFloorMs, measured ?? pool.unmeasuredMs())
  const remote = clientRegion !== undefined && p.region !== clientRegion
  const region = remote ? config.remoteRegionCostFactor : 1
  return latency * (1 + config.inFlightCostWeight * p.inFlight) * region * (1 + config.errorCostWeight * failureShare(p, now, config))
}
