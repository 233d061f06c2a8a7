/**
 * Reading and writing the market's ledger entries, shared by its handlers: periods, stakes and
 * operator groups, offers, prices, placements, deals, beacons, balances and slashing.
 */
import { fromHex, toHex } from '../../../foundations/bytes.ts'
import { InsufficientFundsError, NotFoundError } from '../../../foundations/errors.ts'
import type { AuditorCandidate } from '../../market/audit.ts'
import { maxRecordedPeriods, settlementPeriodMs } from '../../market/constants.ts'
import { decayTo, newReputation, recordOutcome, type Reputation } from '../../market/reputation.ts'
import type { Deal } from '../../market/deals.ts'
import { OutOfWindowError } from '../../market/errors.ts'
import { networkPrefix } from '../../market/operators.ts'
import { advancePrice, type PriceState } from '../../market/pricing.ts'
import { emptyStake, slash, type Stake } from '../../market/stake.ts'
import type { TxContext } from '../handlers/context.ts'
import { getProvider, providerIndex } from '../providers.ts'
import type { StateView } from '../state.ts'
import type { ChainParams, ProviderEntry } from '../types.ts'
import { marketKey } from './keys.ts'
import type { OfferEntry, ProviderRecord, RecordedOutcome, SharesEntry } from './types.ts'

/** The settlement period a ledger time falls in, for periods of `periodMs`. */
export function periodAt (time: number, periodMs = settlementPeriodMs): number {
  return Math.floor(time / periodMs)
}

/** The chain's settlement period length (ms). */
export function periodMsOf (params: Pick<ChainParams, 'settlementPeriodMs'>): number {
  return params.settlementPeriodMs ?? settlementPeriodMs
}

/** The settlement period a transaction runs in. */
export function periodOf (ctx: Pick<TxContext, 'time' | 'params'>): number {
  return periodAt(ctx.time, periodMsOf(ctx.params))
}

export function getStake (state: StateView, operator: string): Stake {
  return state.entry<Stake>(marketKey.stake(operator)) ?? emptyStake(operator)
}

/** The operator group an operator (hex address) belongs to. */
export function groupOf (state: StateView, operator: string): string {
  return state.entry<string>(marketKey.group(operator)) ?? operator
}

/**
 * Joins an operator to the group of anything it is linked to (its stake sources, its nodes'
 * network prefixes), taking the smallest group name, and records the links for operators to come.
 * Groups merge going forward: placements already counted stay with the group they were counted in.
 */
export function linkOperator (state: StateView, operator: string, links: readonly string[]): string {
  let group = groupOf(state, operator)
  for (const link of links) {
    const linked = state.entry<string>(marketKey.link(link))
    if (linked !== undefined && linked < group) group = linked
  }
  if (group !== operator) state.setEntry(marketKey.group(operator), group)
  for (const link of links) {
    const linked = state.entry<string>(marketKey.link(link))
    if (linked === undefined || linked > group) state.setEntry(marketKey.link(link), group)
  }
  return group
}

/** Links of a provider node: its operator's stake sources and its network prefixes. */
export function linksOf (state: StateView, provider: ProviderEntry): string[] {
  const stake = getStake(state, toHex(provider.operator))
  const prefixes = provider.addrs.flatMap(a => { const p = networkPrefix(a); return p === undefined ? [] : [`net:${p}`] })
  return [...stake.sources.map(s => `src:${s}`), ...new Set(prefixes)]
}

export function requireProvider (state: StateView, address: Uint8Array): ProviderEntry {
  const p = getProvider(state, address)
  if (p === undefined) throw new NotFoundError(`${toHex(address)} is not a registered provider: register it with provider-register first`)
  return p
}

export function getOffer (state: StateView, provider: Uint8Array, kind: string): OfferEntry | undefined {
  return state.entry<OfferEntry>(marketKey.offer(provider, kind))
}

/** The price state of a kind in a region, stepped up to `period`. */
export function priceAt (state: StateView, kind: string, region: string, period: number): PriceState | undefined {
  const p = state.entry<PriceState>(marketKey.price(kind, region))
  return p === undefined ? undefined : advancePrice(p, period)
}

export function setPrice (state: StateView, kind: string, region: string, p: PriceState): void {
  state.setEntry(marketKey.price(kind, region), p)
}

export function getShares (state: StateView, market: string): SharesEntry {
  return state.entry<SharesEntry>(marketKey.shares(market)) ?? { total: 0, byGroup: {} }
}

/** Adds (or with a negative `n`, removes) placements of `group`. */
export function addShares (state: StateView, market: string, group: string, n: number): void {
  const s = getShares(state, market)
  const count = (s.byGroup[group] ?? 0) + n
  const byGroup = { ...s.byGroup }
  if (count <= 0) delete byGroup[group]
  else byGroup[group] = count
  state.setEntry(marketKey.shares(market), { total: Math.max(0, s.total + n), byGroup })
}

export function getDeal (state: StateView, id: string): Deal {
  const deal = state.entry<Deal>(marketKey.deal(id))
  if (deal === undefined) throw new NotFoundError(`no deal ${id}`)
  return deal
}

export function setDeal (state: StateView, deal: Deal): void {
  state.setEntry(marketKey.deal(deal.id), deal)
}

/**
 * The randomness of `period`'s audits: the hash of the block before the first block that needed
 * it after the period ended. Undefined when it is not fixed yet and cannot be here (a dry run
 * outside a block, which does not know its parent).
 */
export function beaconOf (ctx: TxContext, period: number): Uint8Array | undefined {
  const stored = ctx.state.entry<Uint8Array>(marketKey.beacon(period))
  if (stored !== undefined) return stored
  if (periodOf(ctx) <= period) throw new OutOfWindowError(`period ${period} has not ended; its audits are drawn after it ends`)
  if (ctx.parentHash === undefined) return undefined
  ctx.state.setEntry(marketKey.beacon(period), ctx.parentHash)
  return ctx.parentHash
}

/** Every registered provider node can audit: the candidates in registry order with their groups. */
export function auditorCandidates (state: StateView): AuditorCandidate[] {
  return providerIndex(state).map(address => {
    const p = getProvider(state, address)!
    return { id: toHex(address), group: groupOf(state, toHex(p.operator)) }
  })
}

export function credit (state: StateView, address: string, amount: number): void {
  if (amount === 0) return
  const bytes = fromHex(address)
  const a = state.account(bytes)
  state.setAccount(bytes, { ...a, balance: a.balance + amount })
}

export function debit (state: StateView, address: Uint8Array, amount: number, what: string): void {
  const a = state.account(address)
  if (a.balance < amount) throw new InsufficientFundsError(`balance ${a.balance} cannot pay ${what} of ${amount}`)
  state.setAccount(address, { ...a, balance: a.balance - amount })
}

/** Slashes `faults` faults from an operator's stake: part to the client, the rest burnt. */
export function applySlash (state: StateView, operator: string, client: string, faults = 1): void {
  const cut = slash(getStake(state, operator), faults)
  state.setEntry(marketKey.stake(operator), cut.stake)
  credit(state, client, cut.toClient)
  state.setEntry(marketKey.burnt, (state.entry<number>(marketKey.burnt) ?? 0) + cut.burnt)
}

/**
 * Slashes one compute fault from an operator's stake, all of it burnt: the client picks a task's
 * tie-breakers, so a share of the slash would pay a client to frame an honest provider.
 */
export function burnSlash (state: StateView, operator: string): number {
  const cut = slash(getStake(state, operator))
  const taken = cut.toClient + cut.burnt
  state.setEntry(marketKey.stake(operator), cut.stake)
  state.setEntry(marketKey.burnt, (state.entry<number>(marketKey.burnt) ?? 0) + taken)
  return taken
}

export function getRecord (state: StateView, provider: string): ProviderRecord {
  return state.entry<ProviderRecord>(marketKey.record(provider)) ?? { periods: [], earned: 0 }
}

/** Adds one settled period to a provider's record (keeping the last `maxRecordedPeriods`) and what it earned. */
export function recordPeriod (state: StateView, provider: string, period: number, outcome: RecordedOutcome, earned: number): void {
  const r = getRecord(state, provider)
  const periods: ProviderRecord['periods'] = [...r.periods, [period, outcome]]
  state.setEntry(marketKey.record(provider), { periods: periods.slice(-maxRecordedPeriods), earned: r.earned + earned })
}

/**
 * Adds earnings to a provider's record without a period outcome: usage receipts are signed by the
 * client alone, who could sign them for its own provider, so they pay but build no reputation.
 */
export function recordEarnings (state: StateView, provider: string, earned: number): void {
  const r = getRecord(state, provider)
  state.setEntry(marketKey.record(provider), { ...r, earned: r.earned + earned })
}

/** A provider's reputation as of `period`, replayed from its record (decay is applied here, on read). */
export function reputationOf (record: ProviderRecord, period: number): Reputation {
  let r = newReputation(record.periods[0]?.[0] ?? period)
  for (const [p, outcome] of record.periods) r = recordOutcome(r, p, outcome)
  return decayTo(r, period)
}
