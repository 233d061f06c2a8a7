/**
 * A holder's side of storage audits: the commitment tree of each DAG it holds, and the answer to
 * a challenge — each challenged segment read from the block that holds it, with its Merkle path.
 * A block that is not on disk cannot be answered for: `MissingDataError`, which the auditor
 * records as a missed answer.
 *
 * A tree is built from the blocks on the holder's own disk when the content is pinned (the store
 * tells of new pins), not when the first audit comes: hashing every segment of large content
 * takes seconds, and then it would compete with serving the content just put. It is built in
 * steps, one block or a few thousand hashes at a time, so the blocks keep being served meanwhile;
 * one tree at a time. A built tree is written beside the blocks (`<store>/commitments/<cid>.tree`),
 * so a restart reads it back instead of building it again, and removed when the content is
 * unpinned. In memory, the trees kept are bounded by their segments together.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { KeynetError } from '../../foundations/errors.ts'
import { parseCid, type CID } from '../../core/content/cid.ts'
import { walkDag } from '../../core/content/exporter.ts'
import { blockLeafHashes, commitmentSteps, decodeCommitmentTree, encodeCommitmentTree, type BlockLeaves, type CommitmentTree } from '../../core/market/commitment.ts'
import type { ChallengeAnswer } from '../../core/market/disputes.ts'
import type { BlockStore } from '../storage/block-store.ts'
import { replaceFileDurably } from '../store/atomic-file.ts'
import { maxCachedCommitments, maxCachedCommitmentSegments, prepareRetryMs, prepareTries, unpinGraceMs } from './constants.ts'

/** The holder lacks blocks of the content it is challenged on. */
export class MissingDataError extends KeynetError {}

/**
 * The store the content is held in: blocks to read; where it keeps its files and its pin changes,
 * when it has them (a block store does), to keep trees on disk and build them at pin time.
 */
export type HeldStore = Pick<BlockStore, 'get'> & Partial<Pick<BlockStore, 'dir' | 'onPinChange' | 'isPinned' | 'missing'>>

const yieldTurn = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

export class HeldContent {
  private readonly store: HeldStore
  private readonly trees = new Map<string, Promise<CommitmentTree>>()
  /** Segments of each built tree still cached, to bound their memory together. */
  private readonly built = new Map<string, number>()
  private readonly maxSegments: number
  /** Where built trees are kept on disk; undefined: memory only. */
  private readonly dir: string | undefined
  /** The build under way or last queued: builds run one at a time. */
  private building: Promise<unknown> = Promise.resolve()
  /** Builds queued or under way, by CID: one per content even when it is forgotten and asked again meanwhile. */
  private readonly builds = new Map<string, Promise<CommitmentTree>>()
  private readonly stopListening: () => void
  private closed = false
  private readonly unpinGraceMs: number
  private readonly prepareRetryMs: number

  /**
   * `maxSegments`: audit segments of all cached trees together (default `maxCachedCommitmentSegments`);
   * `dir`: where to keep built trees (default `<store.dir>/commitments` when the store has a folder);
   * `unpinGraceMs`: how long a tree file outlives its unpin (default `unpinGraceMs`); `prepareRetryMs`:
   * the wait before looking again at a new pin whose blocks are still arriving (default `prepareRetryMs`).
   */
  constructor (store: HeldStore, opts: { maxSegments?: number, dir?: string, unpinGraceMs?: number, prepareRetryMs?: number } = {}) {
    this.store = store
    this.unpinGraceMs = opts.unpinGraceMs ?? unpinGraceMs
    this.prepareRetryMs = opts.prepareRetryMs ?? prepareRetryMs
    this.maxSegments = opts.maxSegments ?? maxCachedCommitmentSegments
    this.dir = opts.dir ?? (store.dir === undefined ? undefined : join(store.dir, 'commitments'))
    this.stopListening = store.onPinChange?.((root, pinned) => {
      if (pinned) this.prepare(root.toString())
      else this.discard(root.toString())
    }) ?? (() => {})
  }

  /** Stops building trees for new pins. */
  close (): void {
    this.closed = true
    this.stopListening()
  }

  /**
   * Starts building (or reading back) the tree of `cid` now, so an audit finds it ready. A pin
   * may come before its blocks (a repair pins, then pulls): while blocks are missing it tries
   * again later, `prepareTries` times; after that (or on another failure) the first audit builds it.
   */
  prepare (cid: string, tries = prepareTries): void {
    const later = (): void => {
      if (tries <= 1 || this.closed) return
      if (this.store.isPinned !== undefined && !this.store.isPinned(parseCid(cid))) return
      setTimeout(() => { this.prepare(cid, tries - 1) }, this.prepareRetryMs).unref()
    }
    // Whether every block is here, by presence (cheap), before hashing any of them.
    const complete = this.store.missing === undefined ? Promise.resolve(true) : this.store.missing(parseCid(cid)).then(m => m.length === 0)
    complete.then(
      (yes) => { if (yes) this.tree(cid).catch((err: unknown) => { if (err instanceof MissingDataError) later() }); else later() },
      () => {}
    )
  }

  /** The commitment tree of the DAG under `cid`, from the blocks held here (or from disk, built earlier). */
  async tree (cid: string): Promise<CommitmentTree> {
    let tree = this.trees.get(cid)
    if (tree === undefined) {
      tree = this.loadOrBuild(cid)
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

  /**
   * Forgets the tree of content no longer pinned, and removes its file unless it is pinned again
   * within `unpinGraceMs` (a pin made before the ledger records it can be dropped and made again).
   */
  private discard (cid: string): void {
    this.forget(cid)
    const file = this.fileOf(cid)
    if (file === undefined) return
    const remove = (): void => {
      if (this.store.isPinned?.(parseCid(cid)) === true) return
      rm(file, { force: true }).catch(() => {})
    }
    if (this.store.isPinned === undefined) remove()
    else setTimeout(remove, this.unpinGraceMs).unref()
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

  /** The file of `cid`'s tree; undefined without a folder (or for a string that is no CID). */
  private fileOf (cid: string): string | undefined {
    if (this.dir === undefined || !/^[a-z0-9]+$/i.test(cid)) return undefined
    return join(this.dir, `${cid}.tree`)
  }

  private async loadOrBuild (cid: string): Promise<CommitmentTree> {
    const read = await this.readBack(cid)
    if (read !== undefined) return read
    let build = this.builds.get(cid)
    if (build === undefined) {
      build = this.building.then(async () => await this.buildAndSave(cid))
      this.building = build.catch(() => {})
      this.builds.set(cid, build)
      build.finally(() => { this.builds.delete(cid) }).catch(() => {})
    }
    return await build
  }

  /** The tree kept on disk, when there is one and it reads back whole. */
  private async readBack (cid: string): Promise<CommitmentTree | undefined> {
    const file = this.fileOf(cid)
    if (file === undefined) return undefined
    try {
      return decodeCommitmentTree(new Uint8Array(await readFile(file)))
    } catch {
      return undefined // absent or damaged: built again
    }
  }

  private async buildAndSave (cid: string): Promise<CommitmentTree> {
    const done = await this.readBack(cid) // an earlier build of the same content may have ended while this one waited
    if (done !== undefined) return done
    const tree = await this.build(cid)
    const file = this.fileOf(cid)
    // Content unpinned while its tree was built leaves no file behind.
    if (file !== undefined && this.dir !== undefined && (this.store.isPinned?.(parseCid(cid)) ?? true)) {
      await mkdir(this.dir, { recursive: true })
      await replaceFileDurably(file, encodeCommitmentTree(tree), join(this.dir, `.${randomUUID()}.tmp`))
    }
    return tree
  }

  private async build (cid: string): Promise<CommitmentTree> {
    const blocks: BlockLeaves[] = []
    const get = async (c: CID): Promise<Uint8Array> => {
      const bytes = await this.store.get(c)
      if (bytes === undefined) throw new MissingDataError(`block ${c.toString()} of ${cid} is not held here`)
      return bytes
    }
    for await (const block of walkDag(parseCid(cid), get, { concurrency: 8 })) {
      blocks.push({ cid: block.cid.toString(), size: block.bytes.byteLength, leaves: blockLeafHashes(block.bytes) })
      await yieldTurn()
    }
    const steps = commitmentSteps(blocks)
    for (;;) {
      const step = steps.next()
      if (step.done === true) return step.value
      await yieldTurn()
    }
  }
}
