/** Opening a deal from the CLI: escrow sized from the providers' live offers, then the deal as the ledger recorded it. */
import { fromHex } from '../../foundations/bytes.ts'
import { NotFoundError } from '../../foundations/errors.ts'
import { requiredEscrow } from '../../core/market/deals.ts'
import type { ResourceKind } from '../../core/market/kinds.ts'
import type { DealView } from '../../edges/api/market-routes.ts'
import type { CliContext } from '../context.ts'

export interface DealRequest {
  kind: ResourceKind
  providers: string[]
  units: number
  periods: number
  replicas: number
  regions: number
  cid?: string
  dataRoot?: Uint8Array
  segments?: number
}

/** Sends deal-open with an escrow covering every provider's offer price for every period; returns the new deal. */
export async function openDeal (ctx: CliContext, q: DealRequest): Promise<DealView> {
  const api = ctx.api()
  const { offers } = await api.offers({ kind: q.kind })
  const prices = q.providers.map(p => {
    const offer = offers.find(o => o.provider === p)
    if (offer === undefined) throw new NotFoundError(`provider ${p} has no ${q.kind} offer; see \`keynet market offers --kind ${q.kind}\``)
    return offer.price
  })
  const escrow = requiredEscrow(prices, q.units, q.periods)
  const sent = await ctx.send({
    type: 'deal-open', kind: q.kind, units: q.units, periods: q.periods, replicas: q.replicas, regions: q.regions,
    providers: q.providers.map(fromHex), escrow,
    ...(q.dataRoot === undefined ? {} : { dataRoot: q.dataRoot }),
    ...(q.segments === undefined ? {} : { segments: q.segments }),
    ...(q.cid === undefined ? {} : { cid: q.cid })
  })
  const { deals } = await api.deals({ client: sent.from, ...(q.cid === undefined ? {} : { cid: q.cid }) })
  const deal = deals[0]
  if (deal === undefined) throw new NotFoundError('the deal was committed but the node does not list it yet; see `keynet deal show`')
  return deal
}
