/**
 * A provider node's part in the market, driven by the ledger each period:
 * - at start it stakes for its operator (when the operator has too little) and offers its kind
 *   (storage; a compute node offers compute, and does nothing more here: its tasks settle by
 *   their own escrow, not by periods);
 * - after a period ends, the designated node fixes its randomness (market-tick);
 * - as an auditor it draws the period's challenges from that beacon, asks each holder it was
 *   assigned to for the challenged segments and their Merkle paths before a deadline, checks them
 *   and submits its signed findings, all deals in one audit-result transaction;
 * - as a holder without a passing quorum it answers its own challenge on the ledger (a dispute);
 * - once a period's answer window has closed, the designated holder of each deal settles it,
 *   every deal it settles in one settle transaction;
 * - when settlement drops a holder, the designated remaining holder fills the slot with the next
 *   best offer that keeps the policy (deal-replace); the ledger moves the pin, and the
 *   replacement's replicator pulls the content (repair).
 *
 * "Designated" is the smallest address among those who may act, so one transaction goes out;
 * after a share of the period with nothing committed, any of them acts (the ledger takes the first).
 */
import { fromHex, toHex, utf8 } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { seededRandom } from '../../foundations/clock.ts'
import { getPin, getProvider, isProviderLive, providerIndex } from '../../core/ledger/providers.ts'
import { marketKey } from '../../core/ledger/market/keys.ts'
import { auditorCandidates, getDeal, getOffer, getRecord, getShares, getStake, groupOf, periodAt, periodMsOf, reputationOf } from '../../core/ledger/market/market-state.ts'
import type { SignedAuditResult, MarketTxBody } from '../../core/ledger/market/types.ts'
import { assignAuditors, auditorDraws, auditSeed, challengeIndices, checkAnswer, signAuditStatement, type AuditOutcome } from '../../core/market/audit.ts'
import { auditQuorum, maxAnswersPerTx, maxAuditResultsPerTx, maxSettleItems, minOperatorStake } from '../../core/market/constants.ts'
import { dealEnded, holdersOf, type Deal } from '../../core/market/deals.ts'
import { countOutcome, emptyEvidence, type PeriodEvidence } from '../../core/market/evidence.ts'
import { freeCapacity } from '../../core/market/offers.ts'
import { maxSlotPrice, vacantSlots } from '../../core/market/replacement.ts'
import { score } from '../../core/market/reputation.ts'
import { selectProviders, type Candidate } from '../../core/market/selection.ts'
import type { StateView } from '../../core/ledger/state.ts'
import type { TxBody } from '../../core/ledger/types.ts'
import type { CommittedBlock, LedgerNode } from '../ledger/ledger-node.ts'
import type { P2PHost } from '../p2p/index.ts'
import { peerIdOfPublicKey } from '../p2p/index.ts'
import { decodeAuditAnswer, decodeAuditRequest, encodeAuditAnswer, encodeAuditRequest } from './audit-messages.ts'
import {
  agentTickMs, answerAfterBps, auditProtocol, auditTimeoutMs, fallbackAfterBps, maxAuditRequestBytes, maxAuditResponseBytes,
  maxFollowedDeals, resendAfterPeriods
} from './constants.ts'
import type { HeldContent } from './held-content.ts'

export interface MarketAgentInit {
  ledger: LedgerNode
  host: P2PHost
  /** The node's key: it signs findings and its account sends the agent's transactions. */
  key: KeyPair
  /** Sends a transaction from the node's key (logs instead of throwing). */
  send: (body: TxBody, what: string) => void
  /** Content the node holds (storage nodes: it answers audits from it). */
  held?: HeldContent
  /** What the node offers (default storage). */
  kind?: 'storage' | 'compute'
  /** The operator this node stakes for (hex address). */
  operator: string
  /** What the node offers: units (GiB of storage, or cores of compute) and price per unit (per period; per core-second). */
  offer: { capacity: number, price: number }
  stake: number
  log: (line: string) => void
}

export class MarketAgent {
  private readonly init: MarketAgentInit
  private readonly address: string
  private readonly deals = new Set<string>()
  /** Last time (ms) each one-off action was sent, by key. */
  private readonly sent = new Map<string, number>()
  private readonly auditedPeriods = new Set<number>()
  private timer: NodeJS.Timeout | undefined
  private running = false
  private stopped = false
  private offerSeen = false
  private readonly onCommit = (c: CommittedBlock): void => { this.committed(c) }

  constructor (init: MarketAgentInit) {
    this.init = init
    this.address = toHex(addressOf(init.key.publicKey))
  }

  private get kind (): 'storage' | 'compute' { return this.init.kind ?? 'storage' }

  async start (): Promise<void> {
    if (this.kind !== 'storage') {
      this.timer = setInterval(() => { void this.tick() }, agentTickMs)
      return
    }
    await this.init.host.handle(auditProtocol, async (request) => await this.answerAudit(request), { maxRequestBytes: maxAuditRequestBytes, timeoutMs: auditTimeoutMs })
    const view = this.init.ledger.view()
    const seq = view.entry<number>(marketKey.dealSeq) ?? 0
    for (let i = Math.max(0, seq - maxFollowedDeals); i < seq; i++) this.follow(view, `d${i}`)
    this.init.ledger.on('commit', this.onCommit)
    const every = Math.min(agentTickMs, Math.floor(this.periodMs() / 8))
    this.timer = setInterval(() => { void this.tick() }, every)
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    this.init.ledger.off('commit', this.onCommit)
    if (this.kind === 'storage') await this.init.host.unhandle(auditProtocol)
  }

  private periodMs (): number {
    return periodMsOf(this.init.ledger.chain.genesis.params)
  }

  private committed (c: CommittedBlock): void {
    const view = this.init.ledger.view()
    for (const change of c.outcome.changes) {
      const key = utf8.decode(change.key)
      if (key.startsWith('mkt/deal/')) this.follow(view, key.slice('mkt/deal/'.length))
    }
  }

  private follow (view: StateView, id: string): void {
    const deal = view.entry<Deal>(marketKey.deal(id))
    if (deal === undefined || dealEnded(deal) || this.deals.size >= maxFollowedDeals) return
    this.deals.add(id)
  }

  /** Whether `key` was sent within the resend window; marks it sent when not. */
  private once (key: string, now: number): boolean {
    const at = this.sent.get(key)
    if (at !== undefined && now - at < this.periodMs() * resendAfterPeriods) return false
    this.sent.set(key, now)
    if (this.sent.size > 4 * maxFollowedDeals) this.sent.clear()
    return true
  }

  private async tick (): Promise<void> {
    if (this.running || this.stopped || !this.init.ledger.canGossipTxs) return
    this.running = true
    try {
      const view = this.init.ledger.view()
      if (getProvider(view, fromHex(this.address)) === undefined) return
      const now = Date.now()
      const periodMs = this.periodMs()
      const period = periodAt(now, periodMs)
      const into = (now - period * periodMs) / periodMs * 10_000
      this.offerResource(view, now)
      if (this.kind !== 'storage') return
      const open = this.openDeals(view)
      if (open.length === 0) return
      this.fixBeacon(view, period - 1, into, now)
      await this.audit(view, open, period - 1)
      if (into >= answerAfterBps) await this.answerOwnChallenges(view, open, period - 1, now)
      this.settle(view, open, period, into, now)
      this.replace(view, open, period, now)
    } catch (err) {
      this.init.log(`market: ${(err as Error).name}: ${(err as Error).message}`)
    } finally {
      this.running = false
    }
  }

  private openDeals (view: StateView): Deal[] {
    const out: Deal[] = []
    for (const id of this.deals) {
      const deal = view.entry<Deal>(marketKey.deal(id))
      if (deal === undefined || dealEnded(deal)) { this.deals.delete(id); continue }
      out.push(deal)
    }
    return out
  }

  /**
   * Stakes for the operator when it has too little, then offers its kind once the stake is in. Once
   * the offer is on the ledger the operator owns it: a withdrawn offer is not posted again.
   */
  private offerResource (view: StateView, now: number): void {
    if (this.offerSeen) return
    if (getOffer(view, fromHex(this.address), this.kind) !== undefined) { this.offerSeen = true; return }
    if (getStake(view, this.init.operator).amount < minOperatorStake) {
      if (this.once('stake', now)) this.init.send({ type: 'stake', operator: fromHex(this.init.operator), amount: this.init.stake }, 'stake')
      return
    }
    if (this.once('offer', now)) {
      this.init.send({ type: 'offer', kind: this.kind, capacity: this.init.offer.capacity, price: this.init.offer.price }, 'offer')
      this.init.log(this.kind === 'storage'
        ? `market: offering ${this.init.offer.capacity} GiB of storage at ${this.init.offer.price} per GiB per period`
        : `market: offering compute on ${this.init.offer.capacity} cores at ${this.init.offer.price} per core-second`)
    }
  }

  /** Fixes the randomness of the period that just ended: the designated offerer first, anyone after a while. */
  private fixBeacon (view: StateView, ended: number, into: number, now: number): void {
    if (ended < 0 || view.entry(marketKey.beacon(ended)) !== undefined) return
    const offerers = providerIndex(view).map(toHex).filter(a => getOffer(view, fromHex(a), 'storage') !== undefined).sort()
    const designated = offerers.length === 0 ? undefined : offerers[ended % offerers.length]
    if ((designated === this.address || into >= fallbackAfterBps) && this.once(`tick/${ended}`, now)) this.send({ type: 'market-tick' }, 'market-tick')
  }

  /** Audits every holder this node was assigned to in `period`, once, and submits the findings in one transaction. */
  private async audit (view: StateView, open: Deal[], period: number): Promise<void> {
    if (this.auditedPeriods.has(period)) return
    const beacon = view.entry<Uint8Array>(marketKey.beacon(period))
    if (beacon === undefined) return
    this.auditedPeriods.add(period)
    if (this.auditedPeriods.size > 16) this.auditedPeriods.delete(Math.min(...this.auditedPeriods))
    const auditors = auditorCandidates(view)
    const jobs: Array<Promise<SignedAuditResult>> = []
    for (const deal of open) {
      if (deal.dataRoot === undefined || deal.segments === undefined || deal.cid === undefined) continue
      if (period < deal.startPeriod || period < deal.nextPeriod || period >= deal.startPeriod + deal.periods) continue
      const seed = auditSeed(beacon, deal.id, period)
      for (const h of holdersOf(deal)) {
        const node = getProvider(view, fromHex(h.provider))
        if (node === undefined || h.provider === this.address || h.since > period) continue
        const excludedGroups = new Set([groupOf(view, toHex(node.operator)), groupOf(view, deal.client)])
        const assigned = assignAuditors(auditorDraws(seed), auditors, excludedGroups, new Set([h.provider, deal.client]))
        if (!assigned.some(a => a.id === this.address)) continue
        jobs.push(this.auditOne(deal, h.provider, node.node, period, challengeIndices(seed, deal.segments)))
      }
    }
    const results = await Promise.all(jobs)
    for (let i = 0; i < results.length; i += maxAuditResultsPerTx) {
      this.send({ type: 'audit-result', results: results.slice(i, i + maxAuditResultsPerTx) }, 'audit findings')
    }
    if (results.length > 0) this.init.log(`market: audited period ${period}: ${results.map(r => `${r.dealId}/${toHex(r.provider).slice(0, 8)} ${r.outcome}`).join(', ')}`)
  }

  private async auditOne (deal: Deal, provider: string, nodeKey: Uint8Array, period: number, indices: number[]): Promise<SignedAuditResult> {
    const started = Date.now()
    let outcome: AuditOutcome = 'pass'
    try {
      const response = await this.init.host.request(peerIdOfPublicKey(nodeKey), auditProtocol, encodeAuditRequest({ dealId: deal.id, period, indices }), {
        timeoutMs: Math.min(auditTimeoutMs, Math.floor(this.periodMs() / 3)),
        maxResponseBytes: maxAuditResponseBytes
      })
      const answers = decodeAuditAnswer(response)
      const proven = new Set<number>()
      for (const a of answers) { checkAnswer(deal.dataRoot!, deal.segments!, indices, a.index, a.segment, a.path); proven.add(a.index) }
      if (!indices.every(i => proven.has(i))) outcome = 'wrong'
    } catch (err) {
      const name = (err as Error).name
      outcome = name === 'WrongProofError' || name === 'MalformedMessageError' ? 'wrong' : 'missing'
    }
    const latencyMs = outcome === 'pass' ? Date.now() - started : 0
    const statement = { dealId: deal.id, provider, period, outcome, latencyMs }
    const { chainId } = this.init.ledger.chain.genesis
    return { ...statement, provider: fromHex(provider), auditor: this.init.key.publicKey, sig: signAuditStatement(this.init.key.secretKey, chainId, statement) }
  }

  /** The holder side of the audit protocol: challenged segments of a deal this node holds. */
  private async answerAudit (request: Uint8Array): Promise<Uint8Array> {
    const q = decodeAuditRequest(request)
    const deal = getDeal(this.init.ledger.view(), q.dealId)
    if (deal.cid === undefined || !holdersOf(deal).some(h => h.provider === this.address)) throw new Error(`this node does not hold deal ${q.dealId}`)
    return encodeAuditAnswer(await this.held().answer(deal.cid, q.indices))
  }

  /** A dispute by rule: without a passing quorum for `period`, answer the challenge on the ledger before its deadline. */
  private async answerOwnChallenges (view: StateView, open: Deal[], period: number, now: number): Promise<void> {
    const beacon = view.entry<Uint8Array>(marketKey.beacon(period))
    if (beacon === undefined) return
    for (const deal of open) {
      if (deal.cid === undefined || deal.segments === undefined || period < deal.nextPeriod || period < deal.startPeriod) continue
      if (!holdersOf(deal).some(h => h.provider === this.address && h.since <= period)) continue
      const evidence = view.entry<PeriodEvidence>(marketKey.evidence(deal.id, this.address, period)) ?? emptyEvidence()
      if (evidence.answered || countOutcome(evidence, 'pass') >= auditQuorum) continue
      if (!this.once(`answer/${deal.id}/${period}`, now)) continue
      const indices = challengeIndices(auditSeed(beacon, deal.id, period), deal.segments).filter(i => !evidence.proven.includes(i))
      const unique = [...new Set(indices)]
      try {
        const answers = await this.held().answer(deal.cid, unique)
        for (let i = 0; i < answers.length; i += maxAnswersPerTx) {
          this.send({ type: 'audit-answer', dealId: deal.id, period, answers: answers.slice(i, i + maxAnswersPerTx) }, 'challenge answer')
        }
        this.init.log(`market: answered period ${period} of ${deal.id} on the ledger (${countOutcome(evidence, 'pass')} auditor passes of ${auditQuorum} needed)`)
      } catch (err) {
        this.init.log(`market: cannot answer period ${period} of ${deal.id}: ${(err as Error).message}`)
      }
    }
  }

  /** Settles every decided period of the deals this node is designated for, in one transaction. */
  private settle (view: StateView, open: Deal[], period: number, into: number, now: number): void {
    const items: Array<{ dealId: string, period: number }> = []
    for (const deal of open) {
      const holders = holdersOf(deal).map(h => h.provider).sort()
      if (!holders.includes(this.address)) continue
      // A period is decided once its answer window (the next period) has closed.
      const decidedUpTo = Math.min(period - 2, deal.startPeriod + deal.periods - 1)
      if (deal.nextPeriod > decidedUpTo) continue
      const late = deal.nextPeriod < decidedUpTo || into >= fallbackAfterBps
      if (holders[0] !== this.address && !late) continue
      if (!this.once(`settle/${deal.id}/${deal.nextPeriod}`, now)) continue
      for (let p = deal.nextPeriod; p <= decidedUpTo && items.length < maxSettleItems; p++) items.push({ dealId: deal.id, period: p })
    }
    if (items.length > 0) this.send({ type: 'settle', items }, `settlement of ${items.length} deal periods`)
  }

  /** Fills the vacant slots of deals this node is the designated remaining holder of. */
  private replace (view: StateView, open: Deal[], period: number, now: number): void {
    const params = this.init.ledger.chain.genesis.params
    for (const deal of open) {
      const vacant = vacantSlots(deal)
      if (vacant.length === 0) continue
      const holders = holdersOf(deal).map(h => h.provider).sort()
      if (holders[0] !== this.address) continue
      const slot = vacant[0]!
      if (!this.once(`replace/${deal.id}/${slot}/${deal.nextPeriod}`, now)) continue
      const pinned = deal.cid === undefined ? [] : (getPin(view, deal.cid)?.holders ?? []).map(toHex)
      const excluded = new Set([...holders, deal.client])
      const candidates: Candidate[] = []
      for (const a of providerIndex(view)) {
        const id = toHex(a)
        const node = getProvider(view, a)
        const offer = getOffer(view, a, deal.kind)
        if (node === undefined || offer === undefined || excluded.has(id) || !isProviderLive(node, this.init.ledger.chain.time, params)) continue
        const record = getRecord(view, id)
        const rep = reputationOf(record, period)
        const failures = record.periods.filter(([p, o]) => o !== 'pass' && p > period - 16)
        candidates.push({
          provider: id, group: groupOf(view, toHex(node.operator)), region: offer.region, price: offer.price, capacity: offer.capacity,
          free: freeCapacity(offer), score: score(rep), since: offer.since, recentFailures: failures.length,
          ...(rep.lastFailure === undefined ? {} : { lastFailure: rep.lastFailure })
        })
      }
      // A pin holder outside the deal already has the content (a repair of a silent holder put it
      // there): it is the cheapest replacement. The dropped holder itself is on probation anyway.
      const pinnedOutside = candidates.filter(c => pinned.includes(c.provider))
      const shares = getShares(view, deal.kind)
      const current = holdersOf(deal).map(h => ({ provider: h.provider, group: h.group, region: h.region }))
      try {
        const select = (pool: Candidate[]): Candidate => selectProviders({
          candidates: pool, policy: deal.policy, count: 1, units: deal.units, period, current, maxPrice: maxSlotPrice(deal, slot, 1),
          shares: { total: shares.total, byGroup: new Map(Object.entries(shares.byGroup)) },
          tally: { placements: 0, newcomer: 0 },
          random: seededRandom(period ^ Number(deal.id.slice(1)))
        })[0]!
        let pick: Candidate
        try { pick = select(pinnedOutside) } catch { pick = select(candidates) }
        this.init.log(`market: ${deal.id} slot ${slot} is vacant; replacing with ${pick.provider.slice(0, 12)}… (${pick.region}, price ${pick.price})`)
        this.send({ type: 'deal-replace', dealId: deal.id, slot, provider: fromHex(pick.provider) }, 'replacement')
      } catch (err) {
        this.init.log(`market: no replacement for ${deal.id} slot ${slot} yet: ${(err as Error).message}`)
      }
    }
  }

  private held (): HeldContent {
    if (this.init.held === undefined) throw new Error('this node holds no content')
    return this.init.held
  }

  private send (body: MarketTxBody, what: string): void {
    this.init.send(body, what)
  }
}
