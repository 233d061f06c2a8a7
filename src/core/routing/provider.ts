/**
 * One provider as a pool sees it: its live measurements (peak-EWMA latency, requests in flight,
 * decayed successes and failures, its latency samples), its counters, and where it stands in the
 * ejection cycle (active → ejected → probation → active). Its cost is what selection compares.
 */
import type { RoutingConfig } from './config.ts'
import { latencyFloorMs, providerLatencySamples } from './constants.ts'
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

/**
 * What sending one more request to `p` is expected to cost: its peak-EWMA latency (the pool's
 * typical latency while unmeasured) × (in flight + 1) × the region factor × the failure penalty
 * (1 + `errorCostWeight` × its recent failure share). Lower is better.
 */
export function providerCost (p: ProviderState, now: number, config: RoutingConfig, clientRegion: string | undefined, typicalLatencyMs: () => number): number {
  const latency = Math.max(latencyFloorMs, peakEwmaAt(p.latency, now, config.latencyDecayMs) ?? typicalLatencyMs())
  const remote = clientRegion !== undefined && p.region !== clientRegion
  const region = remote ? config.remoteRegionCostFactor : 1
  return latency * (p.inFlight + 1) * region * (1 + config.errorCostWeight * failureShare(p, now, config))
}
