/**
 * Quantiles from histogram buckets, estimated as Prometheus's `histogram_quantile` does: find
 * the bucket holding the rank, then interpolate linearly inside it (the first bucket starts at
 * 0). A rank that falls in the +Inf bucket gives the highest finite bound.
 */
import assert from 'node:assert/strict'

/** One cumulative bucket: observations ≤ `le`. */
export interface Bucket { le: number, count: number }

/**
 * The `q`-quantile (0..1) of the observations in `buckets` (cumulative, by increasing `le`,
 * finite bounds only) out of `total` observations (those above the last bound included);
 * undefined without observations.
 */
export function histogramQuantile (q: number, buckets: readonly Bucket[], total: number): number | undefined {
  assert.ok(q >= 0 && q <= 1, `quantile ${q} is outside 0..1`)
  if (total <= 0 || buckets.length === 0) return undefined
  const rank = q * total
  let lower = 0
  let below = 0
  for (const { le, count } of buckets) {
    if (count >= rank && count > below) {
      const start = lower > le ? le : lower
      return start + (le - start) * ((rank - below) / (count - below))
    }
    lower = le
    below = count
  }
  return buckets[buckets.length - 1]?.le
}

/** Bucket counts of `now` minus those of `before` (same bounds): the observations between two scrapes. */
export function bucketDelta (now: readonly Bucket[], before: readonly Bucket[]): Bucket[] {
  return now.map((b, i) => ({ le: b.le, count: Math.max(0, b.count - (before[i]?.le === b.le ? before[i]?.count ?? 0 : 0)) }))
}
