/**
 * The naming rules every Keynet metric follows: Prometheus's character rules plus its
 * conventions, made checkable. A metric is `keynet_<what>[_<unit>][_total]` in lowercase
 * snake case; units are base units (`_seconds`, `_bytes`), never `_ms` or `_mib`; counters end
 * in `_total` and nothing else does; `_bucket`, `_sum` and `_count` are left to histograms'
 * own sample names. A name breaking them is a programming error, so the checks assert.
 */
import assert from 'node:assert/strict'
import { maxLabelNames } from './constants.ts'

/** The kinds of metric a registry holds. */
export type MetricType = 'counter' | 'gauge' | 'histogram'

/** Words that name a scaled unit; Prometheus wants the base unit instead. */
const scaledUnits = new Set(['ms', 'millis', 'milliseconds', 'us', 'microseconds', 'ns', 'nanoseconds', 'minutes', 'hours', 'days', 'kb', 'mb', 'gb', 'tb', 'kib', 'mib', 'gib', 'tib', 'kilobytes', 'megabytes', 'bits'])

/** Units a histogram may measure in. */
const histogramUnits = ['_seconds', '_bytes']

/** Sample-name suffixes a histogram adds to its name. */
const histogramSuffixes = ['_bucket', '_sum', '_count']

/** Asserts that `name` is a valid Keynet metric name for a metric of `type`. */
export function checkMetricName (name: string, type: MetricType): void {
  assert.match(name, /^keynet_[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `metric name "${name}" must be keynet_ followed by lowercase snake_case words`)
  const words = name.split('_')
  const scaled = words.find(w => scaledUnits.has(w))
  assert.equal(scaled, undefined, `metric name "${name}" uses the scaled unit "${scaled}": use base units, _seconds or _bytes`)
  if (type === 'counter') assert.ok(name.endsWith('_total'), `counter "${name}" must end in _total`)
  else assert.ok(!name.endsWith('_total'), `${type} "${name}" must not end in _total: only counters do`)
  const reserved = histogramSuffixes.find(s => name.endsWith(s))
  assert.equal(reserved, undefined, `metric name "${name}" must not end in ${reserved}: histograms add that suffix to their own samples`)
  if (type === 'histogram') assert.ok(histogramUnits.some(u => name.endsWith(u)), `histogram "${name}" must end in its unit: ${histogramUnits.join(' or ')}`)
}

/** Asserts that `labelNames` are valid, distinct label names for a metric. */
export function checkLabelNames (metric: string, labelNames: readonly string[]): void {
  assert.ok(labelNames.length <= maxLabelNames, `metric "${metric}" has ${labelNames.length} labels; at most ${maxLabelNames}`)
  assert.equal(new Set(labelNames).size, labelNames.length, `metric "${metric}" lists a label twice`)
  for (const label of labelNames) {
    assert.match(label, /^[a-z][a-z0-9_]*$/, `label "${label}" of "${metric}" must be lowercase snake_case`)
    assert.notEqual(label, 'le', `label "le" of "${metric}" is reserved for histogram buckets`)
  }
}
