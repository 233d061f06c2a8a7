/**
 * The provider-routing metric family, shared by every pool of providers a node routes over
 * (the holders of a CID, the service nodes of a backend, the replicas of a KV shard). Routing
 * code reports through the small `ProviderMetrics` interface and never sees Prometheus; the
 * pools' current state and score are read at scrape time from `pools()`.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `keynet_provider_requests_total` | counter | pool, provider, outcome |
 * | `keynet_provider_request_duration_seconds` | histogram | pool, provider |
 * | `keynet_provider_ejections_total` | counter | pool, provider |
 * | `keynet_provider_hedges_total` | counter | pool |
 * | `keynet_provider_state` | gauge (1 for the current state, 0 for the others) | pool, provider, state |
 * | `keynet_provider_score` | gauge | pool, provider |
 *
 * @example
 * ```ts
 * const providers = registerProviderMetrics(registry, () => pools.views())
 * providers.request('cid:bafy…', peerId, 'ok', 0.012)
 * providers.hedged('cid:bafy…')
 * ```
 */
import type { MetricsRegistry } from './registry.ts'

/**
 * How one request to a provider ended. `ok`: a verified answer. `error`: it failed (refused,
 * 5xx, connection lost). `timeout`: no answer in time. `wrong`: an answer that failed
 * verification. `fatal`: the caller's own mistake (a 4xx), not the provider's fault.
 * `cancelled`: a hedge or retry that lost to another attempt and was aborted.
 */
export type ProviderOutcome = 'ok' | 'error' | 'timeout' | 'wrong' | 'fatal' | 'cancelled'

/** Every outcome, in a fixed order. */
export const providerOutcomes: readonly ProviderOutcome[] = ['ok', 'error', 'timeout', 'wrong', 'fatal', 'cancelled']

/** Outcomes that count against a provider in its error rate. */
export const failureOutcomes: readonly ProviderOutcome[] = ['error', 'timeout', 'wrong']

/** Where a provider stands in its pool: chosen normally, left out for a back-off, or given a small share to prove itself again. */
export type ProviderState = 'active' | 'ejected' | 'probation'

/** Every state, in a fixed order. */
export const providerStates: readonly ProviderState[] = ['active', 'ejected', 'probation']

/** One pool's providers as the router sees them now. */
export interface PoolView {
  /** The pool's name, e.g. `cid:<root>` or `service:mysite.key/api`. */
  pool: string
  providers: Array<{
    /** The provider's id (peer id). */
    provider: string
    state: ProviderState
    /** The router's cost for this provider: lower is preferred. */
    score: number
  }>
}

/** What routing code reports about its providers; a no-op implementation is `noProviderMetrics`. */
export interface ProviderMetrics {
  /** One request to `provider` in `pool` ended with `outcome` after `seconds`. */
  request: (pool: string, provider: string, outcome: ProviderOutcome, seconds: number) => void
  /** `provider` was ejected from `pool`. */
  ejected: (pool: string, provider: string) => void
  /** A hedged (second, parallel) request was sent in `pool`. */
  hedged: (pool: string) => void
}

/** Reports nothing: for code run without a registry (tests, the CLI). */
export const noProviderMetrics: ProviderMetrics = { request: () => {}, ejected: () => {}, hedged: () => {} }

/** Upper bounds of the request-duration buckets: from a loopback round trip (1 ms) to a slow backend (30 s). */
export const providerDurationBucketsSeconds: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * Defines the provider-routing family in `registry` and returns the reporter routing code
 * calls. `pools`, when given, is read at every scrape for the state and score gauges.
 */
export function registerProviderMetrics (registry: MetricsRegistry, pools?: () => Iterable<PoolView>): ProviderMetrics {
  const requests = registry.counter('keynet_provider_requests_total', 'Requests to providers, by pool, provider and outcome (ok, error, timeout, wrong, fatal, cancelled).', ['pool', 'provider', 'outcome'])
  const duration = registry.histogram('keynet_provider_request_duration_seconds', 'Time to an answer from a provider (outcomes ok and fatal; failures are counted, not timed, so a fast wrong answer never looks fast).', ['pool', 'provider'], providerDurationBucketsSeconds)
  const ejections = registry.counter('keynet_provider_ejections_total', 'Times a provider was ejected from a pool after failures.', ['pool', 'provider'])
  const hedges = registry.counter('keynet_provider_hedges_total', 'Hedged requests: a second request sent to another provider when the first was slow.', ['pool'])
  registry.gauge('keynet_provider_state', 'A provider\'s state in a pool: 1 for the current state (active, ejected, probation), 0 for the others.', ['pool', 'provider', 'state'], {
    collect: emit => {
      for (const { pool, providers } of pools?.() ?? []) {
        for (const p of providers) for (const state of providerStates) emit({ pool, provider: p.provider, state }, p.state === state ? 1 : 0)
      }
    }
  })
  registry.gauge('keynet_provider_score', 'The router\'s cost for a provider in a pool: lower is preferred.', ['pool', 'provider'], {
    collect: emit => {
      for (const { pool, providers } of pools?.() ?? []) for (const p of providers) emit({ pool, provider: p.provider }, p.score)
    }
  })
  return {
    request: (pool, provider, outcome, seconds) => {
      requests.inc({ pool, provider, outcome })
      if (outcome === 'ok' || outcome === 'fatal') duration.observe({ pool, provider }, seconds)
    },
    ejected: (pool, provider) => { ejections.inc({ pool, provider }) },
    hedged: pool => { hedges.inc({ pool }) }
  }
}
