import assert from 'node:assert/strict'
import { bitAt, emptyHash, hashBytes } from './hashing.ts'
import type { ProofStep, StateProof } from './proof.ts'
import { equalWords, wordsToBytes } from './sha256.ts'
import { apply, build, byPosition, hashOf, leaf, removal, sortByPosition } from './tree.ts'
import type { Leaf, Node, Write } from './tree.ts'

/**
 * An authenticated key-value map: an immutable value whose `root` commits to every entry.
 * Every update returns a new map and leaves the old one valid; versions share unchanged
 * subtrees, so a fork for speculative execution costs nothing until it is written to.
 *
 * Keys and values are kept by reference, not copied: do not change a `Uint8Array` after
 * handing it to the map, nor one the map hands back.
 */
export interface AuthMap {
  /** 32 bytes committing to the whole map; `emptyMapRoot` for the empty map. A fresh copy on each read. */
  readonly root: Uint8Array
  /** Number of keys. */
  readonly size: number
  /** The value of `key`, or undefined. Walks one path: O(tree depth), about log2(size). */
  get (key: Uint8Array): Uint8Array | undefined
  /** This map with `key` set to `value`. */
  set (key: Uint8Array, value: Uint8Array): AuthMap
  /** This map without `key` (the same map if `key` is absent). */
  delete (key: Uint8Array): AuthMap
  /**
   * This map with all `ops` applied (`value` undefined deletes). A later op on the same key
   * wins. Cheaper than the same writes one by one: each touched node is built and hashed once.
   */
  batch (ops: Iterable<{ key: Uint8Array, value?: Uint8Array | undefined }>): AuthMap
  /** A proof of `key`'s value if present, of its absence otherwise; check with `verifyStateProof`. */
  prove (key: Uint8Array): StateProof
  /** Every application key and value, in key-position order (SHA-256 of the key). */
  entries (): Iterable<[Uint8Array, Uint8Array]>
}

class PersistentAuthMap implements AuthMap {
  readonly #top: Node | undefined
  readonly size: number

  constructor (top: Node | undefined, size: number) {
    this.#top = top
    this.size = size
  }

  get root (): Uint8Array {
    return wordsToBytes(hashOf(this.#top))
  }

  get (key: Uint8Array): Uint8Array | undefined {
    const keyHash = hashBytes(key)
    let node = this.#top
    while (node !== undefined && node.kind === 'branch') node = bitAt(keyHash, node.bit) === 0 ? node.left : node.right
    return node !== undefined && equalWords(node.keyHash, keyHash) ? node.value : undefined
  }

  set (key: Uint8Array, value: Uint8Array): AuthMap {
    return this.batch([{ key, value }])
  }

  delete (key: Uint8Array): AuthMap {
    return this.batch([{ key }])
  }

  batch (ops: Iterable<{ key: Uint8Array, value?: Uint8Array | undefined }>): AuthMap {
    const writes: Write[] = []
    for (const { key, value } of ops) {
      assert(key instanceof Uint8Array, 'auth map key must be a Uint8Array')
      assert(value === undefined || value instanceof Uint8Array, 'auth map value must be a Uint8Array or undefined')
      const keyHash = hashBytes(key)
      writes.push(value === undefined ? removal(keyHash) : leaf(keyHash, key, value))
    }
    const unique = lastPerPosition(writes)
    const size = { delta: 0 }
    const top = apply(this.#top, unique, 0, unique.length, size)
    return top === this.#top ? this : new PersistentAuthMap(top, this.size + size.delta)
  }

  prove (key: Uint8Array): StateProof {
    const keyHash = hashBytes(key)
    const path: ProofStep[] = []
    let node = this.#top
    while (node !== undefined && node.kind === 'branch') {
      const right = bitAt(keyHash, node.bit) === 1
      path.push({ bit: node.bit, sibling: wordsToBytes(hashOf(right ? node.left : node.right)) })
      node = right ? node.right : node.left
    }
    return {
      path,
      leaf: node === undefined ? undefined : { keyHash: wordsToBytes(node.keyHash), valueHash: wordsToBytes(hashBytes(node.value)) }
    }
  }

  * entries (): Iterable<[Uint8Array, Uint8Array]> {
    const stack: Node[] = []
    if (this.#top !== undefined) stack.push(this.#top)
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.kind === 'leaf') {
        yield [node.key, node.value]
        continue
      }
      stack.push(node.right, node.left)
    }
  }
}

/** Writes sorted by position, keeping only the last write to each position. */
function lastPerPosition<T extends Write> (writes: readonly T[]): T[] {
  if (writes.length <= 1) return writes.slice()
  const sorted = sortByPosition(writes)
  const out: T[] = []
  for (let i = 0; i < sorted.length; i++) {
    const next = sorted[i + 1]
    if (next === undefined || byPosition(sorted[i]!, next) !== 0) out.push(sorted[i]!)
  }
  return out
}

const empty = new PersistentAuthMap(undefined, 0)

/** Root of the empty map: SHA-256 of the single byte 0x02. */
export const emptyMapRoot: Uint8Array = wordsToBytes(emptyHash)

/** The empty map. */
export function emptyAuthMap (): AuthMap {
  return empty
}

/**
 * A map holding `entries` (a later entry with the same key wins), built bottom-up in one pass:
 * the way to load the state at node start. Hashes are computed on the first read of `root`.
 */
export function authMapFrom (entries: Iterable<[Uint8Array, Uint8Array]>): AuthMap {
  const leaves: Leaf[] = []
  for (const [key, value] of entries) {
    assert(key instanceof Uint8Array && value instanceof Uint8Array, 'auth map entries must be Uint8Array pairs')
    leaves.push(leaf(hashBytes(key), key, value))
  }
  const unique = lastPerPosition(leaves)
  return new PersistentAuthMap(build(unique, 0, unique.length), unique.length)
}
