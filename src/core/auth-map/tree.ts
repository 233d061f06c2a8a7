import assert from 'node:assert/strict'
import { bitAt, compareWords, firstDifference, hashBranchNode, hashBytes, hashLeafNode, keyBits, wordsOf } from './hashing.ts'
import type { NodeHash } from './hashing.ts'
import type { Words } from './sha256.ts'

/**
 * Nodes of the state tree: a binary radix (PATRICIA) tree over 256-bit key positions. A branch
 * splits on the first bit at which the keys below it differ, so every branch has two non-empty
 * children, n keys make exactly n − 1 branches, and the shape depends only on the set of keys
 * (never on the order of writes). A key is found by following its own bits at each branch's
 * split bit down to a leaf.
 *
 * Nodes never change once built, except that each computes its hash on first use and keeps it
 * (`NodeHash`), so versions of the map share untouched subtrees freely.
 */
export interface Leaf extends NodeHash {
  readonly kind: 'leaf'
  /** SHA-256 of `key`: the leaf's position. */
  readonly keyHash: Words
  readonly key: Uint8Array
  readonly value: Uint8Array
}

export interface Branch extends NodeHash {
  readonly kind: 'branch'
  /** The bit this branch splits on: keys below agree on every bit before it. */
  readonly bit: number
  readonly left: Node
  readonly right: Node
  /** Position of one key below (the leftmost), which gives the bits before `bit`. */
  readonly sample: Words
}

// Nodes are object literals, each kind made in one place, not class instances: V8 tracks a
// literal's allocation site, sees that its objects live long, and then allocates them straight
// in the old generation (pretenuring). Building a large tree is about a third faster so.
export function leaf (keyHash: Words, key: Uint8Array, value: Uint8Array): Leaf {
  return { kind: 'leaf', hashed: false, h0: 0, h1: 0, h2: 0, h3: 0, h4: 0, h5: 0, h6: 0, h7: 0, keyHash, key, value }
}

export function branch (bit: number, left: Node, right: Node): Branch {
  const sample = left.kind === 'leaf' ? left.keyHash : left.sample
  return { kind: 'branch', hashed: false, h0: 0, h1: 0, h2: 0, h3: 0, h4: 0, h5: 0, h6: 0, h7: 0, bit, left, right, sample }
}

export type Node = Leaf | Branch

/** Computes the hashes of `node` and of every node below it not hashed yet. */
function ensureHashed (node: Node): void {
  if (node.hashed) return
  if (node.kind === 'leaf') {
    hashLeafNode(node, node.keyHash, hashBytes(node.value))
    return
  }
  ensureHashed(node.left)
  ensureHashed(node.right)
  hashBranchNode(node, node.left, node.right, node.bit)
}

/** The hash of a subtree (undefined = the empty map). */
export function hashOf (node: Node | undefined): Words {
  if (node !== undefined) ensureHashed(node)
  return wordsOf(node)
}

/** The parent of two subtrees split on `bit`; either may be empty. */
function join (bit: number, left: Node | undefined, right: Node | undefined): Node | undefined {
  if (left === undefined) return right
  if (right === undefined) return left
  return branch(bit, left, right)
}

/** Anything with a key position: leaves, and the removals of a batch. */
export interface Positioned {
  readonly keyHash: Words
}

/** Ascending by key position. */
export function byPosition (a: Positioned, b: Positioned): number {
  return compareWords(a.keyHash, b.keyHash)
}

/** Index bits packed below the first key word in `sortByPosition`: 2^21 items, 32 + 21 < 53 bits. */
const indexBits = 21
const indexRange = 2 ** indexBits

/**
 * `items` in ascending key position, equal positions kept in input order (stable). Sorts numbers,
 * not objects: first key word and index packed into one float, then a pass that settles the few
 * items whose first words tie. Several times faster than a comparator sort on 100k items.
 */
export function sortByPosition<T extends Positioned> (items: readonly T[]): T[] {
  const n = items.length
  if (n > indexRange) return items.slice().sort(byPosition)
  const packed = new Float64Array(n)
  for (let i = 0; i < n; i++) packed[i] = (items[i]!.keyHash[0]! >>> 0) * indexRange + i
  packed.sort()
  const out = new Array<T>(n)
  for (let i = 0; i < n; i++) out[i] = items[packed[i]! % indexRange]!
  for (let i = 1; i < n; i++) {
    for (let j = i; j > 0 && out[j - 1]!.keyHash[0] === out[j]!.keyHash[0] && byPosition(out[j - 1]!, out[j]!) > 0; j--) {
      const t = out[j]!
      out[j] = out[j - 1]!
      out[j - 1] = t
    }
  }
  return out
}

/** In `items[lo, hi)`, sorted and agreeing on the bits before `bit`: the first whose `bit` is 1. */
function firstRight (items: readonly Positioned[], lo: number, hi: number, bit: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (bitAt(items[mid]!.keyHash, bit) === 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The tree holding exactly `leaves[lo, hi)` (sorted, distinct positions). */
export function build (leaves: readonly Leaf[], lo: number, hi: number): Node | undefined {
  if (hi - lo <= 1) return lo < hi ? leaves[lo] : undefined
  const bit = firstDifference(leaves[lo]!.keyHash, leaves[hi - 1]!.keyHash)
  assert(bit < keyBits, 'build: two leaves at one position')
  const mid = firstRight(leaves, lo, hi, bit)
  return branch(bit, build(leaves, lo, mid)!, build(leaves, mid, hi)!)
}

/** The removal of the key at `keyHash`, as one write of a batch. */
export interface Removal {
  readonly kind: 'removal'
  readonly keyHash: Words
}

export function removal (keyHash: Words): Removal {
  return { kind: 'removal', keyHash }
}

/** One write of a batch: a leaf to put in place (replacing any at its position), or a removal. */
export type Write = Leaf | Removal

/** Counts keys added and removed while a batch is applied. */
export interface SizeChange { delta: number }

/**
 * Applies `writes[lo, hi)` (sorted by position, one per position) to the subtree `node`, where
 * the search for each of them leads. Untouched subtrees are returned as they are, so the
 * result shares them: only nodes on touched paths are new, and only they get hashed later.
 */
export function apply (node: Node | undefined, writes: readonly Write[], lo: number, hi: number, size: SizeChange): Node | undefined {
  if (lo === hi) return node
  if (node === undefined || node.kind === 'leaf') return merge(node, writes, lo, hi, size)
  // Writes that leave this subtree's common prefix before its split bit go beside it, under a
  // new branch. The writes sharing at least p leading bits with the subtree form one run of
  // the sorted writes, so the first or the last write is the one that leaves earliest.
  const out = Math.min(firstDifference(node.sample, writes[lo]!.keyHash), firstDifference(node.sample, writes[hi - 1]!.keyHash))
  if (out < node.bit) {
    const mid = firstRight(writes, lo, hi, out)
    if (bitAt(node.sample, out) === 0) return join(out, apply(node, writes, lo, mid, size), merge(undefined, writes, mid, hi, size))
    return join(out, merge(undefined, writes, lo, mid, size), apply(node, writes, mid, hi, size))
  }
  const mid = firstRight(writes, lo, hi, node.bit)
  const left = apply(node.left, writes, lo, mid, size)
  const right = apply(node.right, writes, mid, hi, size)
  if (left === node.left && right === node.right) return node
  return join(node.bit, left, right)
}

/** The tree of `existing` (a leaf or nothing) with `writes[lo, hi)` applied, built afresh. */
function merge (existing: Leaf | undefined, writes: readonly Write[], lo: number, hi: number, size: SizeChange): Node | undefined {
  const leaves: Leaf[] = []
  for (let i = lo; i < hi; i++) {
    const w = writes[i]!
    if (existing !== undefined) {
      const c = byPosition(existing, w)
      if (c < 0) {
        leaves.push(existing)
        existing = undefined
      } else if (c === 0) {
        existing = undefined
        size.delta--
      }
    }
    if (w.kind === 'leaf') {
      leaves.push(w)
      size.delta++
    }
  }
  if (existing !== undefined) leaves.push(existing)
  return build(leaves, 0, leaves.length)
}
