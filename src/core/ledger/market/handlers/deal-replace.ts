import { toHex } from '../../../../foundations/bytes.ts'
import { NotFoundError } from '../../../../foundations/errors.ts'
import { holdersOf } from '../../../market/deals.ts'
import { NotAuthorisedError, PolicyNotMetError } from '../../../market/errors.ts'
import { marketOf } from '../../../market/kinds.ts'
import { freeCapacity } from '../../../market/offers.ts'
import { fillSlot } from '../../../market/replacement.ts'
import { capAllows } from '../../../market/selection.ts'
import { requireOfferStake } from '../../../market/stake.ts'
import { getDeal, getOffer, getShares, getStake, groupOf, periodAt, requireProvider, setDeal } from '../market-state.ts'
import type { MarketHandler } from './context.ts'
import { takePlacement } from './placements.ts'

/**
 * Fills a dropped holder's slot with a provider's offer, keeping the replica policy and the
 * operator cap; sent by the client or a remaining holder (the node that repairs the content).
 */
export const dealReplace: MarketHandler<'deal-replace'> = (ctx, body) => {
  const deal = getDeal(ctx.state, body.dealId)
  const sender = toHex(ctx.sender)
  if (sender !== deal.client && !holdersOf(deal).some(h => h.provider === sender)) throw new NotAuthorisedError(`${sender} is neither the client nor a holder of deal ${deal.id}`)
  const provider = requireProvider(ctx.state, body.provider)
  const offer = getOffer(ctx.state, body.provider, deal.kind)
  if (offer === undefined) throw new NotFoundError(`provider ${toHex(body.provider)} has no ${deal.kind} offer`)
  const operator = toHex(provider.operator)
  requireOfferStake(getStake(ctx.state, operator))
  if (freeCapacity(offer) < deal.units) throw new PolicyNotMetError(`provider ${toHex(body.provider)} has ${freeCapacity(offer)} free units; the deal needs ${deal.units}`)
  const group = groupOf(ctx.state, operator)
  const shares = getShares(ctx.state, marketOf(deal.kind))
  if (!capAllows({ total: shares.total, byGroup: new Map(Object.entries(shares.byGroup)) }, group)) throw new PolicyNotMetError(`operator group ${group} would hold more than its share of the ${deal.kind} market`)
  const holder = { provider: toHex(body.provider), group, region: offer.region, price: offer.price }
  const next = fillSlot(deal, body.slot, holder, Math.max(deal.nextPeriod, periodAt(ctx.time) + 1))
  setDeal(ctx.state, next)
  takePlacement(ctx.state, ctx.time, next, holder, 1)
}
