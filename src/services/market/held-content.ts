/**
 * A holder's side of storage audits: the commitment tree of each DAG it holds (built once from the
 * blocks on its own disk, then cached), and the answer to a challenge — each challenged segment
 * read from the block that holds it, with its Merkle path. A block that is not on disk cannot be
 * answered for: `MissingDataError`, which the auditor records as a missed answer.
 */
import { KeynetError } from '../../foundations/errors.ts'
import { parseCid } from '../../core/content/cid.ts'
import { walkDag } from '../../core/content/exporter.ts'
import { blockLeaves, CommitmentTree } from '../../core/market/commitment.ts'
import type { ChallengeAnswer } from '../../core/market/disputes.ts'
import type { BlockStore } from '../storage/block-store.ts'
import { maxCachedCommitments, maxCachedCommitmentSegments } from './constants.ts'

/** The holder lacks blocks of the content it is challenged on. */
export class MissingDataError extends KeynetError {}

export class HeldContent {
  private readonly store: Pick<BlockStore, 'get'>
  private readonly trees = new Map<string, Promise<CommitmentTree>>()
  /** Segments of each built tree still cached, to bound their memory together. */
  private readonly built = new Map<string, number>()

  private readonly maxSegments: number

  /** `maxSegments`: audit segments of all cached trees together (default `maxCachedCommitmentSegments`). */
  constructor (store: Pick<BlockStore, 'get'>, opts: { maxSegments?: number } = {}) {
    this.store = store
    this.maxSegments = opts.maxSegments ?? maxCachedCommitmentSegments
  }

  /** The commitment tree of the DAG under `cid`, from the blocks held here. */
  async tree (cid: string): Promise<CommitmentTree> {
    let tree = this.trees.get(cid)
    if (tree === undefined) {
      tree = this.build(cid)
      this.trees.set(cid, tree)
      tree.then(t => { this.keep(cid, t.segments) }, () => { this.trees.delete(cid) })
      if (this.trees.size > maxCachedCommitments) this.forget(this.trees.keys().next().value!)
    }
    return await tree
  }

  /** Trees cached, and their segments together (for status and tests). */
  cached (): { trees: number, segments: number } {
    let segments = 0
    for (const n of this.built.values()) segments += n
    return { trees: this.trees.size, segments }
  }

  /** Records a built tree, then drops the oldest others while the cache holds too many segments. */
  private keep (cid: string, segments: number): void {
    if (!this.trees.has(cid)) return
    this.built.set(cid, segments)
    let total = this.cached().segments
    for (const old of this.built.keys()) {
      if (total <= this.maxSegments) break
      if (old === cid) continue
      total -= this.built.get(old)!
      this.forget(old)
    }
  }

  private forget (cid: string): void {
    this.trees.delete(cid)
    this.built.delete(cid)
  }

  /** Answers the challenged `indices` of the DAG under `cid`. */
  async answer (cid: string, indices: readonly number[]): Promise<ChallengeAnswer[]> {
    const tree = await this.tree(cid)
    const answers: ChallengeAnswer[] = []
    for (const index of indices) {
      if (index >= tree.segments) throw new MissingDataError(`segment ${index} is past the ${tree.segments} segments of ${cid} held here`)
      const place = tree.place(index)
      const bytes = await this.store.get(parseCid(place.cid))
      if (bytes === undefined) throw new MissingDataError(`block ${place.cid} of ${cid} is not held here`)
      answers.push({ index, segment: bytes.slice(place.start, place.end), path: tree.path(index) })
    }
    return answers
  }

  private async build (cid: string): Promise<CommitmentTree> {
    const blocks: Array<{ cid: string, size: number, leaves: Uint8Array[] }> = []
    const get = async (c: ReturnType<typeof parseCid>): Promise<Uint8Array> => {
      const bytes = await this.store.get(c)
      if (bytes === undefined) throw new MissingDataError(`block ${c.toString()} of ${cid} is not held here`)
      return bytes
    }
    for await (const block of walkDag(parseCid(cid), get, { concurrency: 8 })) {
      blocks.push({ cid: block.cid.toString(), size: block.bytes.byteLength, leaves: blockLeaves(block.bytes) })
    }
    return new CommitmentTree(blocks)
  }
}
