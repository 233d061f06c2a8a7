/**
 * Settlement of one period of one deal. Each slot's share (price × units) is paid to its holder
 * only if the period's evidence passed; otherwise — a failed period, or a vacant slot (also a
 * replacement's slot in the periods before it took over) — it goes back to the client. A failure counts toward replacement; a holder that failed
 * `failuresToReplace` periods within the replacement window is dropped. Periods settle in order
 * and once; after the last one whatever the escrow still holds is refunded.
 */
import { failuresToReplace, replacementWindowPeriods } from './constants.ts'
import { dealEnded, type Deal, type Holder, type Slot } from './deals.ts'
import { OutOfWindowError, ReplayedError } from './errors.ts'
import { pay, refund } from './escrow.ts'
import type { Verdict } from './evidence.ts'

export interface Settlement {
  deal: Deal
  payments: Array<{ provider: string, amount: number }>
  /** Back to the client this period. */
  refunded: number
  /** Holders that failed this period (each a provable fault: slash its operator). */
  failed: string[]
  /** Holders dropped from the deal this period (their slots await replacement). */
  dropped: string[]
}

/**
 * Settles `period`, which must be the deal's next one, with a verdict for every current
 * holder; throws `ReplayedError` for a settled period and `OutOfWindowError` for one not yet
 * decided (a verdict still pending).
 */
export function settlePeriod (deal: Deal, period: number, verdictOf: (provider: string) => Verdict): Settlement {
  if (period < deal.nextPeriod) throw new ReplayedError(`period ${period} of deal ${deal.id} is already settled`)
  if (dealEnded(deal)) throw new ReplayedError(`deal ${deal.id} is fully settled`)
  if (period > deal.nextPeriod) throw new OutOfWindowError(`period ${deal.nextPeriod} of deal ${deal.id} must be settled first`)
  // A replacement holds from its `since`; the periods before that were vacant for its slot.
  const holding = (s: Slot): Holder | undefined => s.holder !== undefined && s.holder.since <= period ? s.holder : undefined
  const verdicts = deal.slots.map(s => { const h = holding(s); return h === undefined ? undefined : verdictOf(h.provider) })
  const pending = deal.slots.find((s, i) => verdicts[i] === 'pending')
  if (pending !== undefined) throw new OutOfWindowError(`period ${period} of deal ${deal.id} is not decided yet: ${pending.holder!.provider} may still answer its challenge`)
  let escrow = deal.escrow
  const payments: Settlement['payments'] = []
  const failed: string[] = []
  const dropped: string[] = []
  let refunded = 0
  const slots: Slot[] = deal.slots.map((slot, i) => {
    const amount = slot.price * deal.units
    const holder = holding(slot)
    if (holder !== undefined && verdicts[i] === 'pass') {
      escrow = pay(escrow, amount)
      payments.push({ provider: holder.provider, amount })
      return slot
    }
    escrow = refund(escrow, amount)
    refunded += amount
    if (holder === undefined) return slot
    failed.push(holder.provider)
    const failures = [...holder.failures.filter(p => p > period - replacementWindowPeriods), period]
    if (failures.length >= failuresToReplace) {
      dropped.push(holder.provider)
      return { ...slot, holder: undefined }
    }
    return { ...slot, holder: { ...holder, failures } }
  })
  const next: Deal = { ...deal, slots, escrow, nextPeriod: period + 1 }
  if (dealEnded(next) && next.escrow.held > 0) {
    refunded += next.escrow.held
    next.escrow = refund(next.escrow, next.escrow.held)
  }
  return { deal: next, payments, refunded, failed, dropped }
}
