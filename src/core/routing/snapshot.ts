/**
 * A plain-data picture of a pool, for `keynet top`, `/metrics` and messages: every provider's
 * state, cost, latency figures, in-flight requests and counters, plus the pool's hedge delay and
 * budget counters. Taking it moves providers whose ejection ended to probation, as selection would.
 */
import { peakEwmaAt } from './peak-ewma.ts'
import { hedgeDelayMs, poolLatencies, releaseEjected, type RoutingPoolState } from './pool.ts'
import { errorRate, providerCost, restingLatencyMs, type ProviderStatus } from './provider.ts'
import { tokensAt } from './token-bucket.ts'

/** One provider, as operators see it. Latencies in ms; undefined until measured. */
export interface ProviderSnapshot {
  id: string
  state: ProviderStatus
  /** What selection compares (lower is better): latency × (in flight + 1) × region factor × error penalty. */
  cost: number
  /** Median and p99 of its last verified answers. */
  p50Ms: number | undefined
  p99Ms: number | undefined
  /** Its peak-EWMA latency now. */
  peakEwmaMs: number | undefined
  inFlight: number
  /** Attempts started on it. */
  requests: number
  /** Verified answers. */
  ok: number
  /** Failures (refused, 5xx…) and timeouts. */
  errors: number
  timeouts: number
  /** Answers that did not verify. */
  wrong: number
  /** Attempts we stopped waiting for (hedge losers, callers that gave up). */
  cancelled: number
  /** Recent failures over recent answers (decayed). */
  errorRate: number
  consecutiveFailures: number
  region: string | undefined
  ejections: number
  /** When an ejected provider goes on probation. */
  ejectedUntilMs: number | undefined
}

/** One pool, as operators see it. */
export interface PoolSnapshot {
  name: string
  region: string | undefined
  providers: ProviderSnapshot[]
  /** Median and p95 of the pool's recent verified answers. */
  p50Ms: number | undefined
  p95Ms: number | undefined
  /** The current hedge delay; undefined while the pool has too few answers to hedge. */
  hedgeDelayMs: number | undefined
  calls: number
  hedges: number
  hedgesDenied: number
  retries: number
  retriesDenied: number
  /** Whole tokens left in each budget. */
  hedgeTokens: number
  retryTokens: number
}

/** Each provider's state and cost at `now`: the cheap part of a snapshot, for a metrics scrape. */
export function providerCosts (pool: RoutingPoolState, now: number): Array<{ id: string, state: ProviderStatus, cost: number }> {
  releaseEjected(pool, now)
  const latencies = poolLatencies(pool)
  return [...pool.providers.values()].map(p => ({ id: p.id, state: p.status, cost: providerCost(p, now, pool.config, pool.region, latencies) }))
}

/** The pool at `now`. */
export function snapshot (pool: RoutingPoolState, now: number): PoolSnapshot {
  releaseEjected(pool, now)
  const c = pool.config
  const latencies = poolLatencies(pool)
  const providers = [...pool.providers.values()].map((p): ProviderSnapshot => ({
    id: p.id,
    state: p.status,
    cost: providerCost(p, now, c, pool.region, latencies),
    p50Ms: p.samples.quantile(0.5),
    p99Ms: p.samples.quantile(0.99),
    peakEwmaMs: peakEwmaAt(p.latency, now, c.latencyDecayMs, restingLatencyMs(p, latencies.typicalMs())),
    inFlight: p.inFlight,
    requests: p.requests,
    ok: p.ok,
    errors: p.errors + p.timeouts,
    timeouts: p.timeouts,
    wrong: p.wrong,
    cancelled: p.cancelled,
    errorRate: errorRate(p, now, c),
    consecutiveFailures: p.consecutiveFailures,
    region: p.region,
    ejections: p.ejections,
    ejectedUntilMs: p.status === 'ejected' ? p.ejectedUntilMs : undefined
  }))
  return {
    name: pool.name,
    region: pool.region,
    providers,
    p50Ms: pool.latencies.quantile(0.5),
    p95Ms: pool.latencies.quantile(0.95),
    hedgeDelayMs: hedgeDelayMs(pool),
    calls: pool.calls,
    hedges: pool.hedges,
    hedgesDenied: pool.hedgesDenied,
    retries: pool.retries,
    retriesDenied: pool.retriesDenied,
    hedgeTokens: Math.floor(tokensAt(pool.hedgeBudget, now)),
    retryTokens: Math.floor(tokensAt(pool.retryBudget, now))
  }
}
