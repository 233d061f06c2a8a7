import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { cidForBlock, rawCode } from '../../src/core/content/cid.ts'
import { chunkBytes, maxBlockBytes, maxDirectoryEntries } from '../../src/core/content/constants.ts'
import { DirectoryTooLargeError, PathConflictError } from '../../src/core/content/errors.ts'
import { importBytes, importDirectoryNode, importTree } from '../../src/core/content/importer.ts'
import type { FileLayout, TreeFile } from '../../src/core/content/importer.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'
import { assertSameBlocks, memoryStore, pieces, pseudoRandomBytes, referenceImport } from '../fixtures/content/helpers.ts'

const MiB = 1024 * 1024

/** Imports `bytes` with ours and the reference, and checks root, size and every block agree. */
async function assertLikeReference (bytes: Uint8Array, layout?: FileLayout, pieceBytes = 65_536): Promise<void> {
  const ours = memoryStore()
  const result = await importBytes(pieces(bytes, pieceBytes), ours.sink, layout === undefined ? {} : { layout })
  const reference = await referenceImport([{ content: bytes }], layout === undefined ? {} : { layout })
  assert.equal(result.cid.toString(), reference.cid.toString(), `CID of ${bytes.byteLength} bytes`)
  assert.equal(result.size, reference.size, `Tsize of ${bytes.byteLength} bytes`)
  assert.equal(result.bytes, bytes.byteLength)
  assertSameBlocks(ours.blocks, reference.blocks)
  for (const block of ours.blocks.values()) assert.ok(block.bytes.byteLength <= maxBlockBytes)
}

describe('content importer: files like ipfs-unixfs-importer (unixfs-v1-2025)', () => {
  it('an empty file is the empty raw leaf', async () => {
    await assertLikeReference(new Uint8Array())
    const { cid, size } = await importBytes([], memoryStore().sink)
    assert.equal(cid.toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    assert.equal(size, 0)
  })

  it('10 bytes: a single raw leaf, the bytes themselves', async () => {
    const bytes = utf8.encode('0123456789')
    await assertLikeReference(bytes)
    const { cid } = await importBytes(bytes, memoryStore().sink)
    assert.equal(cid.code, rawCode)
    assert.ok(cid.equals(cidForBlock(rawCode, bytes)))
  })

  it('exactly 1 MiB is still one raw leaf; 1 MiB + 1 is a file node over two leaves', async () => {
    const bytes = pseudoRandomBytes(MiB + 1, 7)
    await assertLikeReference(bytes.subarray(0, MiB))
    await assertLikeReference(bytes)
    const store = memoryStore()
    await importBytes(bytes, store.sink)
    const raw = [...store.blocks.values()].filter(b => b.cid.code === rawCode).map(b => b.bytes.byteLength)
    assert.deepEqual(raw.sort((a, b) => a - b), [1, MiB])
    assert.equal(store.blocks.size, 3)
    assert.ok([...store.blocks.values()].every(b => b.bytes.byteLength <= chunkBytes))
  })

  it('~3.5 MiB of pseudo-random bytes, fed in odd-sized pieces, gives the same blocks', async () => {
    await assertLikeReference(pseudoRandomBytes(3.5 * MiB + 333, 42), undefined, 100_003)
  })

  it('more leaves than one node holds: a deeper balanced tree (small test layout)', async () => {
    const layout = { chunkBytes: 256, maxLinksPerNode: 1024 }
    await assertLikeReference(pseudoRandomBytes(1024 * 256, 3), layout) // exactly one full node
    await assertLikeReference(pseudoRandomBytes(1025 * 256 + 7, 4), layout) // one leaf over: two levels
  })

  it('tiny chunks and fan-out 3: every size up to four levels deep matches', async () => {
    const layout = { chunkBytes: 4, maxLinksPerNode: 3 }
    const bytes = pseudoRandomBytes(4 * 3 ** 4 + 9, 5)
    for (const n of [0, 1, 4, 5, 12, 13, 36, 37, 40, 108, 109, 200, 324, 325, bytes.byteLength]) {
      await assertLikeReference(bytes.subarray(0, n), layout, 5)
    }
  })

  it('reports progress and stops when aborted', async () => {
    const seen: number[] = []
    await importBytes(pseudoRandomBytes(2 * MiB + 10), memoryStore().sink, { onProgress: n => seen.push(n) })
    assert.deepEqual(seen, [MiB, 2 * MiB, 2 * MiB + 10])
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(importBytes(pseudoRandomBytes(10), memoryStore().sink, { signal: controller.signal }), { name: 'AbortError' })
  })
})

/** A tree of files as `[path, bytes]`. */
const tree: Array<[string, Uint8Array]> = [
  ['index.html', utf8.encode('<h1>home</h1>')],
  ['empty.txt', new Uint8Array()],
  ['css/site.css', utf8.encode('body { margin: 0 }')],
  ['docs/a/b/c.md', utf8.encode('# deep')],
  ['docs/a/big.bin', pseudoRandomBytes(MiB + 5, 9)],
  ['docs/Zebra.txt', utf8.encode('upper case sorts first')],
  ['docs/zebra.txt', utf8.encode('lower case after')],
  ['docs/\uFF21-fullwidth.txt', utf8.encode('U+FF21 is EF BC A1 in UTF-8')],
  ['docs/\u{1F600}-emoji.txt', utf8.encode('U+1F600 is F0 9F 98 80: after U+FF21 by bytes, before it in UTF-16')],
  ['docs/same.txt', utf8.encode('<h1>home</h1>')],
  ['z/only/child.txt', utf8.encode('x')]
]

function treeFiles (entries: Array<[string, Uint8Array]>): AsyncIterable<TreeFile> {
  return (async function * () {
    for (const [path, bytes] of entries) yield { path, content: () => pieces(bytes, 4096) }
  })()
}

describe('content importer: directories like ipfs-unixfs-importer with wrapWithDirectory', () => {
  it('a nested tree gives the same root and blocks, links sorted by name bytes', async () => {
    const ours = memoryStore()
    const result = await importTree(treeFiles(tree), ours.sink)
    const reference = await referenceImport(tree.map(([path, content]) => ({ path, content })), { wrap: true })
    assert.equal(result.cid.toString(), reference.cid.toString())
    assert.equal(result.size, reference.size)
    assert.equal(result.files, tree.length)
    assert.equal(result.bytes, tree.reduce((n, [, b]) => n + b.byteLength, 0))
    assertSameBlocks(ours.blocks, reference.blocks)
    const docs = [...ours.blocks.values()].map(b => b.cid.code === rawCode ? undefined : dagPb.decode(b.bytes))
      .find(node => node?.Links.some(l => l.Name === 'zebra.txt'))
    assert.deepEqual(docs?.Links.map(l => l.Name), ['Zebra.txt', 'a', 'same.txt', 'zebra.txt', '\uFF21-fullwidth.txt', '\u{1F600}-emoji.txt'])
  })

  it('one file is wrapped in a root directory; no files is an empty directory', async () => {
    const single: Array<[string, Uint8Array]> = [['index.html', utf8.encode('hi')]]
    const result = await importTree(treeFiles(single), memoryStore().sink)
    const reference = await referenceImport([{ path: 'index.html', content: utf8.encode('hi') }], { wrap: true })
    assert.equal(result.cid.toString(), reference.cid.toString())
    const empty = await importTree([], memoryStore().sink)
    const emptyDir = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'directory' }).marshal() }))
    assert.equal(empty.cid.toString(), 'bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354')
    assert.equal(empty.size, emptyDir.byteLength)
  })

  it('importDirectoryNode equals the directory importTree writes', async () => {
    const store = memoryStore()
    const a = await importBytes(utf8.encode('a'), store.sink)
    const b = await importBytes(utf8.encode('bb'), store.sink)
    const dir = await importDirectoryNode([{ name: 'b', cid: b.cid, size: b.size }, { name: 'a', cid: a.cid, size: a.size }], store.sink)
    const viaTree = await importTree(treeFiles([['a', utf8.encode('a')], ['b', utf8.encode('bb')]]), store.sink)
    assert.ok(dir.cid.equals(viaTree.cid))
    assert.equal(dir.size, viaTree.size)
  })

  it('a directory just under the shard threshold is plain and matches; just over it is refused (the reference shards it)', async () => {
    const files = (n: number): Array<[string, Uint8Array]> =>
      Array.from({ length: n }, (_, i) => [`${String(i).padStart(5, '0')}${'n'.repeat(245)}`, Uint8Array.of(i & 0xff)])
    const under = files(880)
    const ours = await importTree(treeFiles(under), memoryStore().sink)
    const reference = await referenceImport(under.map(([path, content]) => ({ path, content })), { wrap: true })
    assert.equal(ours.cid.toString(), reference.cid.toString())

    const over = files(890)
    await assert.rejects(importTree(treeFiles(over), memoryStore().sink), DirectoryTooLargeError)
    const sharded = await referenceImport(over.map(([path, content]) => ({ path, content })), { wrap: true })
    const root = dagPb.decode(sharded.blocks.get(sharded.cid.toString()) as Uint8Array)
    assert.equal(UnixFS.unmarshal(root.Data as Uint8Array).type, 'hamt-sharded-directory')
  })

  it(`refuses more than ${maxDirectoryEntries} entries, repeated and malformed names`, async () => {
    const store = memoryStore()
    const { cid, size } = await importBytes(utf8.encode('x'), store.sink)
    const many = Array.from({ length: maxDirectoryEntries + 1 }, (_, i) => ({ name: `f${i}`, cid, size }))
    await assert.rejects(importDirectoryNode(many, store.sink), DirectoryTooLargeError)
    await assert.rejects(importDirectoryNode([{ name: 'a', cid, size }, { name: 'a', cid, size }], store.sink), PathConflictError)
    for (const name of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256), 'lone\uD800']) {
      await assert.rejects(importDirectoryNode([{ name, cid, size }], store.sink), MalformedMessageError, JSON.stringify(name))
    }
  })

  it('refuses bad paths and a path that is both a file and a folder', async () => {
    const x = utf8.encode('x')
    for (const path of ['', '/a', 'a/', 'a//b', './a', 'a/../b', 'a/./b', 'nul\0', 'a/..']) {
      await assert.rejects(importTree(treeFiles([[path, x]]), memoryStore().sink), MalformedMessageError, JSON.stringify(path))
    }
    await assert.rejects(importTree(treeFiles([['a', x], ['a/b', x]]), memoryStore().sink), PathConflictError)
    await assert.rejects(importTree(treeFiles([['a/b', x], ['a', x]]), memoryStore().sink), PathConflictError)
    await assert.rejects(importTree(treeFiles([['a/b', x], ['a/b', x]]), memoryStore().sink), PathConflictError)
    await assert.rejects(importTree(treeFiles([['d/' + 'a/'.repeat(64) + 'f', x]]), memoryStore().sink), MalformedMessageError)
  })
})
