/**
 * Block-sized buffers used again instead of allocated per block. Fresh memory costs a page fault
 * per 4 KiB the first time it is written, which on a virtual machine costs far more than copying
 * the bytes: a fetch of 256 MiB into new 1 MiB buffers spent more time there than in hashing
 * them. A buffer comes back only from the one who took the block last (a writer done with it),
 * and only once: a buffer given back while anything still reads it would change under the reader.
 *
 * @example
 * ```ts
 * const bytes = receivedBlockBuffers.take(size)   // a view of `size` bytes
 * …verify, write…
 * receivedBlockBuffers.give(bytes)                // ignored unless it came from this pool
 * ```
 */
import assert from 'node:assert/strict'
import { maxBlockBytes } from '../../core/content/constants.ts'
import { pooledReceivedBlockBuffers } from './constants.ts'

/** A bounded stack of `maxBlockBytes` buffers. */
export class BlockBuffers {
  readonly #max: number
  readonly #free: SharedArrayBuffer[] = []
  /** Buffers this pool made: only those are taken back. */
  readonly #made = new WeakSet<SharedArrayBuffer>()
  /** Buffers in `#free`, so one given back twice is kept once. */
  readonly #inPool = new Set<SharedArrayBuffer>()
  #reusing = false

  /** `max`: buffers kept for reuse at most (the rest go to the garbage collector). */
  constructor (max: number) {
    assert.ok(Number.isSafeInteger(max) && max >= 0)
    this.#max = max
  }

  /**
   * From now on, hands out (shared, reusable) buffers of the pool. Until then `take` gives new
   * memory each time: a pool nobody gives back to only costs (shared memory is slower to allocate
   * and to free), so only a reader that gives every block back turns it on.
   */
  reuse (): void {
    this.#reusing = true
  }

  /** A buffer of `bytes` bytes (at most `maxBlockBytes`), its contents undefined. */
  take (bytes: number): Uint8Array {
    assert.ok(Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= maxBlockBytes)
    if (!this.#reusing) return new Uint8Array(bytes)
    let buffer = this.#free.pop()
    if (buffer === undefined) {
      // Shared memory: a worker thread can hash a block in place (block-verifier.ts).
      buffer = new SharedArrayBuffer(maxBlockBytes)
      this.#made.add(buffer)
    } else {
      this.#inPool.delete(buffer)
    }
    return new Uint8Array(buffer, 0, bytes)
  }

  /** Returns the buffer under `view` for reuse, when it came from this pool; nothing must read `view` after. */
  give (view: Uint8Array): void {
    const buffer = view.buffer
    if (!(buffer instanceof SharedArrayBuffer) || !this.#made.has(buffer) || this.#inPool.has(buffer) || this.#free.length >= this.#max) return
    this.#free.push(buffer)
    this.#inPool.add(buffer)
  }

  /** Buffers waiting for reuse. */
  get free (): number {
    return this.#free.length
  }
}

/**
 * The process's buffers for raw blocks received from providers. A consumer that is the last
 * reader of every fetched block (`keynet get`, once it wrote it) turns reuse on and gives each
 * back; in other processes (a gateway, a replicator's pulls) it stays off.
 */
export const receivedBlockBuffers = new BlockBuffers(pooledReceivedBlockBuffers)
