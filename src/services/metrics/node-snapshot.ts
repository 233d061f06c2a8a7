/**
 * A node's standard metrics read back from a parsed metrics page into plain, JSON-ready data:
 * the inverse of `registerNodeMetrics`, for `keynet top`, scripts and benchmarks. Figures the
 * node does not report (a validator has no storage) are left out.
 *
 * @example
 * ```ts
 * const snapshot = readNodeSnapshot(parseExposition(text), Date.now())
 * for (const p of snapshot.providers) console.log(p.pool, p.provider, p.state, p.latency.count)
 * ```
 */
import type { MetricFamily, Sample } from './family.ts'
import type { Bucket } from './quantile.ts'
import { providerStates, type ProviderState } from './provider-metrics.ts'

/** One provider of one pool, with its cumulative counters since the node started. */
export interface ProviderRow {
  pool: string
  provider: string
  state?: ProviderState
  score?: number
  /** Requests by outcome (`ok`, `error`, …). */
  requests: Record<string, number>
  ejections: number
  /** The request-duration histogram: cumulative finite buckets, total count and sum (seconds). */
  latency: { buckets: Bucket[], count: number, sum: number }
}

/** What `keynet top` shows of one node at one moment. */
export interface NodeSnapshot {
  /** When the page was read (ms since the epoch). */
  timeMs: number
  height?: number
  round?: number
  peers?: number
  mempool?: number
  blocksCommitted?: number
  storage?: { bytes: number, capacityBytes: number, blocks: number }
  cache?: { hits: number, misses: number, bytes?: number, capacityBytes?: number }
  /** Gateway responses by status code. */
  gatewayRequests?: Record<string, number>
  /** Provider faults by kind. */
  faults?: Record<string, number>
  /** Hedged requests by pool. */
  hedges: Record<string, number>
  /** Providers ordered by pool, then provider id. */
  providers: ProviderRow[]
}

/** Reads the standard Keynet metrics out of `families` (from `parseExposition`). */
export function readNodeSnapshot (families: readonly MetricFamily[], timeMs: number): NodeSnapshot {
  const bySample = new Map<string, Sample[]>()
  for (const family of families) {
    for (const s of family.samples) {
      const list = bySample.get(s.name)
      if (list === undefined) bySample.set(s.name, [s])
      else list.push(s)
    }
  }
  const samples = (name: string): Sample[] => bySample.get(name) ?? []
  const single = (name: string): number | undefined => samples(name)[0]?.value
  const byLabel = (name: string, label: string): Record<string, number> | undefined => {
    const found = samples(name)
    if (found.length === 0) return undefined
    const out: Record<string, number> = {}
    for (const s of found) out[s.labels[label] ?? ''] = (out[s.labels[label] ?? ''] ?? 0) + s.value
    return out
  }

  const snapshot: NodeSnapshot = { timeMs, hedges: byLabel('keynet_provider_hedges_total', 'pool') ?? {}, providers: [] }
  const put = <K extends keyof NodeSnapshot>(key: K, value: NodeSnapshot[K] | undefined): void => { if (value !== undefined) snapshot[key] = value }
  put('height', single('keynet_consensus_height'))
  put('round', single('keynet_consensus_round'))
  put('peers', single('keynet_p2p_peers'))
  put('mempool', single('keynet_mempool_transactions'))
  put('blocksCommitted', single('keynet_blocks_committed_total'))
  const storedBytes = single('keynet_storage_bytes')
  if (storedBytes !== undefined) snapshot.storage = { bytes: storedBytes, capacityBytes: single('keynet_storage_capacity_bytes') ?? 0, blocks: single('keynet_storage_blocks') ?? 0 }
  const hits = single('keynet_cache_hits_total')
  if (hits !== undefined) {
    snapshot.cache = { hits, misses: single('keynet_cache_misses_total') ?? 0 }
    const bytes = single('keynet_cache_bytes')
    const capacityBytes = single('keynet_cache_capacity_bytes')
    if (bytes !== undefined) snapshot.cache.bytes = bytes
    if (capacityBytes !== undefined) snapshot.cache.capacityBytes = capacityBytes
  }
  put('gatewayRequests', byLabel('keynet_gateway_requests_total', 'status'))
  put('faults', byLabel('keynet_provider_faults_total', 'kind'))
  snapshot.providers = readProviders(samples)
  return snapshot
}

function readProviders (samples: (name: string) => Sample[]): ProviderRow[] {
  const rows = new Map<string, ProviderRow>()
  const row = (labels: Record<string, string>): ProviderRow => {
    const pool = labels.pool ?? ''
    const provider = labels.provider ?? ''
    const key = JSON.stringify([pool, provider])
    let r = rows.get(key)
    if (r === undefined) {
      r = { pool, provider, requests: {}, ejections: 0, latency: { buckets: [], count: 0, sum: 0 } }
      rows.set(key, r)
    }
    return r
  }
  for (const s of samples('keynet_provider_requests_total')) {
    const r = row(s.labels)
    const outcome = s.labels.outcome ?? ''
    r.requests[outcome] = (r.requests[outcome] ?? 0) + s.value
  }
  for (const s of samples('keynet_provider_ejections_total')) row(s.labels).ejections += s.value
  for (const s of samples('keynet_provider_state')) {
    const state = providerStates.find(st => st === s.labels.state)
    if (state !== undefined && s.value === 1) row(s.labels).state = state
  }
  for (const s of samples('keynet_provider_score')) row(s.labels).score = s.value
  for (const s of samples('keynet_provider_request_duration_seconds_bucket')) {
    const le = Number(s.labels.le)
    if (Number.isFinite(le)) row(s.labels).latency.buckets.push({ le, count: s.value })
  }
  for (const s of samples('keynet_provider_request_duration_seconds_count')) row(s.labels).latency.count = s.value
  for (const s of samples('keynet_provider_request_duration_seconds_sum')) row(s.labels).latency.sum = s.value
  for (const r of rows.values()) r.latency.buckets.sort((a, b) => a.le - b.le)
  return [...rows.values()].sort((a, b) => a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0)
}
