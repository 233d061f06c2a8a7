import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { auditSegmentBytes } from '../../src/core/market/constants.ts'
import { verifyMerklePath } from '../../src/core/market/merkle.ts'
import { HeldContent, MissingDataError } from '../../src/services/market/held-content.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { importBytes } from '../../src/core/content/importer.ts'

describe('a holder\'s commitment trees', () => {
  const held = new Map<string, Uint8Array>()
  const hold = (segments: number): string => {
    const bytes = new Uint8Array(randomBytes(segments * auditSegmentBytes))
    const cid = cidForBlock(rawCode, bytes).toString()
    held.set(cid, bytes)
    return cid
  }
  const store = { get: async (cid: CID) => held.get(cid.toString()) }

  it('keeps the cached trees within their segment bound, newest first, and answers again after dropping one', async () => {
    const content = new HeldContent(store, { maxSegments: 10 })
    const [a, b, c] = [hold(4), hold(4), hold(4)]
    for (const cid of [a, b, c]) await content.tree(cid)
    assert.deepEqual(content.cached(), { trees: 2, segments: 8 }, 'the oldest tree is dropped past 10 segments')
    const answers = await content.answer(a, [0, 3])
    const tree = await content.tree(a)
    for (const x of answers) assert.ok(verifyMerklePath(tree.root, tree.segments, x.index, x.segment, x.path))
    assert.ok(content.cached().segments <= 10)
  })

  it('a tree larger than the bound is still built and kept alone', async () => {
    const content = new HeldContent(store, { maxSegments: 2 })
    const big = hold(5)
    assert.equal((await content.tree(big)).segments, 5)
    assert.deepEqual(content.cached(), { trees: 1, segments: 5 })
  })

  it('content not held here is a MissingDataError, and nothing stays cached for it', async () => {
    const content = new HeldContent(store)
    const gone = cidForBlock(rawCode, new Uint8Array([1, 2, 3])).toString()
    await assert.rejects(content.tree(gone), MissingDataError)
    await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(content.cached(), { trees: 0, segments: 0 })
  })

  it('builds the tree when the content is pinned, keeps it beside the blocks, reads it back after a restart, and drops it at unpin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keynet-held-'))
    try {
      const store = await BlockStore.open({ dir, capacityBytes: 2 ** 30 })
      const { cid: root } = await importBytes(new Uint8Array(randomBytes(3 * 2 ** 20 + 5)), { put: async (b) => { await store.put(b) } })
      const content = new HeldContent(store)
      await store.pin(root)
      const file = join(dir, 'commitments', `${root.toString()}.tree`)
      for (let i = 0; i < 500 && !existsSync(file); i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.ok(existsSync(file), 'the tree is on disk without any audit asking for it')
      const built = await content.tree(root.toString())
      content.close()

      // A restart: a holder with no cached tree and no blocks to build from still has the tree.
      const again = new HeldContent({ get: async () => undefined, dir })
      const read = await again.tree(root.toString())
      assert.deepEqual(read.root, built.root)
      assert.equal(read.segments, built.segments)
      assert.deepEqual(read.path(built.segments - 1), built.path(built.segments - 1))

      // A damaged file is built again from the blocks.
      writeFileSync(file, 'not a tree')
      assert.deepEqual((await new HeldContent(store, { unpinGraceMs: 0 }).tree(root.toString())).root, built.root)

      await store.unpin(root)
      for (let i = 0; i < 100 && existsSync(file); i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.ok(!existsSync(file), 'unpinned content leaves no tree behind')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a pin made before its blocks arrive (a repair pins, then pulls) gets its tree once they are all here', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keynet-held-'))
    try {
      const store = await BlockStore.open({ dir, capacityBytes: 2 ** 30 })
      const blocks: Block[] = []
      const { cid: root } = await importBytes(new Uint8Array(randomBytes(2 * 2 ** 20 + 9)), { put: async (b) => { blocks.push(b) } })
      const content = new HeldContent(store, { prepareRetryMs: 20 })
      await store.pin(root)
      const file = join(dir, 'commitments', `${root.toString()}.tree`)
      await new Promise(resolve => setTimeout(resolve, 100))
      assert.ok(!existsSync(file), 'no tree while blocks are missing')
      for (const b of blocks) await store.put(b)
      for (let i = 0; i < 500 && !existsSync(file); i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.ok(existsSync(file), 'built once the pull completed')
      assert.equal((await content.tree(root.toString())).segments, blocks.reduce((n, b) => n + Math.max(1, Math.ceil(b.bytes.byteLength / auditSegmentBytes)), 0))
      content.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
