/** The key-value protocols over real libp2p hosts: what a node accepts and refuses, and what a client believes. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { utf8 } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { encode } from '../../src/foundations/encoding.ts'
import {
  InvalidSignatureError, NameNotFoundError, NotOwnerError, PayloadTooLargeError
} from '../../src/foundations/errors.ts'
import {
  StaleVersionError, kvRecordToWire, kvShardOf, maxKvValueBytes, signKvDelegation, signKvRecord, type KvRecord
} from '../../src/core/kv/index.ts'
import { createP2PHost, RemoteHandlerError, type P2PHost, type P2PHostInit } from '../../src/services/p2p/index.ts'
import {
  KvClient, KvReplicaFaultError, KvReplicator, KvStore, ShardNotHeldError, kvGetProtocol, kvPutProtocol, kvSyncProtocol,
  maxKvPutRequestBytes, serveKv, type ServeKvOptions
} from '../../src/services/kv/index.ts'
import { decodeKvGetRequest, encodeKvGetResponse, encodeKvSyncPage } from '../../src/services/kv/kv-messages.ts'

const name = 'mysite.key'
const owner = generateKeyPair()
const ownerAddress = addressOf(owner.publicKey)
const ledger = new Map<string, Uint8Array>([[name, ownerAddress]])
const ownerOf = (n: string): Uint8Array | undefined => ledger.get(n)
type Scope = { after: (fn: () => Promise<void>) => void }

function write (key: string, value: string | undefined, version: number, writerKey: KeyPair = owner, extra: Partial<Parameters<typeof signKvRecord>[0]> = {}): KvRecord {
  return signKvRecord({ name, key, ...(value === undefined ? { deleted: true } : { value: utf8.encode(value) }), version, writerKey, ...extra })
}

async function startHost (t: Scope, init: Partial<P2PHostInit> = {}): Promise<P2PHost> {
  const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false, ...init })
  t.after(async () => { await host.stop() })
  await host.start()
  return host
}

/** A storage node serving KV, and a client host connected to it. */
async function setup (t: Scope, opts: Partial<ServeKvOptions> = {}, serverInit: Partial<P2PHostInit> = {}): Promise<{ server: P2PHost, store: KvStore, client: P2PHost, kv: KvClient }> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-kvp-'))
  const store = KvStore.open({ path: join(dir, 'kv.sqlite') })
  t.after(async () => {
    store.close()
    await rm(dir, { recursive: true, force: true })
  })
  const server = await startHost(t, serverInit)
  const client = await startHost(t)
  await serveKv(server, store, { ownerOf, ...opts })
  await client.connect(server.multiaddrs()[0] as string)
  return { server, store, client, kv: new KvClient({ host: client, peerId: server.peerId }) }
}

test('put and get through a replica: stored, resent, stale, deleted, absent, many keys', async (t) => {
  const { kv } = await setup(t)
  const read = { owner: ownerAddress }
  assert.deepEqual(await kv.put(write('greeting', 'hello', 1)), { outcome: 'stored', version: 1 })
  assert.deepEqual(await kv.put(write('greeting', 'hello', 1)), { outcome: 'unchanged', version: 1 })
  await assert.rejects(kv.put(write('greeting', 'other', 1)), (err: unknown) => {
    assert.ok(err instanceof StaleVersionError)
    assert.equal(err.current, 1)
    assert.match(err.message, /holds version 1 .* write version 2 or higher/)
    return true
  })
  assert.equal(utf8.decode((await kv.get(name, 'greeting', read))?.value ?? new Uint8Array()), 'hello')
  await kv.put(write('greeting', undefined, 2))
  const tombstone = await kv.get(name, 'greeting', read)
  assert.equal(tombstone?.value, null)
  assert.equal(tombstone?.version, 2)
  assert.equal(await kv.get(name, 'never-written', read), undefined)

  const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
  for (const key of keys.slice(0, 30)) await kv.put(write(key, key, 1))
  const got = await kv.getMany(name, keys, read)
  assert.equal(got.length, 40)
  for (const [i, record] of got.entries()) assert.equal(record === undefined ? undefined : utf8.decode(record.value ?? new Uint8Array()), i < 30 ? keys[i] : undefined)
})

test('writes by a non-owner, for an unknown name, past a delegation, or outside the shards held are refused', async (t) => {
  let now = Date.UTC(2026, 0, 1)
  const { kv, store } = await setup(t, { clock: { now: () => now }, shardsHeld: n => n === name ? { shards: 4, held: [0, 1, 2] } : undefined })
  const keyIn = (shard: number, prefix = ''): string => {
    for (let i = 0; ; i++) if (kvShardOf(name, `${prefix}${i}`, 4) === shard) return `${prefix}${i}`
  }
  await assert.rejects(kv.put(write(keyIn(0), 'x', 1, generateKeyPair())), NotOwnerError)
  await assert.rejects(kv.put(signKvRecord({ name: 'nobody.key', key: 'k', value: new Uint8Array(1), version: 1, writerKey: owner })), (err: unknown) => {
    assert.ok(err instanceof NameNotFoundError)
    assert.match(err.message, /nobody.key is not registered/)
    return true
  })
  await assert.rejects(kv.put(write(keyIn(3), 'x', 1)), (err: unknown) => err instanceof ShardNotHeldError && /shard 3 of mysite.key/.test(err.message))

  const app = generateKeyPair()
  const delegation = signKvDelegation({ name, ownerKey: owner, delegate: app.publicKey, prefix: 'posts/', expiresAt: now + 60_000 })
  const post = keyIn(1, 'posts/')
  assert.equal((await kv.put(write(post, 'by the app', 1, app, { delegation }))).outcome, 'stored')
  await assert.rejects(kv.put(write(keyIn(1, 'profile/'), 'x', 1, app, { delegation })), /covers only keys starting with "posts\/"/)
  now += 60_001
  await assert.rejects(kv.put(write(post, 'too late', 2, app, { delegation })), (err: unknown) => err instanceof NotOwnerError && /expired/.test(err.message))
  // The app's earlier write still reads as valid.
  assert.equal(utf8.decode((await kv.get(name, post, { owner: ownerAddress }))?.value ?? new Uint8Array()), 'by the app')
  assert.equal(store.usage(name).records, 1)
})

test('bad signatures and oversized records are refused by the node; repeated bad signatures get the sender banned', async (t) => {
  const { server, client, kv, store } = await setup(t, {}, { banThreshold: 2 })
  const good = write('k', 'v', 1)
  const forged: KvRecord = { ...good, value: utf8.encode('forged') }
  await assert.rejects(kv.put(forged), InvalidSignatureError, 'the client refuses to send it')
  const send = async (wire: unknown): Promise<Uint8Array> => client.request(server.peerId, kvPutProtocol, encode(wire))
  await assert.rejects(send({ ...kvRecordToWire(good), value: new Uint8Array(maxKvValueBytes + 1) }), (err: unknown) => {
    assert.ok(err instanceof RemoteHandlerError)
    assert.equal(err.remoteName, 'PayloadTooLargeError')
    return true
  })
  await assert.rejects(send({ ...kvRecordToWire(good), value: new Uint8Array(maxKvPutRequestBytes) }), PayloadTooLargeError, 'past the request bound the host refuses it unread')
  await assert.rejects(send(kvRecordToWire(forged)), (err: unknown) => err instanceof RemoteHandlerError && err.remoteName === 'InvalidSignatureError')
  assert.equal(store.get(name, 'k'), undefined)
  assert.equal(server.isBanned(client.peerId), false)
  await assert.rejects(send(kvRecordToWire(forged)))
  assert.equal(server.isBanned(client.peerId), true, 'the second bad signature reaches the ban threshold of 2')
})

/** A host that answers the KV protocols with whatever the test hands it: a Byzantine replica. */
async function lyingReplica (t: Scope, answers: { get?: (keys: string[]) => Array<KvRecord | undefined>, sync?: Uint8Array }): Promise<P2PHost> {
  const liar = await startHost(t)
  await liar.handle(kvGetProtocol, async (request) => encodeKvGetResponse(answers.get?.(decodeKvGetRequest(request).keys) ?? []))
  if (answers.sync !== undefined) {
    const sync = answers.sync
    await liar.handle(kvSyncProtocol, async () => sync)
  }
  return liar
}

test('a replica that answers with a tampered, misplaced or unauthorised record is not believed, and is penalised', async (t) => {
  const genuine = write('k', 'genuine', 3)
  const cases: Array<[string, KvRecord]> = [
    ['a changed value', { ...genuine, value: utf8.encode('tampered') }],
    ['a raised version', { ...genuine, version: 99 }],
    ['another key\'s record', write('other', 'genuine', 3)],
    ['a stranger\'s validly signed record', write('k', 'stranger', 3, generateKeyPair())]
  ]
  for (const [what, answer] of cases) {
    const liar = await lyingReplica(t, { get: () => [answer] })
    const client = await startHost(t, { banThreshold: 1 })
    await client.connect(liar.multiaddrs()[0] as string)
    const kv = new KvClient({ host: client, peerId: liar.peerId })
    await assert.rejects(kv.get(name, 'k', { owner: ownerAddress }), KvReplicaFaultError, what)
    assert.equal(client.isBanned(liar.peerId), true, `${what}: the replica is penalised`)
  }
})

test('anti-entropy does not take in records a replica forged', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-kvp-'))
  const store = KvStore.open({ path: join(dir, 'kv.sqlite') })
  t.after(async () => { store.close(); await rm(dir, { recursive: true, force: true }) })
  store.put(write('k', 'mine', 1), ownerAddress)
  const forged = { ...write('k', 'forged', 7), signature: new Uint8Array(64).fill(1) }
  const liar = await lyingReplica(t, {
    get: () => [forged],
    sync: encodeKvSyncPage({ digest: new Uint8Array(32), entries: [{ key: 'k', version: 7, hash: new Uint8Array(32) }] })
  })
  const host = await startHost(t)
  const replicator = new KvReplicator({
    host, store, ownerOf, heldShards: () => [{ name, shards: 1, shard: 0 }], replicasOf: () => [{ peerId: liar.peerId, addrs: liar.multiaddrs() }]
  })
  await assert.rejects(replicator.syncShard({ peerId: liar.peerId, addrs: liar.multiaddrs() }, { name, shards: 1, shard: 0 }), KvReplicaFaultError)
  assert.equal(utf8.decode(store.get(name, 'k')?.value ?? new Uint8Array()), 'mine')
  const report = await replicator.syncOnce()
  assert.deepEqual(report, { synced: 0, pulled: 0, failed: 1 })
})
