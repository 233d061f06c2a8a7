/**
 * Automatic replacement. A slot whose holder was dropped is filled by the next-best offer that
 * keeps the replica policy with the remaining holders, at no more than the slot's price (so the
 * escrow still covers every period). The new holder fetches the content from the others: repair.
 */
import { checkPolicy, holdersOf, type Deal } from './deals.ts'
import { PolicyNotMetError } from './errors.ts'

/** Indices of the slots without a holder. */
export function vacantSlots (deal: Deal): number[] {
  return deal.slots.flatMap((s, i) => s.holder === undefined ? [i] : [])
}

/** Fills vacant slot `slot` with `provider` from period `period`; throws unless the policy still holds. */
export function fillSlot (deal: Deal, slot: number, provider: { provider: string, group: string, region: string, price: number }, period: number): Deal {
  const target = deal.slots[slot]
  if (target === undefined || target.holder !== undefined) throw new PolicyNotMetError(`slot ${slot} of deal ${deal.id} is not vacant`)
  if (provider.price > target.price) throw new PolicyNotMetError(`the offer price ${provider.price} is above the slot's ${target.price}`)
  const others = holdersOf(deal)
  const holder = { provider: provider.provider, group: provider.group, region: provider.region, since: period, failures: [] }
  // With vacancies left after this one, the policy is checked on what would be a full deal.
  const filled = [...others, holder]
  const full = filled.length === deal.slots.length
  if (full) checkPolicy(filled, deal.policy)
  else if (filled.some((h, i) => filled.findIndex(x => x.group === h.group) !== i)) throw new PolicyNotMetError(`operator group ${provider.group} already holds this deal`)
  return { ...deal, slots: deal.slots.map((s, i) => i === slot ? { ...s, holder } : s) }
}
