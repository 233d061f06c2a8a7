/**
 * The files an import has placed in its folder so far, so that two URLs never write the same
 * file and a file never stands where a folder must (`/docs` stored as a file, then
 * `/docs/guide.html`): the first URL to claim a path keeps it, a later one is skipped and reported.
 */

/** The answer to a claim. */
export type Claim =
  | { kind: 'claimed' }
  /** The path is already another URL's file (`/a/` and `/a/index.html`). */
  | { kind: 'duplicate', by: string }
  /** A file and a folder would share a name. */
  | { kind: 'conflict', reason: string }

export class PathTable {
  private readonly files = new Map<string, string>()
  private readonly folders = new Set<string>()

  /** Claims `path` (folder-relative, `/`-separated) for the file of `url`. */
  claim (path: string, url: string): Claim {
    const by = this.files.get(path)
    if (by !== undefined) return { kind: 'duplicate', by }
    if (this.folders.has(path)) return { kind: 'conflict', reason: `${path} is already a folder of other files` }
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/')
      const file = this.files.get(prefix)
      if (file !== undefined) return { kind: 'conflict', reason: `${prefix} is already the file of ${file}` }
    }
    this.files.set(path, url)
    for (let i = 1; i < parts.length; i++) this.folders.add(parts.slice(0, i).join('/'))
    return { kind: 'claimed' }
  }

  /** Files claimed. */
  get size (): number {
    return this.files.size
  }
}
