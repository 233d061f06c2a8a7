import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { importBytes } from '../../src/core/content/importer.ts'
import { createP2PHost, RemoteHandlerError, type P2PHost, type P2PHostInit } from '../../src/services/p2p/index.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { BlockClient, pinProtocol, putProtocol, serveBlocks, verifyReceipt } from '../../src/services/storage/block-protocol.ts'
import { encodePinResponse, encodePutRequest } from '../../src/services/storage/block-messages.ts'
import { decodeReceipt, encodeReceipt, signReceipt } from '../../src/services/storage/placement-receipt.ts'
import { ReceiptInvalidError } from '../../src/services/storage/errors.ts'
import { maxMissingListed } from '../../src/services/storage/constants.ts'

interface Node { host: P2PHost, key: KeyPair, store: BlockStore }

async function setup (t: { after: (fn: () => Promise<void>) => void }, serverInit: Partial<P2PHostInit> = {}): Promise<{ server: Node, client: P2PHost, blocks: BlockClient }> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-proto-'))
  const key = generateKeyPair()
  const host = await createP2PHost({ secretKey: key.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false, ...serverInit })
  const client = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  t.after(async () => {
    await Promise.all([host.stop(), client.stop()])
    await rm(dir, { recursive: true, force: true })
  })
  await host.start()
  await client.start()
  const store = await BlockStore.open({ dir, capacityBytes: 64 << 20 })
  await serveBlocks(host, store, key)
  await client.connect(host.multiaddrs()[0] as string)
  return { server: { host, key, store }, client, blocks: new BlockClient({ host: client, peerId: host.peerId }) }
}

async function dag (size: number, chunkBytes: number): Promise<{ root: CID, blocks: Block[] }> {
  const blocks = new Map<string, Block>()
  const { cid } = await importBytes(new Uint8Array(randomBytes(size)), { put: async (b) => { blocks.set(b.cid.toString(), b) } }, { layout: { chunkBytes, maxLinksPerNode: 8 } })
  return { root: cid, blocks: [...blocks.values()] }
}

test('put a DAG, pin it: a receipt signed by the node that verifies, and survives encoding', async (t) => {
  const { server, blocks: client } = await setup(t)
  const { root, blocks } = await dag(300 * 1024, 16 * 1024)
  const outcomes = await client.put(blocks)
  assert.ok(outcomes.every(o => o.ok))
  assert.equal(server.store.usage().blocks, blocks.length)
  const before = Date.now()
  const result = await client.pin(root)
  assert.ok(result.pinned)
  const { receipt } = result
  assert.ok(receipt.root.equals(root))
  assert.deepEqual(receipt.node, server.key.publicKey)
  assert.equal(receipt.blocks, blocks.length)
  assert.equal(receipt.bytes, blocks.reduce((n, b) => n + b.bytes.byteLength, 0))
  assert.ok(receipt.time >= before - 1000 && receipt.time <= Date.now())
  assert.ok(verifyReceipt(receipt, server.key.publicKey))
  assert.ok(server.store.isPinned(root))

  const copy = decodeReceipt(encodeReceipt(receipt))
  assert.ok(verifyReceipt(copy))
  assert.equal(verifyReceipt({ ...copy, blocks: copy.blocks + 1 }), false, 'a changed field breaks the signature')
  assert.equal(verifyReceipt(copy, generateKeyPair().publicKey), false, 'another node\'s receipt is refused')
})

test('pin with blocks missing lists them; after sending them the pin succeeds', async (t) => {
  const { server, blocks: client } = await setup(t)
  const { root, blocks } = await dag(200 * 1024, 8 * 1024)
  const rootBlock = blocks.find(b => b.cid.equals(root))
  assert.ok(rootBlock !== undefined)
  let result = await client.pin(root)
  assert.ok(!result.pinned)
  assert.deepEqual(result.missing.map(String), [root.toString()])
  await client.put([rootBlock])
  result = await client.pin(root)
  assert.ok(!result.pinned)
  assert.ok(result.missing.length > 0 && result.missing.length <= maxMissingListed)
  assert.equal(server.store.isPinned(root), false)
  // Send what is listed until the node holds it all.
  const byCid = new Map(blocks.map(b => [b.cid.toString(), b]))
  for (let round = 0; !result.pinned && round < 10; round++) {
    await client.put(result.missing.map(c => byCid.get(c.toString()) as Block))
    result = await client.pin(root)
  }
  assert.ok(result.pinned)
  assert.equal(result.receipt.blocks, blocks.length)
})

test('has answers per CID; get answers bytes or absent, in order, across several batches', async (t) => {
  const { blocks: client } = await setup(t)
  const blocks = Array.from({ length: 12 }, () => {
    const bytes = new Uint8Array(randomBytes(1 << 20))
    return { cid: cidForBlock(rawCode, bytes), bytes }
  })
  const absent = cidForBlock(rawCode, new Uint8Array([1, 2, 3]))
  await client.put(blocks) // 12 MiB: two put batches
  assert.deepEqual(await client.has([blocks[0]?.cid as CID, absent, blocks[11]?.cid as CID]), [true, false, true])
  const got = await client.get([absent, ...blocks.map(b => b.cid)]) // 12 MiB: the node answers at most 8 MiB at a time
  assert.equal(got.length, 13)
  assert.equal(got[0], undefined)
  for (const [i, b] of blocks.entries()) assert.deepEqual(got[i + 1], b.bytes)
})

test('a sender of a block that does not hash to its CID is refused and penalised; nothing of that request is stored', async (t) => {
  const { server, client } = await setup(t, { banThreshold: 2 })
  const good = { cid: cidForBlock(rawCode, new Uint8Array([1])), bytes: new Uint8Array([1]) }
  const bad = { cid: cidForBlock(rawCode, new Uint8Array([2])), bytes: new Uint8Array([3]) }
  await assert.rejects(client.request(server.host.peerId, putProtocol, encodePutRequest([good, bad])), (err: unknown) => {
    assert.ok(err instanceof RemoteHandlerError)
    assert.equal(err.remoteName, 'BlockMismatchError')
    return true
  })
  assert.equal(await server.store.has(good.cid), false)
  assert.equal(server.host.isBanned(client.peerId), false)
  // The second offence bans the sender: the node hangs up, so the answer may not even arrive.
  await assert.rejects(client.request(server.host.peerId, putProtocol, encode({ not: 'a list' })))
  assert.equal(server.host.isBanned(client.peerId), true, 'two offences reach the ban threshold of 2')
})

test('the client refuses a receipt signed by another key than the provider\'s', async (t) => {
  const { server, blocks: client } = await setup(t)
  const root = cidForBlock(rawCode, new Uint8Array([9]))
  await server.host.unhandle(pinProtocol)
  const impostor = generateKeyPair()
  await server.host.handle(pinProtocol, async () => encodePinResponse({
    receipt: signReceipt({ root, node: impostor.publicKey, blocks: 1, bytes: 1, time: 1 }, impostor.secretKey)
  }))
  await assert.rejects(client.pin(root), ReceiptInvalidError)
})

test('get/2: a batch larger than one answer comes back raw-framed over several requests, in order, "not held" marked', async (t) => {
  const { server, blocks: client } = await setup(t)
  // 10 blocks of 1 MiB: more than one answer carries (maxTransferBatchBytes is 8 MiB).
  const blocks = Array.from({ length: 10 }, () => {
    const bytes = new Uint8Array(randomBytes(1 << 20))
    return { cid: cidForBlock(rawCode, bytes), bytes }
  })
  for (const b of blocks) await server.store.put(b)
  const unknown = cidForBlock(rawCode, new Uint8Array([1, 2, 3]))
  const asked = [...blocks.slice(0, 5).map(b => b.cid), unknown, ...blocks.slice(5).map(b => b.cid)]
  const got: Array<[number, Uint8Array | undefined]> = []
  await client.getBatch(asked, new AbortController().signal, (i, bytes) => { got.push([i, bytes]) })
  assert.deepEqual(got.map(([i]) => i), asked.map((_, i) => i))
  assert.equal(got[5]?.[1], undefined)
  for (const [i, bytes] of got) if (i !== 5) assert.ok(Buffer.from(bytes!).equals(Buffer.from(blocks.find(b => b.cid.equals(asked[i]!))!.bytes)))
})
