/**
 * Reputation from audit outcomes, per provider and per operator group, decaying with a
 * half-life so that only a recent record counts. Score (0..10,000 bp):
 *
 *   base  = (passes + 1) / (passes + 1 + failureWeight × failures + wrongAnswerWeight × wrong + 1)
 *   score = base × (1 − speedWeight × slowness),  slowness = min(1, latency / answer budget)
 *
 * A failed period weighs `failureWeight` passes and a wrong answer `wrongAnswerWeight`, so a
 * provider that is fast but wrong, or good only part of the time, scores below a slow honest one:
 * speed moves at most `speedWeightBps` of the score. A provider with no record scores 5,000.
 */
import { answerBudgetMs, failureWeight, reputationHalfLifePeriods, speedWeightBps, wrongAnswerWeight } from './constants.ts'

export interface Reputation {
  passes: number
  failures: number
  wrong: number
  /** Decayed mean answer latency (ms) of passed audits. */
  latencyMs: number
  /** Period the counts were last decayed to. */
  period: number
  /** Last period it failed (missing or wrong), if ever. */
  lastFailure?: number
}

export function newReputation (period: number): Reputation {
  return { passes: 0, failures: 0, wrong: 0, latencyMs: 0, period }
}

/** The counts decayed to `period`. */
export function decayTo (r: Reputation, period: number): Reputation {
  if (period <= r.period) return r
  const f = 0.5 ** ((period - r.period) / reputationHalfLifePeriods)
  return { passes: r.passes * f, failures: r.failures * f, wrong: r.wrong * f, latencyMs: r.latencyMs, period }
}

/** Adds one period's outcome. */
export function recordOutcome (r: Reputation, period: number, outcome: 'pass' | 'fail' | 'wrong', latencyMs = 0): Reputation {
  const d = decayTo(r, period)
  if (outcome === 'pass') {
    const latency = d.passes === 0 ? latencyMs : d.latencyMs + (latencyMs - d.latencyMs) / Math.min(8, d.passes + 1)
    return { ...d, passes: d.passes + 1, latencyMs: latency }
  }
  if (outcome === 'wrong') return { ...d, wrong: d.wrong + 1, lastFailure: period }
  return { ...d, failures: d.failures + 1, lastFailure: period }
}

/** Score in bp. */
export function score (r: Reputation): number {
  const base = (r.passes + 1) / (r.passes + 1 + failureWeight * r.failures + wrongAnswerWeight * r.wrong + 1)
  const slowness = Math.min(1, r.latencyMs / answerBudgetMs)
  return Math.floor(10_000 * base * (1 - speedWeightBps / 10_000 * slowness))
}

/** An operator group's record: the sum of its providers' (decayed to `period`). */
export function groupReputation (members: readonly Reputation[], period: number): Reputation {
  const sum = newReputation(period)
  let weighted = 0
  for (const m of members) {
    const d = decayTo(m, period)
    sum.passes += d.passes
    sum.failures += d.failures
    sum.wrong += d.wrong
    weighted += d.latencyMs * d.passes
  }
  sum.latencyMs = sum.passes > 0 ? weighted / sum.passes : 0
  return sum
}

/** What selection uses: a provider is never better than its operator's record, nor its operator's than its own. */
export function effectiveScore (provider: Reputation, group: Reputation): number {
  return Math.min(score(provider), score(group))
}
