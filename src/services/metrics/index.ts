/**
 * @packageDocumentation
 *
 * Node metrics in the Prometheus way: a small registry of counters, gauges and histograms with
 * bounded label sets (`MetricsRegistry`), the text exposition format 0.0.4 and its parser, a
 * node's standard metrics read from its parts at scrape time (`registerNodeMetrics`), the
 * provider-routing family that routing code feeds through `ProviderMetrics`, the `GET /metrics`
 * route, and the reading side `keynet top` uses (`fetchMetrics`, `readNodeSnapshot`,
 * `histogramQuantile`).
 *
 * @example
 * ```ts
 * import { MetricsRegistry, registerNodeMetrics, metricsRoute } from './src/services/metrics/index.ts'
 *
 * const registry = new MetricsRegistry()
 * const metrics = registerNodeMetrics(registry, { ledger, p2p, blockStore, faults })
 * const api = new ApiServer([...ledgerRoutes(ledger, info), metricsRoute(registry)])
 * metrics.providers.request('cid:bafy…', peerId, 'ok', 0.012)   // from routing code
 * // curl http://127.0.0.1:7700/metrics
 * ```
 */
export { MetricsRegistry, Counter, Gauge, Histogram, overflowLabelValue, droppedSeriesMetric, type LabelValues, type Emit, type CollectOptions } from './registry.ts'
export { formatNumber, type MetricFamily, type Sample, type FamilyType } from './family.ts'
export { renderExposition, escapeLabelValue, expositionContentType } from './exposition.ts'
export { parseExposition } from './parse.ts'
export { histogramQuantile, bucketDelta, type Bucket } from './quantile.ts'
export { registerNodeMetrics, type NodeMetrics, type NodeMetricsParts, type GatewayFigures } from './node-metrics.ts'
export {
  registerProviderMetrics, noProviderMetrics, providerOutcomes, failureOutcomes, providerStates, providerDurationBucketsSeconds,
  type ProviderMetrics, type ProviderOutcome, type ProviderState, type PoolView
} from './provider-metrics.ts'
export { readNodeSnapshot, type NodeSnapshot, type ProviderRow } from './node-snapshot.ts'
export { fetchMetrics } from './scrape.ts'
export { MetricsFormatError } from './errors.ts'
