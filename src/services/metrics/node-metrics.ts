/**
 * A node's standard metrics, read from its parts at scrape time so that nothing has to report
 * on the hot path (only block commits are counted as they happen). Each group is defined only
 * when its part is given or attached: a validator has no storage metrics, a storage node no
 * gateway ones. The provider-routing family is always there, so routers can report from the
 * start.
 *
 * | metric | type | from |
 * |---|---|---|
 * | `keynet_consensus_height`, `keynet_consensus_round` | gauge | ledger: the height and round consensus works on |
 * | `keynet_mempool_transactions` | gauge | ledger |
 * | `keynet_blocks_committed_total` | counter | ledger's `commit` events since start |
 * | `keynet_p2p_peers` | gauge | p2p host |
 * | `keynet_storage_bytes`, `keynet_storage_capacity_bytes`, `keynet_storage_blocks` | gauge | block store |
 * | `keynet_gateway_requests_total{status}` | counter | gateway: completed responses |
 * | `keynet_cache_hits_total`, `keynet_cache_misses_total` | counter | gateway's edge cache |
 * | `keynet_cache_bytes`, `keynet_cache_capacity_bytes` | gauge | gateway's edge cache |
 * | `keynet_provider_faults_total{kind}` | counter | fault log: faults recorded since start |
 * | `keynet_provider_*` | see `provider-metrics.ts` | routing pools |
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry()
 * const metrics = registerNodeMetrics(registry, { ledger, p2p })
 * const api = new ApiServer([...ledgerRoutes(ledger, info), metricsRoute(registry)])
 * metrics.attach({ blockStore, faults })                  // once the storage role has them
 * // routing code: metrics.providers.request(pool, peerId, 'ok', seconds)
 * ```
 */
import assert from 'node:assert/strict'
import type { LedgerNode } from '../ledger/ledger-node.ts'
import type { P2PHost } from '../p2p/index.ts'
import type { BlockStore } from '../storage/block-store.ts'
import type { FaultEntry, FaultLog } from '../content/fault-log.ts'
import { maxFaultScanEntries } from './constants.ts'
import { registerProviderMetrics, type PoolView, type ProviderMetrics } from './provider-metrics.ts'
import type { Emit, MetricsRegistry } from './registry.ts'

/** What a gateway reports about itself (the shape of the gateway's `/status`, the parts used here). */
export interface GatewayFigures {
  /** Completed responses by HTTP status code. */
  byStatus: Record<string, number>
  /** The edge cache's counters, or null without a cache. */
  cache: { hits: number, misses: number, bytes: number, capacityBytes: number } | null
}

/** The parts of a node its metrics read; each is optional. */
export interface NodeMetricsParts {
  ledger?: Pick<LedgerNode, 'consensusPosition' | 'mempool' | 'on' | 'off'>
  p2p?: Pick<P2PHost, 'peers'>
  blockStore?: Pick<BlockStore, 'usage'>
  /** The gateway's figures, read at scrape time (`() => gateway.status()`). */
  gatewayStatus?: () => GatewayFigures
  faults?: Pick<FaultLog, 'recent'>
  /** A router's pools, read at scrape time for `keynet_provider_state` and `_score`; each router attaches its own. */
  pools?: () => Iterable<PoolView>
}

/** The node's metrics once registered. */
export interface NodeMetrics {
  /** The reporter routing code feeds (`keynet_provider_*`); usable from the start. */
  providers: ProviderMetrics
  /**
   * Adds the metrics of parts built later (a role's block store, fault log, gateway, another
   * router's pools). Each part but `pools` is attached at most once.
   */
  attach: (parts: NodeMetricsParts) => void
  /** Stops listening to the ledger's commits (call when the node stops). */
  close: () => void
}

/**
 * Defines the node's standard metrics in `registry` for the `parts` given now, and the
 * provider-routing family; `attach` adds parts built later. See the module comment.
 */
export function registerNodeMetrics (registry: MetricsRegistry, parts: NodeMetricsParts = {}): NodeMetrics {
  const closers: Array<() => void> = []
  const pools: Array<() => Iterable<PoolView>> = []
  const providers = registerProviderMetrics(registry, function * () { for (const source of pools) yield * source() })
  const attached = new Set<keyof NodeMetricsParts>()
  const attach = (more: NodeMetricsParts): void => {
    for (const key of Object.keys(more) as Array<keyof NodeMetricsParts>) {
      if (more[key] === undefined || key === 'pools') continue
      assert.ok(!attached.has(key), `the node's ${key} metrics are attached twice`)
      attached.add(key)
    }
    const { ledger, p2p, blockStore, gatewayStatus, faults } = more
    if (more.pools !== undefined) pools.push(more.pools)
    if (ledger !== undefined) closers.push(registerLedger(registry, ledger))
    if (p2p !== undefined) {
      registry.gauge('keynet_p2p_peers', 'Connected libp2p peers.', [], { collect: emit => { emit({}, p2p.peers().length) } })
    }
    if (blockStore !== undefined) registerStorage(registry, blockStore)
    if (gatewayStatus !== undefined) registerGateway(registry, gatewayStatus)
    if (faults !== undefined) {
      const count = faultCounter(faults)
      registry.counter('keynet_provider_faults_total', 'Provider faults this node recorded since it started (wrong-block, stall, unreachable, malformed).', ['kind'], {
        collect: emit => { for (const [kind, n] of count()) emit({ kind }, n) }
      })
    }
  }
  attach(parts)
  return { providers, attach, close: () => { for (const close of closers.splice(0)) close() } }
}

/** Consensus position, mempool and commits; returns what stops the commit listener. */
function registerLedger (registry: MetricsRegistry, ledger: NonNullable<NodeMetricsParts['ledger']>): () => void {
  registry.gauge('keynet_consensus_height', 'The height consensus is deciding (the last committed block is one below).', [], { collect: emit => { emit({}, ledger.consensusPosition.height) } })
  registry.gauge('keynet_consensus_round', 'The round consensus is in at the current height (0 when the first proposal succeeds).', [], { collect: emit => { emit({}, ledger.consensusPosition.round) } })
  registry.gauge('keynet_mempool_transactions', 'Transactions waiting in the mempool.', [], { collect: emit => { emit({}, ledger.mempool.size) } })
  const committed = registry.counter('keynet_blocks_committed_total', 'Blocks this node committed (or synced) since it started.')
  const onCommit = (): void => { committed.inc({}) }
  ledger.on('commit', onCommit)
  return () => { ledger.off('commit', onCommit) }
}

function registerStorage (registry: MetricsRegistry, blockStore: NonNullable<NodeMetricsParts['blockStore']>): void {
  registry.gauge('keynet_storage_bytes', 'Bytes of content blocks stored.', [], { collect: emit => { emit({}, blockStore.usage().bytes) } })
  registry.gauge('keynet_storage_capacity_bytes', 'Bytes of content blocks the store may hold.', [], { collect: emit => { emit({}, blockStore.usage().capacityBytes) } })
  registry.gauge('keynet_storage_blocks', 'Content blocks stored.', [], { collect: emit => { emit({}, blockStore.usage().blocks) } })
}

function registerGateway (registry: MetricsRegistry, gatewayStatus: () => GatewayFigures): void {
  registry.counter('keynet_gateway_requests_total', 'Gateway responses completed, by HTTP status code.', ['status'], {
    collect: emit => { for (const [status, n] of Object.entries(gatewayStatus().byStatus)) emit({ status }, n) }
  })
  const cacheFigure = (read: (c: NonNullable<GatewayFigures['cache']>) => number) => (emit: Emit<never>): void => {
    const c = gatewayStatus().cache
    if (c !== null) emit({}, read(c))
  }
  registry.counter('keynet_cache_hits_total', 'Edge-cache lookups answered from memory or disk.', [], { collect: cacheFigure(c => c.hits) })
  registry.counter('keynet_cache_misses_total', 'Edge-cache lookups that went to the providers.', [], { collect: cacheFigure(c => c.misses) })
  registry.gauge('keynet_cache_bytes', 'Bytes of blocks in the edge cache on disk.', [], { collect: cacheFigure(c => c.bytes) })
  registry.gauge('keynet_cache_capacity_bytes', 'Bytes the edge cache may hold on disk.', [], { collect: cacheFigure(c => c.capacityBytes) })
}

/**
 * Counts the faults appended to `log` since this call, by kind. The log keeps only its newest
 * entries, so each scrape walks back from the newest to the one it saw last (at most
 * `maxFaultScanEntries`), and adds what is new.
 */
function faultCounter (log: Pick<FaultLog, 'recent'>): () => Map<string, number> {
  const totals = new Map<string, number>()
  let newest: FaultEntry | undefined = log.recent(1)[0]
  return () => {
    let entries: FaultEntry[] = []
    let seen = -1
    for (let n = 16; ; n = Math.min(n * 4, maxFaultScanEntries)) {
      entries = log.recent(n)
      seen = newest === undefined ? -1 : entries.findIndex(e => sameEntry(e, newest!))
      if (seen >= 0 || entries.length < n || n === maxFaultScanEntries) break
    }
    for (const e of seen >= 0 ? entries.slice(0, seen) : entries) totals.set(e.kind, (totals.get(e.kind) ?? 0) + 1)
    newest = entries[0] ?? newest
    return totals
  }
}

function sameEntry (a: FaultEntry, b: FaultEntry): boolean {
  return a.time === b.time && a.provider === b.provider && a.cid === b.cid && a.kind === b.kind && a.detail === b.detail
}
