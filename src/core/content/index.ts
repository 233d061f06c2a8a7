/**
 * Content addressing: files and folders as UnixFS DAGs with the same CIDs as
 * `ipfs-unixfs-importer` under the `unixfs-v1-2025` profile (CIDv1, sha2-256, 1 MiB raw leaves,
 * balanced 1024-ary file nodes, plain directories), read back through any verified block getter,
 * and carried in CAR v1 files. Pure: no disk or network; storage and transfer live in services.
 *
 * ```ts
 * import { importTree, readFile, resolvePath, walkDag, writeCar, blockMatches, type Block, type CID } from './core/content/index.ts'
 * const blocks = new Map<string, Uint8Array>()
 * const sink = { put: async ({ cid, bytes }: Block) => { blocks.set(cid.toString(), bytes) } }
 * const files = [{ path: 'index.html', content: () => new TextEncoder().encode('<h1>hi</h1>') }]
 * const { cid: root } = await importTree(files, sink)
 * const get = async (cid: CID) => {
 *   const bytes = blocks.get(cid.toString())
 *   if (bytes === undefined || !blockMatches(cid, bytes)) throw new Error(`no block ${cid}`)
 *   return bytes
 * }
 * const page = await resolvePath(root, '/index.html', get)                 // { kind: 'file', cid, size: 11 }
 * for await (const chunk of readFile(page.cid, get, { start: 4 })) process.stdout.write(chunk)   // hi</h1>
 * for await (const piece of writeCar([root], walkDag(root, get))) process.stdout.write(piece)    // a CAR of the site
 * ```
 *
 * Decision record: docs/decisions/0004-content-and-storage.md.
 */
export { CID, parseCid, cidForBlock, blockMatches, rawCode, dagPbCode, sha256Code } from './cid.ts'
export type { Block, BlockGetter } from './cid.ts'
export { importBytes, importDirectoryNode, importTree, profileLayout } from './importer.ts'
export type { DirectoryEntry, FileLayout, ImportedFile, ImportOptions, ImportSink, TreeFile } from './importer.ts'
export { stat, resolvePath, readFile, walkDag, childLinks } from './exporter.ts'
export type { Entry, ReadFileOptions, WalkOptions } from './exporter.ts'
export { writeCar, readCar } from './car.ts'
export type { ReadCarOptions } from './car.ts'
export { contentTypeFor, defaultContentType } from './mime.ts'
export * from './errors.ts'
export * from './constants.ts'
