/** Units and placements a holder takes from (or gives back to) its offer, its region's price state and its market's shares. */
import { fromHex } from '../../../../foundations/bytes.ts'
import type { Deal } from '../../../market/deals.ts'
import { marketOf } from '../../../market/kinds.ts'
import type { StateView } from '../../state.ts'
import { marketKey } from '../keys.ts'
import { addShares, getOffer, periodOf, priceAt, setPrice } from '../market-state.ts'

export function takePlacement (state: StateView, period: number, deal: Deal, holder: { provider: string, group: string }, sign: 1 | -1): void {
  const address = fromHex(holder.provider)
  const offer = getOffer(state, address, deal.kind)
  if (offer !== undefined) {
    state.setEntry(marketKey.offer(address, deal.kind), { ...offer, used: Math.max(0, offer.used + sign * deal.units) })
    const price = priceAt(state, deal.kind, offer.region, period)
    if (price !== undefined) setPrice(state, deal.kind, offer.region, { ...price, used: Math.max(0, price.used + sign * deal.units) })
  }
  addShares(state, marketOf(deal.kind), holder.group, sign)
}
