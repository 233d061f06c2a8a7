import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MalformedMessageError, UnavailableError } from '../../src/foundations/errors.ts'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { maxBlockBytes } from '../../src/core/content/constants.ts'
import { BlockMismatchError } from '../../src/core/content/errors.ts'
import { importBytes } from '../../src/core/content/importer.ts'
import { readFile } from '../../src/core/content/read-file.ts'
import { BatchedGets } from '../../src/services/content/batched-gets.ts'
import { BlockFetcher } from '../../src/services/content/block-fetcher.ts'
import type { Fault } from '../../src/services/content/fault-log.ts'
import { createP2PHost, peerIdOfPublicKey, type P2PHost } from '../../src/services/p2p/index.ts'
import { BlockBuffers, receivedBlockBuffers } from '../../src/services/storage/block-buffers.ts'
import { BlockVerifier } from '../../src/services/storage/block-verifier.ts'
import { BlockFrameReader, encodeBlockFrames, frameHeader } from '../../src/services/storage/block-frames.ts'
import { BlockHttpServer, blocksMediaType, blocksPath } from '../../src/services/storage/block-http.ts'
import { HttpBlockClient } from '../../src/services/storage/block-http-client.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { maxConcurrentHttpBlockRequests, maxHttpCidsPerRequest } from '../../src/services/storage/constants.ts'
import { httpAddrsFor, httpUrlOf, p2pAddrs } from '../../src/services/storage/http-addr.ts'

const cleanups: Array<() => Promise<void>> = []
after(async () => { for (const fn of cleanups.reverse()) await fn() })

function block (bytes: number): Block {
  const b = new Uint8Array(randomBytes(bytes))
  return { cid: cidForBlock(rawCode, b), bytes: b }
}

async function storeWith (blocks: Block[]): Promise<BlockStore> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-block-http-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  const store = await BlockStore.open({ dir, capacityBytes: 256 << 20 })
  for (const b of blocks) await store.put(b)
  return store
}

async function serve (blocks: Block[]): Promise<{ server: BlockHttpServer, url: string }> {
  const server = await BlockHttpServer.listen(await storeWith(blocks), { host: '127.0.0.1', port: 0 })
  cleanups.push(async () => { await server.close() })
  return { server, url: `http://127.0.0.1:${server.port}` }
}

/** A server that answers every block request its own way. */
async function rogueServer (answer: (cids: string[], res: import('node:http').ServerResponse) => void): Promise<string> {
  const server: Server = createServer((req, res) => {
    const cids = new URL(req.url ?? '', 'http://x').searchParams.get('cids')?.split(',') ?? []
    answer(cids, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function raw (url: string, path: string, method = 'GET'): Promise<{ status: number, type: string, body: string, retryAfter?: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, res => {
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, ...(res.headers['retry-after'] === undefined ? {} : { retryAfter: String(res.headers['retry-after']) }) }) })
    })
    req.on('error', reject)
    req.end()
  })
}

async function fetchAll (client: HttpBlockClient, cids: CID[]): Promise<Array<Uint8Array | undefined>> {
  const out: Array<Uint8Array | undefined> = new Array(cids.length)
  await client.getBatch(cids, new AbortController().signal, (i, bytes) => { out[i] = bytes })
  return out
}

test('frames: blocks and "not held" survive any split of the stream into chunks', () => {
  const blocks = [randomBytes(3000), undefined, new Uint8Array(0), randomBytes(70_000), undefined]
  const wire = encodeBlockFrames(blocks)
  for (const size of [1, 3, 4, 5, 4096, 65_536, wire.byteLength]) {
    const reader = new BlockFrameReader(blocks.length)
    const got: Array<Uint8Array | undefined> = []
    for (let at = 0; at < wire.byteLength; at += size) got.push(...reader.push(wire.subarray(at, at + size)))
    reader.end()
    assert.equal(got.length, blocks.length)
    got.forEach((b, i) => { assert.deepEqual(b === undefined ? undefined : Buffer.from(b), blocks[i] === undefined ? undefined : Buffer.from(blocks[i]!)) })
  }
})

test('frames: a cut answer, bytes past the last frame and an oversized frame are malformed', () => {
  const wire = encodeBlockFrames([randomBytes(100), randomBytes(100)])
  const cut = new BlockFrameReader(2)
  assert.equal(cut.push(wire.subarray(0, 150)).length, 1)
  assert.throws(() => { cut.end() }, MalformedMessageError)
  assert.throws(() => new BlockFrameReader(1).push(wire), MalformedMessageError)
  assert.throws(() => new BlockFrameReader(1).push(frameHeader(maxBlockBytes + 1)), MalformedMessageError)
})

test('block buffers: only buffers of the pool come back, each once, within its bound; blocks received in them stay right when reused', async () => {
  const pool = new BlockBuffers(2)
  const before = pool.take(10)
  pool.give(before)
  assert.equal(pool.free, 0, 'until reuse is on, new memory each time, none kept')
  pool.reuse()
  const a = pool.take(10)
  assert.equal(a.byteLength, 10)
  pool.give(new Uint8Array(10))
  pool.give(a.subarray(3, 5))
  pool.give(a)
  assert.equal(pool.free, 1, 'a foreign buffer is ignored; one given twice is kept once')
  const b = pool.take(maxBlockBytes)
  assert.equal(b.buffer, a.buffer, 'taken again')
  pool.give(b)
  for (const x of [pool.take(1), pool.take(1), pool.take(1)]) pool.give(x)
  assert.equal(pool.free, 2, 'no more than its bound')

  // Through the HTTP client: every block arrives right while its buffer is given back and reused.
  const held = [block(maxBlockBytes), block(300_000), block(maxBlockBytes - 7), block(maxBlockBytes)]
  const { url } = await serve(held)
  const client = new HttpBlockClient({ url })
  receivedBlockBuffers.reuse()
  try {
    for (let round = 0; round < 3; round++) {
      for (const h of held) {
        const [got] = await fetchAll(client, [h.cid])
        assert.deepEqual(Buffer.from(got!), Buffer.from(h.bytes))
        receivedBlockBuffers.give(got!)
      }
    }
    assert.ok(receivedBlockBuffers.free >= 1, 'the client gathers raw blocks in buffers of the pool')
  } finally {
    client.close()
  }
})

test('block verifier: blocks in shared memory are hashed on a worker thread, others here; both refuse wrong bytes', async () => {
  const verifier = new BlockVerifier()
  try {
    const b = block(300_000)
    const shared = new Uint8Array(new SharedArrayBuffer(b.bytes.byteLength))
    shared.set(b.bytes)
    assert.equal(await verifier.matches(b.cid, shared), true)
    assert.equal(await verifier.matches(b.cid, b.bytes), true)
    shared[7] = shared[7]! ^ 1
    assert.equal(await verifier.matches(b.cid, shared), false)
    assert.equal(await verifier.matches(block(10).cid, b.bytes), false)
    const many = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      const x = block(1000 + i)
      const view = new Uint8Array(new SharedArrayBuffer(x.bytes.byteLength))
      view.set(x.bytes)
      return await verifier.matches(x.cid, view)
    }))
    assert.ok(many.every(Boolean), 'answers find their own requests')
  } finally {
    verifier.close()
  }
})

test('addresses: the HTTP endpoint is announced per IP and kept apart from the libp2p addresses', () => {
  const libp2p = ['/ip4/127.0.0.1/tcp/7701', '/ip4/10.0.0.5/tcp/7701']
  assert.deepEqual(httpAddrsFor('127.0.0.1', 7790, libp2p), ['/ip4/127.0.0.1/tcp/7790/http'])
  const all = httpAddrsFor('0.0.0.0', 7790, libp2p)
  assert.deepEqual(all, ['/ip4/127.0.0.1/tcp/7790/http', '/ip4/10.0.0.5/tcp/7790/http'])
  assert.deepEqual(p2pAddrs([...libp2p, ...all]), libp2p)
  assert.equal(httpUrlOf([...libp2p, ...all]), 'http://127.0.0.1:7790')
  assert.equal(httpUrlOf(libp2p), undefined)
})

test('a batch comes back in the order asked, verified; a block the node lacks is "not held"', async () => {
  const held = [block(1000), block(200_000), block(maxBlockBytes)]
  const { url } = await serve(held)
  const client = new HttpBlockClient({ url })
  try {
    const unknown = block(10).cid
    const got = await fetchAll(client, [held[1]!.cid, unknown, held[0]!.cid, held[2]!.cid])
    assert.deepEqual(got.map(b => b === undefined ? undefined : Buffer.from(b)), [held[1]!.bytes, undefined, held[0]!.bytes, held[2]!.bytes].map(b => b === undefined ? undefined : Buffer.from(b)))
    // The same connection serves the next batch.
    assert.deepEqual(Buffer.from((await fetchAll(client, [held[0]!.cid]))[0]!), Buffer.from(held[0]!.bytes))
  } finally {
    client.close()
  }
})

test('bad requests get clear errors: too many CIDs, a bad CID, no list, another path or method', async () => {
  const { url } = await serve([])
  const c = block(10).cid.toString()
  const tooMany = await raw(url, `${blocksPath}?cids=${Array.from({ length: maxHttpCidsPerRequest + 1 }, () => c).join(',')}`)
  assert.equal(tooMany.status, 400)
  assert.match(tooMany.body, new RegExp(`at most ${maxHttpCidsPerRequest} CIDs`))
  const bad = await raw(url, `${blocksPath}?cids=${c},nonsense`)
  assert.equal(bad.status, 400)
  assert.equal((JSON.parse(bad.body) as { error: { name: string } }).error.name, 'MalformedMessageError')
  assert.equal((await raw(url, blocksPath)).status, 400)
  assert.equal((await raw(url, '/v1/other')).status, 404)
  assert.equal((await raw(url, `${blocksPath}?cids=${c}`, 'POST')).status, 405)
  const ok = await raw(url, `${blocksPath}?cids=${c}`)
  assert.equal(ok.status, 200)
  assert.equal(ok.type, blocksMediaType)
})

test(`past ${maxConcurrentHttpBlockRequests} requests at once the node answers 503 with Retry-After, and serves again after`, async () => {
  const b = block(100)
  const store = await storeWith([b])
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  // The store's reads wait at the gate, so the first requests stay open.
  const server = await BlockHttpServer.listen({ readInto: async (cid, alloc) => { await gate; return await store.readInto(cid, alloc) } }, { host: '127.0.0.1', port: 0 })
  cleanups.push(async () => { await server.close() })
  const url = `http://127.0.0.1:${server.port}`
  const held = Array.from({ length: maxConcurrentHttpBlockRequests }, async () => raw(url, `${blocksPath}?cids=${b.cid.toString()}`))
  while (server.active < maxConcurrentHttpBlockRequests) await new Promise(resolve => setTimeout(resolve, 5))
  const refused = await raw(url, `${blocksPath}?cids=${b.cid.toString()}`)
  assert.equal(refused.status, 503)
  assert.equal(refused.retryAfter, '1')
  release()
  for (const r of await Promise.all(held)) assert.equal(r.status, 200)
  assert.equal((await raw(url, `${blocksPath}?cids=${b.cid.toString()}`)).status, 200)
})

test('a lying server: the blocks before the lie are delivered, the lie throws BlockMismatchError', async () => {
  const good = block(500)
  const asked = [good.cid, block(500).cid]
  const url = await rogueServer((_cids, res) => {
    res.writeHead(200, { 'content-type': blocksMediaType })
    res.end(encodeBlockFrames([good.bytes, randomBytes(500)]))
  })
  const client = new HttpBlockClient({ url })
  const got: number[] = []
  await assert.rejects(client.getBatch(asked, new AbortController().signal, i => { got.push(i) }), BlockMismatchError)
  assert.deepEqual(got, [0])
  client.close()
})

test('an answer cut mid-batch: the blocks before the cut are delivered, then it fails (closed: unavailable; ended early: malformed)', async () => {
  const blocks = [block(300_000), block(300_000), block(300_000)]
  const wire = encodeBlockFrames(blocks.map(b => b.bytes))
  const closing = await rogueServer((_cids, res) => {
    res.writeHead(200, { 'content-type': blocksMediaType })
    res.write(wire.subarray(0, 400_000), () => { setTimeout(() => { res.destroy() }, 20) })
  })
  const ending = await rogueServer((_cids, res) => {
    res.writeHead(200, { 'content-type': blocksMediaType })
    res.end(wire.subarray(0, 400_000))
  })
  for (const [url, error] of [[closing, UnavailableError], [ending, MalformedMessageError]] as const) {
    const client = new HttpBlockClient({ url })
    const got: number[] = []
    await assert.rejects(client.getBatch(blocks.map(b => b.cid), new AbortController().signal, i => { got.push(i) }), error)
    assert.deepEqual(got, [0])
    client.close()
  }
})

test('a node that is down: UnavailableError at once', async () => {
  const { server, url } = await serve([])
  await server.close()
  const client = new HttpBlockClient({ url })
  await assert.rejects(client.getBatch([block(10).cid], new AbortController().signal, () => {}), UnavailableError)
  client.close()
})

test('batched gets: gets made together travel as one request; one abandoned get leaves the others; all abandoned aborts the request', async () => {
  const blocks = [block(10), block(20), block(30)]
  const sent: number[] = []
  let wireAborted = false
  const gets = new BatchedGets(async (cids, signal, onBlock) => {
    sent.push(cids.length)
    await new Promise(resolve => setTimeout(resolve, 20))
    if (signal.aborted) { wireAborted = true; throw signal.reason }
    cids.forEach((cid, i) => { onBlock(i, blocks.find(b => b.cid.equals(cid))?.bytes) })
  }, 2)
  const quit = new AbortController()
  const all = [gets.get(blocks[0]!.cid), gets.get(blocks[1]!.cid, quit.signal), gets.get(blocks[2]!.cid), gets.get(block(5).cid)]
  setTimeout(() => { quit.abort(new Error('hedge lost')) }, 5) // once its batch is on the wire
  const settled = await Promise.allSettled(all)
  assert.deepEqual(sent, [2, 2], 'four gets, at most two per batch')
  assert.equal(settled[1]?.status, 'rejected')
  assert.deepEqual(settled.map(s => s.status === 'fulfilled' ? s.value : 'rejected'), [blocks[0]!.bytes, 'rejected', blocks[2]!.bytes, undefined])
  assert.equal(wireAborted, false)

  const both = new AbortController()
  const abandoned = Promise.allSettled([gets.get(blocks[0]!.cid, both.signal), gets.get(blocks[1]!.cid, both.signal)])
  setTimeout(() => { both.abort(new Error('stall')) }, 5)
  assert.ok((await abandoned).every(s => s.status === 'rejected'))
  await new Promise(resolve => setTimeout(resolve, 30))
  assert.equal(wireAborted, true)
})

/** ~2.5 MiB in 40 leaves of 64 KiB under one node. */
async function content (): Promise<{ root: CID, blocks: Block[], bytes: Uint8Array }> {
  const bytes = new Uint8Array(randomBytes(40 * 64 * 1024 - 1000))
  const blocks = new Map<string, Block>()
  const { cid } = await importBytes(bytes, { put: async (b) => { blocks.set(b.cid.toString(), b) } }, { layout: { chunkBytes: 64 * 1024, maxLinksPerNode: 1024 } })
  return { root: cid, blocks: [...blocks.values()], bytes }
}

async function clientHost (): Promise<P2PHost> {
  const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  await host.start()
  cleanups.push(async () => { await host.stop() })
  return host
}

/** The peer id of a provider reached only over HTTP here. */
function newPeerId (): string {
  return peerIdOfPublicKey(generateKeyPair().publicKey)
}

async function readAll (root: CID, get: BlockFetcher['get']): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of readFile(root, get, { concurrency: 12 })) parts.push(chunk)
  return new Uint8Array(Buffer.concat(parts))
}

test('fetcher over HTTP: a liar is recorded as wrong-block and dropped, a node holding half is not at fault, every byte arrives right', async () => {
  const c = await content()
  const honest = await serve(c.blocks)
  const half = await serve(c.blocks.filter((_, i) => i % 2 === 0))
  const liar = await rogueServer((cids, res) => {
    res.writeHead(200, { 'content-type': blocksMediaType })
    res.end(encodeBlockFrames(cids.map(() => randomBytes(64 * 1024))))
  })
  const host = await clientHost()
  const faults: Fault[] = []
  const [liarId, halfId, honestId] = [1, 2, 3].map(newPeerId)
  const fetcher = new BlockFetcher({
    host,
    providers: [{ peerId: liarId!, addrs: [], httpUrl: liar }, { peerId: halfId!, addrs: [], httpUrl: half.url }, { peerId: honestId!, addrs: [], httpUrl: honest.url }],
    stallTimeoutMs: 15_000,
    onFault: f => faults.push(f)
  })
  try {
    assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
    assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[liarId, 'wrong-block']], JSON.stringify(faults))
    const stats = fetcher.stats()
    assert.equal(stats[0]?.dropped, 'wrong-block')
    assert.equal(stats[0]?.blocks, 0)
    assert.equal(stats[1]?.failures, 0, 'not holding a block is no failure')
    assert.equal(stats.reduce((n, s) => n + s.blocks, 0), c.blocks.length)
  } finally {
    fetcher.close()
  }
})

test('fetcher over HTTP: a node that goes away mid-fetch costs nothing but its blocks, which come from the others', async () => {
  const c = await content()
  const nodes = await Promise.all([1, 2, 3].map(async () => serve(c.blocks)))
  const host = await clientHost()
  const ids = nodes.map(newPeerId)
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host, providers: nodes.map((n, i) => ({ peerId: ids[i]!, addrs: [], httpUrl: n.url })), stallTimeoutMs: 15_000, onFault: f => faults.push(f) })
  try {
    const parts: Uint8Array[] = []
    for await (const chunk of readFile(c.root, fetcher.get, { concurrency: 6 })) {
      parts.push(chunk)
      if (parts.length === 8) await nodes[0]!.server.close()
    }
    assert.deepEqual(new Uint8Array(Buffer.concat(parts)), c.bytes)
    assert.ok(faults.every(f => f.provider === ids[0] && f.kind === 'unreachable'), JSON.stringify(faults))
  } finally {
    fetcher.close()
  }
})
