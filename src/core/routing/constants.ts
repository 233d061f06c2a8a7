/**
 * Bounds and tunings of provider selection (quality-based routing), each with its reason. They
 * are the defaults of `RoutingConfig`; a pool may override the tunings, never the size bounds.
 * Relationships between them are asserted when this module loads. `docs/protocol/routing.md`
 * explains the algorithm they tune.
 */
import assert from 'node:assert/strict'

/** Providers of one pool: more than any pin's holders or a service record's endpoints; bounds a pool's state to ~70 KiB. */
export const maxProvidersPerPool = 64
/** Characters of a provider id or region: a peer id or hex address (~64) and a region name fit with room. */
export const maxProviderIdChars = 256
/** Latency samples kept per provider for its p50/p99 estimate: enough for a stable p50 and a rough p99, 1 KiB each. */
export const providerLatencySamples = 128
/** Latency samples kept per pool for its p95 (the hedge delay): the last few seconds of a busy pool. */
export const poolLatencySamples = 256
/** New samples after which the pool's cached quantiles are sorted again: a p95 lagging 16 answers is fine, sorting 256 numbers per call is not. */
export const quantileRefreshSamples = 16

/** Time constant of the peak-EWMA latency and of its return to the resting value while idle: with Finagle's 10 s one tail answer kept a healthy provider looking slow for ~10 s. */
export const latencyDecayMs = 3_000
/** Smallest latency a cost uses: below a loopback round trip, so in-flight counts still matter for sub-millisecond providers. */
export const latencyFloorMs = 1
/** Latency assumed for a provider before anyone in its pool answered: a typical wide-area round trip. */
export const unmeasuredLatencyMs = 100
/** Quantile of the pool's answer times assumed for a provider not measured yet: optimistic, so new providers get measured. */
export const unmeasuredQuantile = 0.1
/** Time constant of the decayed success and failure counts behind the error rate: errors older than ~30 s barely count. */
export const errorDecayMs = 10_000
/** Cost multiplier per unit of recent failure share: a provider failing every request costs ~5× a healthy one of equal latency. */
export const errorCostWeight = 4
/** Failures one wrong answer adds to the decayed count: a lying provider stays expensive long after its ejection ends. */
export const wrongAnswerFailureWeight = 10
/** Cost added per request in flight, as a share of the latency: 1 would treat a provider as serving one request at a time. */
export const inFlightCostWeight = 0.3
/** Cost multiplier of a provider outside the client's region (or of unknown region): a near provider wins until it is twice as costly. */
export const remoteRegionCostFactor = 2

/** Consecutive failures that eject a provider (a wrong answer ejects at once). */
export const ejectAfterConsecutiveFailures = 3
/** First ejection period; each ejection without recovery in between doubles it. */
export const baseEjectionMs = 1_000
/** Longest ejection period: a provider that comes back is tried again within a minute. */
export const maxEjectionMs = 60_000
/** Largest share of a pool ejected at once: a widespread fault (or our own bad network) must not empty the pool. */
export const maxEjectedFraction = 0.5
/** Chance that a selection goes to a provider on probation (one probe in flight at a time): about 1 request in 20. */
export const probationTrafficShare = 0.05

/** Quantile of the pool's latency after which a request is hedged: Dean and Barroso's p95 let the normal tail spend the whole 5% budget; at p97.5 half is left for outliers. */
export const hedgeQuantile = 0.975
/** Shortest hedge delay: below it a hedge would race scheduling jitter, not a slow provider. */
export const minHedgeDelayMs = 10
/** Answers a pool needs before it hedges: a p95 of fewer samples is noise. */
export const minHedgeSamples = 20
/** Hedges earned per call: at most 5% extra requests. */
export const hedgeBudgetRatio = 0.05
/** Hedge tokens a pool can save up: a short burst of slow answers can be hedged, a long quiet spell earns no more. */
export const hedgeBudgetBurst = 10

/** Retries earned per call: a failing pool adds at most 10% load, so retries cannot turn an outage into a storm. */
export const retryBudgetRatio = 0.1
/** Retries a pool may make per second whatever its call rate, so a client making few calls can still fail over. */
export const minRetriesPerSecond = 5
/** Retry tokens a pool can save up (and starts with): a fresh client fails over from a dead first provider at once. */
export const retryBudgetBurst = 10

assert.ok(providerLatencySamples >= 100, 'a p99 needs at least 100 samples')
assert.ok(quantileRefreshSamples < poolLatencySamples && minHedgeSamples <= poolLatencySamples)
assert.ok(unmeasuredQuantile > 0 && unmeasuredQuantile <= 0.5)
assert.ok(latencyFloorMs > 0 && latencyFloorMs < unmeasuredLatencyMs && latencyDecayMs > 0 && errorDecayMs > 0)
assert.ok(remoteRegionCostFactor >= 1 && errorCostWeight >= 0 && wrongAnswerFailureWeight >= 1)
assert.ok(ejectAfterConsecutiveFailures >= 1 && baseEjectionMs > 0 && baseEjectionMs <= maxEjectionMs)
assert.ok(maxEjectedFraction > 0 && maxEjectedFraction < 1, 'some but never all providers may be ejected')
assert.ok(probationTrafficShare > 0 && probationTrafficShare < 1)
assert.ok(hedgeQuantile > 0.5 && hedgeQuantile < 1 && minHedgeDelayMs > 0)
assert.ok(hedgeBudgetRatio > 0 && hedgeBudgetRatio <= 1 && hedgeBudgetBurst >= 1)
assert.ok(retryBudgetRatio > 0 && retryBudgetRatio <= 1 && minRetriesPerSecond >= 0 && retryBudgetBurst >= 1)
