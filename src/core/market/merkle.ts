/**
 * The data commitment of a storage deal: a binary Merkle tree over the content's bytes cut into
 * `auditSegmentBytes` segments, in order (the last may be shorter). Leaves are SHA-256(0x00 ‖ segment), inner nodes SHA-256(0x01 ‖ left ‖ right) (domain
 * separation stops a node passing as a leaf); an odd node at the end of a level moves up
 * unchanged. An audit answer is the challenged segment and the sibling hashes from it to the root.
 */
import { equalBytes } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'

const leafTag = new Uint8Array([0])
const nodeTag = new Uint8Array([1])

export function leafHash (segment: Uint8Array): Uint8Array {
  return sha256(leafTag, segment)
}

function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(nodeTag, left, right)
}

/** Every level of the tree, leaves first and the root last: kept by a holder that answers many challenges. */
export function merkleLevels (leaves: Uint8Array[]): Uint8Array[][] {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf')
  const out = [leaves]
  while (out[out.length - 1]!.length > 1) {
    const level = out[out.length - 1]!
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i]!, level[i + 1]!) : level[i]!)
    out.push(next)
  }
  return out
}

/** The content cut into leaves. */
export function segmentsOf (content: Uint8Array, segmentBytes: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < content.byteLength; i += segmentBytes) out.push(content.subarray(i, i + segmentBytes))
  return out.length === 0 ? [new Uint8Array(0)] : out
}

/** Root over the leaf hashes. */
export function merkleRoot (leaves: Uint8Array[]): Uint8Array {
  const all = merkleLevels(leaves)
  return all[all.length - 1]![0]!
}

/** Sibling hashes from leaf `index` up to the root (levels where the node moved up unchanged add none). */
export function merklePath (leaves: Uint8Array[], index: number): Uint8Array[] {
  return merklePathIn(merkleLevels(leaves), index)
}

/** `merklePath` from levels computed once (`merkleLevels`). */
export function merklePathIn (levels: Uint8Array[][], index: number): Uint8Array[] {
  const count = levels[0]?.length ?? 0
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`leaf ${index} is not in 0..${count - 1}`)
  const path: Uint8Array[] = []
  let i = index
  for (const level of levels.slice(0, -1)) {
    const sibling = i ^ 1
    if (sibling < level.length) path.push(level[sibling]!)
    i >>= 1
  }
  return path
}

/** Whether `segment` is leaf `index` of a `count`-leaf tree with `root`, by `path`. */
export function verifyMerklePath (root: Uint8Array, count: number, index: number, segment: Uint8Array, path: Uint8Array[]): boolean {
  if (!Number.isInteger(index) || index < 0 || index >= count) return false
  let hash = leafHash(segment)
  let i = index
  let width = count
  let used = 0
  while (width > 1) {
    const sibling = i ^ 1
    if (sibling < width) {
      const s = path[used++]
      if (s === undefined) return false
      hash = (i & 1) === 0 ? nodeHash(hash, s) : nodeHash(s, hash)
    }
    i >>= 1
    width = Math.ceil(width / 2)
  }
  return used === path.length && equalBytes(hash, root)
}
