import { NotFoundError } from '../../../../foundations/errors.ts'
import { marketKey } from '../keys.ts'
import { getOffer, periodOf, priceAt, setPrice } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/** Withdraws the sender's offer: no new placements; deals already open run on. */
export const offerWithdraw: MarketHandler<'offer-withdraw'> = (ctx, body) => {
  const previous = getOffer(ctx.state, ctx.sender, body.kind)
  if (previous === undefined) throw new NotFoundError(`there is no ${body.kind} offer from this provider`)
  ctx.state.deleteEntry(marketKey.offer(ctx.sender, body.kind))
  const price = priceAt(ctx.state, body.kind, previous.region, periodOf(ctx))
  if (price !== undefined) setPrice(ctx.state, body.kind, previous.region, { ...price, offered: Math.max(0, price.offered - previous.capacity) })
}
