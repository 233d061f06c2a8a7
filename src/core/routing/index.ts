/**
 * @packageDocumentation
 *
 * Quality-based routing, one selector for every kind of resource: a pure, deterministic state
 * machine per pool of providers. It measures each provider live (peak-EWMA latency, requests in
 * flight, decayed error rate, wrong answers, region), selects by power of two choices on a cost
 * from those, ejects a failing provider for an exponential back-off and re-admits it on probation
 * (never ejecting more than a bounded share of the pool), and keeps the p95 and the token budgets
 * that bound hedges and retries. The clock reading and the random source are passed in; the
 * async executor that runs attempts is `src/services/routing`. See `docs/protocol/routing.md`.
 *
 * @example
 * ```ts
 * const pool = createPool({ name: 'cid:bafy…', providers: [{ id: 'a', region: 'eu-west' }, { id: 'b' }], region: 'eu-west', now: clock.now() })
 * callStarted(pool, clock.now())
 * const id = choose(pool, clock.now(), random)       // 'a' or 'b'
 * const attempt = started(pool, id!, clock.now())
 * // … ask the provider …
 * finished(pool, attempt, 'success', clock.now())
 * console.table(snapshot(pool, clock.now()).providers)
 * ```
 */
export { routingConfig, defaultRoutingConfig, type RoutingConfig } from './config.ts'
export { TooManyProvidersError } from './errors.ts'
export type { ProviderInfo, ProviderStatus } from './provider.ts'
export {
  createPool, setProviders, callStarted, started, finished, releaseEjected, hedgeDelayMs, takeHedgeToken, takeRetryToken, typicalLatencyMs,
  type Attempt, type OutcomeKind, type PoolInit, type RoutingPoolState
} from './pool.ts'
export { choose } from './choose.ts'
export { snapshot, providerCosts, type PoolSnapshot, type ProviderSnapshot } from './snapshot.ts'
