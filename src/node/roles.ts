/**
 * The provider and gateway roles of a node, each built from its parts and started: storage
 * (blocks, pins, key-value shards), service (fronting owners' HTTP backends), compute (running
 * WebAssembly tasks) and gateway (HTTP for browsers). Called by the composition root with what it already built.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../foundations/crypto.ts'
import type { ProviderKind } from '../core/ledger/types.ts'
import { effectiveExpiry, nameStatus } from '../core/ledger/names.ts'
import { parseName } from '../core/names/grammar.ts'
import type { StatusView, StorageStatus } from '../edges/api/types.ts'
import { cacheFirstGetter, EdgeCache } from '../edges/gateway/edge-cache.ts'
import { GatewayServer } from '../edges/gateway/gateway-server.ts'
import { HotCopies } from '../edges/gateway/hot-copies.ts'
import { DnsAnswerer, DnsServer, UdpUpstream } from '../edges/dns/index.ts'
import { isIP } from 'node:net'
import { KeynetClient } from '../sdk/keynet-client.ts'
import { LedgerDirectory } from '../services/content/directory.ts'
import type { FaultLog } from '../services/content/fault-log.ts'
import { KvReplicator, KvStore, serveKv } from '../services/kv/index.ts'
import type { LedgerNode } from '../services/ledger/ledger-node.ts'
import type { NodeMetrics } from '../services/metrics/node-metrics.ts'
import type { P2PHost } from '../services/p2p/index.ts'
import { defaultComputePrice, defaultNodeStake, defaultStoragePrice } from '../services/market/constants.ts'
import { HeldContent } from '../services/market/held-content.ts'
import { MarketAgent } from '../services/market/market-agent.ts'
import { ComputeClaims } from '../services/market/compute-claims.ts'
import { KvAssignments } from '../services/replication/kv-assignments.ts'
import { ProviderRegistration } from '../services/replication/provider-registration.ts'
import { Replicator } from '../services/replication/replicator.ts'
import { RoutingPools } from '../services/routing/index.ts'
import { ComputeHost } from '../services/compute/index.ts'
import { TaskContent } from '../services/compute/task-content.ts'
import { UnavailableError } from '../foundations/errors.ts'
import { checkpointPinWaitMs } from '../services/compute/constants.ts'
import { NodeWallet } from '../services/ledger/node-wallet.ts'
import { ServiceHost } from '../services/service/index.ts'
import { serveBlocks } from '../services/storage/block-protocol.ts'
import { BlockHttpServer } from '../services/storage/block-http.ts'
import { BlockStore } from '../services/storage/block-store.ts'

/** What every role gets from the composition root. */
export interface RoleContext {
  dataDir: string
  ledger: LedgerNode
  p2p: P2PHost
  key: KeyPair
  faults: FaultLog
  metrics: NodeMetrics
  /** Role-specific status fields, shown by `/v1/status`. */
  status: Partial<Pick<StatusView, 'storage' | 'faults'>>
  log: (line: string) => void
}

export interface Role { stop: () => Promise<void> }

/** `<data>/operator.json`: the operator's endorsement of this node (`keynet provider endorse`). */
export interface OperatorFile { operatorKey: string, endorsement: string, operator?: string }

/** A provider's entry on the ledger, for every kind it offers; returns its operator address. */
export function startRegistration (ctx: RoleContext, opts: { kinds: ProviderKind[], region: string, capacityBytes: number, memoryBytes?: number }): { registration: ProviderRegistration, operator: string } {
  const operator = readOperatorFile(ctx.dataDir)
  const registration = new ProviderRegistration({
    ledger: ctx.ledger, host: ctx.p2p, key: ctx.key, kinds: opts.kinds, region: opts.region, capacityBytes: opts.capacityBytes,
    ...(opts.memoryBytes === undefined ? {} : { memoryBytes: opts.memoryBytes }),
    operatorKey: fromHex(operator.operatorKey), endorsement: fromHex(operator.endorsement), log: ctx.log
  })
  registration.start()
  return { registration, operator: toHex(addressOf(fromHex(operator.operatorKey))) }
}

/** Blocks and pins (served, pulled, repaired) and key-value shards (served, synced). */
export async function startStorage (ctx: RoleContext, registration: ProviderRegistration, opts: { region: string, capacityBytes: number, blocksHttp: [string, number] | 'off', operator: string }): Promise<Role> {
  const { ledger, p2p, dataDir, log } = ctx
  const blocks = await BlockStore.open({ dir: join(dataDir, 'blocks'), capacityBytes: opts.capacityBytes })
  ctx.metrics.attach({ blockStore: blocks })
  const stopBlocks = await serveBlocks(p2p, blocks, ctx.key)
  const blocksHttp = opts.blocksHttp === 'off' ? undefined : await BlockHttpServer.listen(blocks, { host: opts.blocksHttp[0], port: opts.blocksHttp[1] })
  if (blocksHttp !== undefined) {
    const addrs = blocksHttp.addrs(p2p.multiaddrs())
    registration.setExtraAddrs(addrs)
    log(`blocks over HTTP at ${addrs.join(' ')}`)
  }
  const replicator = new Replicator({ ledger, host: p2p, store: blocks, registration, faults: ctx.faults, log })
  const kvStore = KvStore.open({ path: join(dataDir, 'kv.db') })
  const shards = new KvAssignments({ ledger, address: registration.address, file: join(dataDir, 'kv-names.json') })
  const stopKv = await serveKv(p2p, kvStore, { ownerOf: shards.ownerOf, shardsHeld: shards.shardsHeld })
  const kvReplicator = new KvReplicator({ host: p2p, store: kvStore, ownerOf: shards.ownerOf, heldShards: shards.heldShards, replicasOf: shards.replicasOf, log })
  const market = new MarketAgent({
    ledger, host: p2p, key: ctx.key, held: new HeldContent(blocks), operator: opts.operator, log,
    send: (body, what) => { registration.send(body, what) },
    offer: { capacity: Math.max(1, Math.floor(opts.capacityBytes / 2 ** 30)), price: defaultStoragePrice },
    stake: defaultNodeStake
  })
  await market.start()
  replicator.start()
  shards.start()
  kvReplicator.start()
  const address = toHex(registration.address)
  Object.defineProperty(ctx.status, 'storage', {
    enumerable: true,
    get: (): StorageStatus => ({ address, region: opts.region, ...blocks.usage(), pinned: blocks.pinned().map(c => c.toString()), pulling: replicator.pending })
  })
  return {
    stop: async () => {
      await market.stop()
      kvReplicator.stop()
      shards.stop()
      replicator.stop()
      await stopKv()
      await blocksHttp?.close()
      await stopBlocks()
      kvStore.close()
    }
  }
}

/** Fronts owners' HTTP backends for requests that arrive over libp2p. */
export async function startService (ctx: RoleContext): Promise<Role> {
  const service = new ServiceHost({
    host: ctx.p2p,
    dataDir: ctx.dataDir,
    ownerOf: name => activeOwner(ctx.ledger, name),
    logger: ctx.log
  })
  await service.start()
  return { stop: async () => { await service.stop() } }
}

/**
 * Runs WebAssembly tasks for others over `/keynet/compute/run/1`, at most `cores` at once, signing
 * a result report for each task with escrow on the ledger. Registered (with `registration`), it
 * stakes for its operator and offers its cores on the market at `price` per core-second.
 * `KEYNET_TEST_COMPUTE_LIE=1` makes it a cheating provider (made-up results), for tests only.
 */
export async function startCompute (ctx: RoleContext, opts: { cores: number, memoryBytes: number, price?: number }, market?: { registration: ProviderRegistration, operator: string }): Promise<Role> {
  // Content by CID and checkpoints as content: through the node's own ledger view, pinned from its key.
  const wallet = new NodeWallet(ctx.ledger, ctx.key)
  const content = new TaskContent({
    client: new KeynetClient({ directory: new LedgerDirectory(ctx.ledger), host: ctx.p2p, faults: ctx.faults }),
    send: body => wallet.send(body),
    committed: async id => {
      const s = await ctx.ledger.txStatus(id, checkpointPinWaitMs)
      if (s.status !== 'committed') throw new UnavailableError(`the pin transaction ${id} was not committed within ${checkpointPinWaitMs} ms`)
      if (s.error !== undefined) throw new UnavailableError(`the pin transaction ${id} failed: ${s.error.name}: ${s.error.message}`)
    },
    dir: join(ctx.dataDir, 'checkpoints'),
    log: ctx.log
  })
  content.start()
  const lie = process.env.KEYNET_TEST_COMPUTE_LIE === '1'
  const claims = market === undefined ? undefined : new ComputeClaims({ ledger: ctx.ledger, address: toHex(market.registration.address), send: (body, what) => { market.registration.send(body, what) }, log: ctx.log })
  const compute = new ComputeHost({
    host: ctx.p2p, cores: opts.cores, memoryBytes: opts.memoryBytes, content, reports: { key: ctx.key, chainId: ctx.ledger.chain.genesis.chainId }, lie, log: ctx.log,
    ...(claims === undefined ? {} : { onReport: (taskId: string, report: { digest: string, coreSeconds: number, sig: Uint8Array }) => { claims.remember(taskId, report) } })
  })
  await compute.start()
  ctx.log(`compute: serving tasks on ${opts.cores} cores, up to ${opts.memoryBytes} bytes of memory each${lie ? ' (KEYNET_TEST_COMPUTE_LIE: answering made-up results)' : ''}`)
  if (market === undefined) return { stop: async () => { await compute.stop(); content.stop() } }
  const agent = new MarketAgent({
    ledger: ctx.ledger, host: ctx.p2p, key: ctx.key, kind: 'compute', operator: market.operator, log: ctx.log,
    send: (body, what) => { market.registration.send(body, what) },
    offer: { capacity: opts.cores, price: opts.price ?? defaultComputePrice },
    stake: defaultNodeStake
  })
  await agent.start()
  claims?.start()
  return { stop: async () => { claims?.stop(); await agent.stop(); await compute.stop(); content.stop() } }
}

/** The gateway's DNS server: where it listens, where foreign names go, and what A/AAAA answers give. */
export interface GatewayDnsOptions {
  listen: [string, number]
  upstream?: [string, number]
  /** Addresses A/AAAA answers give; default the HTTP listen host when it is one address. */
  answer?: string[]
  /** When the port is taken, listen on any free one (devnets started side by side). */
  anyPortIfTaken?: boolean
}

/**
 * HTTP for browsers and tools, reaching providers only through the same client the SDK uses; and
 * DNS for `.key` (UDP, TCP, and over HTTPS on the HTTP port) from the same verified name resolution.
 */
export async function startGateway (ctx: RoleContext, opts: { listen: [string, number], cacheBytes: number, dns?: GatewayDnsOptions }): Promise<Role & { http: string, dns?: string }> {
  let pools!: RoutingPools
  pools = new RoutingPools({ events: ctx.metrics.providers })
  ctx.metrics.attach({ pools: () => pools.views() })
  const client = new KeynetClient({ directory: new LedgerDirectory(ctx.ledger), host: ctx.p2p, faults: ctx.faults, pools })
  const cache = await EdgeCache.open({ dir: join(ctx.dataDir, 'edge-cache'), capacityBytes: opts.cacheBytes })
  const hot = await HotCopies.open({ dir: join(ctx.dataDir, 'hot-copies'), capacityBytes: Math.max(64 * 1024 * 1024, Math.floor(opts.cacheBytes / 4)), upstream: root => cacheFirstGetter(cache, client.blocks(root)), log: ctx.log })
  hot.start()
  const answerer = opts.dns === undefined ? undefined : new DnsAnswerer({
    names: client.directory,
    addresses: answerAddresses(opts.dns.answer ?? [opts.listen[0]], ctx.log),
    serial: () => ctx.ledger.chain.height,
    ledgerAgeMs: () => Date.now() - ctx.ledger.chain.time,
    ...(opts.dns.upstream === undefined ? {} : { upstream: new UdpUpstream(opts.dns.upstream[0], opts.dns.upstream[1]) }),
    log: ctx.log
  })
  const gateway = new GatewayServer({
    resolver: client, blocks: client.blocks, forward: client, cache, hot, log: ctx.log,
    ...(answerer === undefined ? {} : { dns: async (query, transport) => await answerer.answer(query, transport), dnsStats: () => answerer.stats() })
  })
  ctx.metrics.attach({ gatewayStatus: () => gateway.status() })
  const http = await gateway.listen(opts.listen[0], opts.listen[1])
  const dnsServer = answerer === undefined ? undefined : new DnsServer({ answerer, log: ctx.log })
  const dns = opts.dns === undefined || dnsServer === undefined ? undefined : await listenDns(dnsServer, opts.dns, ctx.log)
  if (dns !== undefined) ctx.log(`dns for .key at ${dns} (udp, tcp) and ${http}/dns-query`)
  return { http, ...(dns === undefined ? {} : { dns }), stop: async () => { hot.stop(); await dnsServer?.close(); await gateway.close() } }
}

async function listenDns (server: DnsServer, opts: GatewayDnsOptions, log: (line: string) => void): Promise<string> {
  const [host, port] = opts.listen
  try {
    return await server.listen(host, port)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    if (opts.anyPortIfTaken !== true) throw new Error(`the DNS address ${host}:${port} is taken (UDP or TCP): pass another with --dns host:port, or --dns off`)
    log(`dns: port ${port} is taken; listening on another`)
    return await server.listen(host, 0)
  }
}

/**
 * A/AAAA answers by address family. A wildcard listen host (0.0.0.0, ::) is no address a client
 * can use, so it answers loopback and says to pass `--dns-answer`.
 */
function answerAddresses (hosts: string[], log: (line: string) => void): { a: string[], aaaa: string[] } {
  const a: string[] = []
  const aaaa: string[] = []
  for (const raw of hosts) {
    const host = raw.replace(/^\[|\]$/g, '')
    if (host === '0.0.0.0' || host === '::') {
      log(`dns: the gateway listens on ${host}; A/AAAA answers give loopback: pass --dns-answer <public address> for other machines`)
      if (host === '0.0.0.0') a.push('127.0.0.1'); else aaaa.push('::1')
    } else if (isIP(host) === 4) a.push(host)
    else if (isIP(host) === 6) aaaa.push(host)
    else if (host === 'localhost') a.push('127.0.0.1')
    else throw new Error(`--dns-answer takes IP addresses (got "${host}")`)
  }
  return { a, aaaa }
}

/** The owner of a name that has not expired, by the node's ledger. */
function activeOwner (ledger: LedgerNode, input: string): Uint8Array | undefined {
  const view = ledger.view()
  const parsed = parseName(input)
  const entry = view.name(parsed.name)
  if (entry === undefined) return undefined
  const status = nameStatus(effectiveExpiry(view, parsed, entry), ledger.chain.time, ledger.chain.genesis.params)
  return status === 'expired' ? undefined : entry.owner
}

function readOperatorFile (dataDir: string): OperatorFile {
  const path = join(dataDir, 'operator.json')
  if (!existsSync(path)) throw new Error(`a provider node needs its operator's endorsement in ${path}: run \`keynet provider endorse --node <node public key> > ${path}\` with the operator's identity (the node's public key is in ${join(dataDir, 'node-key.json')})`)
  return JSON.parse(readFileSync(path, 'utf8')) as OperatorFile
}
