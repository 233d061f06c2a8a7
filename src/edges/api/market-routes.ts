/**
 * The market's part of the node API, `/v1/market/...`: live offers with their measured record,
 * deals with their escrow, stakes, and the market's totals (documented in docs/api/openapi.json).
 * Read-only: changes go through signed transactions (`POST /v1/txs`).
 */
import { toHex } from '../../foundations/bytes.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { getProvider, isProviderLive, providerIndex } from '../../core/ledger/providers.ts'
import { marketKey } from '../../core/ledger/market/keys.ts'
import { getDeal, getOffer, getRecord, getStake, groupOf, periodAt, periodMsOf, reputationOf } from '../../core/ledger/market/market-state.ts'
import type { StateView } from '../../core/ledger/state.ts'
import { dealEnded, type Deal } from '../../core/market/deals.ts'
import { checkKind, resourceKinds, unitOf } from '../../core/market/kinds.ts'
import { freeCapacity } from '../../core/market/offers.ts'
import type { PriceState } from '../../core/market/pricing.ts'
import { emptyUsage, isUsageKind, type Usage } from '../../core/market/receipts.ts'
import { score } from '../../core/market/reputation.ts'
import type { LedgerNode } from '../../services/ledger/ledger-node.ts'
import type { Route } from './http-server.ts'

/** Deals a list scans, newest first: the ledger numbers deals, so a list is a bounded walk back. */
const maxListedDeals = 1000

export interface OfferView {
  provider: string
  operator: string
  /** Operator group: operators linked by stake source or network prefix count as one. */
  group: string
  kind: string
  unit: string
  region: string
  capacity: number
  used: number
  free: number
  /** Price per unit per settlement period. */
  price: number
  /** Period of the provider's first offer (newcomer until the vetting window passes). */
  since: number
  live: boolean
  /** Measured from settled periods: reputation score (bp) and recent counts. */
  quality: { score: number, passes: number, failures: number, wrong: number, settled: number }
  earned: number
}

export interface DealView {
  id: string
  client: string
  kind: string
  units: number
  policy: { replicas: number, regions: number }
  startPeriod: number
  periods: number
  nextPeriod: number
  status: 'open' | 'ended'
  cid?: string
  dataRoot?: string
  segments?: number
  escrow: { deposited: number, paid: number, refunded: number, held: number }
  slots: Array<{ price: number, holder?: { provider: string, group: string, region: string, since: number, failures: number[], usage?: Usage } }>
}

export interface StakeView { operator: string, group: string, amount: number, sources: string[], slashed: number }

export interface MarketStatusView {
  period: number
  periodMs: number
  height: number
  /** Total slashed and burnt (left circulation). */
  burnt: number
  deals: number
  openDeals: number
  /** Escrow held by the listed (newest `maxListedDeals`) deals. */
  escrowHeld: number
  prices: Array<{ kind: string, region: string, reference: number, offered: number, used: number }>
}

export function marketRoutes (ledger: LedgerNode): Route[] {
  return [
    { method: 'GET', path: '/v1/market', handler: (): MarketStatusView => marketStatus(ledger) },
    {
      method: 'GET',
      path: '/v1/market/offers',
      handler: ({ query }): { period: number, offers: OfferView[] } => {
        const kind = query.get('kind') ?? undefined
        const region = query.get('region') ?? undefined
        if (kind !== undefined) checkKind(kind)
        return { period: currentPeriod(ledger), offers: offerViews(ledger).filter(o => (kind === undefined || o.kind === kind) && (region === undefined || o.region === region)) }
      }
    },
    {
      method: 'GET',
      path: '/v1/market/deals',
      handler: ({ query }): { deals: DealView[] } => {
        const client = query.get('client')?.toLowerCase()
        const provider = query.get('provider')?.toLowerCase()
        const cid = query.get('cid') ?? undefined
        const deals = listDeals(ledger.view()).filter(d =>
          (client === undefined || d.client === client) &&
          (provider === undefined || d.slots.some(s => s.holder?.provider === provider)) &&
          (cid === undefined || d.cid === cid))
        const view = ledger.view()
        return { deals: deals.map(d => dealView(d, view)) }
      }
    },
    { method: 'GET', path: '/v1/market/deals/:id', handler: ({ params }): DealView => { const view = ledger.view(); return dealView(getDeal(view, params.id ?? ''), view) } },
    {
      method: 'GET',
      path: '/v1/market/stakes/:operator',
      handler: ({ params }): StakeView => {
        const operator = hexAddress(params.operator ?? '')
        const view = ledger.view()
        const s = getStake(view, operator)
        return { operator, group: groupOf(view, operator), amount: s.amount, sources: s.sources, slashed: s.slashed }
      }
    },
    {
      method: 'GET',
      path: '/v1/market/records/:provider',
      handler: ({ params }) => {
        const provider = hexAddress(params.provider ?? '')
        const record = getRecord(ledger.view(), provider)
        return { provider, earned: record.earned, periods: record.periods.map(([period, outcome]) => ({ period, outcome })) }
      }
    }
  ]
}

function currentPeriod (ledger: LedgerNode): number {
  return periodAt(ledger.chain.time, periodMsOf(ledger.chain.genesis.params))
}

function hexAddress (s: string): string {
  const hex = s.toLowerCase().replace(/^0x/, '')
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new MalformedMessageError(`"${s.slice(0, 60)}" is not an address (40 hex characters)`)
  return hex
}

export function offerViews (ledger: LedgerNode): OfferView[] {
  const view = ledger.view()
  const chain = ledger.chain
  const period = currentPeriod(ledger)
  return providerIndex(view).flatMap(address => {
    const node = getProvider(view, address)
    if (node === undefined) return []
    const provider = toHex(address)
    const record = getRecord(view, provider)
    const rep = reputationOf(record, period)
    return resourceKinds.flatMap(kind => {
      const offer = getOffer(view, address, kind)
      if (offer === undefined) return []
      const operator = toHex(node.operator)
      const count = (o: string): number => record.periods.filter(([, x]) => x === o).length
      return [{
        provider, operator, group: groupOf(view, operator), kind, unit: unitOf[kind], region: offer.region,
        capacity: offer.capacity, used: offer.used, free: freeCapacity(offer), price: offer.price, since: offer.since,
        live: isProviderLive(node, chain.time, chain.genesis.params),
        quality: { score: score(rep), passes: count('pass'), failures: count('fail'), wrong: count('wrong'), settled: record.periods.length },
        earned: record.earned
      }]
    })
  })
}

function listDeals (view: StateView): Deal[] {
  const seq = view.entry<number>(marketKey.dealSeq) ?? 0
  const out: Deal[] = []
  for (let i = seq - 1; i >= Math.max(0, seq - maxListedDeals); i--) {
    const deal = view.entry<Deal>(marketKey.deal(`d${i}`))
    if (deal !== undefined) out.push(deal)
  }
  return out
}

/** A deal as the API shows it; with the ledger `view`, a bandwidth or requests deal shows each holder's receipted usage. */
export function dealView (d: Deal, view?: StateView): DealView {
  const usage = (provider: string): { usage?: Usage } => {
    if (view === undefined || !isUsageKind(d.kind)) return {}
    return { usage: view.entry<Usage>(marketKey.usage(d.id, provider)) ?? emptyUsage() }
  }
  return {
    id: d.id,
    client: d.client,
    kind: d.kind,
    units: d.units,
    policy: d.policy,
    startPeriod: d.startPeriod,
    periods: d.periods,
    nextPeriod: d.nextPeriod,
    status: dealEnded(d) ? 'ended' : 'open',
    ...(d.cid === undefined ? {} : { cid: d.cid }),
    ...(d.dataRoot === undefined ? {} : { dataRoot: toHex(d.dataRoot) }),
    ...(d.segments === undefined ? {} : { segments: d.segments }),
    escrow: d.escrow,
    slots: d.slots.map(s => ({ price: s.price, ...(s.holder === undefined ? {} : { holder: { provider: s.holder.provider, group: s.holder.group, region: s.holder.region, since: s.holder.since, failures: s.holder.failures, ...usage(s.holder.provider) } }) }))
  }
}

function marketStatus (ledger: LedgerNode): MarketStatusView {
  const view = ledger.view()
  const deals = listDeals(view)
  const regions = new Set<string>()
  for (const a of providerIndex(view)) { const p = getProvider(view, a); if (p !== undefined) regions.add(p.region) }
  const prices: MarketStatusView['prices'] = []
  for (const kind of resourceKinds) {
    for (const region of [...regions].sort()) {
      const p = view.entry<PriceState>(marketKey.price(kind, region))
      if (p !== undefined) prices.push({ kind, region, reference: p.reference, offered: p.offered, used: p.used })
    }
  }
  return {
    period: currentPeriod(ledger),
    periodMs: periodMsOf(ledger.chain.genesis.params),
    height: ledger.chain.height,
    burnt: view.entry<number>(marketKey.burnt) ?? 0,
    deals: view.entry<number>(marketKey.dealSeq) ?? 0,
    openDeals: deals.filter(d => !dealEnded(d)).length,
    escrowHeld: deals.reduce((a, d) => a + d.escrow.held, 0),
    prices
  }
}

