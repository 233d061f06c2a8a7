import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { replaceFileSync } from '../services/store/atomic-file.ts'
import { join, resolve } from 'node:path'
import { toHex } from '../foundations/bytes.ts'
import { systemClock } from '../foundations/clock.ts'
import { genesisFromJson } from '../core/ledger/genesis.ts'
import type { Genesis } from '../core/ledger/types.ts'
import { ApiServer } from '../edges/api/http-server.ts'
import { ledgerRoutes } from '../edges/api/routes.ts'
import { marketRoutes } from '../edges/api/market-routes.ts'
import { computeRoutes } from '../edges/api/compute-routes.ts'
import { MetricsRegistry } from '../services/metrics/registry.ts'
import { registerNodeMetrics } from '../services/metrics/node-metrics.ts'
import { metricsRoute } from '../edges/api/metrics-route.ts'
import type { StatusView } from '../edges/api/types.ts'
import { createP2PHost, type P2PHost } from '../services/p2p/index.ts'
import { LedgerNode } from '../services/ledger/ledger-node.ts'
import { LedgerStore } from '../services/store/ledger-store.ts'
import { loadOrCreateNodeKey } from './node-key.ts'
import { defaultTaskMemoryBytes } from '../core/compute/constants.ts'
import { startCompute, startGateway, startRegistration, startService, startStorage, type RoleContext } from './roles.ts'
import { addressOf } from '../foundations/crypto.ts'
import { FaultLog } from '../services/content/fault-log.ts'
import type { ProviderRegistration } from '../services/replication/provider-registration.ts'

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
  /**
   * With the storage or service role: where the node says it is and how much it stores, and where
   * its HTTP block endpoint listens (`host:port`, `off` for none; default the libp2p listen host, any port).
   */
  provider?: { region: string, capacityBytes: number, blocksHttp?: string }
  /**
   * With the gateway role: the HTTP gateway's listen address `host:port`, its cache size, and its
   * DNS server (`listen` `host:port` or `off`; `upstream` `host:port` for names outside `.key`;
   * `answer`: the addresses A/AAAA answers give, default the HTTP listen host; `anyPortIfTaken`:
   * listen on any free port when the asked one is taken, as devnets started side by side need).
   */
  gateway?: { listen: string, cacheBytes: number, dns?: { listen: string, upstream?: string, answer?: string[], anyPortIfTaken?: boolean } }
  /** With the compute role: tasks run at once (one core each), memory one task may use, and the price per core-second it offers (with --region it registers on the market). */
  compute?: { cores: number, memoryBytes: number, price?: number }
  log: (line: string) => void
}


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
  /** The gateway's DNS server, `host:port` (UDP and TCP). */
  dns?: string
}

export interface RunningNode {
  info: NodeInfoFile
  ledger: LedgerNode
  p2p: P2PHost
  stop: () => Promise<void>
}

export const knownRoles = ['validator', 'storage', 'service', 'gateway', 'compute'] as const

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
  const store = new LedgerStore(join(dataDir, 'ledger.db'), { durable: isValidator })
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
  }), ...marketRoutes(ledger), ...computeRoutes(ledger), metricsRoute(registry)], config.log)
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
  const ctx: RoleContext = { dataDir, ledger, p2p, key, faults, metrics, status: extra, log: config.log }
  // A compute node registers on the market when it is told its region; without one it only serves tasks named to it.
  const computeConfig = config.compute ?? { cores: 1, memoryBytes: defaultTaskMemoryBytes }
  const kinds = (['storage', 'service', 'compute'] as const).filter(k => config.roles.includes(k) && (k !== 'compute' || config.provider?.region !== undefined))
  let computeMarket: { registration: ProviderRegistration, operator: string } | undefined
  if (kinds.length > 0) {
    const region = config.provider?.region
    if (region === undefined) throw new Error(`the ${kinds.join(' and ')} role needs --region`)
    const capacityBytes = config.provider?.capacityBytes ?? 0
    const { registration, operator } = startRegistration(ctx, { kinds: [...kinds], region, capacityBytes, ...(kinds.includes('compute') ? { memoryBytes: computeConfig.memoryBytes } : {}) })
    if (kinds.includes('compute')) computeMarket = { registration, operator }
    parts.push({ stop: () => { registration.stop() } })
    if (kinds.includes('storage')) {
      const blocksHttp = config.provider?.blocksHttp ?? `${listenHostOf(config.listen)}:0`
      parts.push(await startStorage(ctx, registration, { region, capacityBytes, operator, blocksHttp: blocksHttp === 'off' ? 'off' : splitHostPort(blocksHttp, '--blocks-http') }))
    }
    if (kinds.includes('service')) parts.push(await startService(ctx))
    info.region = region
    info.operator = operator
  }
  if (config.roles.includes('compute')) {
    if (computeMarket === undefined) config.log('compute: no --region, so this node is not registered on the market: clients reach it only with --provider')
    parts.push(await startCompute(ctx, computeConfig, computeMarket))
  }
  if (config.roles.includes('gateway')) {
    const g = config.gateway ?? { listen: '127.0.0.1:8080', cacheBytes: defaultGatewayCacheBytes }
    const dns = g.dns === undefined || g.dns.listen === 'off' ? undefined : {
      listen: splitHostPort(g.dns.listen, '--dns'),
      ...(g.dns.upstream === undefined ? {} : { upstream: splitHostPort(g.dns.upstream, '--dns-upstream') }),
      ...(g.dns.answer === undefined ? {} : { answer: g.dns.answer }),
      anyPortIfTaken: g.dns.anyPortIfTaken === true
    }
    const gateway = await startGateway(ctx, { listen: splitHostPort(g.listen, '--http'), cacheBytes: g.cacheBytes, ...(dns === undefined ? {} : { dns }) })
    info.http = gateway.http
    if (gateway.dns !== undefined) info.dns = gateway.dns
    parts.push(gateway)
  }
  replaceFileSync(join(dataDir, 'node.json'), JSON.stringify(info, null, 2))
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

/** The host of the first IP listen multiaddr (where the HTTP block endpoint listens by default). */
function listenHostOf (listen: readonly string[]): string {
  for (const a of listen) {
    const m = /^\/(ip4|ip6)\/([^/]+)\//.exec(a)
    if (m?.[2] !== undefined) return m[2]
  }
  return '127.0.0.1'
}

function splitHostPort (s: string, option: string): [string, number] {
  const i = s.lastIndexOf(':')
  const port = Number(s.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${option} must be host:port, e.g. 127.0.0.1:7700 (got "${s}")`)
  return [s.slice(0, i), port]
}


