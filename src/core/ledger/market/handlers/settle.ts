import { fromHex, toHex } from '../../../../foundations/bytes.ts'
import { dealEnded, holdersOf, type Deal } from '../../../market/deals.ts'
import { NotAuthorisedError, OutOfWindowError } from '../../../market/errors.ts'
import { answerClosed, emptyEvidence, verdict, wasWrong, type PeriodEvidence } from '../../../market/evidence.ts'
import { emptyUsage, isUsageKind, settleUsagePeriod, type Usage } from '../../../market/receipts.ts'
import { settlePeriod } from '../../../market/settlement.ts'
import { getProvider } from '../../providers.ts'
import { marketKey } from '../keys.ts'
import { applySlash, credit, getDeal, periodOf, recordEarnings, recordPeriod, setDeal } from '../market-state.ts'
import type { MarketHandler } from './context.ts'
import { takePlacement } from './placements.ts'

/**
 * Settles periods of deals, batched (up to maxSettleItems per transaction). Only a party of the
 * deal — its client or a current holder — may settle it, and each period once, in order, after
 * its verdicts are final. Each holder is paid for a passed period; a failed period's share goes
 * back to the client, the holder's operator is slashed (part to the client, part burnt) and a
 * holder that failed too often is dropped, its slot left for deal-replace. A bandwidth or
 * requests deal pays each holder for its receipted units instead (`settleUsage`).
 */
export const settle: MarketHandler<'settle'> = (ctx, body) => {
  const now = periodOf(ctx)
  const sender = toHex(ctx.sender)
  for (const item of body.items) {
    const deal = getDeal(ctx.state, item.dealId)
    if (sender !== deal.client && !holdersOf(deal).some(h => h.provider === sender)) throw new NotAuthorisedError(`${sender} is neither the client nor a holder of deal ${deal.id}, so it may not settle it`)
    if (isUsageKind(deal.kind)) { settleUsage(deal, item.period); continue }
    const evidence = (provider: string): PeriodEvidence => ctx.state.entry<PeriodEvidence>(marketKey.evidence(deal.id, provider, item.period)) ?? emptyEvidence()
    const s = settlePeriod(deal, item.period, provider => verdict(evidence(provider), item.period, now))
    for (const p of s.payments) credit(ctx.state, p.provider, p.amount)
    for (const h of holdersOf(deal).filter(h => h.since <= item.period)) {
      const paid = s.payments.find(p => p.provider === h.provider)
      recordPeriod(ctx.state, h.provider, item.period, paid !== undefined ? 'pass' : wasWrong(evidence(h.provider)) ? 'wrong' : 'fail', paid?.amount ?? 0)
    }
    credit(ctx.state, deal.client, s.refunded)
    for (const failed of s.failed) {
      const node = getProvider(ctx.state, fromHex(failed))
      if (node !== undefined) applySlash(ctx.state, toHex(node.operator), deal.client)
    }
    for (const gone of s.dropped) release(now, deal, gone)
    if (dealEnded(s.deal)) for (const h of holdersOf(s.deal)) release(now, s.deal, h.provider)
    setDeal(ctx.state, s.deal)
  }

  /** Usage deals: receipts for a period may arrive until the end of the next one, as audit answers do. */
  function settleUsage (deal: Deal, period: number): void {
    if (!answerClosed(period, now)) throw new OutOfWindowError(`period ${period} of deal ${deal.id} is not decided yet: receipts for it may arrive until the end of period ${period + 1}`)
    const s = settleUsagePeriod(deal, period, provider => ctx.state.entry<Usage>(marketKey.usage(deal.id, provider)) ?? emptyUsage())
    for (const p of s.payments) {
      credit(ctx.state, p.provider, p.amount)
      recordEarnings(ctx.state, p.provider, p.amount)
    }
    for (const u of s.usage) ctx.state.setEntry(marketKey.usage(deal.id, u.provider), u.usage)
    credit(ctx.state, deal.client, s.refunded)
    if (dealEnded(s.deal)) for (const h of holdersOf(s.deal)) release(now, s.deal, h.provider)
    setDeal(ctx.state, s.deal)
  }

  function release (period: number, deal: Deal, provider: string): void {
    const holder = holdersOf(deal).find(h => h.provider === provider)
    if (holder !== undefined) takePlacement(ctx.state, period, deal, holder, -1)
  }
}
