import { toHex } from '../../../../foundations/bytes.ts'
import { MalformedMessageError } from '../../../../foundations/errors.ts'
import { auditSeed, challengeIndices } from '../../../market/audit.ts'
import { holdersOf } from '../../../market/deals.ts'
import { answerChallenge } from '../../../market/disputes.ts'
import { NotAuthorisedError, OutOfWindowError, ReplayedError } from '../../../market/errors.ts'
import { emptyEvidence, type PeriodEvidence } from '../../../market/evidence.ts'
import { marketKey } from '../keys.ts'
import { beaconOf, getDeal, periodOf } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/**
 * A holder answers its own challenge on the ledger: challenged segments with Merkle paths to the
 * deal's data root, after the period ended and before its deadline. A wrong path or a late answer
 * is rejected (and, with no valid answer by the deadline, the period fails and is slashed).
 */
export const auditAnswer: MarketHandler<'audit-answer'> = (ctx, body) => {
  const deal = getDeal(ctx.state, body.dealId)
  if (deal.dataRoot === undefined || deal.segments === undefined) throw new MalformedMessageError(`deal ${deal.id} is not a storage deal; it has no challenge to answer`)
  const sender = toHex(ctx.sender)
  if (!holdersOf(deal).some(h => h.provider === sender)) throw new NotAuthorisedError(`${sender} does not hold deal ${deal.id}; only a holder answers its own challenge`)
  if (body.period < deal.nextPeriod) throw new ReplayedError(`period ${body.period} of deal ${deal.id} is already settled`)
  if (body.period < deal.startPeriod || body.period >= deal.startPeriod + deal.periods) throw new OutOfWindowError(`period ${body.period} is outside deal ${deal.id}`)
  const beacon = beaconOf(ctx, body.period)
  if (beacon === undefined) return
  const key = marketKey.evidence(deal.id, sender, body.period)
  const evidence = answerChallenge(ctx.state.entry<PeriodEvidence>(key) ?? emptyEvidence(), {
    period: body.period,
    now: periodOf(ctx),
    sender,
    holder: sender,
    dataRoot: deal.dataRoot,
    segmentCount: deal.segments,
    challenged: challengeIndices(auditSeed(beacon, deal.id, body.period), deal.segments),
    answers: body.answers
  })
  ctx.state.setEntry(key, evidence)
}
