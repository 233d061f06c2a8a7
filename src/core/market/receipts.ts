/**
 * Bandwidth and request deals, paid from client-signed cumulative receipts. The client signs,
 * for each provider of a deal, how many bytes (bandwidth) or requests (requests) that provider
 * has served it so far in the deal; the count only grows, so it is its own sequence number and
 * only the latest receipt matters. The provider submits it; the ledger keeps the highest count
 * per (deal, provider) and, at each period's settlement, pays the part not paid yet × the slot's
 * price, at most the deal's units per period (the rest waits for later periods), from escrow.
 * A period with nothing new receipted pays nothing and its share goes back to the client.
 */
import { signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { dealEnded, type Deal, type Holder, type Slot } from './deals.ts'
import { OutOfWindowError, ReceiptOverCapError, ReplayedError } from './errors.ts'
import { pay, refund } from './escrow.ts'
import type { ResourceKind } from './kinds.ts'

/** The kinds paid from receipts, and how many counted units (bytes, requests) make one priced unit. */
export const usageUnitSize = { bandwidth: 2 ** 30, requests: 1_000 } as const

export type UsageKind = keyof typeof usageUnitSize

export function isUsageKind (kind: ResourceKind): kind is UsageKind {
  return kind === 'bandwidth' || kind === 'requests'
}

/** What the client signs: provider `provider` (hex address) has served `count` counted units of deal `dealId` so far. */
export interface UsageReceipt {
  dealId: string
  provider: string
  count: number
}

/** The signed bytes: domain tag, chain id, deal, provider and count, so a receipt is valid for exactly one of each. */
export function receiptBytes (chainId: string, r: UsageReceipt): Uint8Array {
  return encode(['keynet-usage-receipt-v1', chainId, r.dealId, r.provider, r.count])
}

export function signReceipt (secretKey: Uint8Array, chainId: string, r: UsageReceipt): Uint8Array {
  return signBytes(secretKey, receiptBytes(chainId, r))
}

export function verifyReceipt (clientKey: Uint8Array, chainId: string, r: UsageReceipt, sig: Uint8Array): boolean {
  return verifyBytes(clientKey, receiptBytes(chainId, r), sig)
}

/** Per (deal, provider): the highest receipted count, and how much of it settlement has paid for. */
export interface Usage {
  count: number
  settled: number
}

export function emptyUsage (): Usage {
  return { count: 0, settled: 0 }
}

/** Counted units one provider of a usage deal may be paid for per period. */
export function periodCap (deal: Pick<Deal, 'kind' | 'units'>): number {
  return deal.units * usageUnitSize[deal.kind as UsageKind]
}

/** The most a receipt may count: every period at the per-period cap. */
export function dealCap (deal: Pick<Deal, 'kind' | 'units' | 'periods'>): number {
  return periodCap(deal) * deal.periods
}

/** Throws unless a usage deal's whole cap (units × periods in counted units) is a safe integer. */
export function checkUsageTerms (kind: UsageKind, units: number, periods: number): void {
  if (!Number.isSafeInteger(units * periods * usageUnitSize[kind])) throw new MalformedMessageError(`a ${kind} deal counts at most ${Number.MAX_SAFE_INTEGER} ${kind === 'bandwidth' ? 'bytes' : 'requests'}: units × periods is too large`)
}

/**
 * Takes a newer receipt: its count must be above the last accepted one (else it is replayed or
 * stale: `ReplayedError`) and within the deal's cap (`ReceiptOverCapError`).
 */
export function acceptReceipt (usage: Usage, count: number, deal: Pick<Deal, 'id' | 'kind' | 'units' | 'periods'>, provider: string, label = 'the receipt'): Usage {
  if (count <= usage.count) throw new ReplayedError(`${label} counts ${count}, not above the ${usage.count} already accepted for provider ${provider} in deal ${deal.id}: replayed or stale`)
  const cap = dealCap(deal)
  if (count > cap) throw new ReceiptOverCapError(`${label} counts ${count}, above deal ${deal.id}'s cap of ${cap} (${deal.units} units × ${deal.periods} periods × ${usageUnitSize[deal.kind as UsageKind]})`)
  return { ...usage, count }
}

/** What `count` counted units cost at `price` per priced unit, rounded down (exact integer arithmetic). */
export function costOf (count: number, price: number, unitSize: number): number {
  return Number(BigInt(count) * BigInt(price) / BigInt(unitSize))
}

export interface UsageSettlement {
  deal: Deal
  payments: Array<{ provider: string, amount: number }>
  refunded: number
  /** The new usage of each holder paid (or considered) this period. */
  usage: Array<{ provider: string, usage: Usage }>
}

/**
 * Settles `period` of a usage deal (the deal's next one): each holder is paid for its receipted
 * units not paid yet, at most `periodCap` of them, at its slot's price; the rest of its slot's
 * share goes back to the client. Rounding is on the running total, so it never accumulates.
 * Nobody fails here (an idle client is not a fault); after the last period the rest is refunded.
 */
export function settleUsagePeriod (deal: Deal, period: number, usageOf: (provider: string) => Usage): UsageSettlement {
  if (!isUsageKind(deal.kind)) throw new MalformedMessageError(`deal ${deal.id} is a ${deal.kind} deal, not paid from receipts`)
  if (period < deal.nextPeriod) throw new ReplayedError(`period ${period} of deal ${deal.id} is already settled`)
  if (dealEnded(deal)) throw new ReplayedError(`deal ${deal.id} is fully settled`)
  if (period > deal.nextPeriod) throw new OutOfWindowError(`period ${deal.nextPeriod} of deal ${deal.id} must be settled first`)
  const unitSize = usageUnitSize[deal.kind]
  const cap = periodCap(deal)
  let escrow = deal.escrow
  let refunded = 0
  const payments: UsageSettlement['payments'] = []
  const usage: UsageSettlement['usage'] = []
  const holding = (s: Slot): Holder | undefined => s.holder !== undefined && s.holder.since <= period ? s.holder : undefined
  for (const slot of deal.slots) {
    const share = slot.price * deal.units
    const holder = holding(slot)
    let amount = 0
    if (holder !== undefined) {
      const u = usageOf(holder.provider)
      const settled = u.settled + Math.min(cap, u.count - u.settled)
      amount = Math.min(share, escrow.held, costOf(settled, slot.price, unitSize) - costOf(u.settled, slot.price, unitSize))
      if (settled !== u.settled) usage.push({ provider: holder.provider, usage: { ...u, settled } })
    }
    if (amount > 0) {
      escrow = pay(escrow, amount)
      payments.push({ provider: holder!.provider, amount })
    }
    const back = Math.min(share - amount, escrow.held)
    escrow = refund(escrow, back)
    refunded += back
  }
  const next: Deal = { ...deal, escrow, nextPeriod: period + 1 }
  if (dealEnded(next) && next.escrow.held > 0) {
    refunded += next.escrow.held
    next.escrow = refund(next.escrow, next.escrow.held)
  }
  return { deal: next, payments, refunded, usage }
}
