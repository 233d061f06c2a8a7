import { toHex } from '../../../../foundations/bytes.ts'
import { addressOf } from '../../../../foundations/crypto.ts'
import { InvalidSignatureError, MalformedMessageError } from '../../../../foundations/errors.ts'
import { dealEnded, holdersOf } from '../../../market/deals.ts'
import { NotAuthorisedError, OutOfWindowError } from '../../../market/errors.ts'
import { acceptReceipt, emptyUsage, isUsageKind, verifyReceipt, type Usage } from '../../../market/receipts.ts'
import { marketKey } from '../keys.ts'
import { getDeal } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/**
 * A provider submits the latest client-signed receipt of each of its bandwidth or requests
 * deals. Each must be signed by the deal's client for this deal, this provider and this chain,
 * submitted by that provider while it holds the deal, and count more than the last accepted
 * receipt but no more than the deal's cap. One bad receipt rejects the whole transaction.
 */
export const receipt: MarketHandler<'receipt'> = (ctx, body) => {
  const sender = toHex(ctx.sender)
  for (const [i, r] of body.receipts.entries()) {
    const at = `receipt ${i}`
    const deal = getDeal(ctx.state, r.dealId)
    if (!isUsageKind(deal.kind)) throw new MalformedMessageError(`${at}: deal ${deal.id} is a ${deal.kind} deal, paid against audits, not receipts`)
    const provider = toHex(r.provider)
    if (provider !== sender) throw new NotAuthorisedError(`${at} is for provider ${provider}; only that provider submits it, not ${sender}`)
    if (!holdersOf(deal).some(h => h.provider === provider)) throw new NotAuthorisedError(`${at}: ${provider} does not hold deal ${deal.id}`)
    if (dealEnded(deal)) throw new OutOfWindowError(`${at}: deal ${deal.id} is fully settled`)
    const signer = toHex(addressOf(r.client))
    if (signer !== deal.client) throw new InvalidSignatureError(`${at} is signed by ${signer}, not by deal ${deal.id}'s client ${deal.client}: forged`)
    if (!verifyReceipt(r.client, ctx.chainId, { dealId: deal.id, provider, count: r.count }, r.sig)) {
      throw new InvalidSignatureError(`${at}: the client's signature does not cover deal ${deal.id}, provider ${provider}, count ${r.count} on chain ${ctx.chainId} (forged, or signed for another deal, provider, count or chain)`)
    }
    const key = marketKey.usage(deal.id, provider)
    ctx.state.setEntry(key, acceptReceipt(ctx.state.entry<Usage>(key) ?? emptyUsage(), r.count, deal, provider, at))
  }
}
