import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { cidForBlock, dagPbCode, rawCode } from '../../src/core/content/cid.ts'
import type { BlockGetter, CID } from '../../src/core/content/cid.ts'
import { chunkBytes } from '../../src/core/content/constants.ts'
import { InvalidDagError, UnsupportedDagError } from '../../src/core/content/errors.ts'
import { childLinks, readFile, resolvePath, stat, walkDag } from '../../src/core/content/exporter.ts'
import { importBytes, importTree } from '../../src/core/content/importer.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { MalformedMessageError, NotFoundError } from '../../src/foundations/errors.ts'
import { collect, memoryStore, pieces, pseudoRandomBytes, referenceImport } from '../fixtures/content/helpers.ts'

const MiB = 1024 * 1024
/** Resolves after every pending promise callback has run: the reader has done all it can without new bytes. */
const settled = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))
const bigBytes = pseudoRandomBytes(3.5 * MiB + 333, 11)
const big = memoryStore()
const bigFile = await importBytes(bigBytes, big.sink)

const deepLayout = { chunkBytes: 7, maxLinksPerNode: 3 }
const deepBytes = pseudoRandomBytes(7 * 3 ** 4 + 20, 12)
const deep = memoryStore()
const deepFile = await importBytes(deepBytes, deep.sink, { layout: deepLayout })

async function read (store: { get: BlockGetter }, cid: CID, start?: number, end?: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of readFile(cid, store.get, { start, end })) parts.push(part)
  assert.ok(parts.every(part => part.byteLength > 0), 'readFile never yields an empty piece')
  return new Uint8Array(Buffer.concat(parts))
}

describe('content exporter: readFile', () => {
  it('reads a whole multi-chunk file and a single-leaf file', async () => {
    assert.deepEqual(await read(big, bigFile.cid), bigBytes)
    const small = memoryStore()
    const { cid } = await importBytes(utf8.encode('hello'), small.sink)
    assert.deepEqual(utf8.decode(await read(small, cid)), 'hello')
    assert.deepEqual(utf8.decode(await read(small, cid, 1, 3)), 'el')
  })

  it('reads ranges: first byte, last byte, across chunk boundaries, past the end, empty', async () => {
    const n = bigBytes.byteLength
    const ranges: Array<[number, number | undefined]> = [
      [0, 1], [n - 1, n], [n - 1, undefined], [chunkBytes - 5, chunkBytes + 5], [chunkBytes, chunkBytes + 1],
      [chunkBytes - 1, 3 * chunkBytes + 2], [3 * chunkBytes, n], [10, n + 1000], [5, 5], [7, 3], [n, n + 10], [n + 5, undefined]
    ]
    for (const [start, end] of ranges) {
      assert.deepEqual(await read(big, bigFile.cid, start, end), bigBytes.subarray(start, end === undefined ? n : Math.min(end, n)), `[${start}, ${end})`)
    }
  })

  it('reads every range of a four-level DAG correctly (small test layout)', async () => {
    const n = deepBytes.byteLength
    for (let start = 0; start <= n; start += 23) {
      for (const end of [start, start + 1, start + 7, start + 8, start + 22, start + 100, n]) {
        assert.deepEqual(await read(deep, deepFile.cid, start, end), deepBytes.subarray(start, Math.min(end, n)), `[${start}, ${end})`)
      }
    }
  })

  it('fetches only the leaves that overlap the range, up to `concurrency` at once', async () => {
    let inFlight = 0
    let most = 0
    const leaves: string[] = []
    const get: BlockGetter = async (cid, signal) => {
      if (cid.code === rawCode) {
        leaves.push(cid.toString())
        inFlight++
        most = Math.max(most, inFlight)
        await settled()
        inFlight--
      }
      return await deep.get(cid, signal)
    }
    const start = 7 * 20 + 3
    const end = 7 * 60 + 1
    const bytes = await collect(readFile(deepFile.cid, get, { start, end, concurrency: 6 }))
    assert.deepEqual(bytes, deepBytes.subarray(start, end))
    assert.equal(leaves.length, 60 - 20 + 1) // leaves 20..60
    assert.equal(most, 6)

    leaves.length = 0
    most = 0
    await collect(readFile(deepFile.cid, get, { start, end, concurrency: 1 }))
    assert.equal(most, 1)
  })

  it('aborts the fetches in flight when the reader stops early, and passes getter errors on', async () => {
    const signals: AbortSignal[] = []
    const get: BlockGetter = async (cid, signal) => {
      assert.ok(signal !== undefined)
      signals.push(signal)
      return await deep.get(cid, signal)
    }
    for await (const piece of readFile(deepFile.cid, get, { concurrency: 8 })) {
      assert.ok(piece.byteLength > 0)
      break
    }
    assert.ok(signals.length > 8 && signals.every(s => s.aborted))

    const failing: BlockGetter = async (cid, signal) => {
      if (cid.code === rawCode && deep.requests.length % 5 === 0) throw new NotFoundError(`no provider has ${cid}`)
      return await deep.get(cid, signal)
    }
    await assert.rejects(collect(readFile(deepFile.cid, failing)), NotFoundError)

    const controller = new AbortController()
    controller.abort()
    await assert.rejects(collect(readFile(deepFile.cid, deep.get, { signal: controller.signal })), { name: 'AbortError' })
  })

  it('refuses bad ranges, directories, and DAGs whose sizes lie', async () => {
    assert.throws(() => readFile(deepFile.cid, deep.get, { start: -1 }), MalformedMessageError)
    assert.throws(() => readFile(deepFile.cid, deep.get, { end: 1.5 }), MalformedMessageError)
    assert.throws(() => readFile(deepFile.cid, deep.get, { concurrency: 0 }), MalformedMessageError)

    const store = memoryStore()
    const dir = await importTree([{ path: 'a.txt', content: () => utf8.encode('a') }], store.sink)
    await assert.rejects(collect(readFile(dir.cid, store.get)), MalformedMessageError)

    const leaf = utf8.encode('abc')
    const leafCid = cidForBlock(rawCode, leaf)
    await store.sink.put({ cid: leafCid, bytes: leaf })
    const liar = new UnixFS({ type: 'file', blockSizes: [5n] })
    const liarBytes = dagPb.encode(dagPb.prepare({ Data: liar.marshal(), Links: [{ Hash: leafCid, Name: '', Tsize: 3 }] }))
    const liarCid = cidForBlock(dagPbCode, liarBytes)
    await store.sink.put({ cid: liarCid, bytes: liarBytes })
    await assert.rejects(collect(readFile(liarCid, store.get)), InvalidDagError)
  })
})

const siteFiles: Array<[string, Uint8Array]> = [
  ['index.html', utf8.encode('<h1>home</h1>')],
  ['docs/guide/intro.md', utf8.encode('# intro')],
  ['docs/guide/copy.md', utf8.encode('# intro')],
  ['docs/readme.txt', utf8.encode('<h1>home</h1>')],
  ['media/clip.bin', pseudoRandomBytes(2 * MiB + 17, 13)]
]
const site = memoryStore()
const siteRoot = await importTree(siteFiles.map(([path, bytes]) => ({ path, content: () => pieces(bytes, 50_000) })), site.sink)

describe('content exporter: stat and resolvePath', () => {
  it('stats a raw leaf, a file node and a directory', async () => {
    const clip = await resolvePath(siteRoot.cid, 'media/clip.bin', site.get)
    assert.equal(clip.kind, 'file')
    assert.equal(clip.kind === 'file' && clip.size, 2 * MiB + 17)
    assert.equal(clip.cid.code, dagPbCode)
    const leaf = await stat(childLinks({ cid: clip.cid, bytes: await site.get(clip.cid) })[0] as CID, site.get)
    assert.deepEqual(leaf.kind === 'file' && leaf.size, MiB)
    const root = await stat(siteRoot.cid, site.get)
    assert.deepEqual(root.kind === 'directory' && root.entries.map(e => e.name), ['docs', 'index.html', 'media'])
  })

  it('resolves nested paths, with or without slashes at the ends', async () => {
    for (const path of ['', '/', '//']) assert.ok((await resolvePath(siteRoot.cid, path, site.get)).cid.equals(siteRoot.cid))
    for (const path of ['docs/guide/intro.md', '/docs/guide/intro.md', 'docs//guide/intro.md/']) {
      const entry = await resolvePath(siteRoot.cid, path, site.get)
      assert.equal(entry.kind, 'file')
      assert.equal(utf8.decode(await collect(readFile(entry.cid, site.get))), '# intro')
    }
    const guide = await resolvePath(siteRoot.cid, '/docs/guide/', site.get)
    assert.deepEqual(guide.kind === 'directory' && guide.entries.map(e => e.name), ['copy.md', 'intro.md'])
  })

  it('NotFoundError for a missing segment or a path through a file; MalformedMessageError for dot segments', async () => {
    await assert.rejects(resolvePath(siteRoot.cid, 'docs/missing.md', site.get), NotFoundError)
    await assert.rejects(resolvePath(siteRoot.cid, 'nope', site.get), NotFoundError)
    await assert.rejects(resolvePath(siteRoot.cid, 'index.html/x', site.get), NotFoundError)
    for (const path of ['..', 'docs/../index.html', './index.html', 'a\0b']) {
      await assert.rejects(resolvePath(siteRoot.cid, path, site.get), MalformedMessageError, path)
    }
  })

  it('UnsupportedDagError for a HAMT-sharded directory (as other tools write)', async () => {
    const files = Array.from({ length: 20 }, (_, i) => ({ path: `file-${i}.txt`, content: Uint8Array.of(i) }))
    const sharded = await referenceImport(files, { wrap: true, shardSplitThresholdBytes: 100 })
    const get: BlockGetter = async cid => sharded.blocks.get(cid.toString()) as Uint8Array
    await assert.rejects(stat(sharded.cid, get), UnsupportedDagError)
  })
})

describe('content exporter: walkDag and childLinks', () => {
  it('yields every block of the DAG once, parents before children', async () => {
    const order: string[] = []
    for await (const block of walkDag(siteRoot.cid, site.get, { concurrency: 3 })) order.push(block.cid.toString())
    assert.equal(new Set(order).size, order.length)
    assert.deepEqual([...order].sort(), [...site.blocks.keys()].sort()) // shared files and chunks appear once
    for (const [i, key] of order.entries()) {
      const block = site.blocks.get(key)
      assert.ok(block !== undefined)
      for (const child of childLinks(block)) assert.ok(order.indexOf(child.toString()) > i)
    }
    assert.equal(order[0], siteRoot.cid.toString())
  })

  it('keeps at most `concurrency` fetches in flight and stops them when the consumer stops', async () => {
    let inFlight = 0
    let most = 0
    const signals: AbortSignal[] = []
    const get: BlockGetter = async (cid, signal) => {
      assert.ok(signal !== undefined)
      signals.push(signal)
      inFlight++
      most = Math.max(most, inFlight)
      await settled()
      inFlight--
      return await deep.get(cid, signal)
    }
    let count = 0
    for await (const block of walkDag(deepFile.cid, get, { concurrency: 4 })) {
      assert.ok(block.bytes.byteLength > 0)
      count++
    }
    assert.equal(count, deep.blocks.size)
    assert.equal(most, 4)
    for await (const block of walkDag(deepFile.cid, get)) { assert.ok(block); break }
    assert.ok(signals.at(-1)?.aborted)
  })

  it('childLinks: a dag-pb node links its children in order, a raw block has none', async () => {
    const clip = await resolvePath(siteRoot.cid, 'media/clip.bin', site.get)
    const links = childLinks({ cid: clip.cid, bytes: await site.get(clip.cid) })
    assert.equal(links.length, 3)
    assert.ok(links.every(l => l.code === rawCode))
    assert.deepEqual(childLinks({ cid: links[0] as CID, bytes: await site.get(links[0] as CID) }), [])
    assert.throws(() => childLinks({ cid: cidForBlock(0x71, Uint8Array.of(0xa0)), bytes: Uint8Array.of(0xa0) }), UnsupportedDagError)
    assert.throws(() => childLinks({ cid: cidForBlock(dagPbCode, Uint8Array.of(1, 2, 3)), bytes: Uint8Array.of(1, 2, 3) }), InvalidDagError)
  })
})
