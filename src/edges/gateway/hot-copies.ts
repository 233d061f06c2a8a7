/**
 * Extra copies of hot content at the gateway, where the demand arrives: a root whose request
 * rate passes the hot threshold has its whole DAG copied into a bounded local store (pinned, so
 * the edge cache's LRU cannot push it out under load) and served from there; when the rate has
 * stayed low for the cool-down, the copy is dropped. The decisions and their inputs are kept for
 * `/status` and the log.
 */
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { walkDag } from '../../core/content/exporter.ts'
import { HotContentTracker, type HotContentConfig, type HotDecision, type HotEntry } from '../../core/placement/hot-content.ts'
import { parseCid } from '../../core/content/cid.ts'
import { BlockStore } from '../../services/storage/block-store.ts'

/** How often the decisions are made. */
const decideEveryMs = 1000
/** Decisions kept for `/status`. */
const maxDecisionsShown = 20

export interface HotCopiesStatus {
  hotPerSecond: number
  coolPerSecond: number
  coolForMs: number
  /** Bytes held in hot copies, and the bound. */
  bytes: number
  capacityBytes: number
  /** The busiest roots: the inputs of the decisions. */
  roots: HotEntry[]
  decisions: Array<HotDecision & { outcome: string }>
}

export class HotCopies {
  private readonly store: BlockStore
  private readonly tracker: HotContentTracker
  private readonly upstream: (root: CID) => BlockGetter
  private readonly log: (line: string) => void
  private readonly decisions: Array<HotDecision & { outcome: string }> = []
  private readonly copying = new Set<string>()
  private timer: NodeJS.Timeout | undefined

  private constructor (store: BlockStore, upstream: (root: CID) => BlockGetter, config: Partial<HotContentConfig>, log: (line: string) => void) {
    this.store = store
    this.upstream = upstream
    this.tracker = new HotContentTracker(config)
    this.log = log
  }

  static async open (init: { dir: string, capacityBytes: number, upstream: (root: CID) => BlockGetter, config?: Partial<HotContentConfig>, log: (line: string) => void }): Promise<HotCopies> {
    const store = await BlockStore.open({ dir: init.dir, capacityBytes: init.capacityBytes })
    // Copies from a previous run are not known to be hot any more.
    for (const root of store.pinned()) await dropCopy(store, root)
    return new HotCopies(store, init.upstream, init.config ?? {}, init.log)
  }

  start (): void {
    this.timer = setInterval(() => { this.decide() }, decideEveryMs)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /** Counts a request for content under `root`. */
  record (root: CID): void {
    this.tracker.record(root.toString(), Date.now())
  }

  /** Blocks of `root`: from its hot copy when there is one, else from `fallback`. */
  getter (root: CID, fallback: BlockGetter): BlockGetter {
    return async (cid, signal) => {
      if (this.store.isPinned(root)) {
        const local = await this.store.get(cid)
        if (local !== undefined) return local
      }
      return await fallback(cid, signal)
    }
  }

  status (): HotCopiesStatus {
    const { hotPerSecond, coolPerSecond, coolForMs } = this.tracker.config
    const usage = this.store.usage()
    return { hotPerSecond, coolPerSecond, coolForMs, bytes: usage.bytes, capacityBytes: usage.capacityBytes, roots: this.tracker.top(Date.now()), decisions: [...this.decisions] }
  }

  private decide (): void {
    for (const d of this.tracker.decide(Date.now())) {
      if (d.kind === 'promote') this.copy(d)
      else this.drop(d)
    }
  }

  private note (d: HotDecision, outcome: string): void {
    this.decisions.push({ ...d, ratePerSecond: Number(d.ratePerSecond.toFixed(2)), outcome })
    if (this.decisions.length > maxDecisionsShown) this.decisions.shift()
    this.log(`hot content: ${d.kind} ${d.key} at ${d.ratePerSecond.toFixed(1)} requests/s: ${outcome}`)
  }

  private copy (d: HotDecision): void {
    if (this.copying.has(d.key)) return
    this.copying.add(d.key)
    const root = parseCid(d.key)
    const started = Date.now()
    void (async () => {
      let blocks = 0
      const get = this.upstream(root)
      for await (const block of walkDag(root, get, { concurrency: 8 })) {
        await this.store.put(block)
        blocks++
      }
      await this.store.pin(root)
      this.note(d, `copied ${blocks} blocks in ${Date.now() - started} ms`)
    })().catch(async err => {
      await dropCopy(this.store, root).catch(() => {})
      this.note(d, `copy failed: ${(err as Error).message}`)
    }).finally(() => { this.copying.delete(d.key) })
  }

  private drop (d: HotDecision): void {
    const root = parseCid(d.key)
    dropCopy(this.store, root).then(
      freed => { this.note(d, `dropped the copy (${freed} blocks)`) },
      err => { this.note(d, `drop failed: ${(err as Error).message}`) })
  }
}

/** Unpins a root and deletes the blocks of its DAG held here; returns how many. */
async function dropCopy (store: BlockStore, root: CID): Promise<number> {
  await store.unpin(root)
  let freed = 0
  const local: BlockGetter = async cid => {
    const bytes = await store.get(cid)
    if (bytes === undefined) throw new Error('not held')
    return bytes
  }
  const seen: CID[] = []
  try {
    for await (const block of walkDag(root, local, { concurrency: 8 })) seen.push(block.cid)
  } catch {
    // A partial copy: delete what was found.
  }
  for (const cid of seen) if (await store.delete(cid)) freed++
  return freed
}
