/**
 * Dynamic pricing. Each kind in each region has a reference price that moves once per period
 * with the utilisation of offered capacity: above the target it rises, below it falls, by at most
 * `maxPriceStepBps` per period. Offers are priced by their providers but may not ask more than
 * `maxOfferPriceMultiple` × the reference. See docs/protocol/market.md for the rule and why.
 */
import { maxPriceStepBps, maxUnitPrice, minReferencePrice, priceResponseBps, targetUtilisationBps } from './constants.ts'

export interface PriceState {
  /** Reference price per unit per period. */
  reference: number
  /** Units offered by live offers, and units placed in open deals. */
  offered: number
  used: number
  /** Last period the reference was stepped for. */
  period: number
}

/** Utilisation of offered capacity in bp (10,000 when nothing is offered but something is used). */
export function utilisationBps (p: Pick<PriceState, 'offered' | 'used'>): number {
  if (p.offered <= 0) return p.used > 0 ? 10_000 : 0
  return Math.min(10_000, Math.floor(p.used * 10_000 / p.offered))
}

/**
 * One period's step: change = priceResponse × (utilisation − target), clamped to ±maxPriceStep,
 * applied to the reference and kept within [minReferencePrice, maxUnitPrice]. Integer math, so
 * every node computes the same price.
 */
export function stepPrice (p: PriceState): number {
  const gap = utilisationBps(p) - targetUtilisationBps
  const changeBps = Math.max(-maxPriceStepBps, Math.min(maxPriceStepBps, Math.trunc(gap * priceResponseBps / 10_000)))
  const raw = Math.trunc(p.reference * (10_000 + changeBps) / 10_000)
  // Without this a small price could never move by a whole unit.
  const moved = raw === p.reference && changeBps !== 0 ? p.reference + Math.sign(changeBps) : raw
  return Math.max(minReferencePrice, Math.min(maxUnitPrice, moved))
}

/** Brings the price state up to `period`, one bounded step per elapsed period (at most 64 at once: past that the price is at its bound anyway). */
export function advancePrice (p: PriceState, period: number): PriceState {
  let state = p
  const steps = Math.min(64, Math.max(0, period - p.period))
  for (let i = 0; i < steps; i++) state = { ...state, reference: stepPrice(state) }
  return { ...state, period: Math.max(p.period, period) }
}
