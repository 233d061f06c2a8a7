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
import { maxCachedCommitments } from './constants.ts'

/** The holder lacks blocks of the content it is challenged on. */
export class MissingDataError extends KeynetError {}

export class HeldContent {
  private readonly store: Pick<BlockStore, 'get'>
  private readonly trees = new Map<string, Promise<CommitmentTree>>()

  constructor (store: Pick<BlockStore, 'get'>) {
    this.store = store
  }

  /** The commitment tree of the DAG under `cid`, from the blocks held here. */
  async tree (cid: string): Promise<CommitmentTree> {
    let tree = this.trees.get(cid)
    if (tree === undefined) {
      tree = this.build(cid)
      this.trees.set(cid, tree)
      tree.catch(() => { this.trees.delete(cid) })
      if (this.trees.size > maxCachedCommitments) this.trees.delete(this.trees.keys().next().value!)
    }
    return await tree
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
