/**
 * What paths under a root resolved to, kept in memory: content under a CID never changes, so a
 * warm page is answered without fetching and decoding its folders again (a site's root folder
 * of a few hundred entries costs a fraction of a millisecond to decode, and a page resolves it
 * twice: the folder, then its `index.html`). Bounded by paths and by folder entries held.
 *
 * @example
 * ```ts
 * const paths = new ResolvedPaths()
 * const entry = await paths.resolve(root, 'docs/guide.pdf', get, signal)   // later calls: no block read
 * ```
 */
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { resolvePath, type Entry } from '../../core/content/exporter.ts'
import { ByteLru } from './byte-lru.ts'
import { maxResolvedPathEntries, maxResolvedPaths } from './constants.ts'

/** Resolved paths of immutable content, least recently used forgotten first. */
export class ResolvedPaths {
  private readonly kept = new ByteLru<Entry>(maxResolvedPathEntries, maxResolvedPaths, weight)

  /** `resolvePath(root, path, get, signal)`, answered from memory when it was resolved before. */
  async resolve (root: CID, path: string, get: BlockGetter, signal?: AbortSignal): Promise<Entry> {
    const key = `${root.toString()}/${path}`
    const hit = this.kept.get(key)
    if (hit !== undefined) return hit
    const entry = await resolvePath(root, path, get, signal)
    // A folder too large for the whole bound is served, just not kept.
    if (weight(entry) <= this.kept.capacityBytes) this.kept.set(key, entry)
    return entry
  }
}

/** What an entry costs the bound: one, plus one per folder entry it lists. */
function weight (entry: Entry): number {
  return 1 + (entry.kind === 'directory' ? entry.entries.length : 0)
}
