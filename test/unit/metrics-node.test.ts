import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { NameNotFoundError, NotFoundError } from '../../src/foundations/errors.ts'
import { devnetParams, genesisToJson } from '../../src/core/ledger/genesis.ts'
import { cidForBlock, rawCode } from '../../src/core/content/cid.ts'
import { ApiServer } from '../../src/edges/api/http-server.ts'
import { EdgeCache, cachedGetter } from '../../src/edges/gateway/edge-cache.ts'
import { GatewayServer } from '../../src/edges/gateway/gateway-server.ts'
import { startNode, type RunningNode } from '../../src/node/node.ts'
import { loadOrCreateNodeKey } from '../../src/node/node-key.ts'
import { FaultLog } from '../../src/services/content/fault-log.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { fetchMetrics } from '../../src/services/metrics/scrape.ts'
import { parseExposition } from '../../src/services/metrics/parse.ts'
import { readNodeSnapshot } from '../../src/services/metrics/node-snapshot.ts'
import { registerNodeMetrics, type NodeMetrics } from '../../src/services/metrics/node-metrics.ts'
import { MetricsRegistry } from '../../src/services/metrics/registry.ts'
import { metricsRoute } from '../../src/edges/api/metrics-route.ts'
import type { PoolView } from '../../src/services/metrics/provider-metrics.ts'

describe('node metrics over a real node, store, fault log, gateway and API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keynet-metrics-'))
  const block = new Uint8Array(3000).map((_, i) => i % 251)
  const cid = cidForBlock(rawCode, block)
  const pools: PoolView[] = [
    { pool: 'cid:site', providers: [{ provider: '12D3KooWProviderOneXXXXXXXX', state: 'active', score: 1.25 }, { provider: '12D3KooWProviderTwoYYYYYYYY', state: 'ejected', score: 40 }] },
    { pool: 'service:site.key/api', providers: [{ provider: '12D3KooWServiceZZZZZZZZZZZZ', state: 'probation', score: 3 }] }
  ]
  let node: RunningNode
  let store: BlockStore
  let faults: FaultLog
  let gateway: GatewayServer
  let gatewayUrl: string
  let api: ApiServer
  let apiUrl: string
  let metrics: NodeMetrics

  before(async () => {
    const dataDir = join(dir, 'node')
    const key = loadOrCreateNodeKey(dataDir)
    const genesisFile = join(dir, 'genesis.json')
    writeFileSync(genesisFile, genesisToJson({ chainId: 'keynet-metrics-test', time: Date.now(), params: devnetParams, validators: [{ name: 'solo', publicKey: key.publicKey, power: 1 }], accounts: [] }))
    node = await startNode({ dataDir, roles: ['validator'], listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], api: '127.0.0.1:0', genesisFile, log: () => {} })
    store = await BlockStore.open({ dir: join(dir, 'blocks'), capacityBytes: 1024 * 1024 })
    await store.put({ cid, bytes: block })
    faults = new FaultLog(join(dir, 'faults.jsonl'))
    faults.append({ provider: 'old', cid, kind: 'stall' }) // before the node's metrics start: not counted
    const cache = await EdgeCache.open({ dir: join(dir, 'edge-cache'), capacityBytes: 1024 * 1024 })
    gateway = new GatewayServer({
      resolver: { resolve: async name => { throw new NameNotFoundError(`${name} is not registered`) } },
      blocks: () => cachedGetter(cache, async c => { if (c.equals(cid)) return block; throw new NotFoundError('no such block') }),
      cache
    })
    gatewayUrl = await gateway.listen('127.0.0.1', 0)
    const registry = new MetricsRegistry()
    // As the composition root does it: the ledger's metrics first, the roles' parts once they exist.
    metrics = registerNodeMetrics(registry, { ledger: node.ledger, p2p: node.p2p })
    api = new ApiServer([metricsRoute(registry)])
    apiUrl = await api.listen('127.0.0.1', 0)
    metrics.attach({ blockStore: store, faults })
    metrics.attach({ gatewayStatus: () => gateway.status(), pools: () => pools.slice(0, 1) })
    metrics.attach({ pools: () => pools.slice(1) })
  })

  after(async () => {
    metrics.close()
    await api.close()
    await gateway.close()
    await faults.flush()
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves GET /metrics in the text format with the right content type', async () => {
    const res = await fetch(`${apiUrl}/metrics`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
    const text = await res.text()
    assert.match(text, /^# TYPE keynet_consensus_height gauge$/m)
    assert.match(text, /^keynet_storage_bytes 3000$/m)
  })

  it('reads height, round, peers, mempool, storage, commits, gateway, cache, faults and provider state at scrape time', async () => {
    await once(node.ledger, 'commit')
    for (const path of [`/ipfs/${cid.toString()}`, `/ipfs/${cid.toString()}`, '/key/nobody.key/']) await (await fetch(`${gatewayUrl}${path}`)).arrayBuffer()
    faults.append({ provider: 'p1', cid, kind: 'wrong-block' })
    faults.append({ provider: 'p2', cid, kind: 'stall' })
    metrics.providers.request('cid:site', '12D3KooWProviderOneXXXXXXXX', 'ok', 0.02)
    metrics.providers.request('cid:site', '12D3KooWProviderTwoYYYYYYYY', 'wrong', 0.001)
    metrics.providers.ejected('cid:site', '12D3KooWProviderTwoYYYYYYYY')
    metrics.providers.hedged('cid:site')

    const heightBefore = node.ledger.consensusPosition.height
    const s = readNodeSnapshot(parseExposition(await fetchMetrics(apiUrl)), Date.now())
    const heightAfter = node.ledger.consensusPosition.height
    // Consensus moves on while the page is read, so the height is the one at some moment in between.
    assert.ok(heightBefore >= 2 && (s.height ?? 0) >= heightBefore && (s.height ?? 0) <= heightAfter, `height ${s.height} outside ${heightBefore}..${heightAfter}`)
    assert.equal(typeof s.round, 'number')
    assert.equal(s.peers, 0)
    assert.equal(s.mempool, 0)
    assert.ok((s.blocksCommitted ?? 0) >= 1)
    assert.deepEqual(s.storage, { bytes: 3000, capacityBytes: 1024 * 1024, blocks: 1 })
    assert.deepEqual(s.gatewayRequests, { 200: 2, 404: 1 })
    const cache = gateway.status().cache
    assert.ok((cache?.hits ?? 0) >= 1 && (cache?.misses ?? 0) >= 1)
    assert.equal(s.cache?.hits, cache?.hits)
    assert.equal(s.cache?.misses, cache?.misses)
    assert.equal(s.cache?.bytes, 3000)
    assert.deepEqual(s.faults, { 'wrong-block': 1, stall: 1 })
    assert.deepEqual(s.hedges, { 'cid:site': 1 })
    assert.deepEqual(s.providers.map(p => [p.provider, p.state, p.score, p.requests, p.ejections, p.latency.count]), [
      ['12D3KooWProviderOneXXXXXXXX', 'active', 1.25, { ok: 1 }, 0, 1],
      ['12D3KooWProviderTwoYYYYYYYY', 'ejected', 40, { wrong: 1 }, 1, 0],
      ['12D3KooWServiceZZZZZZZZZZZZ', 'probation', 3, {}, 0, 0]
    ])

    // Counters keep counting between scrapes; faults already counted are not counted again.
    const committedBefore = s.blocksCommitted ?? 0
    await once(node.ledger, 'commit')
    faults.append({ provider: 'p1', cid, kind: 'stall' })
    pools[0]?.providers.pop()
    const later = readNodeSnapshot(parseExposition(await fetchMetrics(apiUrl)), Date.now())
    assert.ok((later.blocksCommitted ?? 0) > committedBefore)
    assert.deepEqual(later.faults, { 'wrong-block': 1, stall: 2 })
    assert.equal(later.providers.find(p => p.provider === '12D3KooWProviderTwoYYYYYYYY')?.state, undefined)
  })

  it('refuses to attach a part twice', () => {
    assert.throws(() => { metrics.attach({ blockStore: store }) }, /blockStore metrics are attached twice/)
  })

  it('close() stops counting commits', async () => {
    const listeners = node.ledger.listenerCount('commit')
    metrics.close()
    assert.equal(node.ledger.listenerCount('commit'), listeners - 1)
  })

  it('fetchMetrics says what is wrong when there is no node or no metrics route', async () => {
    const bare = new ApiServer([])
    const bareUrl = await bare.listen('127.0.0.1', 0)
    await assert.rejects(fetchMetrics(bareUrl), (err: Error) => err.name === 'NotFoundError' && /no metrics page/.test(err.message))
    await bare.close()
    await assert.rejects(fetchMetrics(bareUrl), (err: Error) => err.name === 'UnavailableError' && /is the node running/.test(err.message))
  })
})
