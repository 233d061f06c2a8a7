/**
 * What one period's evidence says about one provider: pass (a quorum of its assigned auditors
 * found the proofs, or it answered the challenge on the ledger itself), fail (neither, and the
 * answer deadline has passed), or pending (still within the deadline).
 */
import { answerDeadlinePeriods, auditQuorum } from './constants.ts'
import type { AuditOutcome } from './audit.ts'

export type Verdict = 'pass' | 'fail' | 'pending'

export interface PeriodEvidence {
  /** Outcomes by assigned auditor (hex id): one each; a second, different one is equivocation. */
  outcomes: Record<string, AuditOutcome>
  /** The provider answered every challenged index on the ledger with a valid proof. */
  answered: boolean
}

export function emptyEvidence (): PeriodEvidence {
  return { outcomes: {}, answered: false }
}

export function passCount (e: PeriodEvidence): number {
  return Object.values(e.outcomes).filter(o => o === 'pass').length
}

/** The verdict on `period` as of ledger period `now`. */
export function verdict (e: PeriodEvidence, period: number, now: number): Verdict {
  if (e.answered || passCount(e) >= auditQuorum) return 'pass'
  return answerClosed(period, now) ? 'fail' : 'pending'
}

/** Whether the on-ledger answer window of `period` has closed by period `now`. */
export function answerClosed (period: number, now: number): boolean {
  return now > period + answerDeadlinePeriods
}

/** Whether a failed period's outcome was a wrong answer (worse for reputation than silence). */
export function wasWrong (e: PeriodEvidence): boolean {
  const all = Object.values(e.outcomes)
  return all.filter(o => o === 'wrong').length >= auditQuorum
}
