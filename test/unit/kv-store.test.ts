/** The on-disk key-value store (services/kv/kv-store.ts): put and merge rules, shard listings and digests, quotas. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { utf8 } from '../../src/foundations/bytes.ts'
import { seededRandom } from '../../src/foundations/clock.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import {
  StaleVersionError, compareKvKeys, encodeKvRecord, kvDigest, kvShardOf, kvSummaryOf, mergeKv, signKvRecord, type KvRecord
} from '../../src/core/kv/index.ts'
import { KvQuotaExceededError, KvStore, type KvStoreInit } from '../../src/services/kv/index.ts'

const name = 'mysite.key'
const owner = generateKeyPair()
const ownerAddress = addressOf(owner.publicKey)

function write (key: string, value: string | undefined, version: number, writerKey: KeyPair = owner, on = name): KvRecord {
  return signKvRecord({ name: on, key, ...(value === undefined ? { deleted: true } : { value: utf8.encode(value) }), version, writerKey })
}

async function tempDir (t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-kv-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

async function open (t: { after: (fn: () => Promise<void>) => void }, init: Partial<KvStoreInit> = {}): Promise<KvStore> {
  const store = KvStore.open({ path: join(await tempDir(t), 'kv.sqlite'), ...init })
  t.after(async () => { store.close() })
  return store
}

test('put and get; records and usage survive a reopen', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'kv.sqlite')
  const store = KvStore.open({ path })
  const a = write('a', 'one', 1)
  const gone = write('gone', undefined, 4)
  assert.equal(store.put(a, ownerAddress), 'stored')
  assert.equal(store.put(gone, ownerAddress), 'stored')
  assert.deepEqual(store.get(name, 'a'), a)
  assert.equal(store.get(name, 'b'), undefined)
  assert.equal(store.get('other.key', 'a'), undefined)
  const usage = { records: 2, bytes: encodeKvRecord(a).byteLength + encodeKvRecord(gone).byteLength }
  assert.deepEqual(store.usage(name), usage)
  store.close()

  const again = KvStore.open({ path })
  t.after(async () => { again.close() })
  assert.deepEqual(again.get(name, 'a'), a)
  assert.deepEqual(again.get(name, 'gone'), gone)
  assert.deepEqual(again.usage(name), usage)
  assert.deepEqual(again.usage(), usage)
})

test('a put not above the stored version is refused naming the current one; a resend is unchanged', async (t) => {
  const store = await open(t)
  store.put(write('k', 'v3', 3), ownerAddress)
  for (const stale of [write('k', 'other', 3), write('k', 'older', 2)]) {
    assert.throws(() => store.put(stale, ownerAddress), (err: unknown) => err instanceof StaleVersionError && err.current === 3)
  }
  assert.equal(store.put(write('k', 'v3', 3), ownerAddress), 'unchanged')
  assert.equal(store.put(write('k', undefined, 4), ownerAddress), 'stored')
  assert.equal(store.get(name, 'k')?.value, null)
  assert.equal(store.usage(name).records, 1)
  assert.throws(() => store.put(write('k', 'x', 9, generateKeyPair()), ownerAddress), /verified against the owner/, 'an unverified record is a programming error')
})

test('merge keeps the winner of the merge rule, whatever the order (stores on disk, 20 seeds)', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = seededRandom(seed)
    const history: KvRecord[] = []
    for (let i = 0; i < 30; i++) {
      const key = ['a', 'b', 'c', 'é', '😀', '\uFFFD'][rng.int(6)] ?? 'a'
      history.push(write(key, rng.int(4) === 0 ? undefined : `v${rng.int(50)}`, rng.int(5)))
    }
    const reference = new Map<string, KvRecord>()
    for (const r of history) reference.set(r.key, mergeKv(reference.get(r.key), r))
    const expected = kvDigest([...reference.values()].map(kvSummaryOf).sort((a, b) => compareKvKeys(a.key, b.key)))
    const one = await open(t)
    const two = await open(t)
    for (const r of history) one.merge(r, ownerAddress)
    for (const r of [...history].reverse()) two.merge(r, ownerAddress)
    assert.deepEqual(one.digest(name, ownerAddress, 1, 0), expected, `seed ${seed}`)
    assert.deepEqual(two.digest(name, ownerAddress, 1, 0), expected, `seed ${seed}`)
    for (const [key, record] of reference) assert.deepEqual(two.get(name, key), record, `seed ${seed} key ${key}`)
    assert.equal(one.merge(reference.get('a') ?? write('a', 'x', 0), ownerAddress), !reference.has('a'), 'merging the held record again changes nothing')
  }
})

test('summaries list a shard in key order, page by page, and digests split by shard', async (t) => {
  const store = await open(t)
  const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`)
  for (const key of keys) store.put(write(key, 'v', 1), ownerAddress)
  const shards = 3
  for (let shard = 0; shard < shards; shard++) {
    const mine = keys.filter(k => kvShardOf(name, k, shards) === shard).sort(compareKvKeys)
    const listed: string[] = []
    let after: string | undefined
    for (let page = 0; page < 100; page++) {
      const got = store.summaries(name, ownerAddress, shards, shard, after, 16)
      assert.ok(got.entries.length <= 16)
      listed.push(...got.entries.map(e => e.key))
      if (got.next === undefined) break
      after = got.next
    }
    assert.deepEqual(listed, mine)
    assert.deepEqual(store.digest(name, ownerAddress, shards, shard), kvDigest(mine.map(k => kvSummaryOf(store.get(name, k) as KvRecord))))
  }
  assert.notDeepEqual(store.digest(name, ownerAddress, shards, 0), store.digest(name, ownerAddress, shards, 1))
  const before = store.digest(name, ownerAddress, shards, 0)
  const key = keys.find(k => kvShardOf(name, k, shards) === 0) as string
  store.put(write(key, 'changed', 2), ownerAddress)
  assert.notDeepEqual(store.digest(name, ownerAddress, shards, 0), before, 'a write changes the cached digest of its shard')
})

test('quotas: records and bytes per name, and the store\'s capacity', async (t) => {
  const store = await open(t, { maxRecordsPerName: 3, maxBytesPerName: 4000 })
  for (const key of ['a', 'b', 'c']) store.put(write(key, 'v', 1), ownerAddress)
  assert.throws(() => store.put(write('d', 'v', 1), ownerAddress), KvQuotaExceededError)
  assert.equal(store.put(write('a', 'v2', 2), ownerAddress), 'stored', 'a new version of a held key needs no new record')
  assert.throws(() => store.put(write('a', 'x'.repeat(4000), 3), ownerAddress), /past 4000 bytes/)
  store.put(write('other', 'v', 1, owner, 'other.key'), ownerAddress)
  assert.equal(store.usage('other.key').records, 1, 'quotas are per name')

  const small = await open(t, { capacityBytes: 1000 })
  small.put(write('a', 'x'.repeat(500), 1), ownerAddress)
  assert.throws(() => small.merge(write('b', 'x'.repeat(500), 1), ownerAddress), /store is full/)
  assert.equal(small.usage().records, 1)
})

test('after the name changes hands, records of the old owner are not listed and any new write replaces them', async (t) => {
  const store = await open(t)
  store.put(write('k', 'old owner', 9), ownerAddress)
  const next = generateKeyPair()
  const nextAddress = addressOf(next.publicKey)
  assert.equal(store.summary(name, 'k', nextAddress), undefined)
  assert.deepEqual(store.summaries(name, nextAddress, 1, 0).entries, [])
  assert.equal(store.put(write('k', 'new owner', 1, next), nextAddress), 'stored')
  assert.equal(utf8.decode(store.get(name, 'k')?.value ?? new Uint8Array()), 'new owner')
  assert.equal(store.usage(name).records, 1)
})
