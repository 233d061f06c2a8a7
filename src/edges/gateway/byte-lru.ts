/**
 * A least-recently-used map bounded by total bytes and by entry count: the index of the edge
 * cache's disk tier and its in-memory tier of hot blocks.
 */
import assert from 'node:assert/strict'

/** An LRU map whose entries each have a size; inserting past a bound evicts the least recently used. */
export class ByteLru<V> {
  /** Total size of all entries, bytes. */
  readonly capacityBytes: number
  /** Most entries held at once. */
  readonly maxEntries: number
  private readonly sizeOf: (value: V) => number
  // A Map iterates in insertion order; re-inserting on access keeps the oldest access first.
  private readonly entries = new Map<string, V>()
  private totalBytes = 0

  constructor (capacityBytes: number, maxEntries: number, sizeOf: (value: V) => number) {
    assert.ok(capacityBytes > 0 && maxEntries > 0, 'an LRU needs a positive capacity')
    this.capacityBytes = capacityBytes
    this.maxEntries = maxEntries
    this.sizeOf = sizeOf
  }

  /** Sum of the sizes of the entries held. */
  get bytes (): number { return this.totalBytes }

  /** Number of entries held. */
  get size (): number { return this.entries.size }

  /** Whether `key` is held, without counting as an access. */
  has (key: string): boolean { return this.entries.has(key) }

  /** The value of `key` without counting as an access. */
  peek (key: string): V | undefined { return this.entries.get(key) }

  /** The value of `key`, marking it most recently used. */
  get (key: string): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  /**
   * Inserts or replaces `key` as most recently used and returns the entries evicted to stay
   * within both bounds. A value larger than the whole capacity is a caller bug.
   */
  set (key: string, value: V): Array<[string, V]> {
    const size = this.sizeOf(value)
    assert.ok(size >= 0 && size <= this.capacityBytes, `an entry of ${size} bytes cannot fit an LRU of ${this.capacityBytes}`)
    this.delete(key)
    this.entries.set(key, value)
    this.totalBytes += size
    const evicted: Array<[string, V]> = []
    while (this.totalBytes > this.capacityBytes || this.entries.size > this.maxEntries) {
      const oldest = this.entries.entries().next()
      assert.ok(oldest.done !== true, 'a non-empty LRU over its bounds has an oldest entry')
      const [oldKey, oldValue] = oldest.value
      this.delete(oldKey)
      evicted.push([oldKey, oldValue])
    }
    return evicted
  }

  /** Removes `key`, returning its value if it was held. */
  delete (key: string): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.totalBytes -= this.sizeOf(value)
    return value
  }
}
