/**
 * Matching a task to compute offers: which providers can run it (memory, a free core, price,
 * region), and which of those to pick — best value first (quality score per unit of price),
 * never two under one operator, ties broken by a rendezvous hash of (task, provider) so every
 * node picks the same set and load spreads across equal providers.
 */
import { toHex } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'
import type { TaskSpec } from './task.ts'

/** What a compute provider offers, as the market lists it. */
export interface ComputeOffer {
  provider: string
  operator: string
  region: string
  /** Cores it runs tasks on, and how many are free now. */
  cores: number
  freeCores: number
  /** Memory one task may use on it, in bytes. */
  memoryBytes: number
  /** Price per core-second. */
  price: number
  /** Measured quality in [0, 1]: completed tasks, agreement with other replicas, latency. */
  score: number
}

/** Why an offer cannot take a task, or undefined if it can. */
export function unfitReason (spec: Pick<TaskSpec, 'memoryBytes' | 'maxPrice' | 'region'>, offer: ComputeOffer): string | undefined {
  if (offer.freeCores < 1) return 'no free core'
  if (offer.memoryBytes < spec.memoryBytes) return `offers ${offer.memoryBytes} bytes of memory, the task needs ${spec.memoryBytes}`
  if (offer.price > spec.maxPrice) return `asks ${offer.price} per core-second, over the task's ${spec.maxPrice}`
  if (spec.region !== undefined && offer.region !== spec.region) return `is in ${offer.region}, not ${spec.region}`
  return undefined
}

/** What a provider is worth for a task: quality per unit of price (a free offer counts as price 1). */
export function offerValue (offer: Pick<ComputeOffer, 'score' | 'price'>): number {
  return offer.score / Math.max(1, offer.price)
}

/** Options of `matchTask`. */
export interface MatchOptions {
  /** Providers to pick. */
  count: number
  /** Seed of the tie-break (the task id). */
  taskId: string
  /** Providers that may not be picked (already ran it, failed it, or were flagged). */
  excludeProviders?: ReadonlySet<string>
  /** Operators that may not be picked (they already hold a replica of this task). */
  excludeOperators?: ReadonlySet<string>
}

/**
 * Picks up to `count` offers that fit, under distinct operators, best value first. Returns fewer
 * when the market has fewer fitting operators; the caller decides whether that is enough.
 */
export function matchTask (spec: Pick<TaskSpec, 'memoryBytes' | 'maxPrice' | 'region'>, offers: readonly ComputeOffer[], opts: MatchOptions): ComputeOffer[] {
  const tie = (offer: ComputeOffer): string => toHex(sha256(new TextEncoder().encode(`${opts.taskId}/${offer.provider}`)))
  const ranked = offers
    .filter(o => unfitReason(spec, o) === undefined && opts.excludeProviders?.has(o.provider) !== true && opts.excludeOperators?.has(o.operator) !== true)
    .map(o => ({ o, value: offerValue(o), tie: tie(o) }))
    .sort((a, b) => b.value - a.value || (a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0))
  const picked: ComputeOffer[] = []
  const operators = new Set<string>()
  for (const { o } of ranked) {
    if (picked.length >= opts.count) break
    if (operators.has(o.operator)) continue
    operators.add(o.operator)
    picked.push(o)
  }
  return picked
}
