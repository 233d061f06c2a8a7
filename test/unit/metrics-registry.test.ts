import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { maxSeriesPerMetric } from '../../src/services/metrics/constants.ts'
import { renderExposition } from '../../src/services/metrics/exposition.ts'
import { droppedSeriesMetric, MetricsRegistry } from '../../src/services/metrics/registry.ts'

describe('metrics registry and text exposition', () => {
  it('renders counters, gauges and histograms in the text format 0.0.4 (golden text)', () => {
    const registry = new MetricsRegistry()
    const requests = registry.counter('keynet_gateway_requests_total', 'Gateway responses by status.\nOne line per "code" \\ status.', ['status'])
    requests.inc({ status: '200' })
    requests.inc({ status: '200' }, 2)
    requests.inc({ status: 'odd "quoted"\\value\nline' })
    const height = registry.gauge('keynet_consensus_height', 'Height being decided.')
    height.set({}, 42)
    registry.gauge('keynet_p2p_peers', 'Connected peers.', [], { collect: emit => { emit({}, 3) } })
    const latency = registry.histogram('keynet_fetch_duration_seconds', 'Fetch time.', ['pool'], [0.01, 0.1, 1])
    for (const v of [0.005, 0.01, 0.05, 0.5, 2, 0.2]) latency.observe({ pool: 'a' }, v)
    registry.counter('keynet_idle_total', 'Never incremented.', ['kind'])

    assert.equal(renderExposition(registry.collect()), [
      '# HELP keynet_gateway_requests_total Gateway responses by status.\\nOne line per "code" \\\\ status.',
      '# TYPE keynet_gateway_requests_total counter',
      'keynet_gateway_requests_total{status="200"} 3',
      'keynet_gateway_requests_total{status="odd \\"quoted\\"\\\\value\\nline"} 1',
      '# HELP keynet_consensus_height Height being decided.',
      '# TYPE keynet_consensus_height gauge',
      'keynet_consensus_height 42',
      '# HELP keynet_p2p_peers Connected peers.',
      '# TYPE keynet_p2p_peers gauge',
      'keynet_p2p_peers 3',
      '# HELP keynet_fetch_duration_seconds Fetch time.',
      '# TYPE keynet_fetch_duration_seconds histogram',
      'keynet_fetch_duration_seconds_bucket{pool="a",le="0.01"} 2',
      'keynet_fetch_duration_seconds_bucket{pool="a",le="0.1"} 3',
      'keynet_fetch_duration_seconds_bucket{pool="a",le="1"} 5',
      'keynet_fetch_duration_seconds_bucket{pool="a",le="+Inf"} 6',
      'keynet_fetch_duration_seconds_sum{pool="a"} 2.765',
      'keynet_fetch_duration_seconds_count{pool="a"} 6',
      '# HELP keynet_idle_total Never incremented.',
      '# TYPE keynet_idle_total counter',
      `# HELP ${droppedSeriesMetric} Updates folded into a metric's "other" series because it already had ${maxSeriesPerMetric} label sets.`,
      `# TYPE ${droppedSeriesMetric} counter`,
      ''
    ].join('\n'))
  })

  it('writes special values as +Inf, -Inf and NaN', () => {
    const registry = new MetricsRegistry()
    const g = registry.gauge('keynet_odd', 'Odd values.', ['v'])
    g.set({ v: 'inf' }, Infinity)
    g.set({ v: 'minus' }, -Infinity)
    g.set({ v: 'nan' }, NaN)
    g.set({ v: 'small' }, 1e-7)
    const text = renderExposition(registry.collect())
    assert.match(text, /^keynet_odd\{v="inf"\} \+Inf$/m)
    assert.match(text, /^keynet_odd\{v="minus"\} -Inf$/m)
    assert.match(text, /^keynet_odd\{v="nan"\} NaN$/m)
    assert.match(text, /^keynet_odd\{v="small"\} 1e-7$/m)
  })

  it('puts an observation in the first bucket whose bound is ≥ it, and counts above the last in +Inf', () => {
    const registry = new MetricsRegistry()
    const h = registry.histogram('keynet_size_bytes', 'Sizes.', [], [10, 100])
    for (const v of [0, 10, 10.5, 100, 101, Infinity]) h.observe({}, v)
    const buckets = registry.collect().find(f => f.name === 'keynet_size_bytes')?.samples.filter(s => s.name.endsWith('_bucket'))
    assert.deepEqual(buckets?.map(s => [s.labels.le, s.value]), [['10', 2], ['100', 4], ['+Inf', 6]])
    assert.deepEqual(h.totals({}), { count: 6, sum: Infinity })
    // A histogram without labels is scraped (all zero) before its first observation.
    const fresh = new MetricsRegistry()
    fresh.histogram('keynet_wait_seconds', 'Waits.', [], [1])
    assert.deepEqual(fresh.collect()[0]?.samples.map(s => `${s.name}${s.labels.le ?? ''}=${s.value}`), ['keynet_wait_seconds_bucket1=0', 'keynet_wait_seconds_bucket+Inf=0', 'keynet_wait_seconds_sum=0', 'keynet_wait_seconds_count=0'])
  })

  it('caps label sets: past the cap updates go to one "other" series and are counted', () => {
    const registry = new MetricsRegistry()
    const c = registry.counter('keynet_provider_things_total', 'Things by provider.', ['pool', 'provider'])
    for (let i = 0; i < maxSeriesPerMetric + 250; i++) c.inc({ pool: 'p', provider: `peer-${i}` })
    c.inc({ pool: 'p', provider: 'peer-0' }) // an existing series still counts as itself
    c.inc({ pool: 'p', provider: 'another-new-one' }, 5)
    const family = registry.collect().find(f => f.name === 'keynet_provider_things_total')
    assert.equal(family?.samples.length, maxSeriesPerMetric + 1)
    assert.equal(c.value({ pool: 'p', provider: 'peer-0' }), 2)
    assert.equal(c.value({ pool: 'other', provider: 'other' }), 255)
    assert.equal(c.value({ pool: 'p', provider: `peer-${maxSeriesPerMetric}` }), 0)
    const dropped = registry.collect().find(f => f.name === droppedSeriesMetric)
    assert.deepEqual(dropped?.samples, [{ name: droppedSeriesMetric, labels: { metric: 'keynet_provider_things_total' }, value: 251 }])
  })

  it('caps collected metrics too: the folded values add up in "other", counted in that same scrape', () => {
    const registry = new MetricsRegistry()
    registry.gauge('keynet_many', 'Many series.', ['id'], { collect: emit => { for (let i = 0; i < maxSeriesPerMetric + 3; i++) emit({ id: String(i) }, 1) } })
    const families = registry.collect()
    assert.equal(families[0]?.samples.length, maxSeriesPerMetric + 1)
    assert.deepEqual(families[0]?.samples.at(-1), { name: 'keynet_many', labels: { id: 'other' }, value: 3 })
    assert.equal(families.at(-1)?.samples[0]?.value, 3)
  })

  it('cuts over-long label values', () => {
    const registry = new MetricsRegistry()
    const g = registry.gauge('keynet_long', 'Long labels.', ['id'])
    g.set({ id: 'x'.repeat(10_000) }, 1)
    const sample = registry.collect()[0]?.samples[0]
    assert.ok((sample?.labels.id?.length ?? 0) <= 128)
    assert.equal(g.value({ id: 'x'.repeat(10_000) }), 1)
  })

  it('collected metrics are read at every scrape and series not emitted disappear', () => {
    const registry = new MetricsRegistry()
    let providers = ['a', 'b']
    registry.gauge('keynet_provider_up', 'Providers up.', ['provider'], { collect: emit => { for (const p of providers) emit({ provider: p }, 1) } })
    const names = (): string[] => registry.collect()[0]?.samples.map(s => s.labels.provider ?? '') ?? []
    assert.deepEqual(names(), ['a', 'b'])
    providers = ['b', 'c']
    assert.deepEqual(names(), ['b', 'c'])
    const g = registry.gauge('keynet_direct', 'Direct.', ['k'])
    g.set({ k: 'x' }, 1)
    g.set({ k: 'y' }, 2)
    g.inc({ k: 'y' }, -0.5)
    g.remove({ k: 'x' })
    assert.deepEqual(registry.collect()[1]?.samples.map(s => [s.labels.k, s.value]), [['y', 1.5]])
  })

  it('rejects names and labels that break the conventions, and misuse', () => {
    const registry = new MetricsRegistry()
    assert.throws(() => registry.counter('keynet_requests', 'x'), /must end in _total/)
    assert.throws(() => registry.gauge('keynet_peers_total', 'x'), /must not end in _total/)
    assert.throws(() => registry.counter('requests_total', 'x'), /keynet_/)
    assert.throws(() => registry.gauge('keynet_Peers', 'x'), /snake_case/)
    assert.throws(() => registry.gauge('keynet_latency_ms', 'x'), /base units/)
    assert.throws(() => registry.gauge('keynet_cache_mib', 'x'), /base units/)
    assert.throws(() => registry.histogram('keynet_latency', 'x', [], [1]), /must end in its unit/)
    assert.throws(() => registry.gauge('keynet_queue_count', 'x'), /histograms add that suffix/)
    assert.throws(() => registry.gauge('keynet_ok', 'x', ['le']), /reserved/)
    assert.throws(() => registry.gauge('keynet_ok', 'x', ['a', 'a']), /twice/)
    assert.throws(() => registry.gauge('keynet_ok', 'x', ['Bad']), /snake_case/)
    assert.throws(() => registry.gauge('keynet_ok', ''), /help/)
    assert.throws(() => registry.histogram('keynet_ok_seconds', 'x', [], [1, 1]), /increase/)
    assert.throws(() => registry.histogram('keynet_ok_seconds', 'x', [], [1, Infinity]), /finite/)
    const c = registry.counter('keynet_things_total', 'x', ['kind'])
    assert.throws(() => registry.counter('keynet_things_total', 'x'), /defined twice/)
    assert.throws(() => { c.inc({ kind: 'a' }, -1) }, /cannot go down/)
    assert.throws(() => { c.inc({} as { kind: string }) }, /takes exactly the labels/)
    assert.throws(() => { c.inc({ kind: 'a', other: 'b' } as { kind: string }) }, /takes exactly the labels/)
    const collected = registry.gauge('keynet_read', 'x', [], { collect: emit => { emit({}, 1) } })
    assert.throws(() => { collected.set({}, 2) }, /collected at scrape time/)
  })
})
