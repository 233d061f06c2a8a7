import { equalBytes } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { bitAt, branchHash, emptyHash, hashBytes, keyBits, leafHash } from './hashing.ts'
import { bytesToWords, equalWords } from './sha256.ts'
import type { Words } from './sha256.ts'

/**
 * Evidence that a key has a given value, or no value, under a state root.
 *
 * `path` lists the branches met while searching for the key, root first: the bit each splits
 * on and the hash of the child the search did not take. The search ends at `leaf`: the key's
 * own leaf (the key is present) or another key's leaf (the key is absent: had it been present,
 * its search would have ended at it). `leaf` is undefined only for the empty map.
 */
export interface StateProof {
  readonly path: readonly ProofStep[]
  readonly leaf: ProofLeaf | undefined
}

/** One branch on a search path: its split bit (0–255) and the other child's hash. */
export interface ProofStep {
  readonly bit: number
  readonly sibling: Uint8Array
}

/** A leaf as a proof shows it: its key position and the hash of its value. */
export interface ProofLeaf {
  readonly keyHash: Uint8Array
  readonly valueHash: Uint8Array
}

/**
 * Largest encoded proof: a path through all 256 bits plus the leaf, with CBOR framing
 * (1 + 3 + 256 + 3 + 8192 + 2 + 64 = 8521 bytes). Real proofs have about log2(n) steps of
 * 33 bytes: some 0.6 KiB at 100k keys.
 */
export const maxProofBytes = 8521

/**
 * Checks `proof` against `root`: with `value`, that `key` maps to `value`; with `value`
 * undefined, that `key` is absent. Pure; answers false (never throws) on any malformed input.
 */
export function verifyStateProof (root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: StateProof): boolean {
  try {
    return check(root, key, value, proof)
  } catch {
    return false
  }
}

function isHash (v: unknown): v is Uint8Array {
  return v instanceof Uint8Array && v.byteLength === 32
}

/** Whether `path` is a list of steps with 32-byte siblings and strictly rising bits below 256. */
function wellFormed (path: unknown): path is readonly ProofStep[] {
  if (!Array.isArray(path) || path.length > keyBits) return false
  let previous = -1
  for (const step of path as unknown[]) {
    if (typeof step !== 'object' || step === null) return false
    const { bit, sibling } = step as Partial<ProofStep>
    if (typeof bit !== 'number' || !Number.isInteger(bit) || bit <= previous || bit >= keyBits || !isHash(sibling)) return false
    previous = bit
  }
  return true
}

function check (root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: StateProof): boolean {
  if (!isHash(root) || !(key instanceof Uint8Array)) return false
  if (value !== undefined && !(value instanceof Uint8Array)) return false
  if (typeof proof !== 'object' || proof === null) return false
  const { path, leaf } = proof
  if (!wellFormed(path)) return false
  const rootWords = bytesToWords(root)
  if (leaf === undefined) return value === undefined && path.length === 0 && equalWords(rootWords, emptyHash)
  if (typeof leaf !== 'object' || leaf === null || !isHash(leaf.keyHash) || !isHash(leaf.valueHash)) return false

  const keyHash = hashBytes(key)
  const leafKey = bytesToWords(leaf.keyHash)
  const leafValue = bytesToWords(leaf.valueHash)
  if (value !== undefined) {
    if (!equalWords(leafKey, keyHash) || !equalWords(leafValue, hashBytes(value))) return false
  } else {
    if (equalWords(leafKey, keyHash)) return false
    // The leaf must lie where the key's search leads: same side at every branch.
    for (const { bit } of path) if (bitAt(leafKey, bit) !== bitAt(keyHash, bit)) return false
  }
  let h: Words = leafHash(leafKey, leafValue)
  for (let i = path.length - 1; i >= 0; i--) {
    const { bit, sibling } = path[i]!
    const other = bytesToWords(sibling)
    h = bitAt(keyHash, bit) === 0 ? branchHash(h, other, bit) : branchHash(other, h, bit)
  }
  return equalWords(h, rootWords)
}

/**
 * Canonical bytes of a proof: the CBOR array `[bits, siblings, leaf]`, where `bits` holds one
 * byte per step (strictly rising), `siblings` the steps' hashes concatenated in the same order,
 * and `leaf` is `keyHash ‖ valueHash` (64 bytes), or null for the empty map's proof.
 * Throws `RangeError` on a proof no map could have made (bits not rising, hashes not 32 bytes,
 * steps without a leaf).
 */
export function encodeProof (p: StateProof): Uint8Array {
  if (!wellFormed(p.path)) throw new RangeError('state proof: malformed path')
  if (p.leaf === undefined && p.path.length > 0) throw new RangeError('state proof: path without a leaf')
  const bits = new Uint8Array(p.path.length)
  const siblings = new Uint8Array(p.path.length * 32)
  p.path.forEach((step, i) => {
    bits[i] = step.bit
    siblings.set(step.sibling, i * 32)
  })
  let leaf: Uint8Array | null = null
  if (p.leaf !== undefined) {
    if (!isHash(p.leaf.keyHash) || !isHash(p.leaf.valueHash)) throw new RangeError('state proof: leaf hashes are not 32 bytes')
    leaf = new Uint8Array(64)
    leaf.set(p.leaf.keyHash, 0)
    leaf.set(p.leaf.valueHash, 32)
  }
  // A plain copy: the encoder may hand back a Node Buffer over a shared pool, whose slice()
  // does not copy.
  return new Uint8Array(encode([bits, siblings, leaf]))
}

/** Reads a proof from `encodeProof` bytes; throws `MalformedMessageError` on anything else. */
export function decodeProof (b: Uint8Array): StateProof {
  if (!(b instanceof Uint8Array)) throw bad('not bytes')
  if (b.byteLength > maxProofBytes) throw bad(`over ${maxProofBytes} bytes`)
  const v = decode(b)
  if (!Array.isArray(v) || v.length !== 3) throw bad('not a 3-item array')
  const [bits, siblings, leaf] = v as unknown[]
  if (!(bits instanceof Uint8Array)) throw bad('bits are not bytes')
  if (!(siblings instanceof Uint8Array) || siblings.byteLength !== bits.byteLength * 32) throw bad('siblings do not match bits')
  if (leaf !== null && !(leaf instanceof Uint8Array && leaf.byteLength === 64)) throw bad('leaf is not 64 bytes or null')
  if (leaf === null && bits.byteLength > 0) throw bad('path without a leaf')
  const path: ProofStep[] = []
  for (let i = 0; i < bits.byteLength; i++) {
    if (i > 0 && bits[i]! <= bits[i - 1]!) throw bad('bits not strictly rising')
    path.push({ bit: bits[i]!, sibling: copy(siblings, i * 32) })
  }
  const proof: StateProof = {
    path,
    leaf: leaf === null ? undefined : { keyHash: copy(leaf, 0), valueHash: copy(leaf, 32) }
  }
  // One proof, one encoding: whatever the decoder let through that would encode differently
  // (a longer length form, say) is refused.
  if (!equalBytes(encodeProof(proof), b)) throw bad('not the canonical encoding')
  return proof
}

/** A fresh 32-byte array from `from[at]` (decoded fields may be views of the input). */
function copy (from: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(32)
  out.set(from.subarray(at, at + 32))
  return out
}

function bad (why: string): MalformedMessageError {
  return new MalformedMessageError(`state proof: ${why}`)
}
