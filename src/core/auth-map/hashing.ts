import { sha256 } from '../../foundations/hash.ts'
import { bytesToWords, hashPair, pairInput, sha256Words, suffixSchedule } from './sha256.ts'
import type { Words } from './sha256.ts'

/**
 * The hashes of the state tree, in three domains that no input can cross:
 *
 *   leaf   = SHA-256(keyHash ‖ valueHash ‖ 0x00)          65 bytes
 *   branch = SHA-256(left ‖ right ‖ 0x01 ‖ bit)           66 bytes; `bit` (0–255) is the one it splits on
 *   empty  = SHA-256(0x02)                                 1 byte; the root of the empty map
 *
 * with keyHash = SHA-256(key) and valueHash = SHA-256(value). The tag comes after the two
 * hashes so the first 64-byte block is exactly them; the second block then depends only on the
 * suffix and its schedule is computed once. Inside the tree hashes are 32-bit words (sha256.ts);
 * they become bytes only at the API.
 */
const leafTag = 0x00
const branchTag = 0x01
const emptyTag = 0x02

/** Bits in a key position. */
export const keyBits = 256

/** Hash of the empty map. */
export const emptyHash: Words = bytesToWords(sha256(Uint8Array.of(emptyTag)))

const leafSuffix = suffixSchedule([leafTag])
const branchSuffixes: Array<Int32Array | undefined> = new Array(keyBits).fill(undefined)

function branchSuffix (bit: number): Int32Array {
  return (branchSuffixes[bit] ??= suffixSchedule([branchTag, bit]))
}

/** Above about this size the native SHA-256 beats the JavaScript one, despite the call. */
const shortInputBytes = 160

/** SHA-256 of application bytes (a key or a value), as words. */
export function hashBytes (data: Uint8Array): Words {
  return data.byteLength <= shortInputBytes ? sha256Words(data) : bytesToWords(sha256(data))
}

function put (h: Words, at: number): void {
  for (let i = 0; i < 8; i++) pairInput[at + i] = h[i]!
}

function copy (h: Int32Array): Words {
  return [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!]
}

export function leafHash (keyHash: Words, valueHash: Words): Words {
  put(keyHash, 0)
  put(valueHash, 8)
  return copy(hashPair(leafSuffix))
}

export function branchHash (left: Words, right: Words, bit: number): Words {
  put(left, 0)
  put(right, 8)
  return copy(hashPair(branchSuffix(bit)))
}

/**
 * A tree node's hash, computed once and kept in eight int32 fields rather than an array, so
 * hashing a node allocates nothing (allocation was about 40% of the cost of a batch).
 */
export interface NodeHash {
  hashed: boolean
  h0: number; h1: number; h2: number; h3: number; h4: number; h5: number; h6: number; h7: number
}

function store (node: NodeHash, h: Int32Array): void {
  node.h0 = h[0]!; node.h1 = h[1]!; node.h2 = h[2]!; node.h3 = h[3]!
  node.h4 = h[4]!; node.h5 = h[5]!; node.h6 = h[6]!; node.h7 = h[7]!
  node.hashed = true
}

function load (node: NodeHash, at: number): void {
  pairInput[at] = node.h0; pairInput[at + 1] = node.h1; pairInput[at + 2] = node.h2; pairInput[at + 3] = node.h3
  pairInput[at + 4] = node.h4; pairInput[at + 5] = node.h5; pairInput[at + 6] = node.h6; pairInput[at + 7] = node.h7
}

/** Sets `node`'s hash to that of a leaf. */
export function hashLeafNode (node: NodeHash, keyHash: Words, valueHash: Words): void {
  put(keyHash, 0)
  put(valueHash, 8)
  store(node, hashPair(leafSuffix))
}

/** Sets `node`'s hash to that of a branch on `bit` over two hashed children. */
export function hashBranchNode (node: NodeHash, left: NodeHash, right: NodeHash, bit: number): void {
  load(left, 0)
  load(right, 8)
  store(node, hashPair(branchSuffix(bit)))
}

/** The words of a hashed node, or of the empty map. */
export function wordsOf (node: NodeHash | undefined): Words {
  if (node === undefined) return emptyHash
  return [node.h0, node.h1, node.h2, node.h3, node.h4, node.h5, node.h6, node.h7]
}

/** Bit `i` of a key position, most significant first: 0 goes left, 1 goes right. */
export function bitAt (keyHash: Words, i: number): number {
  return (keyHash[i >>> 5]! >>> (31 - (i & 31))) & 1
}

/** The first bit at which two key positions differ; `keyBits` if they are equal. */
export function firstDifference (a: Words, b: Words): number {
  for (let i = 0; i < 8; i++) {
    const x = a[i]! ^ b[i]!
    if (x !== 0) return i * 32 + Math.clz32(x)
  }
  return keyBits
}

/** Orders key positions as unsigned 256-bit numbers. */
export function compareWords (a: Words, b: Words): number {
  for (let i = 0; i < 8; i++) {
    const x = a[i]! >>> 0
    const y = b[i]! >>> 0
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}
