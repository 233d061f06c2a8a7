/**
 * A small metrics registry: counters, gauges and histograms with labels, in the shape
 * Prometheus scrapes. Every metric holds at most `maxSeriesPerMetric` label sets; past that,
 * updates for new label sets go to one series whose every label is `other`, and
 * `keynet_metrics_series_dropped_total{metric}` counts them, so label values that come from the
 * network (peer ids, status codes) cannot grow memory. Counters and gauges may instead be
 * *collected*: a callback reads their values from the part that owns them at scrape time.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry()
 * const requests = registry.counter('keynet_gateway_requests_total', 'Gateway responses by status.', ['status'])
 * requests.inc({ status: '200' })
 * registry.gauge('keynet_mempool_transactions', 'Pending transactions.', [], { collect: emit => emit({}, mempool.size) })
 * const latency = registry.histogram('keynet_fetch_duration_seconds', 'Fetch time.', ['pool'], [0.01, 0.1, 1])
 * latency.observe({ pool: 'blocks' }, 0.042)
 * const text = renderExposition(registry.collect())
 * ```
 */
import assert from 'node:assert/strict'
import { maxHelpChars, maxHistogramBuckets, maxLabelValueChars, maxMetrics, maxSeriesPerMetric } from './constants.ts'
import { formatNumber, type MetricFamily, type Sample } from './family.ts'
import { checkLabelNames, checkMetricName, type MetricType } from './naming.ts'

/** The value of every label of a metric, by label name. */
export type LabelValues<L extends string> = { readonly [K in L]: string }

/** Reports one series of a collected metric: its labels and its current value. */
export type Emit<L extends string> = (labels: LabelValues<L>, value: number) => void

/** Options of a counter or gauge. */
export interface CollectOptions<L extends string> {
  /**
   * Reads the metric's series at scrape time, replacing those of the previous scrape (a series
   * not emitted is gone; values emitted twice for one label set add up). A collected metric is
   * not updated any other way. A collected counter must only grow while the process runs.
   */
  collect?: (emit: Emit<L>) => void
}

/** The label value every label of the overflow series has. */
export const overflowLabelValue = 'other'

/** Name of the counter of updates folded into an overflow series. */
export const droppedSeriesMetric = 'keynet_metrics_series_dropped_total'

/** What all metric kinds share: name, help, labels, and the bounded map of series. */
abstract class Metric<L extends string, S> {
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly labelNames: readonly L[]
  protected readonly series = new Map<string, { values: string[], state: S }>()
  readonly #onOverflow: () => void

  constructor (type: MetricType, name: string, help: string, labelNames: readonly L[], onOverflow: () => void) {
    checkMetricName(name, type)
    checkLabelNames(name, labelNames)
    assert.ok(help.length > 0 && help.length <= maxHelpChars, `help of "${name}" must be 1..${maxHelpChars} characters`)
    this.type = type
    this.name = name
    this.help = help
    this.labelNames = [...labelNames]
    this.#onOverflow = onOverflow
  }

  /** The state of the series `labels` names, created with `initial` when new (or the overflow series past the cap). */
  protected seriesOf (labels: LabelValues<L>, initial: () => S): S {
    const values = this.valuesOf(labels)
    let key = JSON.stringify(values)
    let entry = this.series.get(key)
    if (entry === undefined) {
      if (this.series.size >= maxSeriesPerMetric) {
        const other = this.labelNames.map(() => overflowLabelValue)
        key = JSON.stringify(other)
        entry = this.series.get(key)
        this.#onOverflow()
        if (entry === undefined) {
          entry = { values: other, state: initial() }
          this.series.set(key, entry)
        }
      } else {
        entry = { values, state: initial() }
        this.series.set(key, entry)
      }
    }
    return entry.state
  }

  /** The current state of the series `labels` names, if it exists. */
  protected find (labels: LabelValues<L>): S | undefined {
    return this.series.get(JSON.stringify(this.valuesOf(labels)))?.state
  }

  /** The labels of a series as a record, in label-name order. */
  protected labelsOf (values: readonly string[]): Record<string, string> {
    const labels: Record<string, string> = {}
    this.labelNames.forEach((name, i) => { labels[name] = values[i] ?? '' })
    return labels
  }

  /** Removes every series. */
  clear (): void {
    this.series.clear()
  }

  /** The family as it is now. */
  family (): MetricFamily {
    const samples: Sample[] = []
    for (const { values, state } of this.series.values()) this.appendSamples(samples, values, state)
    return { name: this.name, help: this.help, type: this.type, samples }
  }

  protected abstract appendSamples (out: Sample[], values: readonly string[], state: S): void

  /** The label values of `labels` in label-name order, cut to `maxLabelValueChars`; asserts they are exactly the metric's labels. */
  protected valuesOf (labels: LabelValues<L>): string[] {
    const given = labels as Record<string, string | undefined>
    assert.equal(Object.keys(given).length, this.labelNames.length, `"${this.name}" takes exactly the labels ${JSON.stringify(this.labelNames)}; got ${JSON.stringify(Object.keys(given))}`)
    return this.labelNames.map(name => {
      const value = given[name]
      assert.ok(typeof value === 'string', `"${this.name}" needs a string value for label "${name}"`)
      return value.length > maxLabelValueChars ? value.slice(0, maxLabelValueChars) : value
    })
  }
}

/** A number per label set, for counters and gauges. */
abstract class ScalarMetric<L extends string> extends Metric<L, { value: number }> {
  /** The collect callback of a collected metric. */
  readonly collector: ((emit: Emit<L>) => void) | undefined

  constructor (type: 'counter' | 'gauge', name: string, help: string, labelNames: readonly L[], onOverflow: () => void, opts: CollectOptions<L>) {
    super(type, name, help, labelNames, onOverflow)
    this.collector = opts.collect
    if (this.collector === undefined && labelNames.length === 0) this.seriesOf({} as LabelValues<L>, () => ({ value: 0 }))
  }

  /** The value of one series; 0 when it does not exist. */
  value (labels: LabelValues<L>): number {
    return this.find(labels)?.value ?? 0
  }

  /** Replaces the series with those the collect callback emits now; a no-op for plain metrics. */
  refresh (): void {
    const collect = this.collector
    if (collect === undefined) return
    this.clear()
    collect((labels, value) => { this.collected(labels, value) })
  }

  /** Adds an emitted value to its series (fresh each scrape), so label sets folded into the overflow series add up. */
  protected collected (labels: LabelValues<L>, value: number): void {
    this.seriesOf(labels, () => ({ value: 0 })).value += value
  }

  protected add (labels: LabelValues<L>, by: number): void {
    assert.equal(this.collector, undefined, `"${this.name}" is collected at scrape time and cannot be updated directly`)
    assert.ok(Number.isFinite(by), `"${this.name}" updated by a non-finite amount`)
    this.seriesOf(labels, () => ({ value: 0 })).value += by
  }

  protected appendSamples (out: Sample[], values: readonly string[], state: { value: number }): void {
    out.push({ name: this.name, labels: this.labelsOf(values), value: state.value })
  }
}

/** A count that only goes up while the process runs (requests, errors, commits). */
export class Counter<L extends string = never> extends ScalarMetric<L> {
  constructor (name: string, help: string, labelNames: readonly L[], onOverflow: () => void, opts: CollectOptions<L> = {}) {
    super('counter', name, help, labelNames, onOverflow, opts)
  }

  /** Adds `by` (≥ 0, default 1) to the series `labels` names. */
  inc (labels: LabelValues<L>, by = 1): void {
    assert.ok(by >= 0, `counter "${this.name}" cannot go down (inc by ${by})`)
    this.add(labels, by)
  }

  protected override collected (labels: LabelValues<L>, value: number): void {
    assert.ok(value >= 0, `counter "${this.name}" collected a negative value`)
    super.collected(labels, value)
  }
}

/** A value that goes up and down (height, peers, bytes stored). */
export class Gauge<L extends string = never> extends ScalarMetric<L> {
  constructor (name: string, help: string, labelNames: readonly L[], onOverflow: () => void, opts: CollectOptions<L> = {}) {
    super('gauge', name, help, labelNames, onOverflow, opts)
  }

  /** Sets the series `labels` names to `value`. */
  set (labels: LabelValues<L>, value: number): void {
    assert.equal(this.collector, undefined, `"${this.name}" is collected at scrape time and cannot be set directly`)
    this.seriesOf(labels, () => ({ value: 0 })).value = value
  }

  /** Adds `by` (default 1; negative to lower it) to the series `labels` names. */
  inc (labels: LabelValues<L>, by = 1): void {
    this.add(labels, by)
  }

  /** Removes the series `labels` names (a provider that left a pool). */
  remove (labels: LabelValues<L>): void {
    this.series.delete(JSON.stringify(this.valuesOf(labels)))
  }
}

/** Observations of one label set: counts per bucket (not cumulative; the last is +Inf), sum, count. */
interface HistogramState { counts: number[], sum: number, count: number }

/** A distribution of observed values (latencies, sizes) in fixed buckets. */
export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  /** Upper bounds of the buckets, increasing; +Inf is implied after them. */
  readonly buckets: readonly number[]
  readonly #le: string[]

  constructor (name: string, help: string, labelNames: readonly L[], buckets: readonly number[], onOverflow: () => void) {
    super('histogram', name, help, labelNames, onOverflow)
    assert.ok(buckets.length >= 1 && buckets.length <= maxHistogramBuckets, `histogram "${name}" needs 1..${maxHistogramBuckets} buckets`)
    buckets.forEach((b, i) => {
      assert.ok(Number.isFinite(b), `bucket ${b} of "${name}" must be finite (+Inf is implied)`)
      assert.ok(i === 0 || b > (buckets[i - 1] ?? -Infinity), `buckets of "${name}" must increase`)
    })
    this.buckets = [...buckets]
    this.#le = [...buckets.map(formatNumber), '+Inf']
    if (labelNames.length === 0) this.seriesOf({} as LabelValues<L>, () => this.#empty())
  }

  /** Records one observation in the series `labels` names. */
  observe (labels: LabelValues<L>, value: number): void {
    assert.ok(!Number.isNaN(value), `histogram "${this.name}" observed NaN`)
    const state = this.seriesOf(labels, () => this.#empty())
    let i = this.buckets.findIndex(b => value <= b)
    if (i === -1) i = this.buckets.length
    state.counts[i] = (state.counts[i] ?? 0) + 1
    state.sum += value
    state.count += 1
  }

  /** Observations and their sum in the series `labels` names. */
  totals (labels: LabelValues<L>): { count: number, sum: number } {
    const state = this.find(labels)
    return { count: state?.count ?? 0, sum: state?.sum ?? 0 }
  }

  protected appendSamples (out: Sample[], values: readonly string[], state: HistogramState): void {
    let cumulative = 0
    state.counts.forEach((n, i) => {
      cumulative += n
      out.push({ name: `${this.name}_bucket`, labels: { ...this.labelsOf(values), le: this.#le[i] ?? '+Inf' }, value: cumulative })
    })
    out.push({ name: `${this.name}_sum`, labels: this.labelsOf(values), value: state.sum })
    out.push({ name: `${this.name}_count`, labels: this.labelsOf(values), value: state.count })
  }

  #empty (): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>

/** The metrics of one node, in registration order; see the module comment. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, AnyMetric>()
  readonly #dropped: Counter<'metric'>

  constructor () {
    this.#dropped = this.counter(droppedSeriesMetric, `Updates folded into a metric's "${overflowLabelValue}" series because it already had ${maxSeriesPerMetric} label sets.`, ['metric'])
  }

  /** Defines a counter; `opts.collect` makes it read at scrape time. */
  counter<L extends string = never> (name: string, help: string, labelNames: readonly L[] = [], opts: CollectOptions<L> = {}): Counter<L> {
    return this.#add(new Counter(name, help, labelNames, this.#overflow(name), opts))
  }

  /** Defines a gauge; `opts.collect` makes it read at scrape time. */
  gauge<L extends string = never> (name: string, help: string, labelNames: readonly L[] = [], opts: CollectOptions<L> = {}): Gauge<L> {
    return this.#add(new Gauge(name, help, labelNames, this.#overflow(name), opts))
  }

  /** Defines a histogram with the given bucket upper bounds (increasing; +Inf is added). */
  histogram<L extends string = never> (name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> {
    return this.#add(new Histogram(name, help, labelNames, buckets, this.#overflow(name)))
  }

  /**
   * Runs the collect callbacks and returns every family in registration order, the
   * dropped-series counter last (so it includes what this collection dropped).
   */
  collect (): MetricFamily[] {
    const families: MetricFamily[] = []
    for (const metric of this.#metrics.values()) {
      if (metric === this.#dropped) continue
      if (!(metric instanceof Histogram)) metric.refresh()
      families.push(metric.family())
    }
    families.push(this.#dropped.family())
    return families
  }

  #add<M extends AnyMetric> (metric: M): M {
    assert.ok(!this.#metrics.has(metric.name), `metric "${metric.name}" is defined twice`)
    assert.ok(this.#metrics.size < maxMetrics, `a registry holds at most ${maxMetrics} metrics`)
    this.#metrics.set(metric.name, metric)
    return metric
  }

  #overflow (name: string): () => void {
    return () => { if (name !== droppedSeriesMetric) this.#dropped.inc({ metric: name }) }
  }
}
