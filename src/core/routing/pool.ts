/**
 * A pool: the providers of one resource (the holders of a CID, the service nodes fronting one
 * backend, the replicas of a KV shard) and what the client has measured of them. This file is
 * the pool's life cycle — membership, the start and end of each attempt (which feed the
 * measurements and the ejection cycle), and the hedge and retry budgets. It is pure and
 * explicitly mutated: the clock reading is passed in, nothing here does I/O or keeps timers.
 */
import assert from 'node:assert/strict'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { routingConfig, type RoutingConfig } from './config.ts'
import { maxProviderIdChars, maxProvidersPerPool, poolLatencySamples, quantileRefreshSamples, unmeasuredLatencyMs, unmeasuredQuantile, wrongAnswerFailureWeight } from './constants.ts'
import { addDecayed } from './decayed-count.ts'
import { TooManyProvidersError } from './errors.ts'
import { observeAtLeast, observeLatency } from './peak-ewma.ts'
import { createProvider, restingLatencyMs, type PoolLatencies, type ProviderInfo, type ProviderState } from './provider.ts'
import { SampleRing } from './sample-ring.ts'
import { createTokenBucket, deposit, tryTake, type TokenBucket } from './token-bucket.ts'

/** How an attempt on a provider ended. */
export type OutcomeKind =
  /** A verified answer: its latency is measured. */
  | 'success'
  /** The provider failed (refused, reset, 5xx…). */
  | 'error'
  /** The provider did not answer in time: a failure, and a lower bound on its latency. */
  | 'timeout'
  /** The answer did not verify (wrong bytes, bad signature): a heavy failure, never counted as speed. */
  | 'wrong'
  /** We stopped waiting (another attempt won, the caller gave up): not a failure, only a lower bound on latency. */
  | 'cancelled'
  /** The request itself was at fault (4xx): the provider is neither blamed nor credited. */
  | 'fatal'

/** How a pool is set up. */
export interface PoolInit {
  /** The resource the pool serves, for messages and metrics (e.g. `cid:bafy…`, `service:mysite.key`). */
  name: string
  providers: readonly ProviderInfo[]
  /** The client's own region: providers elsewhere cost `remoteRegionCostFactor` more. */
  region?: string
  /** Tunings that differ from `constants.ts`. */
  config?: Partial<RoutingConfig>
  now: number
}

/** One pool's whole state. Mutated only through this module's functions. */
export interface RoutingPoolState {
  readonly name: string
  readonly region: string | undefined
  readonly config: RoutingConfig
  /** By id, in the order they joined (selection iterates in this order, so it is deterministic). */
  readonly providers: Map<string, ProviderState>
  /** Verified answers' latencies across the pool: the hedge delay is their p95. */
  readonly latencies: SampleRing
  readonly hedgeBudget: TokenBucket
  readonly retryBudget: TokenBucket
  /** Totals: calls begun, hedges and retries granted and refused by the budgets. */
  calls: number
  hedges: number
  hedgesDenied: number
  retries: number
  retriesDenied: number
}

/** One request to one provider, from `started` until `finished`. */
export interface Attempt {
  readonly providerId: string
  readonly startedAtMs: number
  /** Set by `finished`; an attempt ends once. */
  done: boolean
}

/** A new pool; every provider starts active and unmeasured. */
export function createPool (init: PoolInit): RoutingPoolState {
  const config = routingConfig(init.config)
  const pool: RoutingPoolState = {
    name: init.name,
    region: init.region,
    config,
    providers: new Map(),
    latencies: new SampleRing(poolLatencySamples),
    hedgeBudget: createTokenBucket(config.hedgeBudgetBurst, 0, 0, init.now),
    retryBudget: createTokenBucket(config.retryBudgetBurst, config.minRetriesPerSecond, config.retryBudgetBurst, init.now),
    calls: 0,
    hedges: 0,
    hedgesDenied: 0,
    retries: 0,
    retriesDenied: 0
  }
  setProviders(pool, init.providers, init.now)
  return pool
}

/**
 * Makes the pool's members exactly `providers`: new ones join unmeasured, gone ones are forgotten
 * (their attempts still running end without effect), the others keep their measurements.
 */
export function setProviders (pool: RoutingPoolState, providers: readonly ProviderInfo[], now: number): void {
  if (providers.length > maxProvidersPerPool) {
    throw new TooManyProvidersError(`pool ${pool.name} was given ${providers.length} providers; at most ${maxProvidersPerPool} are kept per resource, so pass the ones to use`)
  }
  const ids = new Set<string>()
  for (const p of providers) {
    if (p.id.length === 0 || p.id.length > maxProviderIdChars || (p.region?.length ?? 0) > maxProviderIdChars) {
      throw new MalformedMessageError(`pool ${pool.name}: a provider id must be 1 to ${maxProviderIdChars} characters (and its region at most ${maxProviderIdChars}); got ${JSON.stringify(p.id.slice(0, 80))}`)
    }
    if (ids.has(p.id)) throw new MalformedMessageError(`pool ${pool.name}: provider ${p.id} is listed twice; list each provider once`)
    ids.add(p.id)
  }
  for (const id of [...pool.providers.keys()]) if (!ids.has(id)) pool.providers.delete(id)
  for (const info of providers) {
    const known = pool.providers.get(info.id)
    if (known === undefined) pool.providers.set(info.id, createProvider(info, now))
    else known.region = info.region
  }
}

/** Counts a new call and earns its share of the hedge and retry budgets. Once per call, before its first attempt. */
export function callStarted (pool: RoutingPoolState, now: number): void {
  pool.calls += 1
  deposit(pool.hedgeBudget, pool.config.hedgeBudgetRatio, now)
  deposit(pool.retryBudget, pool.config.retryBudgetRatio, now)
}

/** Records that a request to `providerId` (a member, just chosen) starts now. */
export function started (pool: RoutingPoolState, providerId: string, now: number): Attempt {
  const p = pool.providers.get(providerId)
  assert.ok(p !== undefined, `provider ${providerId} is not in pool ${pool.name}`)
  p.inFlight += 1
  p.requests += 1
  return { providerId, startedAtMs: now, done: false }
}

/**
 * Records how an attempt ended: feeds the measurements and, on failure, the ejection cycle.
 * Returns true when this outcome ejected the provider.
 */
export function finished (pool: RoutingPoolState, attempt: Attempt, kind: OutcomeKind, now: number): boolean {
  assert.ok(!attempt.done, `an attempt on ${attempt.providerId} ended twice`)
  attempt.done = true
  const p = pool.providers.get(attempt.providerId)
  if (p === undefined) return false // left the pool meanwhile
  assert.ok(p.inFlight > 0)
  p.inFlight -= 1
  if (p.status === 'ejected' && now >= p.ejectedUntilMs) p.status = 'probation'
  const c = pool.config
  const elapsedMs = Math.max(0, now - attempt.startedAtMs)
  const typicalMs = typicalLatencyMs(pool)
  const restMs = restingLatencyMs(p, typicalMs)
  switch (kind) {
    case 'success':
      p.ok += 1
      observeLatency(p.latency, elapsedMs, now, c.latencyDecayMs, restMs)
      p.samples.push(elapsedMs)
      pool.latencies.push(elapsedMs)
      addDecayed(p.successes, 1, now, c.errorDecayMs)
      p.consecutiveFailures = 0
      if (p.status === 'probation') p.status = 'active'
      return false
    case 'fatal':
      return false
    case 'cancelled':
      p.cancelled += 1
      observeAtLeast(p.latency, elapsedMs, now, c.latencyDecayMs, restMs)
      return false
    case 'error':
      p.errors += 1
      addDecayed(p.failures, 1, now, c.errorDecayMs)
      p.consecutiveFailures += 1
      break
    case 'timeout':
      p.timeouts += 1
      addDecayed(p.failures, 1, now, c.errorDecayMs)
      p.consecutiveFailures += 1
      break
    case 'wrong':
      p.wrong += 1
      addDecayed(p.failures, wrongAnswerFailureWeight, now, c.errorDecayMs)
      p.consecutiveFailures = Math.max(p.consecutiveFailures + 1, c.ejectAfterConsecutiveFailures)
      break
  }
  // A failure cost the caller its wait plus an answer from elsewhere: a lower bound on this
  // provider's latency, so one that fails fast never looks fast.
  observeAtLeast(p.latency, elapsedMs + typicalMs, now, c.latencyDecayMs, restMs)
  if (p.status === 'probation' || (p.status === 'active' && p.consecutiveFailures >= c.ejectAfterConsecutiveFailures)) return tryEject(pool, p, now)
  return false
}

/** Moves every ejected provider whose back-off has passed to probation. Selection and snapshots call it. */
export function releaseEjected (pool: RoutingPoolState, now: number): void {
  for (const p of pool.providers.values()) {
    if (p.status === 'ejected' && now >= p.ejectedUntilMs) p.status = 'probation'
  }
}

/** The delay after which a call is hedged: the pool's p95 (floored), or undefined before enough answers. */
export function hedgeDelayMs (pool: RoutingPoolState): number | undefined {
  if (pool.latencies.size < pool.config.minHedgeSamples) return undefined
  const q = pool.latencies.quantile(pool.config.hedgeQuantile, quantileRefreshSamples)
  return q === undefined ? undefined : Math.max(pool.config.minHedgeDelayMs, q)
}

/** Takes a hedge from the budget; false when it is spent (then do not hedge). */
export function takeHedgeToken (pool: RoutingPoolState, now: number): boolean {
  const ok = tryTake(pool.hedgeBudget, now)
  if (ok) pool.hedges += 1
  else pool.hedgesDenied += 1
  return ok
}

/** Takes a retry from the budget; false when it is spent (then fail the call rather than retry). */
export function takeRetryToken (pool: RoutingPoolState, now: number): boolean {
  const ok = tryTake(pool.retryBudget, now)
  if (ok) pool.retries += 1
  else pool.retriesDenied += 1
  return ok
}

/** The pool's median answer time. */
export function typicalLatencyMs (pool: RoutingPoolState): number {
  return pool.latencies.quantile(0.5, quantileRefreshSamples) ?? unmeasuredLatencyMs
}

/**
 * What a provider not measured yet is assumed to take: as fast as the pool's fast answers (its
 * `unmeasuredQuantile`), so it is tried and measured soon, even where the measured ones are far
 * (in another region, when the near ones have slowed down).
 */
export function unmeasuredGuessMs (pool: RoutingPoolState): number {
  return pool.latencies.quantile(unmeasuredQuantile, quantileRefreshSamples) ?? unmeasuredLatencyMs
}

/** The pool's latency figures for costs, each computed once when first asked. */
export function poolLatencies (pool: RoutingPoolState): PoolLatencies {
  let typical: number | undefined
  let unmeasured: number | undefined
  return {
    typicalMs: () => (typical ??= typicalLatencyMs(pool)),
    unmeasuredMs: () => (unmeasured ??= unmeasuredGuessMs(pool))
  }
}

/**
 * Ejects `p` for its back-off period unless that would take the pool past its ejection cap
 * (then it stays in, with the high cost its errors give it). The back-off doubles with each
 * ejection and starts over after a quiet spell as long as the longest period.
 */
function tryEject (pool: RoutingPoolState, p: ProviderState, now: number): boolean {
  const c = pool.config
  let ejected = 0
  for (const q of pool.providers.values()) if (q.status === 'ejected') ejected += 1
  if (ejected + 1 > Math.floor(c.maxEjectedFraction * pool.providers.size)) return false
  if (now - p.ejectedUntilMs > c.maxEjectionMs) p.backoffLevel = 0
  const periodMs = Math.min(c.maxEjectionMs, c.baseEjectionMs * 2 ** Math.min(p.backoffLevel, 30))
  p.status = 'ejected'
  p.ejectedUntilMs = now + periodMs
  p.backoffLevel += 1
  p.ejections += 1
  return true
}
