import { toHex } from '../../../../foundations/bytes.ts'
import { InvalidOfferError } from '../../../market/errors.ts'
import { checkOfferTerms } from '../../../market/offers.ts'
import { requireOfferStake } from '../../../market/stake.ts'
import { marketKey } from '../keys.ts'
import { getOffer, getStake, linkOperator, linksOf, periodOf, priceAt, requireProvider, setPrice } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/**
 * A registered provider node offers (or re-prices) a resource in its region. Its operator must
 * have staked; the price must be positive, not absurd and within the gouging bound of the
 * reference price (the first offer of a kind in a region sets the reference).
 */
export const offer: MarketHandler<'offer'> = (ctx, body) => {
  const provider = requireProvider(ctx.state, ctx.sender)
  const operator = toHex(provider.operator)
  requireOfferStake(getStake(ctx.state, operator))
  const period = periodOf(ctx)
  const price = priceAt(ctx.state, body.kind, provider.region, period)
  const terms = checkOfferTerms(body, price?.reference)
  const previous = getOffer(ctx.state, ctx.sender, body.kind)
  if (previous !== undefined && terms.capacity < previous.used) throw new InvalidOfferError(`capacity ${terms.capacity} is below the ${previous.used} units already placed with this provider`)
  ctx.state.setEntry(marketKey.offer(ctx.sender, body.kind), {
    kind: body.kind,
    region: provider.region,
    capacity: terms.capacity,
    used: previous?.used ?? 0,
    price: terms.price,
    since: previous?.since ?? period
  })
  const offered = (price?.offered ?? 0) - (previous?.region === provider.region ? previous.capacity : 0) + terms.capacity
  setPrice(ctx.state, body.kind, provider.region, { reference: price?.reference ?? terms.price, offered, used: price?.used ?? 0, period })
  linkOperator(ctx.state, operator, linksOf(ctx.state, provider))
}
