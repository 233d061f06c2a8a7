/**
 * What a storage provider does besides answering block requests: it watches committed blocks
 * for pins that name it (a new publish or a repair) and pulls those DAGs from the other holders,
 * drops pins it no longer holds, and repairs pins whose other holders have gone silent.
 *
 * Repair is decided by the ledger: every holder notices a silent holder, but only the first
 * live holder by address submits the repair, and the ledger accepts only the first repair of a
 * gone holder anyway, so the replacement is chosen once.
 */
import { equalBytes, fromHex, toHex, utf8 } from '../../foundations/bytes.ts'
import { getPin, getProvider, isProviderLive, kindsOf, providerIndex } from '../../core/ledger/providers.ts'
import type { PinEntry, ProviderEntry } from '../../core/ledger/types.ts'
import { chooseHolders, type Candidate } from '../../core/placement/choose-holders.ts'
import { parseCid, type CID } from '../../core/content/cid.ts'
import { walkDag } from '../../core/content/exporter.ts'
import type { CommittedBlock, LedgerNode } from '../ledger/ledger-node.ts'
import type { ProviderRegistration } from './provider-registration.ts'
import type { P2PHost } from '../p2p/index.ts'
import { peerIdOfPublicKey } from '../p2p/index.ts'
import { BlockFetcher } from '../content/block-fetcher.ts'
import type { FaultLog } from '../content/fault-log.ts'
import type { BlockStore } from '../storage/block-store.ts'
import { httpUrlOf, p2pAddrs } from '../storage/http-addr.ts'

export interface ReplicatorInit {
  ledger: LedgerNode
  host: P2PHost
  store: BlockStore
  /** The node's provider entry; repairs are sent from its key. */
  registration: ProviderRegistration
  faults?: FaultLog
  log: (line: string) => void
  /** How often to look for silent holders (default 2 s). */
  repairCheckMs?: number
}

/** Pins being pulled at once. */
const maxConcurrentPulls = 4
/** A repair submitted is not submitted again for this long (it commits within a second or two). */
const repairRetryMs = 15_000

export class Replicator {
  private readonly init: ReplicatorInit
  private readonly address: Uint8Array
  private readonly pulling = new Map<string, Promise<void>>()
  private readonly waiting: string[] = []
  private readonly repairsSent = new Map<string, number>()
  private timers: NodeJS.Timeout[] = []
  private stopped = false
  private readonly onCommit = (c: CommittedBlock): void => { this.committed(c) }

  constructor (init: ReplicatorInit) {
    this.init = init
    this.address = init.registration.address
  }

  start (): void {
    this.init.ledger.on('commit', this.onCommit)
    this.timers.push(setInterval(() => { this.checkRepairs() }, this.init.repairCheckMs ?? 2000))
    // Pins assigned while this node was down: resume them from the ledger's current state.
    for (const root of this.init.store.pinned()) this.reconcile(root.toString())
  }

  stop (): void {
    this.stopped = true
    this.init.ledger.off('commit', this.onCommit)
    for (const t of this.timers) clearInterval(t)
    this.timers = []
  }

  /** Roots being pulled or queued. */
  get pending (): number {
    return this.pulling.size + this.waiting.length
  }

  private committed (c: CommittedBlock): void {
    for (const change of c.outcome.changes) {
      const key = utf8.decode(change.key)
      if (key.startsWith('pin/')) this.reconcile(key.slice(4))
    }
  }

  /** Brings the local pin of one root in line with the ledger: pull it, or drop it. */
  private reconcile (cidText: string): void {
    const pin = getPin(this.init.ledger.view(), cidText)
    const mine = pin !== undefined && pin.holders.some(h => equalBytes(h, this.address))
    let root: CID
    try { root = parseCid(cidText) } catch { return }
    if (!mine) {
      if (this.init.store.isPinned(root)) {
        this.init.store.unpin(root).then(
          () => { this.init.log(`unpinned ${cidText}: this node no longer holds it`) },
          err => { this.init.log(`unpin of ${cidText} failed: ${(err as Error).message}`) })
      }
      return
    }
    if (this.pulling.has(cidText) || this.waiting.includes(cidText)) return
    this.waiting.push(cidText)
    this.pump()
  }

  private pump (): void {
    while (!this.stopped && this.pulling.size < maxConcurrentPulls && this.waiting.length > 0) {
      const cidText = this.waiting.shift()!
      const job = this.pull(cidText)
        .catch(err => { this.init.log(`pull of ${cidText} failed, will retry on the next check: ${(err as Error).message}`) })
        .finally(() => { this.pulling.delete(cidText); this.pump() })
      this.pulling.set(cidText, job)
    }
  }

  /** Makes every block of the DAG local, fetching what is missing from the other holders. */
  private async pull (cidText: string): Promise<void> {
    const pin = getPin(this.init.ledger.view(), cidText)
    if (pin === undefined) return
    const root = parseCid(cidText)
    const { store } = this.init
    await store.pin(root)
    if ((await store.missing(root)).length === 0) return
    const others = this.holderPeers(pin).filter(p => p.peerId !== this.init.host.peerId)
    const fetcher = new BlockFetcher({
      host: this.init.host,
      providers: others,
      ...(this.init.faults === undefined ? {} : { onFault: f => this.init.faults?.append(f) })
    })
    const started = Date.now()
    let blocks = 0
    let bytes = 0
    const get = async (cid: CID, signal?: AbortSignal): Promise<Uint8Array> => {
      const local = await store.get(cid)
      if (local !== undefined) return local
      const fetched = await fetcher.get(cid, signal)
      await store.put({ cid, bytes: fetched })
      blocks++
      bytes += fetched.byteLength
      return fetched
    }
    for await (const _ of walkDag(root, get, { concurrency: 16 })) { if (this.stopped) return }
    this.init.log(`pulled ${cidText}: ${blocks} blocks, ${bytes} bytes from ${others.length} holders in ${Date.now() - started} ms`)
  }

  private holderPeers (pin: PinEntry): Array<{ peerId: string, addrs: string[], httpUrl?: string }> {
    const view = this.init.ledger.view()
    return pin.holders.flatMap(h => {
      const p = getProvider(view, h)
      if (p === undefined) return []
      const peerId = peerIdOfPublicKey(p.node)
      const httpUrl = httpUrlOf(p.addrs)
      return [{ peerId, addrs: p2pAddrs(p.addrs).map(a => `${a}/p2p/${peerId}`), ...(httpUrl === undefined ? {} : { httpUrl }) }]
    })
  }

  /** For each pin held here, replace holders silent past the chain's timeout (once, see above). */
  private checkRepairs (): void {
    const { ledger } = this.init
    const view = ledger.view()
    const now = ledger.chain.time
    const params = ledger.chain.genesis.params
    const live = (p: ProviderEntry | undefined): boolean => p !== undefined && isProviderLive(p, now, params)
    for (const root of this.init.store.pinned()) {
      const cidText = root.toString()
      const pin = getPin(view, cidText)
      if (pin === undefined) { this.reconcile(cidText); continue }
      const gone = pin.holders.filter(h => !live(getProvider(view, h)))
      if (gone.length === 0) continue
      const liveHolders = pin.holders.filter(h => live(getProvider(view, h))).map(toHex).sort()
      if (liveHolders[0] !== toHex(this.address)) continue
      const candidates = providerIndex(view).flatMap(a => {
        const p = getProvider(view, a)
        return live(p) && kindsOf(p!).includes('storage') ? [candidateOf(a, p!)] : []
      })
      const current = pin.holders.filter(h => live(getProvider(view, h))).map(h => candidateOf(h, getProvider(view, h)!))
      const exclude = new Set(pin.holders.map(toHex))
      const placement = chooseHolders(cidText, current.length + gone.length, candidates.filter(c => !exclude.has(c.id)), current)
      const replacements = placement.holders.slice(current.length)
      for (const [i, g] of gone.entries()) {
        const replacement = replacements[i]
        const key = `${cidText}/${toHex(g)}`
        const sentAt = this.repairsSent.get(key)
        if (replacement === undefined || (sentAt !== undefined && Date.now() - sentAt < repairRetryMs)) continue
        this.repairsSent.set(key, Date.now())
        if (this.repairsSent.size > 10_000) this.repairsSent.clear()
        this.init.log(`repair ${cidText}: holder ${toHex(g).slice(0, 12)}… silent; replacing it with ${replacement.id.slice(0, 12)}… (${replacement.region}, operator ${replacement.operator.slice(0, 8)}…)`)
        this.init.registration.send({ type: 'pin-repair', cid: cidText, gone: g, replacement: fromHex(replacement.id) }, 'repair')
      }
    }
  }
}

function candidateOf (address: Uint8Array, p: ProviderEntry): Candidate {
  return { id: toHex(address), operator: toHex(p.operator), region: p.region }
}

