/**
 * What one period's evidence says about one provider: pass (a quorum of its assigned auditors
 * found the proofs, or it answered the challenge on the ledger itself), fail (neither, and the
 * answer deadline has passed), or pending (still within the deadline).
 */
import { answerDeadlinePeriods, auditQuorum } from './constants.ts'
import type { AuditOutcome } from './audit.ts'

export type Verdict = 'pass' | 'fail' | 'pending'

export interface PeriodEvidence {
  /** Outcomes of assigned auditors (hex id), one each; a second, different one is equivocation. */
  outcomes: Array<{ auditor: string, outcome: AuditOutcome }>
  /** Challenged indices the provider proved on the ledger itself (an answer may span transactions). */
  proven: number[]
  /** Every challenged index is proven. */
  answered: boolean
}

export function emptyEvidence (): PeriodEvidence {
  return { outcomes: [], proven: [], answered: false }
}

export function countOutcome (e: PeriodEvidence, outcome: AuditOutcome): number {
  let n = 0
  for (const o of e.outcomes) if (o.outcome === outcome) n++
  return n
}

/** The verdict on `period` as of ledger period `now`. */
export function verdict (e: PeriodEvidence, period: number, now: number): Verdict {
  if (e.answered || countOutcome(e, 'pass') >= auditQuorum) return 'pass'
  return answerClosed(period, now) ? 'fail' : 'pending'
}

/** Whether the on-ledger answer window of `period` has closed by period `now`. */
export function answerClosed (period: number, now: number): boolean {
  return now > period + answerDeadlinePeriods
}

/** Whether a failed period's outcome was a wrong answer (worse for reputation than silence). */
export function wasWrong (e: PeriodEvidence): boolean {
  return countOutcome(e, 'wrong') >= auditQuorum
}
