/** Offers: a provider's standing price for a resource kind in its region, and the checks on them. */
import { maxOfferPriceMultiple, maxUnitPrice, maxUnits } from './constants.ts'
import { InvalidOfferError } from './errors.ts'
import type { ResourceKind } from './kinds.ts'

export interface Offer {
  /** Provider address (hex). */
  provider: string
  /** Operator address (hex) that endorsed the provider. */
  operator: string
  kind: ResourceKind
  region: string
  /** Units the provider will hold or serve at once. */
  capacity: number
  /** Units already placed with it by open deals. */
  used: number
  /** Price per unit per settlement period. */
  price: number
  /** Period of the provider's first offer (for its newcomer window). */
  since: number
}

/**
 * Checks an offer's numbers against the rules: a positive integer capacity and price, neither
 * absurd, and a price at most `maxOfferPriceMultiple` × the reference price of its kind and
 * region (`reference` undefined: the market has no price yet, only the absolute bound applies).
 */
export function checkOfferTerms (terms: { capacity: unknown, price: unknown }, reference: number | undefined): { capacity: number, price: number } {
  const { capacity, price } = terms
  if (typeof price !== 'number' || !Number.isFinite(price)) throw new InvalidOfferError('price must be a number')
  if (price <= 0) throw new InvalidOfferError(`price ${price} must be positive: a provider cannot pay clients to hold their data`)
  if (!Number.isSafeInteger(price)) throw new InvalidOfferError(`price ${price} must be a whole number of the native unit`)
  if (price > maxUnitPrice) throw new InvalidOfferError(`price ${price} is absurd: the limit is ${maxUnitPrice} per unit per period`)
  if (reference !== undefined && price > reference * maxOfferPriceMultiple) {
    throw new InvalidOfferError(`price ${price} is more than ${maxOfferPriceMultiple}× the reference price ${reference} of this kind and region`)
  }
  if (typeof capacity !== 'number' || !Number.isSafeInteger(capacity) || capacity <= 0 || capacity > maxUnits) {
    throw new InvalidOfferError(`capacity must be a whole number of units, 1..${maxUnits}`)
  }
  return { capacity, price }
}

/** Units still free in an offer. */
export function freeCapacity (offer: Pick<Offer, 'capacity' | 'used'>): number {
  return Math.max(0, offer.capacity - offer.used)
}
