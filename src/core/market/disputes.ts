/**
 * Disputes, by rule alone. A provider whose audit did not reach a passing quorum answers the
 * challenge on the ledger — the challenged blocks with their Merkle paths — after the period
 * ends and before its answer deadline. A valid answer makes the period pass. No answer by the
 * deadline, or only wrong ones, makes it fail, and a failed period is a provable fault: the
 * operator's stake is slashed, part to the client and part burnt. An auditor that signs two
 * different outcomes for the same provider and period has equivocated and is slashed the same way.
 */
import { checkAnswer, type AuditStatement } from './audit.ts'
import { answerDeadlinePeriods } from './constants.ts'
import { NotAuthorisedError, OutOfWindowError, ReplayedError } from './errors.ts'
import type { PeriodEvidence } from './evidence.ts'

export interface ChallengeAnswer {
  index: number
  segment: Uint8Array
  path: Uint8Array[]
}

/**
 * Records part of a provider's on-ledger answer to period `period`'s challenge, as of ledger
 * period `now`. The sender must be the challenged holder, the period must have ended and its
 * deadline not passed, and every segment must prove a challenged index not proven before. The
 * period passes once every challenged index is proven.
 */
export function answerChallenge (e: PeriodEvidence, q: { period: number, now: number, sender: string, holder: string, dataRoot: Uint8Array, segmentCount: number, challenged: readonly number[], answers: readonly ChallengeAnswer[] }): PeriodEvidence {
  if (q.sender !== q.holder) throw new NotAuthorisedError(`only the holder ${q.holder} answers its own challenge`)
  if (q.now <= q.period) throw new OutOfWindowError(`period ${q.period} has not ended; its challenge is drawn after it ends`)
  if (q.now > q.period + answerDeadlinePeriods) throw new OutOfWindowError(`the answer deadline of period ${q.period} was period ${q.period + answerDeadlinePeriods}; it is now ${q.now}`)
  if (e.answered) throw new ReplayedError(`period ${q.period} was already answered in full`)
  const proven = new Set(e.proven)
  for (const a of q.answers) {
    if (proven.has(a.index)) throw new ReplayedError(`segment ${a.index} of period ${q.period} was already proven`)
    checkAnswer(q.dataRoot, q.segmentCount, q.challenged, a.index, a.segment, a.path)
    proven.add(a.index)
  }
  return { ...e, proven: [...proven].sort((a, b) => a - b), answered: q.challenged.every(i => proven.has(i)) }
}

/** Whether two statements by one auditor contradict each other (same provider and period, different outcome). */
export function isEquivocation (a: AuditStatement, b: AuditStatement): boolean {
  return a.dealId === b.dealId && a.provider === b.provider && a.period === b.period && a.outcome !== b.outcome
}
