import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CarReader, CarWriter } from '@ipld/car'
import * as cborg from 'cborg'
import { readCar, writeCar } from '../../src/core/content/car.ts'
import { cidForBlock, rawCode } from '../../src/core/content/cid.ts'
import type { Block } from '../../src/core/content/cid.ts'
import { BlockMismatchError, InvalidCarError } from '../../src/core/content/errors.ts'
import { walkDag } from '../../src/core/content/exporter.ts'
import { importBytes, importTree } from '../../src/core/content/importer.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { PayloadTooLargeError } from '../../src/foundations/errors.ts'
import { collect, memoryStore, pieces, pseudoRandomBytes } from '../fixtures/content/helpers.ts'

const store = memoryStore()
const site = await importTree([
  { path: 'index.html', content: () => utf8.encode('<h1>car</h1>') },
  { path: 'empty.txt', content: () => new Uint8Array() },
  { path: 'data/blob.bin', content: () => pseudoRandomBytes(1024 * 1024 + 99, 21) }
], store.sink)
const blocks: Block[] = []
for await (const block of walkDag(site.cid, store.get)) blocks.push(block)
const car = await collect(writeCar([site.cid], blocks))

/** The same CAR as @ipld/car's own writer makes it. */
async function referenceCar (roots: Block['cid'][], list: Block[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(roots)
  const bytes = collect(out)
  for (const block of list) await writer.put(block)
  await writer.close()
  return await bytes
}

describe('content CAR v1', () => {
  it('writeCar makes the same bytes as @ipld/car, and CarReader reads back roots and every block', async () => {
    assert.deepEqual(car, await referenceCar([site.cid], blocks))
    const reader = await CarReader.fromBytes(car)
    assert.deepEqual((await reader.getRoots()).map(String), [site.cid.toString()])
    const read: Block[] = []
    for await (const block of reader.blocks()) read.push(block)
    assert.deepEqual(read.map(b => b.cid.toString()), blocks.map(b => b.cid.toString()))
    for (const [i, block] of read.entries()) assert.deepEqual(block.bytes, blocks[i]?.bytes)
    assert.ok(blocks.some(b => b.bytes.byteLength === 0), 'the empty file is a zero-length block')
  })

  it('readCar reads it back, from bytes or from a stream in odd-sized pieces, each block once', async () => {
    for (const source of [car, (async function * () { yield * pieces(car, 7919) })()]) {
      const { roots, blocks: read } = await readCar(source)
      assert.deepEqual(roots.map(String), [site.cid.toString()])
      assert.deepEqual(read.map(b => b.cid.toString()), blocks.map(b => b.cid.toString()))
      for (const [i, block] of read.entries()) assert.deepEqual(block.bytes, blocks[i]?.bytes)
    }
    const twice = await collect(writeCar([site.cid], [...blocks, ...blocks]))
    assert.equal((await readCar(twice)).blocks.length, blocks.length)
    const several = await collect(writeCar([site.cid, blocks[1]?.cid ?? site.cid], []))
    assert.deepEqual((await readCar(several)).roots.length, 2)
  })

  it('rejects a tampered block', async () => {
    const tampered = car.slice()
    const at = tampered.byteLength - 10 // inside the last block's bytes
    tampered[at] = (tampered[at] as number) ^ 0xff
    await assert.rejects(readCar(tampered), BlockMismatchError)
  })

  it('rejects a truncated CAR wherever it is cut, and garbage', async () => {
    const firstSection = car.indexOf(0x01, 1) // somewhere inside the header or first section
    for (const cut of [1, 5, firstSection + 3, 100, 200, car.byteLength - 1_000_000, car.byteLength - 1]) {
      await assert.rejects(readCar(car.subarray(0, cut)), InvalidCarError, `cut at ${cut}`)
    }
    await assert.rejects(readCar(new Uint8Array()), InvalidCarError)
    await assert.rejects(readCar(utf8.encode('this is not a CAR file at all')), InvalidCarError)
    await assert.rejects(readCar(pseudoRandomBytes(4096, 3)), InvalidCarError)
    await assert.rejects(readCar(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), InvalidCarError)
  })

  it('rejects CAR v2, a header that is not {version: 1, roots}, and a section that is not a CID', async () => {
    const framed = (bytes: Uint8Array): Uint8Array => Uint8Array.of(bytes.byteLength, ...bytes)
    await assert.rejects(readCar(framed(cborg.encode({ version: 2 }))), /CAR v2/)
    await assert.rejects(readCar(framed(cborg.encode({ version: 1, roots: ['nope'] }))), InvalidCarError)
    await assert.rejects(readCar(framed(cborg.encode([1, 2]))), InvalidCarError)
    const header = car.subarray(0, 1 + (car[0] as number))
    await assert.rejects(readCar(Uint8Array.of(...header, 3, 0xaa, 0xbb, 0xcc)), InvalidCarError)
  })

  it('enforces the block and CAR size limits', async () => {
    await assert.rejects(readCar(car, { maxBlockBytes: 1000 }), PayloadTooLargeError)
    await assert.rejects(readCar(car, { maxCarBytes: 100_000 }), PayloadTooLargeError)
    const small = memoryStore()
    const { cid } = await importBytes(utf8.encode('x'), small.sink)
    const ok = await collect(writeCar([cid], small.blocks.values()))
    assert.equal((await readCar(ok, { maxBlockBytes: 1 })).blocks.length, 1)
    assert.ok(cid.equals(cidForBlock(rawCode, utf8.encode('x'))))
  })
})
