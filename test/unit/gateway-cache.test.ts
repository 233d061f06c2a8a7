/** The gateway's edge cache: verified, bounded, LRU, and still there after a restart. */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { BlockMismatchError } from '../../src/core/content/errors.ts'
import { NotFoundError } from '../../src/foundations/errors.ts'
import { cacheFirstGetter, cachedGetter, EdgeCache, memoryFirstGetter } from '../../src/edges/gateway/edge-cache.ts'

const kib = 1024
const dirs: string[] = []
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'keynet-edge-cache-'))
  dirs.push(dir)
  return dir
}
const block = (size: number): Block => {
  const bytes = new Uint8Array(randomBytes(size))
  return { cid: cidForBlock(rawCode, bytes), bytes }
}
/** Every block file under the cache folder. */
const filesIn = (dir: string): string[] => readdirSync(join(dir, 'blocks'), { recursive: true, withFileTypes: true })
  .filter(e => e.isFile()).map(e => e.name)

describe('EdgeCache', () => {
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

  it('stores verified blocks, counts hits and misses, refuses bytes that do not match', async () => {
    const dir = tempDir()
    const cache = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    const a = block(10 * kib)
    assert.equal(await cache.get(a.cid), undefined)
    await cache.put(a)
    assert.deepEqual(await cache.get(a.cid), a.bytes)
    const forged = { cid: a.cid, bytes: block(10 * kib).bytes }
    const other = block(10)
    await assert.rejects(cache.put({ cid: other.cid, bytes: forged.bytes }), BlockMismatchError)
    assert.equal(await cache.get(other.cid), undefined)
    assert.deepEqual(cache.stats(), { bytes: 10 * kib, capacityBytes: 1024 * kib, blocks: 1, hits: 1, misses: 2, hitRate: 1 / 3 })
    assert.deepEqual(filesIn(dir), [a.cid.toString()])
  })

  it('stays under capacity by evicting the least recently used blocks, on disk too', async () => {
    const dir = tempDir()
    const cache = await EdgeCache.open({ dir, capacityBytes: 350 * kib, memoryBytes: 150 * kib })
    const blocks = Array.from({ length: 10 }, () => block(100 * kib))
    for (const [i, b] of blocks.entries()) {
      await cache.put(b)
      if (i === 8) assert.ok(await cache.get(blocks[7]!.cid) !== undefined) // 7 is now more recent than 8
    }
    const stats = cache.stats()
    assert.ok(stats.bytes <= stats.capacityBytes)
    assert.equal(stats.blocks, 3)
    // After 8 was stored, 7 was read, so storing 9 evicted 6 (least recent), not 7.
    assert.deepEqual(new Set(filesIn(dir)), new Set([7, 8, 9].map(i => blocks[i]!.cid.toString())))
    for (const i of [0, 1, 2, 3, 4, 5, 6]) assert.equal(await cache.get(blocks[i]!.cid), undefined, `block ${i} was evicted`)
    // A block larger than the whole cache is simply not cached.
    await cache.put(block(400 * kib))
    assert.ok(cache.stats().bytes <= 350 * kib)
  })

  it('finds its blocks again after a restart, and shrinks to a smaller capacity', async () => {
    const dir = tempDir()
    const first = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    const blocks = Array.from({ length: 5 }, () => block(50 * kib))
    for (const b of blocks) {
      await first.put(b)
      await new Promise(resolve => setTimeout(resolve, 15)) // distinct file times: the order survives
    }
    writeFileSync(join(dir, 'tmp', 'half-written'), 'x')
    const second = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    assert.equal(second.stats().blocks, 5)
    assert.equal(second.stats().bytes, 250 * kib)
    for (const b of blocks) assert.deepEqual(await second.get(b.cid), b.bytes)
    assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'leftovers of interrupted writes are removed')

    const small = await EdgeCache.open({ dir, capacityBytes: 120 * kib })
    assert.equal(small.stats().blocks, 2)
    assert.equal(filesIn(dir).length, 2)
  })

  it('drops a block damaged on disk instead of serving it', async () => {
    const dir = tempDir()
    const b = block(20 * kib)
    await (await EdgeCache.open({ dir, capacityBytes: 1024 * kib })).put(b)
    const [name] = filesIn(dir)
    writeFileSync(join(dir, 'blocks', name!.slice(-2), name!), randomBytes(20 * kib))
    const reopened = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    assert.equal(await reopened.get(b.cid), undefined)
    assert.equal(reopened.stats().blocks, 0)
    assert.deepEqual(filesIn(dir), [])
  })

  it('cachedGetter asks upstream once per block and refuses wrong bytes from it', async () => {
    const dir = tempDir()
    const cache = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    const stored = new Map<string, Uint8Array>()
    const good = block(10 * kib)
    stored.set(good.cid.toString(), good.bytes)
    let upstreamCalls = 0
    const get = cachedGetter(cache, async (cid: CID) => {
      upstreamCalls++
      const bytes = stored.get(cid.toString())
      if (bytes === undefined) throw new NotFoundError(`no block ${cid.toString()}`)
      return bytes
    })
    assert.deepEqual(await get(good.cid), good.bytes)
    assert.deepEqual(await get(good.cid), good.bytes)
    assert.equal(upstreamCalls, 1)
    await assert.rejects(get(block(5).cid), NotFoundError)
    const liar = block(10)
    stored.set(liar.cid.toString(), new Uint8Array(10))
    await assert.rejects(get(liar.cid), BlockMismatchError)
    assert.equal(await cache.get(liar.cid), undefined)
  })

  it('serves a hot 10 KiB block from memory in well under a millisecond', async () => {
    const cache = await EdgeCache.open({ dir: tempDir(), capacityBytes: 1024 * kib })
    const b = block(10 * kib)
    await cache.put(b)
    const started = performance.now()
    for (let i = 0; i < 1000; i++) await cache.get(b.cid)
    const perGetMs = (performance.now() - started) / 1000
    assert.ok(perGetMs < 0.5, `a hot get took ${perGetMs.toFixed(3)} ms`)
  })

  it('memory first: blocks from elsewhere on the node (hot copies) are kept in memory only, and later served from there', async () => {
    const dir = tempDir()
    const cache = await EdgeCache.open({ dir, capacityBytes: 1024 * kib })
    const a = block(10 * kib)
    let upstreamCalls = 0
    const get = memoryFirstGetter(cache, async () => { upstreamCalls++; return a.bytes })
    assert.deepEqual(await get(a.cid), a.bytes)
    assert.deepEqual(await get(a.cid), a.bytes)
    assert.equal(upstreamCalls, 1, 'the second get is answered from memory')
    assert.equal(cache.stats().hits, 1)
    assert.deepEqual(filesIn(dir), [], 'nothing written to the disk tier')
  })

  it('cache first: hot copies are made from the blocks the gateway holds, without counting them or asking upstream', async () => {
    const cache = await EdgeCache.open({ dir: tempDir(), capacityBytes: 1024 * kib })
    const held = block(10 * kib)
    const other = block(10 * kib)
    await cache.put(held)
    const asked: string[] = []
    const get = cacheFirstGetter(cache, async cid => { asked.push(cid.toString()); return other.bytes })
    assert.deepEqual(await get(held.cid), held.bytes)
    assert.deepEqual(await get(other.cid), other.bytes)
    assert.deepEqual(asked, [other.cid.toString()], 'only the block not held goes upstream')
    assert.deepEqual({ hits: cache.stats().hits, misses: cache.stats().misses }, { hits: 0, misses: 0 }, "the gateway's own reads are not client lookups")
  })
})
