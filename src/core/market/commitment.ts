/**
 * The data commitment of a storage deal over content-addressed blocks. Every block is cut into
 * `auditSegmentBytes` segments on its own (the last one shorter); the blocks are taken in the
 * order of their CID strings, so the client (which saw the blocks while importing) and each
 * holder (which walks the DAG it stores) reach the same leaves without agreeing on a walk order.
 * The commitment is the Merkle root over those leaves (`merkle.ts`) and their count.
 */
import { auditSegmentBytes, maxDealSegments } from './constants.ts'
import { leafHash, merkleLevels, merklePathIn } from './merkle.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'

/** A block's leaf hashes, in order. */
export function blockLeaves (bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.byteLength; i += auditSegmentBytes) out.push(leafHash(bytes.subarray(i, i + auditSegmentBytes)))
  return out.length === 0 ? [leafHash(new Uint8Array(0))] : out
}

/** Where challenged segment `index` lives: which block, and its bytes there. */
export interface SegmentPlace {
  cid: string
  start: number
  end: number
}

/** The commitment tree of one DAG: its root, its leaf count, and the path to any leaf. */
export class CommitmentTree {
  readonly root: Uint8Array
  readonly segments: number
  private readonly levels: Uint8Array[][]
  /** First leaf index of each block, in leaf order. */
  private readonly starts: number[]
  private readonly cids: string[]
  private readonly sizes: number[]

  /** `blocks`: every block of the DAG once, with its size and leaves (`blockLeaves`), in any order. */
  constructor (blocks: ReadonlyArray<{ cid: string, size: number, leaves: Uint8Array[] }>) {
    if (blocks.length === 0) throw new MalformedMessageError('a commitment needs at least one block')
    const sorted = [...blocks].sort((a, b) => a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0)
    const leaves: Uint8Array[] = []
    this.starts = []
    this.cids = []
    this.sizes = []
    for (const b of sorted) {
      this.starts.push(leaves.length)
      this.cids.push(b.cid)
      this.sizes.push(b.size)
      for (const leaf of b.leaves) leaves.push(leaf)
    }
    if (leaves.length > maxDealSegments) throw new MalformedMessageError(`the content has ${leaves.length} audit segments; a deal covers at most ${maxDealSegments}`)
    this.levels = merkleLevels(leaves)
    this.root = this.levels[this.levels.length - 1]![0]!
    this.segments = leaves.length
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

  /** Sibling hashes from leaf `index` to the root. */
  path (index: number): Uint8Array[] {
    return merklePathIn(this.levels, index)
  }
}
