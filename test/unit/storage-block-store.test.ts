import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PayloadTooLargeError } from '../../src/foundations/errors.ts'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { maxBlockBytes } from '../../src/core/content/constants.ts'
import { BlockMismatchError } from '../../src/core/content/errors.ts'
import { importBytes } from '../../src/core/content/importer.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { StorageFullError } from '../../src/services/storage/errors.ts'

async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-store-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

function rawBlock (seed: number, size = 1000): Block {
  const bytes = new Uint8Array(size).map((_, i) => (i * 31 + seed * 7) & 0xff)
  bytes[0] = seed & 0xff
  bytes[1] = seed >> 8
  return { cid: cidForBlock(rawCode, bytes), bytes }
}

/** A file DAG of several chunks and a node above them, as the importer makes it. */
async function smallDag (size: number): Promise<{ root: CID, blocks: Block[] }> {
  const blocks: Block[] = []
  const content = new Uint8Array(randomBytes(size))
  const { cid } = await importBytes(content, { put: async (b) => { blocks.push(b) } }, { layout: { chunkBytes: 1024, maxLinksPerNode: 4 } })
  return { root: cid, blocks }
}

test('put, get, has, delete; usage kept current; idempotent put', async (t) => {
  const dir = await tempDir(t)
  const store = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  const a = rawBlock(1)
  const b = rawBlock(2, 500)
  assert.equal(await store.has(a.cid), false)
  assert.equal(await store.get(a.cid), undefined)
  assert.equal(await store.put(a), true)
  assert.equal(await store.put(a), false, 'a second put of the same block is a no-op')
  await Promise.all([store.put(b), store.put(b), store.put(b)])
  assert.deepEqual(store.usage(), { bytes: 1500, blocks: 2, capacityBytes: 1 << 20 })
  assert.deepEqual(await store.get(a.cid), a.bytes)
  assert.equal(await store.has(b.cid), true)
  assert.equal(await store.delete(b.cid), true)
  assert.equal(await store.delete(b.cid), false)
  assert.equal(await store.has(b.cid), false)
  assert.deepEqual(store.usage(), { bytes: 1000, blocks: 1, capacityBytes: 1 << 20 })
  // Nothing is left behind in the temporary folder.
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
})

test('a block that does not hash to its CID is refused; oversized blocks too', async (t) => {
  const store = await BlockStore.open({ dir: await tempDir(t), capacityBytes: 8 << 20 })
  const a = rawBlock(1)
  const wrong = new Uint8Array(a.bytes)
  wrong[10] = (wrong[10] ?? 0) ^ 1
  await assert.rejects(store.put({ cid: a.cid, bytes: wrong }), BlockMismatchError)
  assert.equal(await store.has(a.cid), false)
  const big = new Uint8Array(maxBlockBytes + 1)
  await assert.rejects(store.put({ cid: cidForBlock(rawCode, big), bytes: big }), PayloadTooLargeError)
  assert.equal(store.usage().blocks, 0)
})

test('capacity: a put past it fails with StorageFullError (507), also for concurrent puts', async (t) => {
  const store = await BlockStore.open({ dir: await tempDir(t), capacityBytes: 2500 })
  await store.put(rawBlock(1))
  await store.put(rawBlock(2))
  const err = await store.put(rawBlock(3)).catch((e: unknown) => e)
  assert.ok(err instanceof StorageFullError)
  assert.equal(err.status, 507)
  assert.match(err.message, /capacity of 2500 bytes/)
  assert.equal(store.usage().bytes, 2000)
  await store.put(rawBlock(4, 500))
  assert.equal(store.usage().bytes, 2500, 'filling it exactly is fine')

  const other = await BlockStore.open({ dir: await tempDir(t), capacityBytes: 2500 })
  const results = await Promise.allSettled([1, 2, 3, 4].map(async i => other.put(rawBlock(10 + i))))
  assert.equal(results.filter(r => r.status === 'fulfilled').length, 2, 'reservations keep concurrent puts within the capacity')
  assert.equal(other.usage().bytes, 2000)
})

test('reopen: usage is counted from disk and pins persist', async (t) => {
  const dir = await tempDir(t)
  const store = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  const blocks = [rawBlock(1), rawBlock(2, 300), rawBlock(3, 7)]
  for (const b of blocks) await store.put(b)
  const [first, second] = blocks
  assert.ok(first !== undefined && second !== undefined)
  await store.pin(first.cid)
  await store.pin(second.cid)
  await store.pin(first.cid)
  await store.unpin(second.cid)
  await store.pin(blocks[2]?.cid as CID)
  assert.deepEqual(store.pinned().map(String), [first.cid.toString(), blocks[2]?.cid.toString()])

  const again = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  assert.deepEqual(again.usage(), { bytes: 1307, blocks: 3, capacityBytes: 1 << 20 })
  assert.deepEqual(again.pinned().map(String), [first.cid.toString(), blocks[2]?.cid.toString()])
  assert.equal(again.isPinned(first.cid), true)
  assert.equal(again.isPinned(second.cid), false)
  assert.deepEqual(await again.get(second.cid), second.bytes)
})

test('a pin list that is not one is refused with a clear message', async (t) => {
  const dir = await tempDir(t)
  await BlockStore.open({ dir, capacityBytes: 100 })
  await writeFile(join(dir, 'pins.json'), '{"pins": 3}')
  await assert.rejects(BlockStore.open({ dir, capacityBytes: 100 }), /not a pin list/)
})

test('a block corrupted on disk is reported absent and removed', async (t) => {
  const dir = await tempDir(t)
  const store = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  const a = rawBlock(1)
  await store.put(a)
  const key = a.cid.toString()
  await writeFile(join(dir, 'blocks', key.slice(-3, -1), key), new Uint8Array(1000))
  assert.equal(await store.get(a.cid), undefined)
  assert.equal(await store.has(a.cid), false)
  assert.equal(store.usage().blocks, 0)
})

test('serving (readInto) hashes a block not checked recently: one corrupted on disk before a restart is found, removed, and not served', async (t) => {
  const dir = await tempDir(t)
  const a = rawBlock(1)
  const before = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  await before.put(a)
  const key = a.cid.toString()
  const alloc = (n: number): Uint8Array => new Uint8Array(n)
  assert.deepEqual(await before.readInto(a.cid, alloc), a.bytes, 'stored just now: served')
  await writeFile(join(dir, 'blocks', key.slice(-3, -1), key), new Uint8Array(a.bytes.byteLength))
  const store = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  assert.equal(await store.readInto(a.cid, alloc), undefined)
  assert.equal(await store.has(a.cid), false)
})

test('missing and inventory walk the DAG through the blocks held', async (t) => {
  const store = await BlockStore.open({ dir: await tempDir(t), capacityBytes: 1 << 20 })
  const { root, blocks } = await smallDag(10 * 1024) // 10 leaves, fan-out 4: two levels of nodes
  assert.ok(blocks.length > 12)
  assert.deepEqual((await store.missing(root)).map(String), [root.toString()], 'nothing held: only the root is known to be missing')
  const rootBlock = blocks.find(b => b.cid.equals(root))
  assert.ok(rootBlock !== undefined)
  await store.put(rootBlock)
  const below = await store.missing(root)
  assert.ok(below.length >= 2 && below.every(c => !c.equals(root)), 'the root\'s children are listed once it is held')
  for (const b of blocks) await store.put(b)
  const full = await store.inventory(root)
  assert.deepEqual(full.missing, [])
  assert.equal(full.blocks, blocks.length)
  assert.equal(full.bytes, blocks.reduce((n, b) => n + b.bytes.byteLength, 0))
  const leaf = blocks.find(b => b.cid.code === rawCode)
  assert.ok(leaf !== undefined)
  await store.delete(leaf.cid)
  assert.deepEqual((await store.missing(root)).map(String), [leaf.cid.toString()])
  await assert.rejects(store.missing(root, AbortSignal.abort()), { name: 'AbortError' })
})

test('missing checks raw leaves by presence; inventory, which receipts rest on, hashes them and drops a corrupt one', async (t) => {
  const dir = await tempDir(t)
  const store = await BlockStore.open({ dir, capacityBytes: 1 << 20 })
  const { root, blocks } = await smallDag(10 * 1024)
  for (const b of blocks) await store.put(b)
  const leaf = blocks.find(b => b.cid.code === rawCode)
  assert.ok(leaf !== undefined)
  const key = leaf.cid.toString()
  await writeFile(join(dir, 'blocks', key.slice(-3, -1), key), new Uint8Array(leaf.bytes.byteLength))
  assert.deepEqual(await store.missing(root), [], 'present, not re-hashed')
  assert.deepEqual((await store.inventory(root)).missing.map(String), [key], 'hashed: corrupt, so missing')
  assert.deepEqual((await store.missing(root)).map(String), [key], 'and removed')
})
