/**
 * Automatic replacement. A slot whose holder was dropped is filled by the next-best offer that
 * keeps the replica policy with the remaining holders. The slot takes the new holder's price.
 * When that is more than the escrow covers for every remaining period (prices rose since the
 * deal opened and the client's reserve is used up), the deal is shortened to the periods the
 * escrow does cover rather than left short of a replica: the data stays safe, and the client
 * extends the deal with a top-up. The new holder fetches the content from the others: repair.
 */
import { checkPolicy, holdersOf, type Deal } from './deals.ts'
import { InsufficientEscrowError, PolicyNotMetError } from './errors.ts'

/** Indices of the slots without a holder. */
export function vacantSlots (deal: Deal): number[] {
  return deal.slots.flatMap((s, i) => s.holder === undefined ? [i] : [])
}

/** What the escrow still owes if every remaining period of every slot is paid, with slot `slot` at `price`. */
export function remainingObligation (deal: Deal, slot?: number, price?: number): number {
  const remaining = deal.startPeriod + deal.periods - deal.nextPeriod
  return deal.slots.reduce((a, s, i) => a + (i === slot ? price! : s.price) * deal.units * remaining, 0)
}

/** The highest price slot `slot` can take while the escrow covers `periods` more periods (all remaining ones by default). */
export function maxSlotPrice (deal: Deal, slot: number, periods = deal.startPeriod + deal.periods - deal.nextPeriod): number {
  if (periods <= 0) return deal.slots[slot]?.price ?? 0
  const othersPerPeriod = deal.slots.reduce((a, s, i) => a + (i === slot ? 0 : s.price * deal.units), 0)
  return Math.floor((deal.escrow.held / periods - othersPerPeriod) / deal.units)
}

/** Fills vacant slot `slot` with `provider` from period `period`; throws unless the policy still holds and the escrow covers its price. */
export function fillSlot (deal: Deal, slot: number, provider: { provider: string, group: string, region: string, price: number }, period: number): Deal {
  const target = deal.slots[slot]
  if (target === undefined || target.holder !== undefined) throw new PolicyNotMetError(`slot ${slot} of deal ${deal.id} is not vacant`)
  if (provider.price > maxSlotPrice(deal, slot, 1)) throw new InsufficientEscrowError(`the offer price ${provider.price} is above what the escrow covers for this slot even for one period (${maxSlotPrice(deal, slot, 1)})`)
  const others = holdersOf(deal)
  const holder = { provider: provider.provider, group: provider.group, region: provider.region, since: period, failures: [] }
  // With vacancies left after this one, the policy is checked on what would be a full deal.
  const filled = [...others, holder]
  const full = filled.length === deal.slots.length
  if (full) checkPolicy(filled, deal.policy)
  else if (filled.some((h, i) => filled.findIndex(x => x.group === h.group) !== i)) throw new PolicyNotMetError(`operator group ${provider.group} already holds this deal`)
  const slots = deal.slots.map((s, i) => i === slot ? { price: provider.price, holder } : s)
  const perPeriod = slots.reduce((a, s) => a + s.price * deal.units, 0)
  const remaining = deal.startPeriod + deal.periods - deal.nextPeriod
  const covered = Math.min(remaining, Math.floor(deal.escrow.held / perPeriod))
  return { ...deal, slots, periods: deal.periods - (remaining - covered) }
}
