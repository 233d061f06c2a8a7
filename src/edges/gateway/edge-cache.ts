/**
 * The gateway's edge cache: verified blocks kept on local disk (bounded by bytes, least recently
 * used evicted first, found again after a restart by scanning its folder), with a small in-memory
 * tier of hot blocks in front so warm pages never touch the disk.
 *
 * Layout: `<dir>/blocks/<last two characters of the CID>/<CIDv1 string>`, written through
 * `<dir>/tmp/` and renamed, so a crash never leaves a half-written block under its CID. A block
 * read from disk is hashed against its CID again, so a damaged file is dropped, never served.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { blockMatches, CID, type Block, type BlockGetter } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import { ByteLru } from './byte-lru.ts'
import { cacheTouchIntervalMs, defaultMemoryCacheBytes, maxCacheBlocks, maxCachedBlockBytes } from './constants.ts'

/** Counters of an edge cache, as `/status` reports them. */
export interface CacheStats {
  /** Bytes of blocks on disk. */
  bytes: number
  /** The most bytes the disk tier holds. */
  capacityBytes: number
  /** Blocks on disk. */
  blocks: number
  /** Lookups answered from memory or disk. */
  hits: number
  /** Lookups that had to go upstream. */
  misses: number
  /** hits / (hits + misses), 0 before the first lookup. */
  hitRate: number
}

/** Where and how big an edge cache is. */
export interface EdgeCacheInit {
  /** Folder of the cache; created if missing, its blocks reused if present. */
  dir: string
  /** Bytes of blocks kept on disk. */
  capacityBytes: number
  /** Bytes of hot blocks kept in memory (default `defaultMemoryCacheBytes`, at most `capacityBytes`). */
  memoryBytes?: number
  /** Receives one line per disk problem (the block is then just not cached). */
  log?: (line: string) => void
}

interface DiskEntry { size: number, touchedMs: number }

/** A bounded on-disk cache of verified blocks with a hot in-memory tier; see the module comment. */
export class EdgeCache {
  private readonly blocksDir: string
  private readonly tmpDir: string
  private readonly disk: ByteLru<DiskEntry>
  private readonly memory: ByteLru<Uint8Array>
  private readonly log: (line: string) => void
  private hits = 0
  private misses = 0

  private constructor (init: EdgeCacheInit) {
    assert.ok(Number.isSafeInteger(init.capacityBytes) && init.capacityBytes > 0, 'cache capacity must be a positive number of bytes')
    this.blocksDir = join(init.dir, 'blocks')
    this.tmpDir = join(init.dir, 'tmp')
    this.disk = new ByteLru<DiskEntry>(init.capacityBytes, maxCacheBlocks, e => e.size)
    const memoryBytes = Math.max(1, Math.min(init.memoryBytes ?? defaultMemoryCacheBytes, init.capacityBytes))
    this.memory = new ByteLru<Uint8Array>(memoryBytes, maxCacheBlocks, b => b.byteLength)
    this.log = init.log ?? (() => {})
  }

  /**
   * Opens (or creates) the cache in `init.dir`: blocks already there are indexed, oldest file
   * time first, and evicted down to the capacity; leftovers of interrupted writes are removed.
   */
  static async open (init: EdgeCacheInit): Promise<EdgeCache> {
    const cache = new EdgeCache(init)
    await cache.scan()
    return cache
  }

  /** The block's bytes if cached (counted as a hit), else undefined (counted as a miss). */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    const bytes = await this.lookUp(cid)
    if (bytes === undefined) this.misses++
    else this.hits++
    return bytes
  }

  /** The block's bytes if cached, else undefined; not counted (for copies the gateway makes itself). */
  async read (cid: CID): Promise<Uint8Array | undefined> {
    return await this.lookUp(cid)
  }

  private async lookUp (cid: CID): Promise<Uint8Array | undefined> {
    const key = keyOf(cid)
    const hot = this.memory.get(key)
    if (hot !== undefined) {
      const entry = this.disk.get(key)
      if (entry !== undefined) this.touch(key, entry)
      return hot
    }
    const entry = this.disk.get(key)
    if (entry === undefined) return undefined
    let bytes: Uint8Array | undefined
    try {
      bytes = new Uint8Array(await readFile(this.pathOf(key)))
    } catch (err) {
      this.log(`edge cache: reading ${key}: ${(err as Error).message}`)
    }
    if (bytes === undefined || !blockMatches(cid, bytes)) {
      // Missing or damaged on disk: forget it (unless a newer put replaced it meanwhile).
      if (bytes !== undefined) this.log(`edge cache: ${key} on disk does not match its CID; dropped`)
      if (this.disk.peek(key) === entry) {
        this.disk.delete(key)
        await rm(this.pathOf(key), { force: true }).catch(() => {})
      }
      return undefined
    }
    this.remember(key, bytes)
    this.touch(key, entry)
    return bytes
  }

  /** The block's bytes if the memory tier holds them (counted as a hit), else undefined (not counted). */
  getFromMemory (cid: CID): Uint8Array | undefined {
    const key = keyOf(cid)
    const hot = this.memory.get(key)
    if (hot === undefined) return undefined
    this.hits++
    return hot
  }

  /**
   * Keeps verified bytes in the memory tier only (blocks that have a home on this node's disk
   * already, such as hot copies). The caller vouches that they match `cid`.
   */
  keepInMemory (cid: CID, bytes: Uint8Array): void {
    this.remember(keyOf(cid), bytes)
  }

  /**
   * Stores a block after checking its bytes hash to its CID (`BlockMismatchError` if not).
   * Blocks larger than `maxCachedBlockBytes` are not cached; a disk failure is logged and the
   * block is simply not cached, so a full disk never fails a request.
   */
  async put (block: Block): Promise<void> {
    if (!blockMatches(block.cid, block.bytes)) {
      throw new BlockMismatchError(`bytes offered for ${block.cid.toString()} do not hash to it; they were not cached or served`)
    }
    const key = keyOf(block.cid)
    const size = block.bytes.byteLength
    const known = this.disk.get(key)
    if (known !== undefined) {
      this.remember(key, block.bytes)
      this.touch(key, known)
      return
    }
    if (size > maxCachedBlockBytes || size > this.disk.capacityBytes) return
    const tmp = join(this.tmpDir, randomBytes(8).toString('hex'))
    try {
      await mkdir(join(this.blocksDir, shardOf(key)), { recursive: true })
      await writeFile(tmp, block.bytes)
      await rename(tmp, this.pathOf(key))
    } catch (err) {
      this.log(`edge cache: storing ${key}: ${(err as Error).message}`)
      await rm(tmp, { force: true }).catch(() => {})
      return
    }
    const evicted = this.disk.set(key, { size, touchedMs: Date.now() })
    this.remember(key, block.bytes)
    await this.removeFiles(evicted.map(([k]) => k))
  }

  /** Sizes and hit counters; see `CacheStats`. */
  stats (): CacheStats {
    const lookups = this.hits + this.misses
    return {
      bytes: this.disk.bytes,
      capacityBytes: this.disk.capacityBytes,
      blocks: this.disk.size,
      hits: this.hits,
      misses: this.misses,
      hitRate: lookups === 0 ? 0 : this.hits / lookups
    }
  }

  private remember (key: string, bytes: Uint8Array): void {
    if (bytes.byteLength <= this.memory.capacityBytes) this.memory.set(key, bytes)
  }

  /** Refreshes the file time now and then, so a restart finds recently used blocks young. */
  private touch (key: string, entry: DiskEntry): void {
    const now = Date.now()
    if (now - entry.touchedMs < cacheTouchIntervalMs) return
    entry.touchedMs = now
    const seconds = now / 1000
    utimes(this.pathOf(key), seconds, seconds).catch(() => {})
  }

  private async removeFiles (keys: string[]): Promise<void> {
    await Promise.all(keys.map(async key => {
      this.memory.delete(key)
      await rm(this.pathOf(key), { force: true }).catch(err => {
        this.log(`edge cache: evicting ${key}: ${(err as Error).message}`)
      })
    }))
  }

  private async scan (): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true })
    await mkdir(this.tmpDir, { recursive: true })
    await mkdir(this.blocksDir, { recursive: true })
    const found: Array<{ key: string, size: number, mtimeMs: number }> = []
    for (const shard of await readdir(this.blocksDir)) {
      const shardDir = join(this.blocksDir, shard)
      const names = await readdir(shardDir).catch(() => [] as string[])
      for (const name of names) {
        const file = join(shardDir, name)
        const info = await stat(file).catch(() => undefined)
        if (info === undefined || !info.isFile()) continue
        if (!isBlockFileName(name, shard) || info.size > maxCachedBlockBytes) {
          await rm(file, { force: true })
          continue
        }
        found.push({ key: name, size: info.size, mtimeMs: info.mtimeMs })
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs)
    const evicted: string[] = []
    for (const f of found) {
      if (f.size > this.disk.capacityBytes) { evicted.push(f.key); continue }
      for (const [k] of this.disk.set(f.key, { size: f.size, touchedMs: f.mtimeMs })) evicted.push(k)
    }
    await this.removeFiles(evicted)
  }

  private pathOf (key: string): string {
    return join(this.blocksDir, shardOf(key), key)
  }
}

/**
 * A block getter that answers from `cache` when it can, else asks `upstream` and stores what
 * it gets (after checking it against the CID) for the next request.
 */
export function cachedGetter (cache: EdgeCache, upstream: BlockGetter): BlockGetter {
  return async (cid, signal) => {
    const cached = await cache.get(cid)
    if (cached !== undefined) return cached
    const bytes = await upstream(cid, signal)
    await cache.put({ cid, bytes })
    return bytes
  }
}

/**
 * A block getter that answers from `cache`'s memory tier when it can, else asks `upstream`
 * (whose answers are verified) and keeps what it gets in memory: warm pages of content served
 * from elsewhere on this node (hot copies) never touch the disk.
 */
export function memoryFirstGetter (cache: EdgeCache, upstream: BlockGetter): BlockGetter {
  return async (cid, signal) => {
    const kept = cache.getFromMemory(cid)
    if (kept !== undefined) return kept
    const bytes = await upstream(cid, signal)
    cache.keepInMemory(cid, bytes)
    return bytes
  }
}

/**
 * A block getter that reads `cache` first (not counted, nothing stored), else asks `upstream`:
 * the gateway's hot copies of content it served are made from the blocks it already holds
 * instead of fetching them from providers again.
 */
export function cacheFirstGetter (cache: EdgeCache, upstream: BlockGetter): BlockGetter {
  return async (cid, signal) => await cache.read(cid) ?? await upstream(cid, signal)
}

/** One key per block: the CIDv1 string (base32, lower case, safe as a file name everywhere). */
function keyOf (cid: CID): string {
  return cid.toV1().toString()
}

/** The last two characters: CIDs share their first characters (`bafy…`), not their last. */
function shardOf (key: string): string {
  return key.slice(-2)
}

function isBlockFileName (name: string, shard: string): boolean {
  if (shardOf(name) !== shard) return false
  try {
    return keyOf(CID.parse(name)) === name
  } catch {
    return false
  }
}
