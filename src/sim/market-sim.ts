/**
 * The adversarial market simulation: a seeded world of providers, operators, auditors and
 * clients run for many settlement periods through the market's own pure rules — selection under
 * the operator cap and newcomer share, deals with escrow, audit challenges and auditor
 * assignment from a beacon, evidence verdicts, settlement, slashing, replacement, reputation and
 * dynamic prices. Only the world is modelled: what each node actually holds and how it answers.
 *
 * Timing: settlement of period t happens once its verdicts are final (the answer deadline, one
 * period later); the simulation settles it in the same step and counts the deadline in the
 * reported replacement time.
 */
import assert from 'node:assert/strict'
import { utf8 } from '../foundations/bytes.ts'
import { seededRandom } from '../foundations/clock.ts'
import { sha256 } from '../foundations/hash.ts'
import { assignAuditors, auditorDraws, auditSeed, challengeIndices, type AuditOutcome } from '../core/market/audit.ts'
import { answerDeadlinePeriods, challengesPerPeriod, maxAnswersPerTx, maxAuditResultsPerTx, maxSettleItems, minOperatorStake, vettingWindowPeriods } from '../core/market/constants.ts'
import { dealEnded, holdersOf, openDeal, requiredEscrow, type Deal } from '../core/market/deals.ts'
import { InsufficientEscrowError, PolicyNotMetError } from '../core/market/errors.ts'
import { checkEscrow } from '../core/market/escrow.ts'
import { verdict, wasWrong, type PeriodEvidence, type Verdict } from '../core/market/evidence.ts'
import { advancePrice, type PriceState } from '../core/market/pricing.ts'
import { fillSlot, maxSlotPrice, vacantSlots } from '../core/market/replacement.ts'
import { effectiveScore, groupReputation, newReputation, recordOutcome, type Reputation } from '../core/market/reputation.ts'
import { decayTally, isNewcomer, selectProviders, type Candidate, type MarketShares, type NewcomerTally } from '../core/market/selection.ts'
import { settlePeriod } from '../core/market/settlement.ts'
import { slash, type Stake } from '../core/market/stake.ts'
import { buildWorld, isCheater, regions, type SimAuditor, type SimProvider, type World, type WorldOptions } from './market-world.ts'

export interface MarketSimOptions extends WorldOptions {
  seed: number
  /** Mean new deals per period. */
  dealsPerPeriod: number
  /** Deal length range in periods. */
  minDealPeriods: number
  maxDealPeriods: number
  /** Chance per period that an honest node misses its off-ledger audits (a blip) or starts an outage. */
  blipChance: number
  outageChance: number
  /** Escrow clients deposit, as a multiple of the minimum. */
  escrowReserve: number
  /** Periods run before measuring: the launch of a market where nobody has a record yet. */
  warmupPeriods: number
  /**
   * The anchor market: pays every holder every period without evidence (as leases that pay per
   * block do), so nobody is slashed or replaced, and counts each operator key as an operator.
   */
  unchecked?: boolean
}

export const defaultMarketSim: MarketSimOptions = {
  seed: 1,
  providers: 1000,
  operators: 200,
  adversarialShare: 0.3,
  newcomerShare: 0.25,
  periods: 100,
  auditors: 60,
  colludingAuditors: 6,
  dealsPerPeriod: 120,
  minDealPeriods: 10,
  maxDealPeriods: 50,
  blipChance: 0.02,
  outageChance: 0.0005,
  escrowReserve: 1.25,
  warmupPeriods: 10
}

export interface MarketSimResult {
  seed: number
  periods: number
  providers: number
  operators: number
  deals: number
  /** Escrow paid to cheating providers, for any period, and for periods they did not deliver. */
  paidToCheatersShare: number
  paidUndeliveredShare: number
  /** Honest providers penalised (slashed or dropped) while they held the data, of all honest ones. */
  honestWronglyPenalisedShare: number
  honestWronglyPenalised: number
  /** Honest providers penalised after a real outage (deserved, shown for context). */
  honestPenalisedForOutage: number
  /** Largest operator group's share of active placements and the HHI, at their peak over the run. */
  largestOperatorShare: number
  largestOperatorGroup: string
  hhi: number
  /** The same by the operators that really run the nodes (the sybil's keys as one), whatever the rules could see. */
  largestRealOperatorShare: number
  hhiRealOperators: number
  newcomerPlacementShare: number
  /** Periods until a good newcomer's active placements reach half a mature honest provider's median; median and p90 over those that did, and how many did not. */
  newcomerHalfShareMedian: number | undefined
  newcomerHalfShareP90: number | undefined
  newcomersNotThere: number
  goodNewcomers: number
  /** Periods from a holder going bad to its replacement: median, p99, max, and count. */
  replacementMedian: number | undefined
  replacementP99: number | undefined
  replacementMax: number | undefined
  replacements: number
  dataLost: number
  /** Deals lost while the market was new (no provider had a record yet), before measuring began. */
  dataLostWarmup: number
  warmupPeriods: number
  /** Ledger transactions per period for audit results, settlements and on-ledger answers (mean). */
  txPerPeriod: { auditResults: number, settles: number, answers: number, replacements: number, total: number, activeDeals: number }
  slashedToClients: number
  burnt: number
  escrow: { deposited: number, paid: number, refunded: number, held: number }
  referencePrice: { start: number, end: number, min: number, max: number }
  maxUtilisation: number
}

export function runMarketSimulation (options: Partial<MarketSimOptions> = {}): MarketSimResult {
  const o: MarketSimOptions = { ...defaultMarketSim, ...options }
  const random = seededRandom(o.seed)
  const world: World = buildWorld({ ...o, mergeIdentities: o.unchecked !== true }, random)
  const byId = new Map(world.providers.map(p => [p.id, p]))
  const reputation = new Map<string, Reputation>(world.providers.map(p => [p.id, newReputation(0)]))
  const stakes = new Map<string, Stake>([...world.stakeOf].map(([g, amount]) => [g, { operator: g, amount, sources: [], slashed: 0 }]))
  const prices = new Map<string, PriceState>(regions.map(r => [r, { reference: 100, offered: 0, used: 0, period: 0 }]))
  const shares: MarketShares = { total: 0, byGroup: new Map() }
  let tally: NewcomerTally = { placements: 0, newcomer: 0 }
  const placedTotal = { all: 0, newcomer: 0 }
  const active = new Map<string, Deal>()
  /** Which holders really hold each deal's data in full (a dropped or partial copy is not one). */
  const intact = new Map<string, Set<string>>()
  const badSince = new Map<string, number>()
  const placedAt = new Map<string, number>()
  const activeCount = new Map<string, number>()
  const m = newMetrics()
  const groupSets = new Map<string, Set<string>>()
  const groupSet = (g: string): Set<string> => { let s = groupSets.get(g); if (s === undefined) { s = new Set([g]); groupSets.set(g, s) } return s }
  let beacon = sha256(utf8.encode(`market-sim-beacon/${o.seed}`))

  const sinceOf = (p: SimProvider): number => p.joins === 0 ? -vettingWindowPeriods : p.joins
  const key = (dealId: string, provider: string): string => `${dealId}|${provider}`

  const place = (deal: Deal, p: SimProvider, period: number): void => {
    p.used += deal.units
    prices.get(p.region)!.used += deal.units
    shares.total++
    shares.byGroup.set(p.group, (shares.byGroup.get(p.group) ?? 0) + 1)
    activeCount.set(p.id, (activeCount.get(p.id) ?? 0) + 1)
    tally.placements++
    if (period >= o.warmupPeriods) placedTotal.all++
    if (isNewcomer({ since: sinceOf(p) }, period)) { tally.newcomer++; if (period >= o.warmupPeriods) placedTotal.newcomer++ }
    placedAt.set(key(deal.id, p.id), period)
  }
  const release = (deal: Deal, providerId: string): void => {
    const p = byId.get(providerId)!
    p.used -= deal.units
    prices.get(p.region)!.used -= deal.units
    shares.total--
    shares.byGroup.set(p.group, shares.byGroup.get(p.group)! - 1)
    activeCount.set(p.id, activeCount.get(p.id)! - 1)
    placedAt.delete(key(deal.id, providerId))
    badSince.delete(key(deal.id, providerId))
  }

  for (let t = 0; t < o.periods; t++) {
    const measuring = t >= o.warmupPeriods
    // 1. Prices follow last period's utilisation; offers follow prices.
    for (const r of regions) {
      const state = prices.get(r)!
      state.offered = world.providers.filter(p => p.region === r && p.joins <= t && offering(p)).reduce((a, p) => a + p.capacity, 0)
      prices.set(r, advancePrice(state, t))
    }
    const candidates = buildCandidates(t)
    // 2. Behaviour this period.
    for (const p of world.providers) {
      if (p.behaviour === 'honest') {
        if (p.downFor > 0) p.downFor--
        else if (random.next() < o.outageChance) p.downFor = 1 + random.int(3)
      }
      if (p.behaviour === 'part-time') p.cheatingNow = random.next() < 0.3
    }
    // 3. New deals.
    const arrivals = Math.round(o.dealsPerPeriod * (0.5 + random.next()))
    for (let i = 0; i < arrivals; i++) openClientDeal(t, candidates)
    // 4. Audit, settle, replace.
    const findings = world.auditors.map(() => 0)
    let settled = 0
    let answers = 0
    let replacementsNow = 0
    for (const deal of [...active.values()]) {
      const seed = auditSeed(beacon, deal.id, t)
      const draws = o.unchecked ? [] : auditorDraws(seed)
      let challenged: number[] | undefined
      const challenge = (): number[] => (challenged ??= challengeIndices(seed, deal.segments!))
      const evidence = new Map<string, PeriodEvidence>()
      const holders = intact.get(deal.id)!
      for (const h of holdersOf(deal)) {
        const p = byId.get(h.provider)!
        const auditors = o.unchecked ? [] : assignAuditors(draws, world.auditors, groupSet(p.group)) as SimAuditor[]
        const holds = holdsChallenged(p, deal, h.provider, challenge, t, holders)
        const blip = p.behaviour !== 'garbage' && random.next() < o.blipChance
        const outcomes: PeriodEvidence['outcomes'] = []
        for (const a of auditors) {
          const outcome: AuditOutcome = a.colluding ? (isCheater(p.behaviour) ? 'pass' : 'missing') : p.behaviour === 'garbage' ? 'wrong' : holds && !blip ? 'pass' : 'missing'
          outcomes.push({ auditor: a.id, outcome })
          findings[a.index]!++
        }
        // The anchor market pays every holder every period, as a lease does, with no evidence.
        const ev: PeriodEvidence = { outcomes, proven: [], answered: o.unchecked === true }
        // Whoever holds every challenged block answers on the ledger when the auditors did not pass it.
        if (verdict(ev, t, t + 1) !== 'pass' && holds && p.behaviour !== 'garbage') { ev.answered = true; answers++ }
        evidence.set(h.provider, ev)
        const delivering = holds && p.behaviour !== 'garbage' && !(p.behaviour === 'part-time' && p.cheatingNow)
        const k = key(deal.id, h.provider)
        if (!delivering && !badSince.has(k)) badSince.set(k, t)
        if (delivering && p.downFor === 0) badSince.delete(k)
      }
      const verdictOf = (provider: string): Verdict => verdict(evidence.get(provider)!, t, t + 1 + answerDeadlinePeriods)
      const s = settlePeriod(deal, t, verdictOf)
      settled++
      for (const pay of s.payments) {
        const p = byId.get(pay.provider)!
        m.paidAll += pay.amount
        if (!measuring) continue
        m.paid += pay.amount
        if (isCheater(p.behaviour)) m.paidToCheaters += pay.amount
        const delivering = holdsChallenged(p, deal, p.id, () => [], t, holders) && p.behaviour !== 'garbage' && !(p.behaviour === 'part-time' && p.cheatingNow)
        if (!delivering) m.paidUndelivered += pay.amount
      }
      for (const h of holdersOf(deal)) {
        const ev = evidence.get(h.provider)!
        const v = verdictOf(h.provider)
        const p = byId.get(h.provider)!
        reputation.set(h.provider, recordOutcome(reputation.get(h.provider)!, t, v === 'pass' ? 'pass' : wasWrong(ev) ? 'wrong' : 'fail', p.latencyMs))
      }
      for (const failed of s.failed) {
        const p = byId.get(failed)!
        const cut = slash(stakes.get(p.group)!)
        stakes.set(p.group, cut.stake)
        m.slashedToClients += cut.toClient
        m.burnt += cut.burnt
        if (p.behaviour === 'honest' && measuring) {
          const heldIt = holders.has(p.id)
          if (heldIt && p.downFor === 0) m.honestWrong.add(p.id)
          else m.honestOutage.add(p.id)
        }
      }
      let next = s.deal
      for (const gone of s.dropped) {
        const k = key(deal.id, gone)
        const since = badSince.get(k) ?? t
        if (measuring) m.replacementTimes.push(t + answerDeadlinePeriods + 1 - since)
        holders.delete(gone)
        release(deal, gone)
      }
      if (dealEnded(next)) {
        for (const h of holdersOf(next)) release(next, h.provider)
        checkEscrow(next.escrow)
        m.escrowDone.deposited += next.escrow.deposited
        m.escrowDone.paid += next.escrow.paid
        m.escrowDone.refunded += next.escrow.refunded
        active.delete(deal.id)
        intact.delete(deal.id)
        continue
      }
      for (const slot of vacantSlots(next)) {
        next = replace(next, slot, t, candidates, holders)
        replacementsNow++
      }
      if (holders.size === 0) { if (measuring) m.dataLost++; else m.dataLostWarmup++; active.delete(deal.id); for (const h of holdersOf(next)) release(next, h.provider); m.escrowLost.push(next); continue }
      active.set(deal.id, next)
    }
    // Each auditor batches its period's findings into as few audit-result transactions as fit.
    const auditTxs = findings.reduce((a, n) => a + Math.ceil(n / maxAuditResultsPerTx), 0)
    if (!measuring) { tally = decayTally(tally); beacon = sha256(beacon); continue }
    m.tx.auditResults += auditTxs
    m.tx.settles += Math.ceil(settled / maxSettleItems)
    // A full answer proves every challenged segment, a few per transaction.
    m.tx.answers += answers * Math.ceil(challengesPerPeriod / maxAnswersPerTx)
    m.tx.replacements += replacementsNow
    m.tx.activeDeals += active.size
    // 5. Shares and concentration at the end of the period.
    if (shares.total > 0) {
      let top = 0, topGroup = '', hhi = 0
      for (const [g, n] of shares.byGroup) {
        const share = n / shares.total
        hhi += (share * 100) ** 2
        if (share > top) { top = share; topGroup = g }
      }
      if (top > m.largest) { m.largest = top; m.largestGroup = topGroup }
      m.hhi = Math.max(m.hhi, hhi)
      // Who really runs what: the sybil's keys are one operator whatever the rules could see.
      const perReal = new Map<string, number>()
      for (const p of world.providers) { const real = p.behaviour === 'sybil' ? 'sybil' : p.operator; perReal.set(real, (perReal.get(real) ?? 0) + (activeCount.get(p.id) ?? 0)) }
      let hhiReal = 0
      for (const n of perReal.values()) hhiReal += (n / shares.total * 100) ** 2
      m.largestReal = Math.max(m.largestReal, Math.max(...perReal.values()) / shares.total)
      m.hhiReal = Math.max(m.hhiReal, hhiReal)
      for (const r of regions) m.maxUtilisation = Math.max(m.maxUtilisation, prices.get(r)!.used / Math.max(1, prices.get(r)!.offered))
    }
    trackNewcomers(t)
    for (const r of regions) { const ref = prices.get(r)!.reference; m.priceMin = Math.min(m.priceMin, ref); m.priceMax = Math.max(m.priceMax, ref) }
    beacon = sha256(beacon)
    tally = decayTally(tally)
  }

  function offering (p: SimProvider): boolean {
    return (stakes.get(p.group)?.amount ?? 0) >= minOperatorStake
  }

  function buildCandidates (t: number): Candidate[] {
    const groupMembers = new Map<string, Reputation[]>()
    for (const p of world.providers) {
      if (p.joins > t) continue
      const list = groupMembers.get(p.group) ?? []
      list.push(reputation.get(p.id)!)
      groupMembers.set(p.group, list)
    }
    const groupRep = new Map([...groupMembers].map(([g, list]) => [g, groupReputation(list, t)]))
    const out: Candidate[] = []
    for (const p of world.providers) {
      if (p.joins > t || !offering(p)) continue
      const rep = reputation.get(p.id)!
      out.push({
        provider: p.id,
        group: p.group,
        region: p.region,
        price: Math.max(1, Math.round(prices.get(p.region)!.reference * p.priceFactor)),
        capacity: p.capacity,
        free: p.capacity - p.used,
        score: effectiveScore(rep, groupRep.get(p.group)!),
        since: sinceOf(p),
        recentFailures: Math.round(rep.failures + rep.wrong),
        ...(rep.lastFailure === undefined ? {} : { lastFailure: rep.lastFailure })
      })
    }
    return out
  }

  function openClientDeal (t: number, candidates: Candidate[]): void {
    const units = 1 + Math.floor(random.next() ** 2 * 60)
    const periods = o.minDealPeriods + random.int(o.maxDealPeriods - o.minDealPeriods + 1)
    const policy = { replicas: 3, regions: 2 }
    let chosen: Candidate[]
    try {
      chosen = selectProviders({ candidates, policy, count: 3, units, period: t, shares, tally, random })
    } catch (err) {
      if (err instanceof PolicyNotMetError) { m.unplaced++; return }
      throw err
    }
    const id = `d-${m.deals++}`
    // Clients deposit a reserve above the minimum so a replacement may cost more than the slot did.
    const escrow = Math.ceil(requiredEscrow(chosen.map(c => c.price), units, periods) * o.escrowReserve)
    const deal = openDeal({ id, client: `c-${random.int(500)}`, kind: 'storage', units, policy, startPeriod: t, periods, holders: chosen, escrow, segments: units * 2 ** 21 })
    active.set(id, deal)
    // A garbage server accepts and stores nothing.
    intact.set(id, new Set(chosen.filter(c => byId.get(c.provider)!.behaviour !== 'garbage').map(c => c.provider)))
    for (const c of chosen) {
      place(deal, byId.get(c.provider)!, t)
      c.free -= units
    }
    m.escrowIn += escrow
  }

  function replace (deal: Deal, slot: number, t: number, candidates: Candidate[], holders: Set<string>): Deal {
    const current = holdersOf(deal)
    try {
      const [pick] = selectProviders({ candidates, policy: deal.policy, count: 1, units: deal.units, period: t, shares, tally, current, maxPrice: maxSlotPrice(deal, slot, 1), random })
      const next = fillSlot(deal, slot, pick!, t + 1)
      place(next, byId.get(pick!.provider)!, t)
      pick!.free -= deal.units
      // Repair: the new holder copies the content from a holder that still has all of it.
      if ([...holders].some(h => byId.get(h)!.downFor === 0) && byId.get(pick!.provider)!.behaviour !== 'garbage') holders.add(pick!.provider)
      return next
    } catch (err) {
      if (err instanceof PolicyNotMetError || err instanceof InsufficientEscrowError) { m.unreplaced++; return deal }
      throw err
    }
  }

  /** Whether `p` can answer every challenged index of the deal this period. */
  function holdsChallenged (p: SimProvider, deal: Deal, id: string, challenged: () => number[], t: number, holders: Set<string>): boolean {
    if (!holders.has(id) || p.downFor > 0) return false
    if (p.behaviour === 'drop') {
      const since = placedAt.get(key(deal.id, id)) ?? t
      // It keeps new data for a few periods (so it passes early audits), then deletes it.
      if (t - since >= 2 + (hashInt(deal.id + id) % 6)) { holders.delete(id); return false }
    }
    // Cheating, it keeps only the even segments.
    if (p.behaviour === 'part-time' && p.cheatingNow) { const c = challenged(); return c.length > 0 && c.every(i => i % 2 === 0) }
    return true
  }

  function trackNewcomers (t: number): void {
    const matureCounts = world.providers.filter(p => p.behaviour === 'honest' && p.joins === 0).map(p => activeCount.get(p.id) ?? 0).sort((a, b) => a - b)
    const median = matureCounts[matureCounts.length >> 1] ?? 0
    for (const p of world.providers) {
      if (p.behaviour !== 'honest' || p.joins === 0 || p.joins > t || m.newcomerReached.has(p.id)) continue
      if ((activeCount.get(p.id) ?? 0) * 2 >= median && median > 0) m.newcomerReached.set(p.id, t - p.joins)
    }
  }

  // Close out: every still-open deal's escrow is held, and the books balance.
  const open = { deposited: 0, paid: 0, refunded: 0, held: 0 }
  for (const d of [...active.values(), ...m.escrowLost]) {
    checkEscrow(d.escrow)
    open.deposited += d.escrow.deposited
    open.paid += d.escrow.paid
    open.refunded += d.escrow.refunded
    open.held += d.escrow.held
  }
  const escrow = { deposited: m.escrowDone.deposited + open.deposited, paid: m.escrowDone.paid + open.paid, refunded: m.escrowDone.refunded + open.refunded, held: open.held }
  assert.equal(escrow.deposited, m.escrowIn, 'every deposit is in some deal')
  assert.equal(escrow.deposited, escrow.paid + escrow.refunded + escrow.held, 'escrow in = paid + refunded + held')
  assert.equal(escrow.paid, m.paidAll)
  const measured = o.periods - o.warmupPeriods

  const honestCount = world.providers.filter(p => p.behaviour === 'honest').length
  const good = world.providers.filter(p => p.behaviour === 'honest' && p.joins > 0 && p.joins < o.periods - 20)
  const reached = good.flatMap(p => m.newcomerReached.has(p.id) ? [m.newcomerReached.get(p.id)!] : []).sort((a, b) => a - b)
  const times = [...m.replacementTimes].sort((a, b) => a - b)
  const ref = [...prices.values()].map(s => s.reference)
  return {
    seed: o.seed,
    periods: o.periods,
    providers: world.providers.length,
    operators: new Set(world.providers.map(p => p.operator)).size,
    deals: m.deals,
    paidToCheatersShare: m.paid === 0 ? 0 : m.paidToCheaters / m.paid,
    paidUndeliveredShare: m.paid === 0 ? 0 : m.paidUndelivered / m.paid,
    honestWronglyPenalisedShare: m.honestWrong.size / honestCount,
    honestWronglyPenalised: m.honestWrong.size,
    honestPenalisedForOutage: m.honestOutage.size,
    largestOperatorShare: m.largest,
    largestOperatorGroup: m.largestGroup,
    hhi: Math.round(m.hhi),
    largestRealOperatorShare: m.largestReal,
    hhiRealOperators: Math.round(m.hhiReal),
    newcomerPlacementShare: placedTotal.all === 0 ? 0 : placedTotal.newcomer / placedTotal.all,
    newcomerHalfShareMedian: quantile(reached, 0.5),
    newcomerHalfShareP90: quantile(reached, 0.9),
    newcomersNotThere: good.length - reached.length,
    goodNewcomers: good.length,
    replacementMedian: quantile(times, 0.5),
    replacementP99: quantile(times, 0.99),
    replacementMax: times[times.length - 1],
    replacements: times.length,
    dataLost: m.dataLost,
    dataLostWarmup: m.dataLostWarmup,
    warmupPeriods: o.warmupPeriods,
    txPerPeriod: {
      auditResults: m.tx.auditResults / measured,
      settles: m.tx.settles / measured,
      answers: m.tx.answers / measured,
      replacements: m.tx.replacements / measured,
      total: (m.tx.auditResults + m.tx.settles + m.tx.answers + m.tx.replacements) / measured,
      activeDeals: m.tx.activeDeals / measured
    },
    slashedToClients: m.slashedToClients,
    burnt: m.burnt,
    escrow,
    referencePrice: { start: 100, end: Math.round(ref.reduce((a, b) => a + b, 0) / ref.length), min: m.priceMin, max: m.priceMax },
    maxUtilisation: m.maxUtilisation
  }
}

function newMetrics () {
  return {
    deals: 0, unplaced: 0, unreplaced: 0, dataLost: 0, dataLostWarmup: 0,
    paidAll: 0, paid: 0, largestReal: 0, hhiReal: 0, paidToCheaters: 0, paidUndelivered: 0, escrowIn: 0,
    escrowDone: { deposited: 0, paid: 0, refunded: 0 },
    escrowLost: [] as Deal[],
    honestWrong: new Set<string>(), honestOutage: new Set<string>(),
    largest: 0, largestGroup: '', hhi: 0, maxUtilisation: 0,
    priceMin: Infinity, priceMax: 0,
    replacementTimes: [] as number[],
    newcomerReached: new Map<string, number>(),
    slashedToClients: 0, burnt: 0,
    tx: { auditResults: 0, settles: 0, answers: 0, replacements: 0, activeDeals: 0 }
  }
}

function quantile (sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

function hashInt (s: string): number {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return h >>> 0
}

