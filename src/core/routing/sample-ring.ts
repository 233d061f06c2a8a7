/**
 * The last N latency samples in a fixed ring, with quantiles by sorting a copy. The sorted copy
 * is cached and re-sorted only after `maxStale` new samples, so asking for a p95 on every call
 * costs nothing most of the time.
 */
import assert from 'node:assert/strict'

/** A bounded ring of samples (oldest overwritten first). */
export class SampleRing {
  readonly #values: Float64Array
  #next = 0
  #count = 0
  #sorted: Float64Array | undefined
  #addedSinceSort = 0

  /** A ring keeping the last `capacity` samples. */
  constructor (capacity: number) {
    assert.ok(Number.isInteger(capacity) && capacity >= 1)
    this.#values = new Float64Array(capacity)
  }

  /** Samples held (at most the capacity). */
  get size (): number {
    return this.#count
  }

  /** Adds a sample, dropping the oldest when full. */
  push (value: number): void {
    this.#values[this.#next] = value
    this.#next = (this.#next + 1) % this.#values.length
    this.#count = Math.min(this.#count + 1, this.#values.length)
    this.#addedSinceSort += 1
  }

  /**
   * The `q` quantile (nearest rank) of the samples held, or undefined when there are none. The
   * answer may ignore up to `maxStale` of the newest samples.
   */
  quantile (q: number, maxStale = 0): number | undefined {
    assert.ok(q >= 0 && q <= 1)
    if (this.#count === 0) return undefined
    if (this.#sorted === undefined || this.#addedSinceSort > maxStale) {
      this.#sorted = this.#values.slice(0, this.#count).sort()
      this.#addedSinceSort = 0
    }
    const rank = Math.max(1, Math.ceil(q * this.#sorted.length))
    return this.#sorted[rank - 1]
  }
}
