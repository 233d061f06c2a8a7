/**
 * The tunings of one pool: what `constants.ts` sets by default, overridable per pool (a test, a
 * bench, or a resource kind with different needs). Size bounds are not tunings and stay fixed.
 */
import assert from 'node:assert/strict'
import {
  baseEjectionMs, ejectAfterConsecutiveFailures, errorCostWeight, inFlightCostWeight, errorDecayMs, hedgeBudgetBurst, hedgeBudgetRatio, hedgeQuantile,
  latencyDecayMs, maxEjectedFraction, maxEjectionMs, minHedgeDelayMs, minHedgeSamples, minRetriesPerSecond, probationTrafficShare,
  remoteRegionCostFactor, retryBudgetBurst, retryBudgetRatio
} from './constants.ts'

/** How a pool measures, selects, ejects, hedges and retries; see `constants.ts` for each field's reason. */
export interface RoutingConfig {
  latencyDecayMs: number
  errorDecayMs: number
  errorCostWeight: number
  inFlightCostWeight: number
  remoteRegionCostFactor: number
  ejectAfterConsecutiveFailures: number
  baseEjectionMs: number
  maxEjectionMs: number
  maxEjectedFraction: number
  probationTrafficShare: number
  hedgeQuantile: number
  minHedgeDelayMs: number
  minHedgeSamples: number
  hedgeBudgetRatio: number
  hedgeBudgetBurst: number
  retryBudgetRatio: number
  minRetriesPerSecond: number
  retryBudgetBurst: number
}

/** The defaults, from `constants.ts`. */
export const defaultRoutingConfig: Readonly<RoutingConfig> = Object.freeze({
  latencyDecayMs,
  errorDecayMs,
  errorCostWeight,
  inFlightCostWeight,
  remoteRegionCostFactor,
  ejectAfterConsecutiveFailures,
  baseEjectionMs,
  maxEjectionMs,
  maxEjectedFraction,
  probationTrafficShare,
  hedgeQuantile,
  minHedgeDelayMs,
  minHedgeSamples,
  hedgeBudgetRatio,
  hedgeBudgetBurst,
  retryBudgetRatio,
  minRetriesPerSecond,
  retryBudgetBurst
})

/** The defaults with `overrides` applied, checked for sense (a bad tuning is a programming error). */
export function routingConfig (overrides: Partial<RoutingConfig> = {}): RoutingConfig {
  const c = { ...defaultRoutingConfig, ...overrides }
  assert.ok(c.latencyDecayMs > 0 && c.errorDecayMs > 0 && c.errorCostWeight >= 0 && c.inFlightCostWeight > 0 && c.remoteRegionCostFactor >= 1)
  assert.ok(Number.isInteger(c.ejectAfterConsecutiveFailures) && c.ejectAfterConsecutiveFailures >= 1)
  assert.ok(c.baseEjectionMs > 0 && c.baseEjectionMs <= c.maxEjectionMs)
  assert.ok(c.maxEjectedFraction >= 0 && c.maxEjectedFraction < 1, 'never all providers ejected')
  assert.ok(c.probationTrafficShare > 0 && c.probationTrafficShare < 1)
  assert.ok(c.hedgeQuantile > 0 && c.hedgeQuantile < 1 && c.minHedgeDelayMs >= 0 && c.minHedgeSamples >= 1)
  assert.ok(c.hedgeBudgetRatio >= 0 && c.hedgeBudgetRatio <= 1 && c.hedgeBudgetBurst >= 1)
  assert.ok(c.retryBudgetRatio >= 0 && c.retryBudgetRatio <= 1 && c.minRetriesPerSecond >= 0 && c.retryBudgetBurst >= 1)
  return c
}
