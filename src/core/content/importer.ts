/**
 * The importer: turns bytes and file trees into UnixFS blocks, byte for byte as
 * `ipfs-unixfs-importer` does with `{ profile: 'unixfs-v1-2025' }` — 1 MiB raw leaves, balanced
 * dag-pb file nodes of up to 1024 links, a one-chunk file is its raw leaf, plain directories with
 * links sorted by name bytes. Pure: blocks go to an `ImportSink`; memory stays at one chunk plus
 * the pending links of each tree level.
 */
import assert from 'node:assert/strict'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { compareBytes } from '../../foundations/bytes.ts'
import { PayloadTooLargeError } from '../../foundations/errors.ts'
import { cidForBlock, dagPbCode, rawCode } from './cid.ts'
import type { Block, CID } from './cid.ts'
import { chunkBytes, maxBlockBytes, maxDirectoryBlockBytes, maxDirectoryEntries, maxLinksPerNode, maxTreeFiles } from './constants.ts'
import { DirectoryTooLargeError, PathConflictError } from './errors.ts'
import { checkEntryName, importPathSegments } from './path.ts'

/** Where the importer puts each block it makes (a blockstore, a CAR writer, a hash-only counter). */
export interface ImportSink { put (block: Block): Promise<void> }

/**
 * How a file is cut into a DAG. Only tests change it (to exercise deep layouts with small
 * inputs); any other value than `profileLayout` gives CIDs that differ from the profile's.
 */
export interface FileLayout { chunkBytes: number, maxLinksPerNode: number }

/** The `unixfs-v1-2025` layout: 1 MiB chunks, 1024 links per node. */
export const profileLayout: FileLayout = { chunkBytes, maxLinksPerNode }

/** Options of `importBytes` and `importTree`. */
export interface ImportOptions {
  /** Called after each chunk with the content bytes read so far (summed over files in `importTree`). */
  onProgress?: (bytesRead: number) => void
  /** Stops the import between chunks. */
  signal?: AbortSignal
  /** Test-only: another chunk size / fan-out (changes the CIDs). */
  layout?: FileLayout
}

/** One imported file: its root CID, cumulative DAG size (`Tsize`) and content length. */
export interface ImportedFile { cid: CID, size: number, bytes: number }

/** One entry of a directory node; `size` is the entry's cumulative DAG size (`Tsize`). */
export interface DirectoryEntry { name: string, cid: CID, size: number }

/** A file of `importTree`: a relative path (`css/site.css`) and a way to read its bytes. */
export interface TreeFile { path: string, content: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array }

const nameEncoder = new TextEncoder()

/** A node of the file DAG under construction, as its parent links to it. */
interface DagChild { cid: CID, dagBytes: number, fileBytes: number }

/**
 * Imports one file's bytes (a buffer or a stream of pieces of any size) and returns its root.
 * `size` is the cumulative DAG size to put in a `DirectoryEntry`; `bytes` is the content length.
 */
export async function importBytes (source: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, sink: ImportSink, opts: ImportOptions = {}): Promise<ImportedFile> {
  const { chunkBytes: size, maxLinksPerNode: fanout } = opts.layout ?? profileLayout
  assert.ok(Number.isSafeInteger(size) && size >= 1 && size <= chunkBytes, 'layout.chunkBytes must be 1 to chunkBytes')
  assert.ok(Number.isSafeInteger(fanout) && fanout >= 2 && fanout <= maxLinksPerNode, 'layout.maxLinksPerNode must be 2 to maxLinksPerNode')
  const pending: DagChild[][] = [] // per tree level: children not yet joined under a parent (< fanout each)
  const made: number[] = [] // per tree level: nodes made so far

  const add = async (level: number, child: DagChild): Promise<void> => {
    const list = pending[level] ??= []
    list.push(child)
    made[level] = (made[level] ?? 0) + 1
    if (list.length === fanout) {
      pending[level] = []
      await add(level + 1, await fileNode(list, sink))
    }
  }

  let parts: Uint8Array[] = [] // the chunk being filled, as copies of the pieces read (< size bytes)
  let fill = 0
  let bytesRead = 0
  const emit = async (): Promise<void> => {
    const bytes = parts.length === 1 ? parts[0] as Uint8Array : concat(parts, fill)
    parts = []
    fill = 0
    const cid = cidForBlock(rawCode, bytes)
    await sink.put({ cid, bytes })
    await add(0, { cid, dagBytes: bytes.byteLength, fileBytes: bytes.byteLength })
    opts.onProgress?.(bytesRead)
  }

  for await (const piece of source instanceof Uint8Array ? [source] : source) {
    assert.ok(piece instanceof Uint8Array, 'file content must be Uint8Array pieces')
    opts.signal?.throwIfAborted()
    for (let offset = 0; offset < piece.byteLength;) {
      const n = Math.min(size - fill, piece.byteLength - offset)
      parts.push(new Uint8Array(piece.subarray(offset, offset + n))) // a copy: the caller may reuse its buffer
      fill += n
      offset += n
      bytesRead += n
      if (fill === size) {
        opts.signal?.throwIfAborted()
        await emit()
      }
    }
  }
  if (fill > 0 || made[0] === undefined) await emit() // the last, short chunk; an empty file is one empty raw leaf

  // Join what is left, level by level, as the reference's balanced layout does: the first level
  // with exactly one node holds the root (a single raw leaf stays the file itself).
  for (let level = 0; ; level++) {
    const list = pending[level] ?? []
    if (made[level] === 1) {
      const root = list[0]
      assert.ok(root !== undefined && pending.length === level + 1)
      return { cid: root.cid, size: root.dagBytes, bytes: root.fileBytes }
    }
    if (list.length > 0) {
      pending[level] = []
      await add(level + 1, await fileNode(list, sink))
    }
  }
}

/** Joins the pieces of one chunk into a fresh array of its own (never a view into a shared pool). */
function concat (parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/** A dag-pb UnixFS `file` node over `children`, written to `sink`. */
async function fileNode (children: DagChild[], sink: ImportSink): Promise<DagChild> {
  const unixfs = new UnixFS({ type: 'file' })
  const links: dagPb.PBLink[] = []
  let dagBytes = 0
  for (const child of children) {
    if (child.fileBytes === 0) continue
    unixfs.addBlockSize(BigInt(child.fileBytes))
    links.push({ Name: '', Tsize: child.dagBytes, Hash: child.cid })
    dagBytes += child.dagBytes
  }
  const bytes = dagPb.encode(dagPb.prepare({ Data: unixfs.marshal(), Links: links }))
  assert.ok(bytes.byteLength <= maxBlockBytes)
  const cid = cidForBlock(dagPbCode, bytes)
  await sink.put({ cid, bytes })
  return { cid, dagBytes: dagBytes + bytes.byteLength, fileBytes: Number(unixfs.fileSize()) }
}

/**
 * Writes one plain directory node linking `entries` (in any order: links are sorted by name
 * bytes). Throws `MalformedMessageError` for a bad name, `PathConflictError` for a repeated one,
 * `DirectoryTooLargeError` past `maxDirectoryEntries` entries or `maxDirectoryBlockBytes`.
 */
export async function importDirectoryNode (entries: DirectoryEntry[], sink: ImportSink): Promise<{ cid: CID, size: number }> {
  if (entries.length > maxDirectoryEntries) {
    throw new DirectoryTooLargeError(`a directory holds at most ${maxDirectoryEntries} entries, not ${entries.length}: split it into subdirectories`)
  }
  const names = new Set<string>()
  let dagBytes = 0
  const sorted = entries.map(entry => {
    checkEntryName(entry.name)
    if (names.has(entry.name)) throw new PathConflictError(`the directory has two entries named "${entry.name}"`)
    names.add(entry.name)
    assert.ok(Number.isSafeInteger(entry.size) && entry.size >= 0, 'an entry size is a cumulative DAG size in bytes')
    dagBytes += entry.size
    return { entry, key: nameEncoder.encode(entry.name) }
  }).sort((a, b) => compareBytes(a.key, b.key)) // dag-pb orders links by name bytes
  const links = sorted.map(({ entry }): dagPb.PBLink => ({ Hash: entry.cid, Name: entry.name, Tsize: entry.size }))
  const bytes = dagPb.encode({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: links })
  if (bytes.byteLength > maxDirectoryBlockBytes) {
    throw new DirectoryTooLargeError(`a directory node of ${bytes.byteLength} bytes is over ${maxDirectoryBlockBytes} (Keynet does not write sharded directories): use fewer entries or shorter names, or split it into subdirectories`)
  }
  const cid = cidForBlock(dagPbCode, bytes)
  await sink.put({ cid, bytes })
  return { cid, size: dagBytes + bytes.byteLength }
}

/** A directory of `importTree` being filled: entry name → subdirectory or imported file. */
interface TreeDirectory { children: Map<string, TreeDirectory | ImportedFile> }

/**
 * Imports files given by relative path into nested directories under one root directory (as the
 * reference importer with `wrapWithDirectory`). Paths are checked (no empty, `.` or `..`
 * segments, no NUL); a path given twice, or used both as a file and as a folder, is a
 * `PathConflictError`. Returns the root, the number of files and their total content bytes.
 */
export async function importTree (files: AsyncIterable<TreeFile> | Iterable<TreeFile>, sink: ImportSink, opts: ImportOptions = {}): Promise<{ cid: CID, size: number, files: number, bytes: number }> {
  const root: TreeDirectory = { children: new Map() }
  let fileCount = 0
  let byteCount = 0
  for await (const file of files) {
    opts.signal?.throwIfAborted()
    const segments = importPathSegments(file.path)
    if (++fileCount > maxTreeFiles) throw new PayloadTooLargeError(`one import holds at most ${maxTreeFiles} files: publish the rest separately`)
    const name = segments.pop()
    assert.ok(name !== undefined)
    let dir = root
    for (const [i, segment] of segments.entries()) {
      const existing = dir.children.get(segment)
      if (existing !== undefined && !('children' in existing)) {
        throw new PathConflictError(`"${segments.slice(0, i + 1).join('/')}" is a file, so "${file.path}" cannot be inside it`)
      }
      dir = existing ?? addChild(dir, segment, { children: new Map() })
    }
    if (dir.children.has(name)) throw new PathConflictError(`"${file.path}" is given twice, or is also a directory`)
    checkRoom(dir, name) // before reading the content
    const base = byteCount
    const imported = await importBytes(file.content(), sink, {
      ...opts,
      onProgress: opts.onProgress === undefined ? undefined : (n: number) => opts.onProgress?.(base + n)
    })
    byteCount += imported.bytes
    addChild(dir, name, imported)
  }
  const { cid, size } = await writeDirectory(root, sink)
  return { cid, size, files: fileCount, bytes: byteCount }
}

function checkRoom (dir: TreeDirectory, name: string): void {
  if (dir.children.size >= maxDirectoryEntries) {
    throw new DirectoryTooLargeError(`a directory holds at most ${maxDirectoryEntries} entries ("${name}" is one too many): split it into subdirectories`)
  }
}

function addChild<T extends TreeDirectory | ImportedFile> (dir: TreeDirectory, name: string, child: T): T {
  checkRoom(dir, name)
  dir.children.set(name, child)
  return child
}

/** Writes a directory's subdirectories, then the directory itself. */
async function writeDirectory (dir: TreeDirectory, sink: ImportSink): Promise<{ cid: CID, size: number }> {
  const entries: DirectoryEntry[] = []
  for (const [name, child] of dir.children) {
    const { cid, size } = 'children' in child ? await writeDirectory(child, sink) : child
    entries.push({ name, cid, size })
  }
  return await importDirectoryNode(entries, sink)
}
