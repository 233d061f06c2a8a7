import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { importBytes } from '../../src/core/content/importer.ts'
import { readFile } from '../../src/core/content/read-file.ts'
import { AbortedError, createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { serveBlocks } from '../../src/services/storage/block-protocol.ts'
import { decodeGetRequest, decodeRawGetRequest, encodeGetResponse, getProtocol, getRawProtocol } from '../../src/services/storage/block-messages.ts'
import { encodeBlockFrames } from '../../src/services/storage/block-frames.ts'
import { ContentUnavailableError } from '../../src/services/storage/errors.ts'
import { BlockFetcher, type ProviderAddress } from '../../src/services/content/block-fetcher.ts'
import { FaultLog, type Fault } from '../../src/services/content/fault-log.ts'
import { createRoutingPool, poolSnapshot, type RoutingPool } from '../../src/services/routing/index.ts'
import type { ProviderSnapshot } from '../../src/core/routing/index.ts'
import { baseEjectionMs } from '../../src/core/routing/constants.ts'

type Ctx = { after: (fn: () => Promise<void>) => void }

/** Cleanup at the end of the file, for the parts the tests share (registered now, run last). */
const fileCleanups: Array<() => Promise<void>> = []
const fileCtx: Ctx = { after: (fn) => { fileCleanups.push(fn) } }
after(async () => { for (const fn of fileCleanups.reverse()) await fn() })

interface Content { root: CID, blocks: Block[], bytes: Uint8Array }

/** ~2.5 MiB in 40 leaves of 64 KiB under one node. */
async function content (): Promise<Content> {
  const bytes = new Uint8Array(randomBytes(40 * 64 * 1024 - 1000))
  const blocks = new Map<string, Block>()
  const { cid } = await importBytes(bytes, { put: async (b) => { blocks.set(b.cid.toString(), b) } }, { layout: { chunkBytes: 64 * 1024, maxLinksPerNode: 1024 } })
  return { root: cid, blocks: [...blocks.values()], bytes }
}

async function startHost (t: Ctx): Promise<P2PHost> {
  const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  await host.start()
  t.after(async () => { await host.stop() })
  return host
}

/** A real storage node holding `blocks`. */
async function storageNode (t: Ctx, blocks: Block[]): Promise<P2PHost> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-fetch-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const key = generateKeyPair()
  const host = await createP2PHost({ secretKey: key.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  await host.start()
  t.after(async () => { await host.stop() })
  const store = await BlockStore.open({ dir, capacityBytes: 64 << 20 })
  await Promise.all(blocks.map(async b => store.put(b)))
  await serveBlocks(host, store, key)
  return host
}

/** A provider that speaks the raw-framed get protocol its own way (answers from `answer`); `legacy`: only the CBOR get/1. */
async function fakeNode (t: Ctx, answer: (cids: CID[], signal: AbortSignal) => Promise<Array<Uint8Array | undefined>>, legacy = false): Promise<P2PHost> {
  const host = await startHost(t)
  if (legacy) await host.handle(getProtocol, async (request, _from, signal) => encodeGetResponse(await answer(decodeGetRequest(request), signal)))
  else await host.handle(getRawProtocol, async (request, _from, signal) => encodeBlockFrames(await answer(decodeRawGetRequest(request), signal)))
  return host
}

function address (host: P2PHost): ProviderAddress {
  return { peerId: host.peerId, addrs: host.multiaddrs() }
}

async function readAll (root: CID, get: BlockFetcher['get'], onChunk?: (n: number) => Promise<void>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of readFile(root, get, { concurrency: 12 })) {
    parts.push(chunk)
    await onChunk?.(parts.length)
  }
  return new Uint8Array(Buffer.concat(parts))
}

/**
 * Stall timeout of the tests that are not about stalls: far above a healthy answer even on a
 * loaded machine, so only the stall test depends on timing.
 */
const patientMs = 15_000

interface Shared { c: Content, nodes: P2PHost[], client: P2PHost }
let shared: Promise<Shared> | undefined
/** The content, three storage nodes holding all of it and a client host, shared by the tests that stop none of them. */
async function network (): Promise<Shared> {
  shared ??= (async () => {
    const c = await content()
    const nodes = await Promise.all([1, 2, 3].map(async () => storageNode(fileCtx, c.blocks)))
    return { c, nodes, client: await startHost(fileCtx) }
  })()
  return shared
}

const byCid = (c: Content): Map<string, Uint8Array> => new Map(c.blocks.map(b => [b.cid.toString(), b.bytes]))

/** ~500 KiB in 32 leaves of 16 KiB: for the tests that fetch several times. */
async function smallContent (): Promise<Content> {
  const bytes = new Uint8Array(randomBytes(32 * 16 * 1024 - 100))
  const blocks = new Map<string, Block>()
  const { cid } = await importBytes(bytes, { put: async (b) => { blocks.set(b.cid.toString(), b) } }, { layout: { chunkBytes: 16 * 1024, maxLinksPerNode: 1024 } })
  return { root: cid, blocks: [...blocks.values()], bytes }
}

/** An honest provider answering from `blocks`, after `delay(cid)` ms (0 by default), giving up when the request is aborted. */
async function honestNode (t: Ctx, blocks: Map<string, Uint8Array>, delay: (cid: CID) => number = () => 0): Promise<P2PHost> {
  return fakeNode(t, async (cids, signal) => {
    const ms = Math.max(...cids.map(delay))
    if (ms > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms)
        signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason) }, { once: true })
      })
    }
    return cids.map(cid => blocks.get(cid.toString()))
  })
}

/** The pool's picture of one provider. */
function inPool (pool: RoutingPool, peerId: string): ProviderSnapshot {
  const found = poolSnapshot(pool).providers.find(p => p.id === peerId)
  assert.ok(found !== undefined, `${peerId} is in the pool`)
  return found
}

test('three providers: ~40 blocks spread across all of them, verified, no faults', async () => {
  const { c, nodes, client } = await network()
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers: nodes.map(address), stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  assert.deepEqual(faults, [])
  const stats = fetcher.stats()
  assert.equal(stats.reduce((n, s) => n + s.blocks, 0), c.blocks.length)
  for (const s of stats) {
    assert.ok(s.blocks > 0, `${s.peerId} served some blocks (${stats.map(x => x.blocks).join('/')})`)
    assert.equal(s.failures, 0)
    assert.equal(s.dropped, undefined)
    assert.equal(s.inFlight, 0)
    assert.ok(s.avgLatencyMs !== undefined && s.avgLatencyMs >= 0)
  }
})

test('a provider whose announced HTTP endpoint is unreachable is asked over libp2p instead, not dropped and not blamed', async () => {
  const { c, nodes, client } = await network()
  // A port nothing listens on: learned from a server that is closed again.
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise<void>(resolve => { closed.close(() => { resolve() }) })
  const faults: Fault[] = []
  const node = nodes[0]!
  const fetcher = new BlockFetcher({ host: client, providers: [{ ...address(node), httpUrl: deadUrl }], stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  try {
    assert.equal(fetcher.stats()[0]?.transport, 'http')
    assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
    assert.deepEqual(faults, [])
    const [stats] = fetcher.stats()
    assert.equal(stats?.transport, 'libp2p')
    assert.equal(stats?.blocks, c.blocks.length, 'every block came from it, over libp2p')
    assert.equal(stats?.failures, 0)
    assert.equal(inPool(fetcher.pool, node.peerId).state, 'active')
  } finally {
    fetcher.close()
  }
})

test('a provider sending corrupt bytes is reported and dropped; every block still arrives right', async (t) => {
  const { c, nodes, client } = await network()
  const blocks = byCid(c)
  const liar = await fakeNode(t, async cids => cids.map(cid => {
    const bytes = new Uint8Array(blocks.get(cid.toString()) as Uint8Array)
    bytes[0] = (bytes[0] ?? 0) ^ 0xff
    return bytes
  }))
  const dir = await mkdtemp(join(tmpdir(), 'keynet-faults-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const log = new FaultLog(join(dir, 'faults.jsonl'))
  const providers = [address(liar), ...nodes.slice(0, 2).map(address)]
  const fetcher = new BlockFetcher({ host: client, providers, stallTimeoutMs: patientMs, onFault: f => { log.append(f) } })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  await log.flush()
  assert.deepEqual(log.recent(10).map(e => [e.provider, e.kind]), [[liar.peerId, 'wrong-block']], JSON.stringify(log.recent(10)))
  assert.equal(log.countsByProvider().get(liar.peerId)?.byKind['wrong-block'], 1)
  const stats = fetcher.stats()
  assert.equal(stats[0]?.dropped, 'wrong-block')
  assert.equal(stats[0]?.fault, 'wrong-block')
  assert.equal(stats[0]?.blocks, 0)
  // In the routing pool: a wrong answer, an ejection, never a latency sample.
  const seen = inPool(fetcher.pool, liar.peerId)
  assert.ok(seen.wrong >= 1 && seen.ejections >= 1 && seen.ok === 0 && seen.p50Ms === undefined, JSON.stringify(seen))
  // It lied: this fetcher never asks it again, whatever the pool's ejection cycle says.
  const before = seen.requests
  await fetcher.get(c.root)
  assert.equal(inPool(fetcher.pool, liar.peerId).requests, before)
  // The fault is on disk for the next run.
  assert.deepEqual(new FaultLog(log.path).recent(1)[0]?.provider, liar.peerId)
})

test('a provider stopped mid-fetch: the fetch completes from the others with the right bytes', async (t) => {
  const { c, nodes, client } = await network()
  const victim = await storageNode(t, c.blocks)
  const faults: Fault[] = []
  const providers = [...nodes.slice(0, 2), victim].map(address)
  const fetcher = new BlockFetcher({ host: client, providers, stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  const bytes = await readAll(c.root, fetcher.get, async (n) => { if (n === 5) await victim.stop() })
  assert.deepEqual(bytes, c.bytes)
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[victim.peerId, 'unreachable']], 'reported once, however often it failed')
  const stats = fetcher.stats()[2]
  assert.equal(stats?.fault, 'unreachable')
  assert.equal(stats?.dropped, undefined, 'not dropped for good: the pool\'s ejection and probation decide')
  assert.ok(inPool(fetcher.pool, victim.peerId).errors >= 1)
})

test('a stalling provider: its requests time out after stallTimeoutMs and go elsewhere, the fetch completes within it plus slack', async (t) => {
  const { c, nodes, client } = await network()
  const good = nodes.slice(0, 2)
  let asked = 0
  const staller = await fakeNode(t, async (_cids, signal) => {
    asked++
    return new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }) })
  })
  // What the same fetch costs from the good providers alone, on this machine, now.
  let started = Date.now()
  const baseline = new BlockFetcher({ host: client, providers: good.map(address), stallTimeoutMs: patientMs })
  assert.deepEqual(await readAll(c.root, baseline.get), c.bytes)
  const baselineMs = Date.now() - started

  const faults: Fault[] = []
  const stallTimeoutMs = 1500
  const fetcher = new BlockFetcher({ host: client, providers: [address(staller), ...good.map(address)], stallTimeoutMs, onFault: f => faults.push(f) })
  started = Date.now()
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  const elapsed = Date.now() - started
  assert.ok(asked > 0, 'the staller was asked')
  // Without stall handling the fetch would wait out the request deadline (10 s); the slack covers
  // a loaded machine (a stalled block can be hit twice: by the request and by its hedge).
  assert.ok(elapsed < 3 * stallTimeoutMs + 2 * baselineMs + 1000, `took ${elapsed} ms; without the staller ${baselineMs} ms`)
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[staller.peerId, 'stall']])
  assert.equal(fetcher.stats()[0]?.fault, 'stall')
  assert.equal(fetcher.stats()[0]?.blocks, 0)
  assert.ok(inPool(fetcher.pool, staller.peerId).timeouts >= 1)
})

test('providers that do not hold a block are not at fault; the block is asked of the others', async (t) => {
  const { c, nodes, client } = await network()
  const partial = await storageNode(t, c.blocks.slice(0, 10))
  const full = nodes[0] as P2PHost
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers: [address(partial), address(full)], stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  assert.deepEqual(faults, [])
  assert.deepEqual(fetcher.stats().map(s => s.dropped), [undefined, undefined])
  // "Not held" is neither a failure nor a latency sample: the partial holder is as good as before.
  const seen = inPool(fetcher.pool, partial.peerId)
  assert.ok(seen.state === 'active' && seen.errors === 0 && seen.timeouts === 0 && seen.consecutiveFailures === 0 && seen.ejections === 0, JSON.stringify(seen))
  assert.ok(seen.ok <= 10, 'only the blocks it holds are answers')
  const nowhere = cidForBlock(rawCode, new Uint8Array([7]))
  await assert.rejects(fetcher.get(nowhere), (err: unknown) => {
    assert.ok(err instanceof ContentUnavailableError)
    assert.equal(err.status, 503)
    assert.match(err.message, new RegExp(`${nowhere.toString()}.*${partial.peerId}: not held; ${full.peerId}: not held`))
    return true
  })
})

test('every provider gone: ContentUnavailableError naming the block and what each did', async (t) => {
  const { c, client } = await network()
  const gone = await Promise.all([1, 2].map(async () => startHost(t)))
  const providers = gone.map(address)
  await Promise.all(gone.map(async n => { await n.stop() }))
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers, onFault: f => faults.push(f) })
  await assert.rejects(fetcher.get(c.root), (err: unknown) => {
    assert.ok(err instanceof ContentUnavailableError)
    assert.ok(err.message.includes(c.root.toString()))
    for (const p of providers) assert.match(err.message, new RegExp(`${p.peerId}: unreachable`))
    return true
  })
  assert.deepEqual(faults.map(f => f.kind), ['unreachable', 'unreachable'])
  // A later get asks them again (they may be back), fails the same way, and reports nothing new.
  await assert.rejects(fetcher.get(c.root), (err: unknown) => {
    assert.ok(err instanceof ContentUnavailableError)
    for (const p of providers) assert.match(err.message, new RegExp(`${p.peerId}: unreachable`))
    return true
  })
  assert.equal(faults.length, 2)
})

test('in-flight cap per provider, and the caller\'s signal is honoured', async (t) => {
  const { c, client } = await network()
  const blocks = byCid(c)
  // Blocks asked of the node at once (one batch request may carry several).
  let now = 0
  let most = 0
  const slow = await fakeNode(t, async (cids) => {
    now += cids.length
    most = Math.max(most, now)
    await new Promise(resolve => setTimeout(resolve, 30))
    now -= cids.length
    return cids.map(cid => blocks.get(cid.toString()))
  })
  const fetcher = new BlockFetcher({ host: client, providers: [address(slow)], stallTimeoutMs: patientMs, maxInFlightPerProvider: 2 })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  assert.equal(most, 2)

  await assert.rejects(fetcher.get(c.root, AbortSignal.abort()), AbortedError)
  const controller = new AbortController()
  const pending = Promise.all(c.blocks.slice(0, 6).map(async b => fetcher.get(b.cid, controller.signal)))
  setTimeout(() => { controller.abort() }, 10)
  await assert.rejects(pending, AbortedError)
  assert.equal(fetcher.stats()[0]?.dropped, undefined, 'an abort is not the provider\'s fault')
})

test('a provider that stalled is not dropped for good: after its ejection it is probed and used again', async (t) => {
  const { client } = await network()
  const c = await smallContent()
  const blocks = byCid(c)
  let stalling = true
  const flaky = await honestNode(t, blocks, () => (stalling ? 60_000 : 0))
  const good = await Promise.all([1, 2].map(async () => honestNode(t, blocks)))
  const providers = [flaky, ...good].map(address)
  // Ejected at its first timeout, many probes and a short memory: the whole cycle runs within the test.
  const pool = createRoutingPool({ name: 'content:flaky', providers: providers.map(p => ({ id: p.peerId })), config: { ejectAfterConsecutiveFailures: 1, probationTrafficShare: 0.5, latencyDecayMs: 500 } })
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers, pool, stallTimeoutMs: 3000, onFault: f => faults.push(f) })
  const got = await Promise.all(c.blocks.map(async b => fetcher.get(b.cid)))
  assert.deepEqual(got, c.blocks.map(b => b.bytes))
  assert.equal(fetcher.stats()[0]?.blocks, 0)
  const stalled = inPool(pool, flaky.peerId)
  assert.ok(stalled.timeouts >= 1 && stalled.ejections >= 1, JSON.stringify(stalled))
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[flaky.peerId, 'stall']], JSON.stringify(faults))

  stalling = false
  await new Promise(resolve => setTimeout(resolve, baseEjectionMs + 200))
  for (let round = 0; round < 10 && (fetcher.stats()[0]?.blocks ?? 0) === 0; round++) {
    assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  }
  assert.ok((fetcher.stats()[0]?.blocks ?? 0) > 0, 'the recovered provider serves blocks again')
  assert.equal(inPool(pool, flaky.peerId).state, 'active')
  assert.equal(faults.length, 1, JSON.stringify(faults))
})

test('a shared routing pool: its region is preferred, and its measurements are the fetcher\'s', async (t) => {
  const { client } = await network()
  const c = await smallContent()
  const blocks = byCid(c)
  const nodes = await Promise.all([1, 2, 3].map(async () => honestNode(t, blocks)))
  const regions = ['eu-west', 'us-east', 'ap-south']
  const providers = nodes.map(address)
  const pool = createRoutingPool({ name: `content:${c.root.toString()}`, providers: providers.map((p, i) => ({ id: p.peerId, region: regions[i] as string })), region: 'eu-west' })
  const fetcher = new BlockFetcher({ host: client, providers, pool, stallTimeoutMs: patientMs })
  // One get at a time: nothing in flight, so the near provider wins unless it costs twice as much.
  for (const b of c.blocks) assert.deepEqual(await fetcher.get(b.cid), b.bytes)
  const stats = fetcher.stats()
  assert.ok((stats[0]?.blocks ?? 0) > c.blocks.length / 2, `the near provider served most blocks (${stats.map(s => s.blocks).join('/')})`)
  const snap = poolSnapshot(pool)
  assert.equal(snap.calls, c.blocks.length)
  for (const [i, s] of stats.entries()) {
    const seen = snap.providers[i]
    assert.equal(seen?.ok, s.blocks, 'every verified block is a success in the pool')
    assert.equal(s.state, 'active')
  }
})

test('a slow answer is hedged to another provider after the pool\'s p95; the first verified answer wins', async (t) => {
  const { client } = await network()
  const c = await smallContent()
  const blocks = byCid(c)
  const target = c.blocks.find(b => !b.cid.equals(c.root)) as Block
  let slow = false
  const near = await honestNode(t, blocks, cid => (slow && cid.equals(target.cid) ? 30_000 : 0))
  const far = await honestNode(t, blocks)
  const providers = [near, far].map(address)
  // The near provider always wins the choice; every call earns a hedge; hedging starts after a few answers.
  const pool = createRoutingPool({
    name: 'content:hedge',
    providers: [{ id: near.peerId, region: 'here' }, { id: far.peerId, region: 'there' }],
    region: 'here',
    config: { remoteRegionCostFactor: 1000, hedgeBudgetRatio: 1, minHedgeSamples: 5 }
  })
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers, pool, stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  const hedgesBefore = poolSnapshot(pool).hedges
  const farBefore = fetcher.stats()[1]?.blocks ?? 0
  slow = true
  const started = Date.now()
  assert.deepEqual(await fetcher.get(target.cid), target.bytes)
  const elapsed = Date.now() - started
  assert.ok(elapsed < 10_000, `answered by the hedge in ${elapsed} ms, not after the slow provider's 30 s`)
  assert.equal(poolSnapshot(pool).hedges, hedgesBefore + 1)
  assert.equal(fetcher.stats()[1]?.blocks, farBefore + 1, 'the far provider answered')
  assert.ok(inPool(pool, near.peerId).cancelled >= 1, 'the slow request was cancelled, not failed')
  assert.equal(inPool(pool, near.peerId).timeouts, 0)
  assert.deepEqual(faults, [])
  assert.equal(fetcher.stats()[0]?.inFlight, 0)
})

test('a node that serves only the CBOR get/1 (an older version) is asked over it, verified, and a liar among such nodes is still caught', async (t) => {
  const { client } = await network()
  const c = await smallContent()
  const blocks = byCid(c)
  const legacy = await fakeNode(t, async cids => cids.map(cid => blocks.get(cid.toString())), true)
  const liar = await fakeNode(t, async cids => cids.map(() => new Uint8Array(16 * 1024)), true)
  const faults: Fault[] = []
  const fetcher = new BlockFetcher({ host: client, providers: [address(liar), address(legacy)], stallTimeoutMs: patientMs, onFault: f => faults.push(f) })
  assert.deepEqual(await readAll(c.root, fetcher.get), c.bytes)
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[liar.peerId, 'wrong-block']])
  assert.equal(fetcher.stats()[1]?.blocks, c.blocks.length)
})
