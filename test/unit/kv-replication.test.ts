/** Anti-entropy over real libp2p hosts: replicas converge after a partition heals and after a host comes back. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { equalBytes, utf8 } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { mergeKv, signKvRecord, type KvRecord } from '../../src/core/kv/index.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { KvClient, KvReplicator, KvStore, maxKvSyncEntriesPerPage, serveKv, type HeldShard } from '../../src/services/kv/index.ts'

const name = 'mysite.key'
const owner = generateKeyPair()
const ownerAddress = addressOf(owner.publicKey)
const ownerOf = (n: string): Uint8Array | undefined => n === name ? ownerAddress : undefined
const syncIntervalMs = 100
type Scope = { after: (fn: () => Promise<void>) => void }

function write (key: string, value: string | undefined, version: number): KvRecord {
  return signKvRecord({ name, key, ...(value === undefined ? { deleted: true } : { value: utf8.encode(value) }), version, writerKey: owner })
}

interface Replica { label: string, host: P2PHost, store: KvStore, replicator: KvReplicator, rounds: number, failed: number }

/**
 * Three storage nodes holding every shard of `name`, each with its anti-entropy loop. `apart`
 * holds the labels cut off from the others: while set, replicas on different sides do not sync.
 */
async function cluster (t: Scope, shards: number): Promise<{ replicas: Replica[], apart: Set<string>, client: P2PHost }> {
  const apart = new Set<string>()
  const replicas: Replica[] = []
  const held: HeldShard[] = Array.from({ length: shards }, (_, shard) => ({ name, shards, shard }))
  for (const label of ['A', 'B', 'C']) {
    const dir = await mkdtemp(join(tmpdir(), `keynet-kvr-${label}-`))
    const store = KvStore.open({ path: join(dir, 'kv.sqlite') })
    const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    await host.start()
    await serveKv(host, store, { ownerOf })
    const replica: Replica = { label, host, store, replicator: undefined as unknown as KvReplicator, rounds: 0, failed: 0 }
    replica.replicator = new KvReplicator({
      host,
      store,
      ownerOf,
      heldShards: () => held,
      // The ledger lists every replica; a cut-off one is unreachable from the other side.
      replicasOf: () => replicas
        .filter(other => other !== replica && apart.has(other.label) === apart.has(label))
        .map(other => ({ peerId: other.host.peerId, addrs: addrsOf(other.host) })),
      intervalMs: syncIntervalMs,
      timeoutMs: 2_000,
      onRound: report => { replica.rounds += 1; replica.failed += report.failed }
    })
    replicas.push(replica)
    t.after(async () => {
      await replica.replicator.stop()
      await host.stop()
      store.close()
      await rm(dir, { recursive: true, force: true })
    })
  }
  const client = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  t.after(async () => { await client.stop() })
  await client.start()
  for (const r of replicas) r.replicator.start()
  return { replicas, apart, client }
}

/** A stopped host has no addresses; its peers find none to dial until it is back. */
function addrsOf (host: P2PHost): string[] {
  try {
    return host.multiaddrs()
  } catch {
    return []
  }
}

function inSync (replicas: readonly Replica[], shards: number): boolean {
  for (let shard = 0; shard < shards; shard++) {
    const first = replicas[0]?.store.digest(name, ownerAddress, shards, shard) as Uint8Array
    if (!replicas.every(r => equalBytes(r.store.digest(name, ownerAddress, shards, shard), first))) return false
  }
  return true
}

async function waitFor (what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function putOn (client: P2PHost, replica: Replica, record: KvRecord): Promise<void> {
  if (!client.peers().includes(replica.host.peerId)) await client.connect(replica.host.multiaddrs()[0] as string)
  await new KvClient({ host: client, peerId: replica.host.peerId }).put(record)
}

test('writes on both sides of a partition, conflicting ones included, converge within a few rounds of the heal', async (t) => {
  const shards = 2
  const { replicas, apart, client } = await cluster(t, shards)
  const [a, b, c] = replicas as [Replica, Replica, Replica]
  const written: KvRecord[] = []
  const put = async (replica: Replica, record: KvRecord): Promise<void> => {
    written.push(record)
    await putOn(client, replica, record)
  }

  await put(a, write('shared', 'before', 1))
  await waitFor('the first write to reach every replica', () => inSync(replicas, shards) && c.store.get(name, 'shared') !== undefined)

  apart.add('C')
  const roundsAtCut = c.rounds
  await put(a, write('a-only', 'from A', 1))
  await put(b, write('b-only', 'from B', 1))
  await put(a, write('shared', 'A side', 2))
  await put(c, write('shared', undefined, 3)) // C deletes it with a higher version
  await put(c, write('c-only', 'from C', 1))
  await put(a, write('conflict', 'A says', 5)) // the same version written on both sides
  await put(c, write('conflict', 'C says', 5))
  await waitFor('A and B to agree while C is cut off', () => inSync([a, b], shards))
  await waitFor('C to run a few rounds alone', () => c.rounds >= roundsAtCut + 3)
  assert.equal(inSync(replicas, shards), false, 'C cannot converge while cut off')
  assert.equal(c.store.get(name, 'a-only'), undefined)
  assert.equal(a.store.get(name, 'c-only'), undefined)

  apart.clear()
  const roundsAtHeal = replicas.map(r => r.rounds)
  await waitFor('every replica to converge after the heal', () => inSync(replicas, shards))
  const roundsTaken = replicas.map((r, i) => r.rounds - (roundsAtHeal[i] ?? 0))
  assert.ok(Math.max(...roundsTaken) <= 6, `converged within a few rounds (rounds per replica: ${roundsTaken.join(', ')})`)

  // Every replica holds, per key, the winner of the merge rule over everything written.
  const expected = new Map<string, KvRecord>()
  for (const r of written) expected.set(r.key, mergeKv(expected.get(r.key), r))
  assert.equal(expected.get('shared')?.value, null, 'the higher-version delete wins over the A side\'s update')
  for (const replica of replicas) {
    assert.equal(replica.store.usage(name).records, expected.size, replica.label)
    for (const [key, record] of expected) assert.deepEqual(replica.store.get(name, key), record, `${replica.label} ${key}`)
  }
  // A reader asking any replica now gets the same verified answer.
  for (const replica of replicas) {
    const got = await new KvClient({ host: client, peerId: replica.host.peerId }).get(name, 'conflict', { owner: ownerAddress })
    assert.deepEqual(got, expected.get('conflict'))
  }
})

test('a replica whose host was down catches up on many keys (several sync pages) once it is back', async (t) => {
  const shards = 1
  const { replicas, client } = await cluster(t, shards)
  const [a, b, c] = replicas as [Replica, Replica, Replica]
  await putOn(client, a, write('early', 'v', 1))
  await waitFor('the first write to reach every replica', () => inSync(replicas, shards) && c.store.get(name, 'early') !== undefined)

  await c.host.stop()
  const failedBefore = a.failed
  const keys = maxKvSyncEntriesPerPage + 300
  for (let i = 0; i < keys; i++) a.store.put(write(`bulk/${i}`, `value ${i}`, 1), ownerAddress)
  await putOn(client, b, write('early', 'updated while C was down', 2))
  await waitFor('A and B to agree', () => inSync([a, b], shards))
  await waitFor('A to notice that C is unreachable', () => a.failed > failedBefore)
  assert.equal(c.store.usage(name).records, 1)

  await c.host.start()
  await waitFor('C to catch up', () => inSync(replicas, shards), 30_000)
  assert.equal(c.store.usage(name).records, keys + 1)
  assert.equal(utf8.decode(c.store.get(name, 'early')?.value ?? new Uint8Array()), 'updated while C was down')
  assert.deepEqual(c.store.get(name, `bulk/${keys - 1}`), a.store.get(name, `bulk/${keys - 1}`))
})
