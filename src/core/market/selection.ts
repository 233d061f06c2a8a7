/**
 * Choosing providers for new placements. From live offers with room, a deal's holders are picked
 * one by one, each keeping the replica policy reachable (a new operator group every time, a new
 * region while regions are short), by power of two choices on value = score ÷ price: two
 * eligible offers drawn at random, the better one wins, which spreads placements over the many
 * good offers instead of piling them on one. Two market rules bind every pick:
 * - anti-cartel: no operator group may hold more than `operatorShareCapBps` of the market's
 *   active placements (or `operatorCapFloor` placements in a young market);
 * - newcomers: while providers in their vetting window hold less than `newcomerShareBps` of recent
 *   new placements, the first holder picked is a newcomer that has failed nothing.
 * New deals leave `repairHeadroomBps` of every offer free, so a replacement finds room; a provider
 * that failed within `probationPeriods` gets no new placements.
 */
import type { Random } from '../../foundations/clock.ts'
import { minSelectableScoreBps, probationPeriods, newcomerShareBps, newcomerTallyPeriods, operatorCapFloor, operatorShareCapBps, repairHeadroomBps, vettingWindowPeriods } from './constants.ts'
import type { ReplicaPolicy } from './deals.ts'
import { PolicyNotMetError } from './errors.ts'

export interface Candidate {
  provider: string
  group: string
  region: string
  price: number
  /** Units of capacity, and of it still free. */
  capacity: number
  free: number
  /** Effective reputation score (bp). */
  score: number
  /** Period of its first offer. */
  since: number
  /** Failed periods on record (any deal, recent). */
  recentFailures: number
  /** Last period it failed, if ever. */
  lastFailure?: number
}

/** Active placements in one market: in total and by operator group. */
export interface MarketShares {
  total: number
  byGroup: Map<string, number>
}

/** New placements so far and how many went to newcomers. */
export interface NewcomerTally {
  placements: number
  newcomer: number
}

export function isNewcomer (c: Pick<Candidate, 'since'>, period: number): boolean {
  return period - c.since < vettingWindowPeriods
}

/** Most placements a group may hold once `adding` more are placed. */
export function groupAllowance (shares: MarketShares, adding = 1): number {
  return Math.max(operatorCapFloor, Math.floor((shares.total + adding) * operatorShareCapBps / 10_000))
}

/** Whether `group` may take `adding` more placements under the cap. */
export function capAllows (shares: MarketShares, group: string, adding = 1): boolean {
  return (shares.byGroup.get(group) ?? 0) + adding <= groupAllowance(shares, adding)
}

/** The tally one period later: both counts decay, so the share is kept over the last ~`newcomerTallyPeriods`. */
export function decayTally (tally: NewcomerTally): NewcomerTally {
  const f = Math.exp(-1 / newcomerTallyPeriods)
  return { placements: tally.placements * f, newcomer: tally.newcomer * f }
}

/** Whether the tally is short of the newcomer share if `count` more placements go to others. */
export function newcomerShort (tally: NewcomerTally, count: number): boolean {
  return tally.newcomer * 10_000 < newcomerShareBps * (tally.placements + count)
}

export interface SelectionRequest {
  candidates: readonly Candidate[]
  policy: ReplicaPolicy
  /** Slots to fill (policy.replicas for a new deal, 1 for a replacement). */
  count: number
  units: number
  period: number
  shares: MarketShares
  tally: NewcomerTally
  /** Holders already in the deal (replacement): their groups and regions count for the policy. A replacement may use an offer's repair headroom; a new deal may not. */
  current?: ReadonlyArray<Pick<Candidate, 'provider' | 'group' | 'region'>>
  /** Highest price a slot may pay (a replacement keeps the slot's price). */
  maxPrice?: number
  random: Random
}

/** Picks `count` holders; throws `PolicyNotMetError` when the offers cannot meet the policy. */
export function selectProviders (q: SelectionRequest): Candidate[] {
  const current = q.current ?? []
  const groups = new Set(current.map(c => c.group))
  const regions = new Set(current.map(c => c.region))
  const taken = new Set(current.map(c => c.provider))
  const chosen: Candidate[] = []
  const repair = q.current !== undefined
  const room = (c: Candidate): number => repair ? c.free : c.free - Math.floor(c.capacity * repairHeadroomBps / 10_000)
  const onProbation = (c: Candidate): boolean => c.lastFailure !== undefined && q.period - c.lastFailure < probationPeriods
  const usable = q.candidates.filter(c => room(c) >= q.units && (q.maxPrice === undefined || c.price <= q.maxPrice) && !onProbation(c) && capAllows(q.shares, c.group))
  const wantNewcomer = newcomerShort(q.tally, q.count)
  for (let n = 0; n < q.count; n++) {
    const slotsLeft = q.count - n
    const regionsShort = Math.max(0, q.policy.regions - regions.size)
    const mustAddRegion = slotsLeft <= regionsShort
    const fits = (c: Candidate): boolean => !taken.has(c.provider) && !groups.has(c.group) && (!mustAddRegion || !regions.has(c.region))
    let pool = usable.filter(c => fits(c) && c.score >= minSelectableScoreBps)
    if (n === 0 && wantNewcomer) {
      const newcomers = usable.filter(c => fits(c) && isNewcomer(c, q.period) && c.recentFailures === 0)
      if (newcomers.length > 0) pool = newcomers
    }
    const pick = twoChoices(pool, q.random)
    if (pick === undefined) throw new PolicyNotMetError(`no offer with ${q.units} free units keeps the policy (${q.policy.replicas} providers, ${q.policy.regions} regions, distinct operators) under the operator cap`)
    chosen.push(pick)
    taken.add(pick.provider)
    groups.add(pick.group)
    regions.add(pick.region)
  }
  return chosen
}

/** Value of an offer: reputation per unit of price. */
export function value (c: Pick<Candidate, 'score' | 'price'>): number {
  return c.score / c.price
}

function twoChoices (pool: readonly Candidate[], random: Random): Candidate | undefined {
  if (pool.length === 0) return undefined
  const a = pool[random.int(pool.length)]!
  const b = pool[random.int(pool.length)]!
  const va = value(a), vb = value(b)
  if (va !== vb) return va > vb ? a : b
  return a.provider < b.provider ? a : b
}
