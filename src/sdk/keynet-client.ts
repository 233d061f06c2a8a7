/**
 * The one client of Keynet resources: resolves names (verified), reaches providers over libp2p,
 * uploads content to chosen providers and gets it pinned, and fetches content from its holders,
 * verified block by block. The CLI, the SDK's `fetch`, benchmarks and the gateway all use it; a
 * node passes its own ledger as the directory and its own libp2p host.
 */
import { generateKeyPair, type KeyPair } from '../foundations/crypto.ts'
import { KeynetError, UnavailableError } from '../foundations/errors.ts'
import { contentResponse } from './content-response.ts'
import { parseKeyUrl } from './key-url.ts'
import type { KvVersions } from './kv-versions.ts'
import { serviceEndpointFor } from './service-access.ts'
import { RoutingPools } from '../services/routing/index.ts'
import type { ServiceClient } from '../services/service/index.ts'
import { NoContentError } from '../services/content/errors.ts'
import { maxFetchProviders } from '../services/storage/constants.ts'
import { httpUrlOf } from '../services/storage/http-addr.ts'
import { parseCid, type Block, type BlockGetter, type CID } from '../core/content/cid.ts'
import { chooseHolders } from '../core/placement/choose-holders.ts'
import { BlockFetcher } from '../services/content/block-fetcher.ts'
import { dialAddrs, type Directory, type ProviderInfo } from '../services/content/directory.ts'
import type { Fault, FaultLog } from '../services/content/fault-log.ts'
import { importLocal, type LocalSource } from '../services/content/import-fs.ts'
import { lazyP2PHost, type P2PHost } from '../services/p2p/index.ts'
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
  /** Sees every block as it is imported (a block may be seen again when a failed provider is replaced). */
  onBlock?: (block: Block) => void
  signal?: AbortSignal
}

export interface UploadResult {
  root: CID
  size: number
  holders: ProviderInfo[]
  receipts: PlacementReceipt[]
  regions: number
  operators: number
}

export interface KeynetClientInit {
  directory: Directory
  host: P2PHost
  faults?: FaultLog
  /** Signs key-value writes: the name owner's key or a delegated one. */
  signer?: KeyPair
  /** Routing pools (one per service endpoint); a node passes pools that report to its metrics. */
  pools?: RoutingPools
  /** The client's region: near providers are preferred. */
  region?: string
  /** Stop the host on `close()` (a client that started its own). */
  ownsHost?: boolean
  /** How blocks are fetched: over providers' HTTP block endpoints where they have one (`auto`, the default), or over libp2p only. */
  blockTransport?: BlockTransport
}

/** How a client fetches blocks: `auto` uses a provider's HTTP block endpoint when it announces one, `libp2p` never does. */
export type BlockTransport = 'auto' | 'libp2p'

/** Fetchers kept for recently used roots. */
const maxCachedFetchers = 64
/** A root's fetcher is rebuilt after this long, so holder changes (repairs) are picked up. */
const fetcherTtlMs = 10_000

export class KeynetClient {
  readonly directory: Directory
  readonly host: P2PHost
  private readonly faults: FaultLog | undefined
  private readonly signer: KeyPair | undefined
  private readonly ownsHost: boolean
  private readonly blockTransport: BlockTransport
  readonly pools: RoutingPools
  /**
   * The service and key-value clients, loaded on first use: a client that only fetches content
   * (`keynet get`) does not load them.
   */
  private services: Promise<ServiceClient> | undefined
  /** The latest version seen of each key, so writes need no read first. */
  private kvVersions: Promise<KvVersions> | undefined
  private readonly fetchers = new Map<string, { at: number, fetcher: Promise<BlockFetcher> }>()

  constructor (init: KeynetClientInit) {
    this.directory = init.directory
    this.host = init.host
    this.faults = init.faults
    this.signer = init.signer
    this.ownsHost = init.ownsHost ?? false
    this.blockTransport = init.blockTransport ?? 'auto'
    this.pools = init.pools ?? new RoutingPools(init.region === undefined ? {} : { region: init.region })
  }

  /** A client with a libp2p host of its own (loopback-reachable, no peer exchange, started on first use) for a process without a node. */
  static async withOwnHost (init: { directory: Directory, faults?: FaultLog, signer?: KeyPair, region?: string, blockTransport?: BlockTransport }): Promise<KeynetClient> {
    // Started on first use: a client that reaches every provider over HTTP never loads libp2p.
    const host = lazyP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    return new KeynetClient({ ...init, host, ownsHost: true })
  }

  async close (): Promise<void> {
    for (const { fetcher } of this.fetchers.values()) fetcher.then(f => { f.close() }, () => {})
    this.fetchers.clear()
    if (this.ownsHost) await this.host.stop()
  }

  /** Live storage providers. */
  async liveProviders (signal?: AbortSignal): Promise<ProviderInfo[]> {
    return (await this.directory.providers(signal)).filter(p => p.kinds.includes('storage'))
  }

  /** The content root a name points at (verified), for the gateway and `fetch`. */
  async resolve (name: string, signal?: AbortSignal): Promise<{ cid: CID, version: number }> {
    const resolved = await this.directory.resolveName(name, signal)
    const content = resolved.records.content
    if (content === undefined) throw new NoContentError(`${resolved.name} has no content record: publish with \`keynet publish <folder> --name ${resolved.name}\``)
    return { cid: parseCid(content.cid), version: resolved.version }
  }

  /**
   * One call for every resource: `key://mysite.key/<path>` and `key://<cid>/<path>` give the
   * content (verified); errors come back as a `Response` with a JSON `{ error: { name, message } }`.
   */
  async fetch (input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const request = input instanceof Request ? input : undefined
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase()
    const headers = new Headers(init.headers ?? request?.headers)
    const signal = init.signal ?? request?.signal ?? undefined
    try {
      const url = parseKeyUrl(request?.url ?? (input as string | URL))
      const sig = signal ?? undefined
      if (url.kind === 'name' && !url.path.startsWith('/kv/')) {
        const name = await this.directory.resolveName(url.name, sig)
        const endpoint = serviceEndpointFor(name.records, url.path)
        if (endpoint !== undefined) {
          const { callService } = await import('./service-access.ts')
          return await callService(
            { host: this.host, pools: this.pools, services: await this.serviceClient(), name, endpoint, providers: await this.directory.providers(sig) },
            `key://${url.name}${url.path}${url.search}`,
            { method, headers, body: init.body ?? request?.body, signal: sig }
          )
        }
      }
      if (url.kind === 'name' && url.path.startsWith('/kv/')) {
        const key = decodeURIComponent(url.path.slice(4))
        const [{ kvRead, kvResponse, kvWrite }, versions] = await Promise.all([import('./kv-access.ts'), this.kvVersionsOf()])
        const ctx = { host: this.host, name: await this.directory.resolveName(url.name, sig), providers: await this.liveProviders(sig), ...(sig === undefined ? {} : { signal: sig }) }
        if (method === 'GET' || method === 'HEAD') return kvResponse(await kvRead(ctx, key, versions), key, method === 'HEAD')
        const expect = headers.get('if-version')
        const expectVersion = expect === null ? undefined : Number(expect)
        if (method === 'PUT') {
          const body = new Uint8Array(await new Response(init.body ?? request?.body ?? null).arrayBuffer())
          const written = await kvWrite(ctx, key, body, this.signer, versions, expectVersion)
          return Response.json({ key, version: written.version }, { status: 200, headers: { 'x-kv-version': String(written.version) } })
        }
        if (method === 'DELETE') {
          const written = await kvWrite(ctx, key, null, this.signer, versions, expectVersion)
          return Response.json({ key, version: written.version, deleted: true }, { status: 200, headers: { 'x-kv-version': String(written.version) } })
        }
        return errorResponse(405, 'MethodNotAllowedError', `${method} is not allowed on key-value data; use GET, HEAD, PUT or DELETE`)
      }
      if (method !== 'GET' && method !== 'HEAD') return errorResponse(405, 'MethodNotAllowedError', `${method} is not allowed on content; use GET or HEAD`)
      const root = url.kind === 'cid' ? url.cid : (await this.resolve(url.name, sig)).cid
      return await contentResponse(root, url.path, this.blocks(root), { method, headers, ...(signal === undefined || signal === null ? {} : { signal }) })
    } catch (err) {
      if (signal?.aborted === true) throw err
      const status = err instanceof KeynetError ? err.status : 500
      return errorResponse(status, (err as Error).name, (err as Error).message)
    }
  }

  private async serviceClient (): Promise<ServiceClient> {
    this.services ??= import('../services/service/index.ts').then(({ ServiceClient }) => new ServiceClient({ host: this.host }))
    return await this.services
  }

  private async kvVersionsOf (): Promise<KvVersions> {
    this.kvVersions ??= import('./kv-versions.ts').then(({ KvVersions }) => new KvVersions())
    return await this.kvVersions
  }

  /** Whether `path` of `name` goes to a backend (the name's `service` record covers it). */
  async isServicePath (name: string, path: string, signal?: AbortSignal): Promise<boolean> {
    try {
      return serviceEndpointFor((await this.directory.resolveName(name, signal)).records, path) !== undefined
    } catch {
      return false
    }
  }

  /** Verified blocks of content under `root`, fetched from its holders (shared per root for a while). */
  readonly blocks = (root: CID): BlockGetter => async (cid, signal) => {
    const fetcher = await this.fetcherFor(root, signal)
    return await fetcher.get(cid, signal)
  }

  private async fetcherFor (root: CID, signal?: AbortSignal): Promise<BlockFetcher> {
    const key = root.toString()
    const now = Date.now()
    const cached = this.fetchers.get(key)
    if (cached !== undefined && now - cached.at < fetcherTtlMs) {
      this.fetchers.delete(key)
      this.fetchers.set(key, cached)
      return await cached.fetcher
    }
    const fetcher = this.blocksFor(root, signal).then(r => r.fetcher)
    fetcher.catch(() => { this.fetchers.delete(key) })
    this.fetchers.set(key, { at: now, fetcher })
    while (this.fetchers.size > maxCachedFetchers) {
      const [oldest, entry] = this.fetchers.entries().next().value!
      this.fetchers.delete(oldest)
      // Gets still running on it keep their connections until they end: the sockets close when idle.
      entry.fetcher.then(f => { setTimeout(() => { f.close() }, fetcherTtlMs).unref() }, () => {})
    }
    return await fetcher
  }

  /**
   * A verified block getter for content under `root`: its pin's holders, or every live provider
   * when the root is not pinned (a CID inside someone else's DAG).
   */
  async blocksFor (root: CID, signal?: AbortSignal): Promise<{ get: BlockGetter, fetcher: BlockFetcher, providers: ProviderInfo[] }> {
    const live = await this.liveProviders(signal)
    let providers = live
    const pin = await this.directory.pin(root.toString(), signal)
    if (pin !== undefined) {
      const holders = live.filter(p => pin.holders.includes(p.address))
      if (holders.length > 0) providers = [...holders, ...live.filter(p => !pin.holders.includes(p.address))]
    }
    if (providers.length === 0) throw new UnavailableError('no live storage provider is registered on this network')
    const chosen = providers.slice(0, maxFetchProviders)
    const fetcher = new BlockFetcher({
      host: this.host,
      providers: chosen.map(p => {
        const httpUrl = this.blockTransport === 'auto' ? httpUrlOf(p.addrs) : undefined
        return { peerId: p.peerId, addrs: dialAddrs(p), region: p.region, ...(httpUrl === undefined ? {} : { httpUrl }) }
      }),
      // Content blocks are chosen by the same routing core as services, measured per root.
      pool: this.pools.pool(`content:${root.toString()}`, chosen.map(p => ({ id: p.peerId, region: p.region }))),
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
    const done: Array<{ provider: ProviderInfo, receipt: PlacementReceipt }> = []
    let root: CID | undefined
    let size = 0
    for (let round = 0; chosen.length > 0; round++) {
      const targets = chosen.map(p => new UploadTarget(this.host, p, opts.signal))
      await Promise.all(targets.map(async t => { await t.connect() }))
      const note = round === 0 ? `to ${targets.length} providers` : `re-sending to ${targets.map(t => t.provider.region).join(', ')}`
      const imported = await importLocal(opts.source, {
        put: async (block: Block) => { opts.onBlock?.(block); await Promise.all(targets.map(async t => { await t.add(block) })) }
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

function errorResponse (status: number, name: string, message: string): Response {
  return Response.json({ error: { name, message } }, { status })
}

/** One provider receiving an upload: batches blocks, keeps a bounded window of puts in flight. */
class UploadTarget {
  readonly provider: ProviderInfo
  receipt: PlacementReceipt | undefined
  error: string | undefined
  private readonly host: P2PHost
  private readonly client: BlockClient
  private readonly signal: AbortSignal | undefined
  private batch: Block[] = []
  private batchBytes = 0
  private readonly inFlight = new Set<Promise<void>>()

  constructor (host: P2PHost, provider: ProviderInfo, signal: AbortSignal | undefined) {
    this.host = host
    this.provider = provider
    this.signal = signal
    this.client = new BlockClient({ host, peerId: provider.peerId, publicKey: hexBytes(provider.publicKey) })
  }

  async connect (): Promise<void> {
    for (const addr of dialAddrs(this.provider)) {
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

function hexBytes (hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}
