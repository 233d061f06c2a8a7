/**
 * The client side of content: upload a file or folder to chosen providers and get it pinned,
 * and fetch content from its holders, verified block by block. Used by the CLI and benchmarks;
 * it talks to one node's API for the registry and pins, and to providers over libp2p.
 */
import { generateKeyPair } from '../foundations/crypto.ts'
import { UnavailableError } from '../foundations/errors.ts'
import { type Block, type BlockGetter, type CID } from '../core/content/cid.ts'
import { chooseHolders } from '../core/placement/choose-holders.ts'
import type { ApiClient } from '../edges/api/client.ts'
import type { ProviderView } from '../edges/api/types.ts'
import { BlockFetcher } from '../services/content/block-fetcher.ts'
import type { Fault, FaultLog } from '../services/content/fault-log.ts'
import { importLocal, type LocalSource } from '../services/content/import-fs.ts'
import { createP2PHost, type P2PHost } from '../services/p2p/index.ts'
import { BlockClient, type PlacementReceipt } from '../services/storage/block-protocol.ts'

/** Bytes gathered per provider before one put request. */
const uploadBatchBytes = 4 * 1024 * 1024
/** Put requests in flight per provider: enough to keep the pipe full, bounded memory. */
const uploadWindow = 3

export interface UploadOptions {
  source: LocalSource
  replicas: number
  /** Spreads different content over different providers (the name, or the file name). */
  contentKey: string
  onProgress?: (bytesRead: number, note: string) => void
  signal?: AbortSignal
}

export interface UploadResult {
  root: CID
  size: number
  holders: ProviderView[]
  receipts: PlacementReceipt[]
  regions: number
  operators: number
}

export class ContentClient {
  readonly api: ApiClient
  readonly host: P2PHost
  private readonly faults: FaultLog | undefined

  private constructor (api: ApiClient, host: P2PHost, faults: FaultLog | undefined) {
    this.api = api
    this.host = host
    this.faults = faults
  }

  /** Starts a client libp2p host (loopback-reachable, no peer exchange) next to the API client. */
  static async open (init: { api: ApiClient, faults?: FaultLog }): Promise<ContentClient> {
    const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    await host.start()
    return new ContentClient(init.api, host, init.faults)
  }

  async close (): Promise<void> {
    await this.host.stop()
  }

  async liveProviders (signal?: AbortSignal): Promise<ProviderView[]> {
    return (await this.api.providers(signal)).providers.filter(p => p.live)
  }

  /**
   * A verified block getter for content under `root`: its pin's holders, or every live provider
   * when the root is not pinned (a CID inside someone else's DAG).
   */
  async blocksFor (root: CID, signal?: AbortSignal): Promise<{ get: BlockGetter, fetcher: BlockFetcher, providers: ProviderView[] }> {
    const live = await this.liveProviders(signal)
    let providers = live
    try {
      const pin = await this.api.pin(root.toString(), signal)
      const holders = live.filter(p => pin.holders.includes(p.address))
      if (holders.length > 0) providers = [...holders, ...live.filter(p => !pin.holders.includes(p.address))]
    } catch (err) {
      if ((err as Error).name !== 'NotFoundError') throw err
    }
    if (providers.length === 0) throw new UnavailableError('no live storage provider is registered on this network')
    const fetcher = new BlockFetcher({
      host: this.host,
      providers: providers.map(p => ({ peerId: p.peerId, addrs: withPeer(p) })),
      onFault: (f: Fault) => { this.faults?.append(f) }
    })
    return { get: fetcher.get, fetcher, providers }
  }

  /**
   * Chooses `replicas` providers (distinct regions, then distinct operators), streams every
   * block of the source to all of them, and collects each one's signed placement receipt. A
   * provider that fails mid-upload is replaced by the next choice, which gets the whole DAG again
   * (re-reading the source: identical content gives identical blocks).
   */
  async upload (opts: UploadOptions): Promise<UploadResult> {
    const live = await this.liveProviders(opts.signal)
    if (live.length === 0) throw new UnavailableError('no live storage provider is registered on this network: start some (`npm start` runs six)')
    const byId = new Map(live.map(p => [p.address, p]))
    const candidates = live.map(p => ({ id: p.address, operator: p.operator, region: p.region }))
    let chosen = chooseHolders(opts.contentKey, opts.replicas, candidates).holders.map(c => byId.get(c.id)!)
    const failed = new Set<string>()
    const done: Array<{ provider: ProviderView, receipt: PlacementReceipt }> = []
    let root: CID | undefined
    let size = 0
    for (let round = 0; chosen.length > 0; round++) {
      const targets = chosen.map(p => new UploadTarget(this.host, p, opts.signal))
      await Promise.all(targets.map(async t => { await t.connect() }))
      const note = round === 0 ? `to ${targets.length} providers` : `re-sending to ${targets.map(t => t.provider.region).join(', ')}`
      const imported = await importLocal(opts.source, {
        put: async (block: Block) => { await Promise.all(targets.map(async t => { await t.add(block) })) }
      }, bytes => opts.onProgress?.(bytes, note), opts.signal)
      root = imported.cid
      size = imported.size
      await Promise.all(targets.map(async t => { await t.finish(imported.cid) }))
      for (const t of targets) {
        if (t.receipt !== undefined) done.push({ provider: t.provider, receipt: t.receipt })
        else failed.add(t.provider.address)
      }
      const need = opts.replicas - done.length
      if (need <= 0) break
      const current = done.map(d => ({ id: d.provider.address, operator: d.provider.operator, region: d.provider.region }))
      const rest = candidates.filter(c => !failed.has(c.id))
      chosen = chooseHolders(opts.contentKey, opts.replicas, rest, current).holders.slice(current.length).map(c => byId.get(c.id)!)
      for (const t of targets) if (t.error !== undefined) opts.onProgress?.(0, `${t.provider.address.slice(0, 10)}… failed (${t.error}); trying another provider`)
    }
    if (root === undefined || done.length === 0) throw new UnavailableError('no provider accepted the content; see `keynet provider ls`')
    const holders = done.map(d => d.provider)
    return {
      root,
      size,
      holders,
      receipts: done.map(d => d.receipt),
      regions: new Set(holders.map(h => h.region)).size,
      operators: new Set(holders.map(h => h.operator)).size
    }
  }
}

/** One provider receiving an upload: batches blocks, keeps a bounded window of puts in flight. */
class UploadTarget {
  readonly provider: ProviderView
  receipt: PlacementReceipt | undefined
  error: string | undefined
  private readonly host: P2PHost
  private readonly client: BlockClient
  private readonly signal: AbortSignal | undefined
  private batch: Block[] = []
  private batchBytes = 0
  private readonly inFlight = new Set<Promise<void>>()

  constructor (host: P2PHost, provider: ProviderView, signal: AbortSignal | undefined) {
    this.host = host
    this.provider = provider
    this.signal = signal
    this.client = new BlockClient({ host, peerId: provider.peerId, publicKey: hexBytes(provider.publicKey) })
  }

  async connect (): Promise<void> {
    for (const addr of withPeer(this.provider)) {
      try { await this.host.connect(addr, this.signal); return } catch (err) { this.error = (err as Error).message }
    }
  }

  async add (block: Block): Promise<void> {
    if (this.failedHard) return
    this.batch.push(block)
    this.batchBytes += block.bytes.byteLength
    if (this.batchBytes >= uploadBatchBytes) await this.flush()
  }

  private get failedHard (): boolean { return this.error !== undefined }

  private async flush (): Promise<void> {
    if (this.batch.length === 0) return
    const blocks = this.batch
    this.batch = []
    this.batchBytes = 0
    while (this.inFlight.size >= uploadWindow) await Promise.race(this.inFlight)
    if (this.failedHard) return
    const put = this.client.put(blocks, this.signal).then(outcomes => {
      const bad = outcomes.find(o => !o.ok)
      if (bad !== undefined && !bad.ok) this.error = bad.error
    }, err => { this.error = (err as Error).message })
    const tracked = put.finally(() => { this.inFlight.delete(tracked) })
    this.inFlight.add(tracked)
  }

  /** Sends the rest, then asks the provider to pin the root: it confirms holding the whole DAG. */
  async finish (root: CID): Promise<void> {
    await this.flush()
    await Promise.all(this.inFlight)
    if (this.failedHard) return
    try {
      const result = await this.client.pin(root, this.signal)
      if (result.pinned) this.receipt = result.receipt
      else this.error = `it lacks ${result.missing.length} blocks after the upload`
    } catch (err) {
      this.error = (err as Error).message
    }
  }
}

function withPeer (p: ProviderView): string[] {
  return p.addrs.map(a => `${a}/p2p/${p.peerId}`)
}

function hexBytes (hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}
