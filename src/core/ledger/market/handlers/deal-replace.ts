import { equalBytes, toHex } from '../../../../foundations/bytes.ts'
import type { Deal } from '../../../market/deals.ts'
import { getPin } from '../../providers.ts'
import { stateKey } from '../../state-keys.ts'
import type { StateView } from '../../state.ts'
import { NotFoundError } from '../../../../foundations/errors.ts'
import { holdersOf } from '../../../market/deals.ts'
import { NotAuthorisedError, PolicyNotMetError } from '../../../market/errors.ts'
import { marketOf } from '../../../market/kinds.ts'
import { freeCapacity } from '../../../market/offers.ts'
import { fillSlot } from '../../../market/replacement.ts'
import { capAllows } from '../../../market/selection.ts'
import { requireOfferStake } from '../../../market/stake.ts'
import { getDeal, getOffer, getShares, getStake, groupOf, periodOf, requireProvider, setDeal } from '../market-state.ts'
import type { MarketHandler } from './context.ts'
import { takePlacement } from './placements.ts'

/**
 * Fills a dropped holder's slot with a provider's offer, keeping the replica policy and the
 * operator cap; sent by the client or a remaining holder. A deal for pinned content moves the
 * pin to the replacement, which then pulls the content from the other holders.
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
  const next = fillSlot(deal, body.slot, holder, Math.max(deal.nextPeriod, periodOf(ctx) + 1))
  setDeal(ctx.state, next)
  takePlacement(ctx.state, periodOf(ctx), next, holder, 1)
  if (deal.cid !== undefined) movePin(ctx.state, deal, body.provider)
}

/**
 * The content follows the deal: the pin's holder that the deal dropped gives its place to the
 * replacement, whose node then pulls the content from the other holders (repair).
 */
function movePin (state: StateView, deal: Deal, replacement: Uint8Array): void {
  const pin = getPin(state, deal.cid!)
  if (pin === undefined || pin.holders.some(h => equalBytes(h, replacement))) return
  const current = new Set(holdersOf(deal).map(h => h.provider))
  const dropped = pin.holders.findIndex(h => !current.has(toHex(h)))
  const holders = dropped < 0 ? [...pin.holders, replacement] : pin.holders.map((h, i) => i === dropped ? replacement : h)
  state.setEntry(stateKey.pin(pin.cid), { ...pin, holders, repairs: pin.repairs + 1 })
}
