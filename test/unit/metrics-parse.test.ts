import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { maxExpositionBytes } from '../../src/services/metrics/constants.ts'
import { renderExposition } from '../../src/services/metrics/exposition.ts'
import { parseExposition } from '../../src/services/metrics/parse.ts'
import { registerProviderMetrics } from '../../src/services/metrics/provider-metrics.ts'
import { bucketDelta, histogramQuantile } from '../../src/services/metrics/quantile.ts'
import { MetricsRegistry } from '../../src/services/metrics/registry.ts'

describe('metrics text parser', () => {
  it('reads back exactly what the registry rendered (render → parse → same families)', () => {
    const registry = new MetricsRegistry()
    const c = registry.counter('keynet_gateway_requests_total', 'Responses.\nBy "status" \\ code.', ['status'])
    c.inc({ status: '200' }, 7)
    c.inc({ status: 'we"ird\\la\nbel, {x="y"}' })
    registry.gauge('keynet_odd', 'Special values.', ['v'], { collect: emit => { emit({ v: 'inf' }, Infinity); emit({ v: 'ninf' }, -Infinity); emit({ v: 'tiny' }, 1.5e-9); emit({ v: 'neg' }, -3.25) } })
    const providers = registerProviderMetrics(registry, () => [{ pool: 'cid:x', providers: [{ provider: 'p1', state: 'probation', score: 0.75 }] }])
    for (let i = 0; i < 50; i++) providers.request('cid:x', 'p1', i % 7 === 0 ? 'timeout' : 'ok', i * 0.013)
    providers.ejected('cid:x', 'p1')
    providers.hedged('cid:x')
    const families = registry.collect()
    const parsed = parseExposition(renderExposition(families))
    assert.deepEqual(parsed, families)
    // NaN is not equal to itself, so it is checked on its own.
    const nan = new MetricsRegistry()
    nan.gauge('keynet_nan', 'NaN.', [], { collect: emit => { emit({}, NaN) } })
    assert.ok(Number.isNaN(parseExposition(renderExposition(nan.collect()))[0]?.samples[0]?.value))
  })

  it('reads pages from other exporters: comments, timestamps, blanks, untyped and summary families', () => {
    const text = [
      '# a plain comment',
      '',
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400",}    3   1395066363000',
      'no_type_here 12.5',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
      'metric_without_timestamp_and_labels\t12.47\r',
      'spaced { a = "1" , b="2" } -Inf'
    ].join('\n')
    const families = parseExposition(text)
    assert.deepEqual(families.map(f => [f.name, f.type, f.samples.length]), [
      ['http_requests_total', 'counter', 2],
      ['no_type_here', 'untyped', 1],
      ['rpc_duration_seconds', 'summary', 3],
      ['metric_without_timestamp_and_labels', 'untyped', 1],
      ['spaced', 'untyped', 1]
    ])
    assert.equal(families[0]?.help, 'The total number of HTTP requests.')
    assert.deepEqual(families[0]?.samples[1], { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3 })
    assert.equal(families[2]?.samples[1]?.value, 17560473)
    assert.equal(families[3]?.samples[0]?.value, 12.47)
    assert.deepEqual(families[4]?.samples[0], { name: 'spaced', labels: { a: '1', b: '2' }, value: -Infinity })
  })

  it('names the line of anything outside the format', () => {
    const bad: Array<[string, RegExp]> = [
      ['ok 1\n{a="b"} 1', /line 2: a sample must start with a metric name/],
      ['m{a="b} 1', /line 1: the value of label a is not closed/],
      ['m{a=b} 1', /quoted value expected/],
      ['m{a="\\t"} 1', /unknown escape/],
      ['m{a="1",a="2"} 1', /appears twice/],
      ['m{a="1" b="2"} 1', /"," or "}" expected/],
      ['m one', /"one" is not a number/],
      ['m', /a blank and a value expected/],
      ['m 1 2 3', /text after the value/],
      ['m 1 soon', /not a timestamp/],
      ['# TYPE m counter\n# TYPE m gauge', /line 2: a second TYPE/],
      ['# TYPE m nonsense', /unknown type/],
      ['m 1\n# TYPE m counter', /comes after its samples/],
      ['# HELP m a\n# HELP m b', /a second HELP/],
      ['# HELP m bad \\q escape', /unknown escape/],
      ['# TYPE h histogram\nh 1', /without _bucket, _sum or _count/]
    ]
    for (const [text, message] of bad) assert.throws(() => parseExposition(text), (err: Error) => err.name === 'MetricsFormatError' && message.test(err.message), text)
    assert.throws(() => parseExposition('x'.repeat(maxExpositionBytes + 1)), { name: 'MetricsFormatError' })
  })
})

describe('histogram quantiles', () => {
  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    const buckets = [{ le: 0.1, count: 50 }, { le: 0.2, count: 90 }, { le: 0.4, count: 100 }]
    assert.equal(histogramQuantile(0.5, buckets, 100), 0.1)
    assert.equal(histogramQuantile(0.25, buckets, 100), 0.05)
    assert.ok(Math.abs((histogramQuantile(0.7, buckets, 100) ?? 0) - 0.15) < 1e-12)
    assert.ok(Math.abs((histogramQuantile(0.95, buckets, 100) ?? 0) - 0.3) < 1e-12)
    // Ranks in the +Inf bucket give the highest finite bound.
    assert.equal(histogramQuantile(0.99, buckets, 200), 0.4)
    assert.equal(histogramQuantile(0.5, buckets, 0), undefined)
    // Empty leading buckets are skipped.
    assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: 2, count: 4 }], 4), 1.5)
  })

  it('subtracts an earlier scrape to get the observations in between', () => {
    assert.deepEqual(bucketDelta([{ le: 1, count: 10 }, { le: 2, count: 15 }], [{ le: 1, count: 4 }, { le: 2, count: 5 }]), [{ le: 1, count: 6 }, { le: 2, count: 10 }])
    assert.deepEqual(bucketDelta([{ le: 1, count: 3 }], []), [{ le: 1, count: 3 }])
  })
})
