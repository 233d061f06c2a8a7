import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { systemClock } from '../foundations/clock.ts'
import { genesisFromJson } from '../core/ledger/genesis.ts'
import type { Genesis } from '../core/ledger/types.ts'
import { ApiServer } from '../edges/api/http-server.ts'
import { ledgerRoutes } from '../edges/api/routes.ts'
import { MetricsRegistry } from '../services/metrics/registry.ts'
import { registerNodeMetrics } from '../services/metrics/node-metrics.ts'
import { metricsRoute } from '../edges/api/metrics-route.ts'
import type { StatusView, StorageStatus } from '../edges/api/types.ts'
import { createP2PHost, type P2PHost } from '../services/p2p/index.ts'
import { LedgerNode } from '../services/ledger/ledger-node.ts'
import { LedgerStore } from '../services/store/ledger-store.ts'
import { loadOrCreateNodeKey } from './node-key.ts'
import { addressOf } from '../foundations/crypto.ts'
import { BlockStore } from '../services/storage/block-store.ts'
import { serveBlocks } from '../services/storage/block-protocol.ts'
import { ProviderRegistration } from '../services/replication/provider-registration.ts'
import { Replicator } from '../services/replication/replicator.ts'
import { KvAssignments } from '../services/replication/kv-assignments.ts'
import { KvReplicator, KvStore, serveKv } from '../services/kv/index.ts'
import { FaultLog } from '../services/content/fault-log.ts'
import { LedgerDirectory } from '../services/content/directory.ts'
import { KeynetClient } from '../sdk/keynet-client.ts'
import { GatewayServer } from '../edges/gateway/gateway-server.ts'
import { EdgeCache } from '../edges/gateway/edge-cache.ts'

/** The gateway's edge cache when none is configured. */
export const defaultGatewayCacheBytes = 512 * 1024 * 1024

/** Everything one node process is started with. */
export interface NodeConfig {
  dataDir: string
  roles: string[]
  /** libp2p listen multiaddrs. */
  listen: string[]
  announce: string[]
  bootstrap: string[]
  /** HTTP API listen address `host:port`. */
  api: string
  /** Genesis file; copied into the data folder on first start, read from there afterwards. */
  genesisFile?: string
  /** With the storage role: where the node says it is and how much it stores. */
  storage?: { region: string, capacityBytes: number }
  /** With the gateway role: the HTTP gateway's listen address `host:port`, and its cache size. */
  gateway?: { listen: string, cacheBytes: number }
  log: (line: string) => void
}

/** `<data>/operator.json`: the operator's endorsement of this node (`keynet provider endorse`). */
export interface OperatorFile { operatorKey: string, endorsement: string, operator?: string }

/** What a running node publishes about itself in `<data>/node.json`. */
export interface NodeInfoFile {
  id: string
  roles: string[]
  api: string
  p2p: string[]
  pid: number
  dataDir: string
  publicKey: string
  /** Address of the node key (hex); pins name providers by it. */
  address: string
  region?: string
  operator?: string
  /** The gateway's HTTP address. */
  http?: string
}

export interface RunningNode {
  info: NodeInfoFile
  ledger: LedgerNode
  p2p: P2PHost
  stop: () => Promise<void>
}

export const knownRoles = ['validator', 'storage', 'gateway'] as const

/** The composition root: builds a node's parts top to bottom and starts them. */
export async function startNode (config: NodeConfig): Promise<RunningNode> {
  const dataDir = resolve(config.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const genesis = loadGenesis(dataDir, config.genesisFile)
  const key = loadOrCreateNodeKey(dataDir)
  const isValidator = config.roles.includes('validator')
  if (isValidator && !genesis.validators.some(v => toHex(v.publicKey) === toHex(key.publicKey))) {
    config.log(`warning: --roles validator, but this node's key ${toHex(key.publicKey).slice(0, 16)}… is not in the genesis validator set: it will follow the chain without voting`)
  }
  const store = new LedgerStore(join(dataDir, 'ledger.db'))
  const p2p = await createP2PHost({
    secretKey: key.secretKey,
    listen: config.listen,
    announce: config.announce,
    bootstrap: config.bootstrap,
    logger: config.log
  })
  const ledger = new LedgerNode({
    genesis,
    store,
    network: p2p,
    clock: systemClock,
    ...(isValidator ? { validatorKey: key } : {}),
    log: config.log
  })
  const registry = new MetricsRegistry()
  const metrics = registerNodeMetrics(registry, { ledger, p2p })
  const api = new ApiServer([...ledgerRoutes(ledger, {
    nodeId: p2p.peerId,
    roles: config.roles,
    p2p: () => p2p.multiaddrs(),
    peers: () => p2p.peers().length,
    extra: () => extra
  }), metricsRoute(registry)], config.log)
  const extra: Partial<Pick<StatusView, 'storage' | 'faults'>> = {}
  await p2p.start()
  await ledger.start()
  const [host, port] = splitHostPort(config.api, '--api-listen')
  const apiUrl = await api.listen(host, port)
  const faults = new FaultLog(join(dataDir, 'faults.jsonl'))
  metrics.attach({ faults })
  Object.defineProperty(extra, 'faults', { enumerable: true, get: () => totalFaults(faults) })
  const parts: Array<{ stop: () => Promise<void> | void }> = []
  const info: NodeInfoFile = { id: p2p.peerId, roles: config.roles, api: apiUrl, p2p: p2p.multiaddrs(), pid: process.pid, dataDir, publicKey: toHex(key.publicKey), address: toHex(addressOf(key.publicKey)) }
  if (config.roles.includes('storage')) {
    if (config.storage === undefined) throw new Error('the storage role needs --region and --capacity')
    const operator = readOperatorFile(dataDir)
    const blocks = await BlockStore.open({ dir: join(dataDir, 'blocks'), capacityBytes: config.storage.capacityBytes })
    metrics.attach({ blockStore: blocks })
    const stopServing = await serveBlocks(p2p, blocks, key)
    const registration = new ProviderRegistration({
      ledger, host: p2p, key, kinds: ['storage'], region: config.storage.region, capacityBytes: config.storage.capacityBytes,
      operatorKey: fromHex(operator.operatorKey), endorsement: fromHex(operator.endorsement), log: config.log
    })
    const agent = new Replicator({ ledger, host: p2p, store: blocks, registration, faults, log: config.log })
    const kvStore = KvStore.open({ path: join(dataDir, 'kv.db') })
    const kvShards = new KvAssignments({ ledger, address: addressOf(key.publicKey), file: join(dataDir, 'kv-names.json') })
    const stopKv = await serveKv(p2p, kvStore, { ownerOf: kvShards.ownerOf, shardsHeld: kvShards.shardsHeld })
    const kvReplicator = new KvReplicator({ host: p2p, store: kvStore, ownerOf: kvShards.ownerOf, heldShards: kvShards.heldShards, replicasOf: kvShards.replicasOf, log: config.log })
    registration.start()
    agent.start()
    kvShards.start()
    kvReplicator.start()
    Object.defineProperty(extra, 'storage', {
      enumerable: true,
      get: (): StorageStatus => ({ address: info.address, region: config.storage!.region, ...blocks.usage(), pinned: blocks.pinned().map(c => c.toString()), pulling: agent.pending })
    })
    parts.push({
      stop: async () => {
        kvReplicator.stop()
        kvShards.stop()
        agent.stop()
        registration.stop()
        await stopKv()
        await stopServing()
        kvStore.close()
      }
    })
    info.region = config.storage.region
    info.operator = toHex(addressOf(fromHex(operator.operatorKey)))
  }
  if (config.roles.includes('gateway')) {
    const g = config.gateway ?? { listen: '127.0.0.1:8080', cacheBytes: defaultGatewayCacheBytes }
    // The gateway reaches providers only through the same client the SDK and the CLI use.
    const client = new KeynetClient({ directory: new LedgerDirectory(ledger), host: p2p, faults })
    const cache = await EdgeCache.open({ dir: join(dataDir, 'edge-cache'), capacityBytes: g.cacheBytes })
    const gateway = new GatewayServer({ resolver: client, blocks: client.blocks, cache, log: config.log })
    const [gHost, gPort] = splitHostPort(g.listen, '--http')
    metrics.attach({ gatewayStatus: () => gateway.status() })
    info.http = await gateway.listen(gHost, gPort)
    parts.push({ stop: async () => { await gateway.close() } })
  }
  writeAtomically(join(dataDir, 'node.json'), JSON.stringify(info, null, 2))
  config.log(`node ${p2p.peerId} (${config.roles.join(',')}) api ${apiUrl} p2p ${info.p2p.join(' ')}`)
  let stopped = false
  return {
    info,
    ledger,
    p2p,
    stop: async () => {
      if (stopped) return
      stopped = true
      for (const part of parts.reverse()) await part.stop()
      metrics.close()
      ledger.stop()
      await api.close()
      await p2p.stop()
      store.close()
    }
  }
}

function loadGenesis (dataDir: string, genesisFile: string | undefined): Genesis {
  const local = join(dataDir, 'genesis.json')
  if (!existsSync(local)) {
    if (genesisFile === undefined) throw new Error(`no genesis in ${dataDir}: pass --genesis FILE (the network's genesis.json)`)
    copyFileSync(genesisFile, local)
  }
  return genesisFromJson(readFileSync(local, 'utf8'))
}

function totalFaults (log: FaultLog): { total: number, byKind: Record<string, number> } {
  const out = { total: 0, byKind: {} as Record<string, number> }
  for (const counts of log.countsByProvider().values()) {
    out.total += counts.total
    for (const [kind, n] of Object.entries(counts.byKind)) out.byKind[kind] = (out.byKind[kind] ?? 0) + n
  }
  return out
}

function readOperatorFile (dataDir: string): OperatorFile {
  const path = join(dataDir, 'operator.json')
  if (!existsSync(path)) throw new Error(`a storage node needs its operator's endorsement in ${path}: run \`keynet provider endorse --node <node public key> > ${path}\` with the operator's identity (the node's public key is in ${join(dataDir, 'node-key.json')})`)
  return JSON.parse(readFileSync(path, 'utf8')) as OperatorFile
}

function splitHostPort (s: string, option: string): [string, number] {
  const i = s.lastIndexOf(':')
  const port = Number(s.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${option} must be host:port, e.g. 127.0.0.1:7700 (got "${s}")`)
  return [s.slice(0, i), port]
}

export function writeAtomically (path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}
