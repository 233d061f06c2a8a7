/**
 * Deals: a client's escrowed agreement with several providers. A deal has slots, one per
 * replica, each with a fixed price per unit per period and its current holder (or none while a
 * dropped holder awaits replacement). The replica policy — at least k holders in at least r
 * regions under at least k distinct operator groups — holds at opening and after every change.
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxDealPeriods, maxDealProviders, maxUnits } from './constants.ts'
import { InsufficientEscrowError, PolicyNotMetError } from './errors.ts'
import { openEscrow, type Escrow } from './escrow.ts'
import type { ResourceKind } from './kinds.ts'

export interface ReplicaPolicy {
  /** k: holders, and distinct operator groups among them. */
  replicas: number
  /** r: distinct regions among the holders. */
  regions: number
}

export interface Holder {
  /** Provider address (hex). */
  provider: string
  group: string
  region: string
  /** Period it started holding. */
  since: number
  /** Periods it failed (only those within the replacement window are kept). */
  failures: number[]
}

export interface Slot {
  /** Price per unit per period this slot pays; a replacement holder takes the slot at this price. */
  price: number
  holder: Holder | undefined
}

export interface Deal {
  id: string
  /** Client address (hex): paid refunds and slashed stake. */
  client: string
  kind: ResourceKind
  units: number
  policy: ReplicaPolicy
  /** First period served, and how many. */
  startPeriod: number
  periods: number
  /** The next period to settle (startPeriod … startPeriod + periods). */
  nextPeriod: number
  slots: Slot[]
  escrow: Escrow
  /** Merkle root over the content's audit segments, and their count (storage deals). */
  dataRoot?: Uint8Array
  segments?: number
  /** Root CID of the content a storage deal keeps: its pin's holders follow the deal's. */
  cid?: string
}

/** What a new deal is opened with: the deal's fixed terms, one holder per slot and the escrow to fund. */
export interface DealTerms extends Pick<Deal, 'id' | 'client' | 'kind' | 'units' | 'policy' | 'startPeriod' | 'periods' | 'dataRoot' | 'segments' | 'cid'> {
  /** One holder per slot, with the slot's price (the holder's offer price). */
  holders: Array<{ provider: string, group: string, region: string, price: number }>
  escrow: number
}

/** What the escrow must cover: every slot's price × units, every period. */
export function requiredEscrow (prices: readonly number[], units: number, periods: number): number {
  const perPeriod = prices.reduce((a, p) => a + p * units, 0)
  const total = perPeriod * periods
  if (!Number.isSafeInteger(total)) throw new MalformedMessageError('the deal is too large: price × units × periods is not a safe integer')
  return total
}

/** Throws `PolicyNotMetError` unless the holders meet the policy. */
export function checkPolicy (holders: ReadonlyArray<Pick<Holder, 'provider' | 'group' | 'region'>>, policy: ReplicaPolicy): void {
  const providers = new Set(holders.map(h => h.provider))
  if (providers.size !== holders.length) throw new PolicyNotMetError('a provider is named twice')
  if (holders.length < policy.replicas) throw new PolicyNotMetError(`${holders.length} holders cannot keep ${policy.replicas} replicas`)
  const groups = new Set(holders.map(h => h.group)).size
  if (groups < policy.replicas) throw new PolicyNotMetError(`the holders belong to ${groups} operator groups; the policy needs ${policy.replicas} (nodes sharing an operator, stake source or network count as one)`)
  const regions = new Set(holders.map(h => h.region)).size
  if (regions < policy.regions) throw new PolicyNotMetError(`the holders are in ${regions} regions; the policy needs ${policy.regions}`)
}

export function checkPolicyShape (policy: ReplicaPolicy): void {
  const { replicas, regions } = policy
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > maxDealProviders) throw new MalformedMessageError(`replicas must be 1..${maxDealProviders}`)
  if (!Number.isSafeInteger(regions) || regions < 1 || regions > replicas) throw new MalformedMessageError('regions must be 1..replicas')
}

/** Opens a deal: checks its terms, the policy and the escrow, and puts the escrow in. */
export function openDeal (t: DealTerms): Deal {
  checkPolicyShape(t.policy)
  if (!Number.isSafeInteger(t.units) || t.units < 1 || t.units > maxUnits) throw new MalformedMessageError(`units must be 1..${maxUnits}`)
  if (!Number.isSafeInteger(t.periods) || t.periods < 1 || t.periods > maxDealPeriods) throw new MalformedMessageError(`periods must be 1..${maxDealPeriods}`)
  if (t.holders.length > maxDealProviders) throw new MalformedMessageError(`a deal names at most ${maxDealProviders} providers`)
  checkPolicy(t.holders, t.policy)
  const required = requiredEscrow(t.holders.map(h => h.price), t.units, t.periods)
  if (!Number.isSafeInteger(t.escrow) || t.escrow < required) throw new InsufficientEscrowError(`escrow ${t.escrow} does not cover ${required} (${t.holders.length} providers × ${t.units} units × ${t.periods} periods at their prices)`)
  const deal: Deal = {
    id: t.id,
    client: t.client,
    kind: t.kind,
    units: t.units,
    policy: t.policy,
    startPeriod: t.startPeriod,
    periods: t.periods,
    nextPeriod: t.startPeriod,
    slots: t.holders.map(h => ({ price: h.price, holder: { provider: h.provider, group: h.group, region: h.region, since: t.startPeriod, failures: [] } })),
    escrow: openEscrow(t.escrow)
  }
  if (t.dataRoot !== undefined) deal.dataRoot = t.dataRoot
  if (t.segments !== undefined) deal.segments = t.segments
  if (t.cid !== undefined) deal.cid = t.cid
  return deal
}

/** The current holders of a deal. */
export function holdersOf (deal: Deal): Holder[] {
  return deal.slots.flatMap(s => s.holder === undefined ? [] : [s.holder])
}

/** Whether every period of the deal has been settled. */
export function dealEnded (deal: Deal): boolean {
  return deal.nextPeriod >= deal.startPeriod + deal.periods
}
