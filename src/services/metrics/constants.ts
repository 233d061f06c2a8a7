/**
 * Every bound of the metrics registry, its text format, and `keynet top`, each with its reason.
 * Relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'

/** Label sets of one metric; past it updates go to one `other` series, so a flood of provider ids cannot grow memory or scrapes. */
export const maxSeriesPerMetric = 1000
/** Metric families in one registry: metrics are defined by code, so this only catches a registration loop. */
export const maxMetrics = 256
/** Label names of one metric: more means the metric should be split. */
export const maxLabelNames = 8
/** Characters of one label value; longer values are cut (a peer id is 52, a CID about 60). */
export const maxLabelValueChars = 128
/** Buckets of one histogram (besides +Inf): each costs a line per label set on every scrape. */
export const maxHistogramBuckets = 32
/** Characters of a metric's help text. */
export const maxHelpChars = 512
/** Bytes of a metrics page a parser or `keynet top` reads: a full registry renders to a few MiB at most. */
export const maxExpositionBytes = 16 * 1024 * 1024
/** Samples one parse accepts: a node's page has a few thousand; this fits a thousand providers' latency histograms many times over. */
export const maxParsedSamples = 400_000
/** Labels on one parsed sample: ours have at most `maxLabelNames` plus `le`. */
export const maxParsedLabels = 32
/** Fault-log entries looked at per scrape to count new faults; more new faults than this between two scrapes are under-counted. */
export const maxFaultScanEntries = 10_000
/** `keynet top` polls at most this often, so a watching terminal cannot load a node. */
export const minTopIntervalMs = 100
/** `keynet top` polls at least this often, so a mistyped interval does not look like a hung view. */
export const maxTopIntervalMs = 3_600_000
/** One `/metrics` request from `keynet top`: a live node answers in milliseconds. */
export const scrapeTimeoutMs = 5_000

assert.ok(maxMetrics <= maxSeriesPerMetric, 'the dropped-series counter (one series per metric) must never overflow itself')
assert.ok(maxLabelNames + 1 <= maxParsedLabels, 'a histogram bucket of the widest metric must parse')
assert.ok(maxSeriesPerMetric * (maxHistogramBuckets + 3) <= maxParsedSamples, 'one full histogram family must be parseable')
assert.ok(minTopIntervalMs < scrapeTimeoutMs && scrapeTimeoutMs < maxTopIntervalMs)
