import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { cidForBlock, rawCode, type Block, type CID } from '../../src/core/content/cid.ts'
import { importBytes } from '../../src/core/content/importer.ts'
import { readFile } from '../../src/core/content/read-file.ts'
import { AbortedError, createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { BlockStore } from '../../src/services/storage/block-store.ts'
import { serveBlocks } from '../../src/services/storage/block-protocol.ts'
import { decodeGetRequest, encodeGetResponse, getProtocol } from '../../src/services/storage/block-messages.ts'
import { ContentUnavailableError } from '../../src/services/storage/errors.ts'
import { BlockFetcher, type ProviderAddress } from '../../src/services/content/block-fetcher.ts'
import { FaultLog, type Fault } from '../../src/services/content/fault-log.ts'

type Ctx = { after: (fn: () => Promise<void>) => void }

/** Cleanup at the end of the file, for the parts the tests share (registered now, run last). */
const fileCleanups: Array<() => Promise<void>> = []
const fileCtx: Ctx = { after: (fn) => { fileCleanups.push(fn) } }
after(async () => { for (const fn of fileCleanups.reverse()) await fn() })

interface Content { root: CID, blocks: Block[], bytes: Uint8Array }

/** ~10 MiB in 40 leaves of 256 KiB under one node. */
async function content (): Promise<Content> {
  const bytes = new Uint8Array(randomBytes(40 * 256 * 1024 - 1000))
  const blocks = new Map<string, Block>()
  const { cid } = await importBytes(bytes, { put: async (b) => { blocks.set(b.cid.toString(), b) } }, { layout: { chunkBytes: 256 * 1024, maxLinksPerNode: 1024 } })
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

/** A provider that speaks the get protocol its own way (answers from `answer`). */
async function fakeNode (t: Ctx, answer: (cids: CID[], signal: AbortSignal) => Promise<Array<Uint8Array | undefined>>): Promise<P2PHost> {
  const host = await startHost(t)
  await host.handle(getProtocol, async (request, _from, signal) => encodeGetResponse(await answer(decodeGetRequest(request), signal)))
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
  assert.deepEqual(log.recent(10).map(e => [e.provider, e.kind]), [[liar.peerId, 'wrong-block']])
  assert.equal(log.countsByProvider().get(liar.peerId)?.byKind['wrong-block'], 1)
  const stats = fetcher.stats()
  assert.equal(stats[0]?.dropped, 'wrong-block')
  assert.equal(stats[0]?.blocks, 0)
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
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[victim.peerId, 'unreachable']])
  assert.equal(fetcher.stats()[2]?.dropped, 'unreachable')
})

test('a stalling provider: dropped after stallTimeoutMs, the fetch completes within it plus slack', async (t) => {
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
  assert.ok(elapsed < stallTimeoutMs + 2 * baselineMs + 1000, `took ${elapsed} ms; without the staller ${baselineMs} ms`)
  assert.deepEqual(faults.map(f => [f.provider, f.kind]), [[staller.peerId, 'stall']])
  assert.equal(fetcher.stats()[0]?.dropped, 'stall')
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
  // Later gets fail at once: the dropped providers are not dialled again.
  const started = Date.now()
  await assert.rejects(fetcher.get(c.root), /dropped earlier \(unreachable\)/)
  assert.ok(Date.now() - started < 500)
})

test('in-flight cap per provider, and the caller\'s signal is honoured', async (t) => {
  const { c, client } = await network()
  const blocks = byCid(c)
  let now = 0
  let most = 0
  const slow = await fakeNode(t, async (cids) => {
    most = Math.max(most, ++now)
    await new Promise(resolve => setTimeout(resolve, 30))
    now--
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
