/**
 * The provider market on the ledger: its transaction types, their decoding and one handler per
 * type, each applying the pure rules of `src/core/market` to the ledger's state.
 */
import type { TxContext } from '../handlers/context.ts'
import { auditAnswer } from './handlers/audit-answer.ts'
import { auditResult } from './handlers/audit-result.ts'
import { computeAssign, computeOpen, computeSettle } from './handlers/compute-tasks.ts'
import { dealOpen } from './handlers/deal-open.ts'
import { dealReplace } from './handlers/deal-replace.ts'
import { marketTick } from './handlers/market-tick.ts'
import { offerWithdraw } from './handlers/offer-withdraw.ts'
import { offer } from './handlers/offer.ts'
import { receipt } from './handlers/receipt.ts'
import { settle } from './handlers/settle.ts'
import { stake } from './handlers/stake.ts'
import type { MarketTxBody } from './types.ts'

export { checkMarketBody, isMarketTxType } from './decode.ts'
export { marketKey } from './keys.ts'
export { periodAt, periodMsOf, getDeal, getOffer, getStake, getShares, getRecord, groupOf, reputationOf, auditorCandidates } from './market-state.ts'
export type { MarketTxBody, OfferEntry, SharesEntry, SignedAuditResult, SignedReceipt, SignedComputeReport, AnswerItem, ProviderRecord } from './types.ts'

export function runMarketBody (ctx: TxContext, body: MarketTxBody): void {
  switch (body.type) {
    case 'stake': return stake(ctx, body)
    case 'offer': return offer(ctx, body)
    case 'offer-withdraw': return offerWithdraw(ctx, body)
    case 'deal-open': return dealOpen(ctx, body)
    case 'audit-result': return auditResult(ctx, body)
    case 'audit-answer': return auditAnswer(ctx, body)
    case 'receipt': return receipt(ctx, body)
    case 'settle': return settle(ctx, body)
    case 'deal-replace': return dealReplace(ctx, body)
    case 'market-tick': return marketTick(ctx, body)
    case 'compute-open': return computeOpen(ctx, body)
    case 'compute-assign': return computeAssign(ctx, body)
    case 'compute-settle': return computeSettle(ctx, body)
  }
}
