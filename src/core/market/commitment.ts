/**
 * The data commitment of a storage deal over content-addressed blocks. Every block is cut into
 * `auditSegmentBytes` segments on its own (the last one shorter); the blocks are taken in the
 * order of their CID strings, so the client (which saw the blocks while importing) and each
 * holder (which walks the DAG it stores) reach the same leaves without agreeing on a walk order.
 * The commitment is the Merkle root over those leaves (`merkle.ts`) and their count.
 *
 * A tree of large content has many leaves (524,288 for 256 MiB), so its levels are kept as flat
 * arrays of 32-byte hashes (not an object per hash), hashed with one native call per hash, and can
 * be built in steps (`commitmentSteps`) so a holder builds it without holding up what else it
 * serves, and encoded (`encodeCommitmentTree`) so it is built once per pin, not once per start.
 */
import { equalBytes } from '../../foundations/bytes.ts'
import { hashBytes, sha256, sha256Transient } from '../../foundations/hash.ts'
import { auditSegmentBytes, maxDealSegments } from './constants.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'

/** A block's leaf hashes, in order, one array each (`blockLeafHashes` gives them flat). */
export function blockLeaves (bytes: Uint8Array): Uint8Array[] {
  const flat = blockLeafHashes(bytes)
  const out: Uint8Array[] = []
  for (let i = 0; i < flat.byteLength; i += hashBytes) out.push(flat.subarray(i, i + hashBytes))
  return out
}

/** Leaves of a block of `size` bytes (an empty block has one, the hash of nothing). */
export function leafCount (size: number): number {
  return Math.max(1, Math.ceil(size / auditSegmentBytes))
}

/**
 * A block's leaf hashes, SHA-256(0x00 ‖ segment) as in `merkle.ts`, back to back: one native
 * one-shot hash per segment over a reused buffer (a hash object per segment costs more than the
 * hashing of 512 bytes).
 */
export function blockLeafHashes (bytes: Uint8Array): Uint8Array {
  const count = leafCount(bytes.byteLength)
  const out = new Uint8Array(count * hashBytes)
  const input = Buffer.alloc(1 + auditSegmentBytes) // input[0] = 0x00, the leaf tag
  for (let k = 0; k < count; k++) {
    const from = k * auditSegmentBytes
    const to = Math.min(from + auditSegmentBytes, bytes.byteLength)
    input.set(bytes.subarray(from, to), 1)
    out.set(sha256Transient(input.subarray(0, 1 + to - from)), k * hashBytes)
  }
  return out
}

/** Where challenged segment `index` lives: which block, and its bytes there. */
export interface SegmentPlace {
  cid: string
  start: number
  end: number
}

/** One block's part of a commitment: its CID, size and leaf hashes (`blockLeaves`, or flat from `blockLeafHashes`). */
export interface BlockLeaves {
  cid: string
  size: number
  leaves: readonly Uint8Array[] | Uint8Array
}

/** A built tree's parts: its blocks in leaf order, and every level, leaves first, as flat hashes. */
export interface CommitmentParts {
  cids: string[]
  sizes: number[]
  levels: Uint8Array[]
}

/** The commitment tree of one DAG: its root, its leaf count, and the path to any leaf. */
export class CommitmentTree {
  readonly root: Uint8Array
  readonly segments: number
  /** Every level, leaves first and the root last, each as `count × 32` bytes. */
  private readonly levels: Uint8Array[]
  /** First leaf index of each block, in leaf order. */
  private readonly starts: number[]
  private readonly cids: string[]
  private readonly sizes: number[]

  /**
   * `source`: every block of the DAG once, with its size and leaves, in any order (the tree is
   * built here, in one go); or the parts of a tree built already (`commitmentSteps`, `decodeCommitmentTree`).
   */
  constructor (source: ReadonlyArray<BlockLeaves> | CommitmentParts) {
    const parts = Array.isArray(source) ? runSteps(partsSteps(source as ReadonlyArray<BlockLeaves>)) : source as CommitmentParts
    this.cids = parts.cids
    this.sizes = parts.sizes
    this.levels = parts.levels
    this.starts = []
    let at = 0
    for (const size of this.sizes) {
      this.starts.push(at)
      at += leafCount(size)
    }
    this.segments = at
    const top = this.levels[this.levels.length - 1]
    if (at === 0 || this.levels[0]?.byteLength !== at * hashBytes || top?.byteLength !== hashBytes) throw new MalformedMessageError('the parts of a commitment tree do not fit together')
    this.root = top
  }

  /** The block and byte range of leaf `index`. */
  place (index: number): SegmentPlace {
    if (!Number.isInteger(index) || index < 0 || index >= this.segments) throw new RangeError(`segment ${index} is not in 0..${this.segments - 1}`)
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.starts[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    const start = (index - this.starts[lo]!) * auditSegmentBytes
    return { cid: this.cids[lo]!, start, end: Math.min(start + auditSegmentBytes, this.sizes[lo]!) }
  }

  /** Sibling hashes from leaf `index` to the root (levels where the node moved up unchanged add none), as `merklePath`. */
  path (index: number): Uint8Array[] {
    if (!Number.isInteger(index) || index < 0 || index >= this.segments) throw new RangeError(`leaf ${index} is not in 0..${this.segments - 1}`)
    const path: Uint8Array[] = []
    let i = index
    for (const level of this.levels.slice(0, -1)) {
      const sibling = i ^ 1
      if (sibling * hashBytes < level.byteLength) path.push(level.slice(sibling * hashBytes, (sibling + 1) * hashBytes))
      i >>= 1
    }
    return path
  }

  /** Its parts, e.g. to encode them. */
  parts (): CommitmentParts {
    return { cids: this.cids, sizes: this.sizes, levels: this.levels }
  }
}

/** Inner hashes computed per step of `commitmentSteps` (a few milliseconds of work). */
export const hashesPerStep = 4096

/**
 * Builds the tree of `blocks` in steps: each `next()` does about `hashesPerStep` hashes, and the
 * last returns the tree. A caller that waits a turn between steps keeps serving meanwhile.
 */
export function * commitmentSteps (blocks: ReadonlyArray<BlockLeaves>): Generator<void, CommitmentTree> {
  return new CommitmentTree(yield * partsSteps(blocks))
}

function * partsSteps (blocks: ReadonlyArray<BlockLeaves>): Generator<void, CommitmentParts> {
  if (blocks.length === 0) throw new MalformedMessageError('a commitment needs at least one block')
  const sorted = [...blocks].sort((a, b) => a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0)
  let count = 0
  for (const b of sorted) {
    const n = b.leaves instanceof Uint8Array ? b.leaves.byteLength / hashBytes : b.leaves.length
    if (n !== leafCount(b.size)) throw new MalformedMessageError(`block ${b.cid} of ${b.size} bytes has ${n} leaves, not ${leafCount(b.size)}`)
    count += n
  }
  if (count > maxDealSegments) throw new MalformedMessageError(`the content has ${count} audit segments; a deal covers at most ${maxDealSegments}`)
  const leaves = new Uint8Array(count * hashBytes)
  let at = 0
  for (const b of sorted) {
    if (b.leaves instanceof Uint8Array) {
      leaves.set(b.leaves, at)
      at += b.leaves.byteLength
    } else {
      for (const leaf of b.leaves) {
        leaves.set(leaf, at)
        at += hashBytes
      }
    }
  }
  const levels = [leaves]
  const node = Buffer.alloc(1 + 2 * hashBytes)
  node[0] = 1 // the inner-node tag of merkle.ts
  let done = 0
  for (let level = leaves; level.byteLength > hashBytes;) {
    const width = level.byteLength / hashBytes
    const next = new Uint8Array(Math.ceil(width / 2) * hashBytes)
    for (let i = 0; i < width; i += 2) {
      const to = (i >> 1) * hashBytes
      if (i + 1 < width) {
        node.set(level.subarray(i * hashBytes, (i + 2) * hashBytes), 1)
        next.set(sha256Transient(node), to)
        if (++done % hashesPerStep === 0) yield
      } else {
        next.set(level.subarray(i * hashBytes, (i + 1) * hashBytes), to) // an odd node moves up unchanged
      }
    }
    levels.push(next)
    level = next
  }
  return { cids: sorted.map(b => b.cid), sizes: sorted.map(b => b.size), levels }
}

function runSteps<T> (steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next()
    if (r.done === true) return r.value
  }
}

const fileMagic = 'KNCT'
const fileVersion = 1
/** Longest CID string a commitment file holds. */
const maxCidChars = 256

/**
 * A tree as bytes, to keep beside the blocks: "KNCT", version, block count, then each block's CID
 * and size, every level, and a SHA-256 of all that (a tree read back from a damaged disk is
 * refused, not used to answer audits wrongly). Integers are 32-bit little-endian.
 */
export function encodeCommitmentTree (tree: CommitmentTree): Uint8Array {
  const { cids, sizes, levels } = tree.parts()
  const ascii = cids.map(c => Buffer.from(c, 'latin1'))
  let bytes = 4 + 1 + 4
  for (const c of ascii) bytes += 2 + c.byteLength + 4
  for (const l of levels) bytes += l.byteLength
  const out = Buffer.alloc(bytes + hashBytes)
  out.write(fileMagic, 0, 'latin1')
  let at = 4
  out.writeUInt8(fileVersion, at); at += 1
  out.writeUInt32LE(cids.length, at); at += 4
  for (const [i, c] of ascii.entries()) {
    out.writeUInt16LE(c.byteLength, at); at += 2
    out.set(c, at); at += c.byteLength
    out.writeUInt32LE(sizes[i]!, at); at += 4
  }
  for (const l of levels) { out.set(l, at); at += l.byteLength }
  out.set(sha256(out.subarray(0, at)), at)
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}

/** The tree `encodeCommitmentTree` wrote; throws `MalformedMessageError` for anything else, damaged or cut short. */
export function decodeCommitmentTree (bytes: Uint8Array): CommitmentTree {
  const bad = (why: string): MalformedMessageError => new MalformedMessageError(`not a commitment tree file: ${why}`)
  if (bytes.byteLength < 9 + hashBytes) throw bad('too short')
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const body = b.subarray(0, b.byteLength - hashBytes)
  if (b.toString('latin1', 0, 4) !== fileMagic || b.readUInt8(4) !== fileVersion) throw bad('wrong magic or version')
  if (!equalBytes(sha256(body), b.subarray(body.byteLength))) throw bad('its checksum does not match (damaged)')
  const blocks = body.readUInt32LE(5)
  let at = 9
  const cids: string[] = []
  const sizes: number[] = []
  let segments = 0
  for (let i = 0; i < blocks; i++) {
    if (at + 2 > body.byteLength) throw bad('cut short')
    const n = body.readUInt16LE(at); at += 2
    if (n > maxCidChars || at + n + 4 > body.byteLength) throw bad('a CID is too long or cut short')
    cids.push(body.toString('latin1', at, at + n)); at += n
    const size = body.readUInt32LE(at); at += 4
    sizes.push(size)
    segments += leafCount(size)
  }
  if (blocks === 0 || segments > maxDealSegments) throw bad(`${blocks} blocks, ${segments} segments`)
  const levels: Uint8Array[] = []
  for (let width = segments; ; width = Math.ceil(width / 2)) {
    const n = width * hashBytes
    if (at + n > body.byteLength) throw bad('its levels are cut short')
    levels.push(new Uint8Array(body.subarray(at, at + n)))
    at += n
    if (width === 1) break
  }
  if (at !== body.byteLength) throw bad('bytes past its levels')
  return new CommitmentTree({ cids, sizes, levels })
}
