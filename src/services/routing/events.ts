/**
 * What the executor tells the outside about its attempts, for metrics: each attempt's end, each
 * ejection, each hedge. The node's Prometheus reporter (`ProviderMetrics` in
 * `src/services/metrics`) has this very shape, so it is passed in as it is.
 */

/** How one attempt ended, as metrics name it (`ok` is a verified answer). */
export type RoutedOutcome = 'ok' | 'error' | 'timeout' | 'wrong' | 'fatal' | 'cancelled'

/** Receives the executor's events; each call must be cheap and must not throw. */
export interface RoutingEvents {
  /** An attempt on `provider` in `pool` ended with `outcome` after `seconds`. */
  request: (pool: string, provider: string, outcome: RoutedOutcome, seconds: number) => void
  /** `provider` was ejected from `pool`. */
  ejected: (pool: string, provider: string) => void
  /** A hedge was sent in `pool`. */
  hedged: (pool: string) => void
}

/** Reports nothing. */
export const noRoutingEvents: RoutingEvents = { request: () => {}, ejected: () => {}, hedged: () => {} }
