import { equalBytes, toHex } from '../../../../foundations/bytes.ts'
import { getPin } from '../../providers.ts'
import { MalformedMessageError } from '../../../../foundations/errors.ts'
import { maxDealSegments } from '../../../market/constants.ts'
import { checkPolicyShape, openDeal } from '../../../market/deals.ts'
import { NotAuthorisedError, PolicyNotMetError } from '../../../market/errors.ts'
import { marketOf } from '../../../market/kinds.ts'
import { checkUsageTerms } from '../../../market/receipts.ts'
import { freeCapacity } from '../../../market/offers.ts'
import { capAllows } from '../../../market/selection.ts'
import { requireOfferStake } from '../../../market/stake.ts'
import { NotFoundError } from '../../../../foundations/errors.ts'
import { marketKey } from '../keys.ts'
import { debit, getOffer, getShares, getStake, groupOf, periodOf, requireProvider, setDeal } from '../market-state.ts'
import type { MarketHandler } from './context.ts'
import { takePlacement } from './placements.ts'

/**
 * A client opens a deal with the providers it chose: each must have a live offer of the kind
 * with room for the units and a staked operator; together they must meet the replica policy
 * (distinct operator groups, enough regions) and no group may pass the operator cap. The escrow
 * must cover every provider's price for every period; it moves from the client's balance into
 * the deal. Service starts with the next period. A deal for pinned content (`cid`) is opened by
 * the pin's owner and pays the pin's holders; its replacements move the pin too.
 */
export const dealOpen: MarketHandler<'deal-open'> = (ctx, body) => {
  const policy = { replicas: body.replicas, regions: body.regions }
  checkPolicyShape(policy)
  // Storage is paid against audits, bandwidth and requests against client-signed receipts; compute is paid per task, from a task escrow settled by the providers' signed reports.
  if (body.kind === 'compute') throw new MalformedMessageError('compute is not sold by the period: open a task escrow with compute-open (keynet compute run does)')
  if (body.kind === 'storage') {
    if (body.dataRoot === undefined || body.segments === undefined) throw new MalformedMessageError('a storage deal names its data root and segment count')
    if (body.segments < 1 || body.segments > maxDealSegments) throw new MalformedMessageError(`segments must be 1..${maxDealSegments}`)
  } else {
    if (body.dataRoot !== undefined || body.segments !== undefined || body.cid !== undefined) throw new MalformedMessageError(`a ${body.kind} deal is paid from receipts; it names no data root, segments or content`)
    checkUsageTerms(body.kind, body.units, body.periods)
  }
  if (body.cid !== undefined) {
    const pin = getPin(ctx.state, body.cid)
    if (pin === undefined) throw new NotFoundError(`${body.cid} is not pinned: pin it (content-pin) before opening its deal`)
    if (!equalBytes(pin.owner, ctx.sender)) throw new NotAuthorisedError(`${body.cid} is pinned by ${toHex(pin.owner)}; only the pin's owner opens its deal`)
    for (const p of body.providers) if (!pin.holders.some(h => equalBytes(h, p))) throw new PolicyNotMetError(`provider ${toHex(p)} does not hold ${body.cid}; a deal pays the pin's holders`)
  }
  const holders = body.providers.map(address => {
    const provider = requireProvider(ctx.state, address)
    const offer = getOffer(ctx.state, address, body.kind)
    if (offer === undefined) throw new NotFoundError(`provider ${toHex(address)} has no ${body.kind} offer`)
    const operator = toHex(provider.operator)
    requireOfferStake(getStake(ctx.state, operator))
    if (freeCapacity(offer) < body.units) throw new PolicyNotMetError(`provider ${toHex(address)} has ${freeCapacity(offer)} free units; the deal needs ${body.units}`)
    return { provider: toHex(address), group: groupOf(ctx.state, operator), region: offer.region, price: offer.price }
  })
  const market = marketOf(body.kind)
  const shares = getShares(ctx.state, market)
  const counts = new Map<string, number>()
  for (const h of holders) counts.set(h.group, (counts.get(h.group) ?? 0) + 1)
  const view = { total: shares.total, byGroup: new Map(Object.entries(shares.byGroup)) }
  for (const [group, n] of counts) {
    if (!capAllows(view, group, holders.length > 0 ? n : 0)) throw new PolicyNotMetError(`operator group ${group} would hold more than its share of the ${market} market`)
  }
  const seq = ctx.state.entry<number>(marketKey.dealSeq) ?? 0
  const deal = openDeal({
    id: `d${seq}`,
    client: toHex(ctx.sender),
    kind: body.kind,
    units: body.units,
    policy,
    startPeriod: periodOf(ctx) + 1,
    periods: body.periods,
    holders,
    escrow: body.escrow,
    ...(body.dataRoot === undefined ? {} : { dataRoot: body.dataRoot }),
    ...(body.segments === undefined ? {} : { segments: body.segments }),
    ...(body.cid === undefined ? {} : { cid: body.cid })
  })
  debit(ctx.state, ctx.sender, body.escrow, 'the escrow')
  ctx.state.setEntry(marketKey.dealSeq, seq + 1)
  setDeal(ctx.state, deal)
  for (const h of holders) takePlacement(ctx.state, periodOf(ctx), deal, h, 1)
}
