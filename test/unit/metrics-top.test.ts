import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { parseInterval, renderTop } from '../../src/cli/commands/top.ts'
import { ApiServer } from '../../src/edges/api/http-server.ts'
import { readNodeSnapshot, type NodeSnapshot } from '../../src/services/metrics/node-snapshot.ts'
import { parseExposition } from '../../src/services/metrics/parse.ts'
import { registerProviderMetrics } from '../../src/services/metrics/provider-metrics.ts'
import { MetricsRegistry } from '../../src/services/metrics/registry.ts'
import { metricsRoute } from '../../src/edges/api/metrics-route.ts'

const cidPool = 'cid:bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const alpha = '12D3KooWAlphaAlphaAlphaAlpha1111'
const bravo = '12D3KooWBravoBravoBravoBravo2222'

/** A node's metrics page as a node serves it, with the figures that change between polls as parameters. */
function page (f: { ok: number, timeouts: number, buckets: [number, number, number], blocks: number, hits: number, ok200: number }): string {
  const a = `pool="${cidPool}",provider="${alpha}"`
  const b = `pool="service:mysite.key/api",provider="${bravo}"`
  return `# HELP keynet_consensus_height The height consensus is deciding.
# TYPE keynet_consensus_height gauge
keynet_consensus_height 1204
# TYPE keynet_consensus_round gauge
keynet_consensus_round 1
# TYPE keynet_p2p_peers gauge
keynet_p2p_peers 9
# TYPE keynet_mempool_transactions gauge
keynet_mempool_transactions 17
# TYPE keynet_blocks_committed_total counter
keynet_blocks_committed_total ${f.blocks}
# TYPE keynet_storage_bytes gauge
keynet_storage_bytes 1610612736
# TYPE keynet_storage_capacity_bytes gauge
keynet_storage_capacity_bytes 10737418240
# TYPE keynet_storage_blocks gauge
keynet_storage_blocks 1536
# TYPE keynet_gateway_requests_total counter
keynet_gateway_requests_total{status="200"} ${f.ok200}
keynet_gateway_requests_total{status="502"} 2
# TYPE keynet_cache_hits_total counter
keynet_cache_hits_total ${f.hits}
# TYPE keynet_cache_misses_total counter
keynet_cache_misses_total 100
# TYPE keynet_provider_faults_total counter
keynet_provider_faults_total{kind="stall"} 3
# TYPE keynet_provider_requests_total counter
keynet_provider_requests_total{${a},outcome="ok"} ${f.ok}
keynet_provider_requests_total{${a},outcome="timeout"} ${f.timeouts}
keynet_provider_requests_total{${a},outcome="cancelled"} 4
keynet_provider_requests_total{${b},outcome="ok"} 10
# TYPE keynet_provider_request_duration_seconds histogram
keynet_provider_request_duration_seconds_bucket{${a},le="0.01"} ${f.buckets[0]}
keynet_provider_request_duration_seconds_bucket{${a},le="0.1"} ${f.buckets[1]}
keynet_provider_request_duration_seconds_bucket{${a},le="1"} ${f.buckets[2]}
keynet_provider_request_duration_seconds_bucket{${a},le="+Inf"} ${f.buckets[2]}
keynet_provider_request_duration_seconds_sum{${a}} 3.5
keynet_provider_request_duration_seconds_count{${a}} ${f.buckets[2]}
# TYPE keynet_provider_ejections_total counter
keynet_provider_ejections_total{${b}} 2
# TYPE keynet_provider_hedges_total counter
keynet_provider_hedges_total{pool="${cidPool}"} 6
# TYPE keynet_provider_state gauge
keynet_provider_state{${a},state="active"} 1
keynet_provider_state{${a},state="ejected"} 0
keynet_provider_state{${a},state="probation"} 0
keynet_provider_state{${b},state="active"} 0
keynet_provider_state{${b},state="ejected"} 0
keynet_provider_state{${b},state="probation"} 1
# TYPE keynet_provider_score gauge
keynet_provider_score{${a}} 0.8
keynet_provider_score{${b}} 12.5
`
}

const snapshot = (text: string, timeMs: number): NodeSnapshot => readNodeSnapshot(parseExposition(text), timeMs)
const first = snapshot(page({ ok: 90, timeouts: 6, buckets: [40, 80, 90], blocks: 1000, hits: 900, ok200: 498 }), 8000)
const second = snapshot(page({ ok: 190, timeouts: 6, buckets: [50, 170, 190], blocks: 1002, hits: 1000, ok200: 598 }), 10_000)

describe('keynet top', () => {
  it('reads the node snapshot out of a metrics page', () => {
    assert.equal(first.height, 1204)
    assert.deepEqual(first.storage, { bytes: 1610612736, capacityBytes: 10737418240, blocks: 1536 })
    assert.deepEqual(first.cache, { hits: 900, misses: 100 })
    assert.deepEqual(first.gatewayRequests, { 200: 498, 502: 2 })
    assert.deepEqual(first.providers.map(p => [p.pool, p.provider, p.state, p.score, p.ejections]), [
      [cidPool, alpha, 'active', 0.8, 0],
      ['service:mysite.key/api', bravo, 'probation', 12.5, 2]
    ])
    assert.deepEqual(first.providers[0]?.latency, { buckets: [{ le: 0.01, count: 40 }, { le: 0.1, count: 80 }, { le: 1, count: 90 }], count: 90, sum: 3.5 })
    // The snapshot is plain data: --json prints it and it reads back the same.
    assert.deepEqual(JSON.parse(JSON.stringify(first)), first)
  })

  it('renders the first frame from the figures since the node started (golden)', () => {
    assert.equal(renderTop(first, undefined, 100), [
      'height 1204   round 1   peers 9   mempool 17   blocks 1000   faults 3',
      'storage 1.50 GiB of 10.0 GiB, 1536 blocks   cache 90.0% hits   gateway 500 responses (2 5xx)',
      'providers 2 in 2 pools (1 active, 1 probation)   hedges 6   figures since the node started',
      '',
      'POOL                        PROVIDER       STATE         SCORE       P50       P99    ERR%      REQS',
      'cid:bafybeigd…lgtqy55fbzdi  12D3…lpha1111  active         0.80      21ms     919ms    6.3%       100',
      'service:mysite.key/api      12D3…ravo2222  probation     12.50         -         -    0.0%        10'
    ].join('\n'))
  })

  it('renders later frames from the change since the previous poll (golden)', () => {
    assert.equal(renderTop(second, first, 100), [
      'height 1204   round 1   peers 9   mempool 17   blocks 1.0/s   faults 3',
      'storage 1.50 GiB of 10.0 GiB, 1536 blocks   cache 100.0% hits   gateway 50.0/s (2 5xx)',
      'providers 2 in 2 pools (1 active, 1 probation)   hedges 6   figures over the last 2s',
      '',
      'POOL                        PROVIDER       STATE         SCORE       P50       P99    ERR%     REQ/S',
      'cid:bafybeigd…lgtqy55fbzdi  12D3…lpha1111  active         0.80      55ms     910ms    0.0%      50.0',
      'service:mysite.key/api      12D3…ravo2222  probation     12.50         -         -       -       0.0'
    ].join('\n'))
  })

  it('fits the terminal: lines cut to the width, rows cut to the height', () => {
    const frame = renderTop(second, first, 60, 1)
    for (const line of frame.split('\n')) assert.ok(line.length <= 60, line)
    assert.match(frame, /^cid:b…bzdi  /m)
    assert.doesNotMatch(frame, /service:mysite/)
    assert.match(frame, /… 1 more provider \(a taller terminal shows them\)$/)
  })

  it('counts from zero again when the node restarted between polls', () => {
    const restarted = snapshot(page({ ok: 20, timeouts: 0, buckets: [10, 20, 20], blocks: 3, hits: 5, ok200: 1 }), 12_000)
    const row = renderTop(restarted, second, 100).split('\n').find(l => l.startsWith('cid:'))
    assert.match(row ?? '', /active\s+0\.80\s+\S+\s+\S+\s+0\.0%\s+12\.0$/)
  })

  it('says so when there is no provider traffic yet', () => {
    const empty = snapshot('# TYPE keynet_consensus_height gauge\nkeynet_consensus_height 7\n', 0)
    assert.equal(renderTop(empty), 'height 7\nfigures since the node started\n\nno provider traffic yet: providers appear here once this node fetches content or forwards requests')
  })

  it('takes --interval as ms, s, m or seconds, within bounds', () => {
    assert.equal(parseInterval('1s'), 1000)
    assert.equal(parseInterval('500ms'), 500)
    assert.equal(parseInterval('2.5s'), 2500)
    assert.equal(parseInterval('1m'), 60_000)
    assert.equal(parseInterval('3'), 3000)
    for (const bad of ['0s', '10ms', 'fast', '-1s', '2h']) assert.throws(() => parseInterval(bad), { name: 'MalformedMessageError' }, bad)
  })

  it('--once prints one frame, and --once --json the snapshot, from a live /metrics', async () => {
    const registry = new MetricsRegistry()
    const providers = registerProviderMetrics(registry, () => [{ pool: 'cid:live', providers: [{ provider: alpha, state: 'active', score: 2 }] }])
    for (let i = 0; i < 10; i++) providers.request('cid:live', alpha, i === 0 ? 'error' : 'ok', 0.004)
    const api = new ApiServer([metricsRoute(registry)])
    const url = await api.listen('127.0.0.1', 0)
    try {
      const script = [
        "import { Command } from 'commander'",
        `import { topCommand } from ${JSON.stringify(new URL('../../src/cli/commands/top.ts', import.meta.url).href)}`,
        "const program = new Command().option('--api <url>').option('--json').exitOverride()",
        'topCommand(program, () => program.opts())',
        "await program.parseAsync(process.argv.slice(1), { from: 'user' })"
      ].join('\n')
      const run = async (...args: string[]): Promise<string> => (await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { cwd: new URL('../../', import.meta.url), timeout: 30_000 })).stdout
      const frame = await run('top', '--once', '--api', url)
      assert.match(frame, /^keynet top {2}http:\/\/127\.0\.0\.1:\d+ {2}every 1s/)
      assert.match(frame, /^cid:live\s+12D3…lpha1111\s+active\s+2\.00\s+\S+ms\s+\S+ms\s+10\.0%\s+10$/m)
      const json = JSON.parse(await run('top', '--once', '--json', '--api', url)) as NodeSnapshot
      assert.deepEqual(json.providers.map(p => [p.pool, p.provider, p.state, p.requests]), [['cid:live', alpha, 'active', { error: 1, ok: 9 }]])
    } finally {
      await api.close()
    }
  })
})
