/**
 * The exporter: reads UnixFS DAGs back through a `BlockGetter` (which returns verified bytes) —
 * what a CID is (`stat`), what a path inside it names (`resolvePath`), a file's bytes
 * (`readFile`, in read-file.ts) and every block of a DAG (`walkDag`, in walk-dag.ts).
 */
import { NotFoundError } from '../../foundations/errors.ts'
import type { Block, BlockGetter, CID } from './cid.ts'
import { resolvePathSegments } from './path.ts'
import { blockLinks, decodeUnixfsNode } from './unixfs-node.ts'

export { readFile } from './read-file.ts'
export type { ReadFileOptions } from './read-file.ts'
export { walkDag } from './walk-dag.ts'
export type { WalkOptions } from './walk-dag.ts'

/** What a CID names: a file of `size` content bytes, or a directory with its entries. */
export type Entry =
  | { kind: 'file', cid: CID, size: number }
  | { kind: 'directory', cid: CID, entries: Array<{ name: string, cid: CID }> }

/**
 * Fetches one block and says what it is: a raw leaf or a dag-pb file node is a file (with its
 * total size), a dag-pb directory a directory. Throws `UnsupportedDagError` for other UnixFS types
 * (HAMT-sharded directories, symlinks) and codecs, `InvalidDagError` for undecodable blocks.
 */
export async function stat (cid: CID, get: BlockGetter, signal?: AbortSignal): Promise<Entry> {
  const node = decodeUnixfsNode(cid, await get(cid, signal))
  if (node.kind === 'directory') return { kind: 'directory', cid, entries: node.entries }
  return { kind: 'file', cid, size: node.fileBytes }
}

/**
 * Follows `path` (`''` or `'/'` is the root; `a/b/c.html`, slashes at either end ignored) from
 * `root` through directories. The path must already be percent-decoded. Throws `NotFoundError`
 * when a segment is missing or a file is treated as a directory, `MalformedMessageError` for
 * `.`, `..` and other impossible names.
 */
export async function resolvePath (root: CID, path: string, get: BlockGetter, signal?: AbortSignal): Promise<Entry> {
  const segments = resolvePathSegments(path)
  let entry = await stat(root, get, signal)
  for (const [i, segment] of segments.entries()) {
    const here = segments.slice(0, i).join('/')
    if (entry.kind !== 'directory') throw new NotFoundError(`"${here}" is a file, so "${segments.slice(0, i + 1).join('/')}" does not exist under ${root}`)
    const next = entry.entries.find(e => e.name === segment)
    if (next === undefined) throw new NotFoundError(`no "${segment}" in ${here === '' ? 'the root directory' : `"${here}"`} of ${root}`)
    entry = await stat(next.cid, get, signal)
  }
  return entry
}

/** The CIDs a block links to: a dag-pb block's links in order, `[]` for a raw block. */
export function childLinks (block: Block): CID[] {
  return blockLinks(block.cid, block.bytes)
}
