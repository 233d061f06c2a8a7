/**
 * The block store of a storage provider: content blocks on disk, one file per block under
 * `<dir>/blocks/<shard>/<cid>`, each written to `<dir>/tmp/` and renamed into place so a crash
 * never leaves half a block under a CID. A capacity in bytes bounds it; the bytes held are
 * counted when it opens and kept current. Pinned roots are kept in `<dir>/pins.json`, rewritten
 * atomically. Every block is checked against its CID when stored and again when read; a block
 * served (`readInto`) is hashed again only when it was not stored or checked within the last
 * `reverifyAfterMs` (serving a 256 MiB file to a client, which verifies every block itself,
 * hashed every byte twice: the provider's share of the CPU a fetch costs).
 *
 * @example
 * ```ts
 * const store = await BlockStore.open({ dir: './provider', capacityBytes: 10 * 2 ** 30 })
 * await store.put({ cid, bytes })
 * const bytes = await store.get(cid)      // undefined when absent
 * if ((await store.missing(root)).length === 0) await store.pin(root)
 * ```
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdir, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises'
import { replaceFileDurably } from '../store/atomic-file.ts'
import { join } from 'node:path'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { blockMatches, parseCid, rawCode, type Block, type CID } from '../../core/content/cid.ts'
import { maxBlockBytes, maxWalkBlocks } from '../../core/content/constants.ts'
import { BlockMismatchError, DagTooLargeError } from '../../core/content/errors.ts'
import { childLinks } from '../../core/content/exporter.ts'
import { maxPins, maxRecentlyVerified, reverifyAfterMs } from './constants.ts'
import { StorageFullError } from './errors.ts'

/** How the store is opened. */
export interface BlockStoreInit {
  /** Folder of the store; created when absent. */
  dir: string
  /** Block bytes the store may hold; a put past it fails with `StorageFullError`. */
  capacityBytes: number
}

/** What a store holds, and may hold. */
export interface StoreUsage {
  /** Bytes of the blocks held. */
  bytes: number
  /** Number of blocks held. */
  blocks: number
  /** Bytes the store may hold. */
  capacityBytes: number
}

/** What a local walk of a DAG found: the blocks it lacks, and the size of the part it holds. */
export interface DagInventory {
  /** CIDs of the DAG not held (their own children are unknown until they arrive). */
  missing: CID[]
  /** Blocks of the DAG held. */
  blocks: number
  /** Bytes of the blocks of the DAG held. */
  bytes: number
}

/** Told that `root` was newly pinned (`pinned`) or unpinned. */
export type PinListener = (root: CID, pinned: boolean) => void

/** Blocks read at once while walking a DAG from disk. */
const walkReadConcurrency = 8

/** Content blocks on disk with a capacity bound, plus the list of pinned roots. */
export class BlockStore {
  /** Folder of the store. */
  readonly dir: string
  /** Bytes the store may hold. */
  readonly capacityBytes: number
  #usedBytes = 0
  #blocks = 0
  /** Bytes of puts under way: counted against the capacity before they land. */
  #reservedBytes = 0
  /** One operation at a time per CID (bounded by the operations under way). */
  readonly #locks = new Map<string, Promise<unknown>>()
  readonly #pins = new Map<string, CID>()
  #pinsWritten: Promise<void> = Promise.resolve()
  /** Shard folders known to exist (at most 32 × 32 of them). */
  readonly #shards = new Set<string>()
  /** When each block was last checked against its CID (stored or read), oldest first; at most `maxRecentlyVerified`. */
  readonly #verifiedAt = new Map<string, number>()
  /** Told of each root newly pinned or unpinned (a few, set up by the node's parts). */
  readonly #pinListeners = new Set<PinListener>()

  private constructor (init: BlockStoreInit) {
    this.dir = init.dir
    this.capacityBytes = init.capacityBytes
  }

  /** Opens (or creates) the store in `init.dir`: counts the blocks held and loads the pins. */
  static async open (init: BlockStoreInit): Promise<BlockStore> {
    assert.ok(Number.isSafeInteger(init.capacityBytes) && init.capacityBytes >= 0, 'capacityBytes must be a non-negative integer')
    const store = new BlockStore(init)
    await rm(store.#tmpDir(), { recursive: true, force: true })
    await mkdir(store.#tmpDir(), { recursive: true })
    await mkdir(store.#blocksDir(), { recursive: true })
    await store.#scan()
    await store.#loadPins()
    return store
  }

  /** Bytes and blocks held, and the capacity. */
  usage (): StoreUsage {
    return { bytes: this.#usedBytes, blocks: this.#blocks, capacityBytes: this.capacityBytes }
  }

  /**
   * Stores a block after checking its bytes against its CID. Idempotent: resolves `false` when
   * the block was already held, `true` when it was written. Throws `BlockMismatchError`,
   * `PayloadTooLargeError` (above `maxBlockBytes`) or `StorageFullError`.
   */
  async put (block: Block): Promise<boolean> {
    const { cid, bytes } = block
    if (bytes.byteLength > maxBlockBytes) throw new PayloadTooLargeError(`block ${cid.toString()} has ${bytes.byteLength} bytes; blocks are at most ${maxBlockBytes}`)
    if (!blockMatches(cid, bytes)) throw new BlockMismatchError(`the bytes given for ${cid.toString()} do not hash to it; send the block's own bytes`)
    const key = cid.toString()
    return this.#locked(key, async () => {
      if (await sizeOf(this.#path(key)) !== undefined) return false
      if (this.#usedBytes + this.#reservedBytes + bytes.byteLength > this.capacityBytes) {
        throw new StorageFullError(`storing ${key} (${bytes.byteLength} bytes) would exceed the capacity of ${this.capacityBytes} bytes (${this.#usedBytes} used); free space or raise the capacity`)
      }
      this.#reservedBytes += bytes.byteLength
      try {
        await this.#writeAtomically(this.#path(key), bytes)
      } finally {
        this.#reservedBytes -= bytes.byteLength
      }
      this.#usedBytes += bytes.byteLength
      this.#blocks += 1
      this.#verified(key)
      return true
    })
  }

  /**
   * The block's bytes, checked against the CID, or `undefined` when it is not held. A block
   * that no longer matches its CID (the disk corrupted it) is removed and reported absent.
   */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    const key = cid.toString()
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(await readFile(this.#path(key)))
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
    if (blockMatches(cid, bytes)) return bytes
    await this.delete(cid)
    return undefined
  }

  /**
   * Like `get`, but reads into a buffer of the caller's (`alloc(size)`, e.g. from a pool, so a
   * node serving blocks allocates nothing per block), and hashes a block only when it was not
   * checked within `reverifyAfterMs`. The result is a view of that buffer; a block larger than
   * `maxBlockBytes` on disk counts as corrupt.
   */
  async readInto (cid: CID, alloc: (bytes: number) => Uint8Array): Promise<Uint8Array | undefined> {
    let file
    try {
      file = await open(this.#path(cid.toString()), 'r')
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
    let bytes: Uint8Array | undefined
    try {
      const size = (await file.stat()).size
      if (size <= maxBlockBytes) {
        const into = alloc(size)
        let at = 0
        while (at < size) {
          const { bytesRead } = await file.read(into, at, size - at, at)
          if (bytesRead === 0) break
          at += bytesRead
        }
        if (at === size) bytes = into.subarray(0, size)
      }
    } finally {
      await file.close()
    }
    const key = cid.toString()
    if (bytes !== undefined && this.#recentlyVerified(key)) return bytes
    if (bytes !== undefined && blockMatches(cid, bytes)) {
      this.#verified(key)
      return bytes
    }
    await this.delete(cid)
    return undefined
  }

  #recentlyVerified (key: string): boolean {
    const at = this.#verifiedAt.get(key)
    return at !== undefined && Date.now() - at < reverifyAfterMs
  }

  #verified (key: string): void {
    this.#verifiedAt.delete(key)
    this.#verifiedAt.set(key, Date.now())
    if (this.#verifiedAt.size > maxRecentlyVerified) this.#verifiedAt.delete(this.#verifiedAt.keys().next().value!)
  }

  /** Whether the block is held (without reading it). */
  async has (cid: CID): Promise<boolean> {
    return await sizeOf(this.#path(cid.toString())) !== undefined
  }

  /** Removes a block; resolves whether it was held. Pins are not consulted. */
  async delete (cid: CID): Promise<boolean> {
    const key = cid.toString()
    return this.#locked(key, async () => {
      const path = this.#path(key)
      this.#verifiedAt.delete(key)
      const size = await sizeOf(path)
      if (size === undefined) return false
      await unlink(path)
      this.#usedBytes -= size
      this.#blocks -= 1
      return true
    })
  }

  /**
   * Records `root` as pinned (persisted before this resolves). Idempotent. Throws
   * `StorageFullError` past `maxPins` roots. Whether the DAG is complete is the caller's check.
   */
  async pin (root: CID): Promise<void> {
    const key = root.toString()
    if (this.#pins.has(key)) return this.#pinsWritten
    if (this.#pins.size >= maxPins) throw new StorageFullError(`the store already pins ${maxPins} roots; unpin some first`)
    this.#pins.set(key, root)
    await this.#savePins()
    this.#tellPin(root, true)
  }

  /** Removes a pin (persisted before this resolves); its blocks stay until deleted. */
  async unpin (root: CID): Promise<void> {
    if (!this.#pins.delete(root.toString())) return this.#pinsWritten
    await this.#savePins()
    this.#tellPin(root, false)
  }

  /**
   * Calls `listener` after each root is newly pinned (`true`) or unpinned (`false`), once the pin
   * list is saved, e.g. to prepare what holding the content takes; returns the way to stop.
   */
  onPinChange (listener: PinListener): () => void {
    this.#pinListeners.add(listener)
    return () => { this.#pinListeners.delete(listener) }
  }

  #tellPin (root: CID, pinned: boolean): void {
    for (const listener of this.#pinListeners) listener(root, pinned)
  }

  /** Pinned roots, oldest first. */
  pinned (): CID[] {
    return [...this.#pins.values()]
  }

  /** Whether `root` is pinned. */
  isPinned (root: CID): boolean {
    return this.#pins.has(root.toString())
  }

  /**
   * CIDs of the DAG under `root` that are not held (empty when the whole DAG is here). Raw leaves
   * are checked by presence, not re-hashed (they were hashed when stored and are again when read);
   * `inventory`, which a placement receipt rests on, hashes every block.
   */
  async missing (root: CID, signal?: AbortSignal): Promise<CID[]> {
    return (await this.inventory(root, signal, { hashLeaves: false })).missing
  }

  /**
   * Walks the DAG under `root` through the blocks held: the CIDs not held, and the blocks and
   * bytes of those held (`hashLeaves: false`: raw leaves by presence and size). Throws `DagTooLargeError` past `maxWalkBlocks` distinct blocks,
   * `InvalidDagError` for a held node that cannot be decoded, and the signal's reason on abort.
   */
  async inventory (root: CID, signal?: AbortSignal, opts: { hashLeaves?: boolean } = {}): Promise<DagInventory> {
    const hashLeaves = opts.hashLeaves ?? true
    // A raw leaf links nowhere: without `hashLeaves` its presence (and size) is enough.
    const read = async (cid: CID): Promise<{ bytes: number, links: CID[] } | undefined> => {
      if (!hashLeaves && cid.code === rawCode) {
        const size = await sizeOf(this.#path(cid.toString()))
        return size === undefined ? undefined : { bytes: size, links: [] }
      }
      const bytes = await this.get(cid)
      return bytes === undefined ? undefined : { bytes: bytes.byteLength, links: childLinks({ cid, bytes }) }
    }
    const seen = new Set<string>([root.toString()])
    const result: DagInventory = { missing: [], blocks: 0, bytes: 0 }
    let frontier: CID[] = [root]
    while (frontier.length > 0) {
      const next: CID[] = []
      for (let i = 0; i < frontier.length; i += walkReadConcurrency) {
        signal?.throwIfAborted()
        const slice = frontier.slice(i, i + walkReadConcurrency)
        const found = await Promise.all(slice.map(read))
        for (const [j, cid] of slice.entries()) {
          const held = found[j]
          if (held === undefined) {
            result.missing.push(cid)
            continue
          }
          result.blocks += 1
          result.bytes += held.bytes
          for (const child of held.links) {
            const key = child.toString()
            if (seen.has(key)) continue
            if (seen.size >= maxWalkBlocks) throw new DagTooLargeError(`the DAG under ${root.toString()} has more than ${maxWalkBlocks} blocks`)
            seen.add(key)
            next.push(child)
          }
        }
      }
      frontier = next
    }
    return result
  }

  #blocksDir (): string { return join(this.dir, 'blocks') }
  #tmpDir (): string { return join(this.dir, 'tmp') }
  #pinsPath (): string { return join(this.dir, 'pins.json') }

  #path (key: string): string {
    return join(this.#blocksDir(), shardOf(key), key)
  }

  async #writeAtomically (path: string, bytes: Uint8Array): Promise<void> {
    const shard = join(path, '..')
    if (!this.#shards.has(shard)) {
      await mkdir(shard, { recursive: true })
      this.#shards.add(shard)
    }
    await replaceFileDurably(path, bytes, join(this.#tmpDir(), randomUUID()))
  }

  /** Runs `op` once every earlier operation on `key` has settled. */
  async #locked<T> (key: string, op: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve()
    const run = before.then(op, op)
    const tail = run.catch(() => {})
    this.#locks.set(key, tail)
    try {
      return await run
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key)
    }
  }

  async #scan (): Promise<void> {
    for (const shard of await readdir(this.#blocksDir(), { withFileTypes: true })) {
      if (!shard.isDirectory()) continue
      const shardDir = join(this.#blocksDir(), shard.name)
      this.#shards.add(shardDir)
      const names = await readdir(shardDir)
      const sizes = await Promise.all(names.map(async name => sizeOf(join(shardDir, name))))
      for (const size of sizes) {
        if (size === undefined) continue
        this.#usedBytes += size
        this.#blocks += 1
      }
    }
  }

  async #loadPins (): Promise<void> {
    let text: string
    try {
      text = await readFile(this.#pinsPath(), 'utf8')
    } catch (err) {
      if (isNotFound(err)) return
      throw err
    }
    let roots: unknown
    try {
      roots = (JSON.parse(text) as { pins?: unknown }).pins
    } catch {
      roots = undefined
    }
    if (!Array.isArray(roots) || roots.length > maxPins) {
      throw new MalformedMessageError(`${this.#pinsPath()} is not a pin list ({"pins": [CID strings]}, at most ${maxPins}); restore it from a backup or remove it`)
    }
    for (const s of roots) {
      const cid = parseCid(String(s))
      this.#pins.set(cid.toString(), cid)
    }
  }

  /** Writes the current pin list (temp file, then rename); writes are serialised. */
  async #savePins (): Promise<void> {
    const write = async (): Promise<void> => {
      const text = JSON.stringify({ pins: [...this.#pins.keys()] })
      await replaceFileDurably(this.#pinsPath(), text, join(this.#tmpDir(), `pins-${randomUUID()}.json`))
    }
    const done = this.#pinsWritten.then(write, write)
    this.#pinsWritten = done.catch(() => {})
    await done
  }
}

/** The shard folder of a CID string: its next-to-last two characters (as IPFS's flatfs). */
function shardOf (key: string): string {
  return key.length >= 3 ? key.slice(-3, -1) : '_'
}

async function sizeOf (path: string): Promise<number | undefined> {
  try {
    const s = await stat(path)
    return s.isFile() ? s.size : undefined
  } catch (err) {
    if (isNotFound(err)) return undefined
    throw err
  }
}

function isNotFound (err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
}
