/** Key-value records (core/kv): signing, verification, delegation, bounds, shards, and the merge rule's convergence. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { utf8 } from '../../src/foundations/bytes.ts'
import { seededRandom, type Random } from '../../src/foundations/clock.ts'
import { addressOf, generateKeyPair, signBytes, type KeyPair } from '../../src/foundations/crypto.ts'
import { encode, decode } from '../../src/foundations/encoding.ts'
import { InvalidNameError, InvalidSignatureError, MalformedMessageError, NotOwnerError, PayloadTooLargeError } from '../../src/foundations/errors.ts'
import { sha256 } from '../../src/foundations/hash.ts'
import {
  InvalidKvKeyError, StaleVersionError, checkKvPut, compareKvKeys, decodeKvRecord, encodeKvRecord, kvAuthorityOf, kvBucketOf,
  kvDigest, kvRecordHash, kvRecordSigningBytes, kvRecordToWire, kvShardOf, kvSummaryOf, maxKvKeyBytes, maxKvRecordBytes,
  maxKvValueBytes, mergeKv, signKvDelegation, signKvRecord, verifyKvRecord, type KvRecord
} from '../../src/core/kv/index.ts'

const name = 'mysite.key'
const owner = generateKeyPair()
const ownerAddress = addressOf(owner.publicKey)
const app = generateKeyPair()
const day = 86_400_000
const now = Date.UTC(2026, 0, 1)

function write (key: string, value: string | undefined, version: number, writerKey: KeyPair = owner, extra: Partial<Parameters<typeof signKvRecord>[0]> = {}): KvRecord {
  return signKvRecord({ name, key, ...(value === undefined ? { deleted: true } : { value: utf8.encode(value) }), version, writerKey, ...extra })
}

/** Re-signs a changed body with the writer's key, as a writer (not a forger) could. */
function resign (record: KvRecord, key: KeyPair): KvRecord {
  return { ...record, signature: signBytes(key.secretKey, kvRecordSigningBytes(record)) }
}

test('an owner\'s record verifies, survives encoding, and a tombstone is a record with value null', () => {
  const record = write('greeting', 'hello', 1)
  verifyKvRecord(record, ownerAddress)
  verifyKvRecord(record, ownerAddress, { now })
  assert.deepEqual(kvAuthorityOf(record), ownerAddress)
  const copy = decodeKvRecord(encodeKvRecord(record))
  assert.deepEqual(copy, record)
  verifyKvRecord(copy, ownerAddress)
  assert.deepEqual(signKvRecord({ name, key: 'greeting', value: utf8.encode('hello'), version: 1, writerKey: owner }), record, 'signing is deterministic')

  const tombstone = write('greeting', undefined, 2)
  assert.equal(tombstone.value, null)
  verifyKvRecord(tombstone, ownerAddress)
  assert.deepEqual(decodeKvRecord(encodeKvRecord(tombstone)), tombstone)
  assert.ok(encodeKvRecord(write('k', 'x'.repeat(maxKvValueBytes), 1)).byteLength <= maxKvRecordBytes)
})

test('tampering with any field is detected', () => {
  const record = write('greeting', 'hello', 5)
  const tampered: KvRecord[] = [
    { ...record, value: utf8.encode('hellO') },
    { ...record, value: null },
    { ...record, version: 6 },
    { ...record, key: 'greetinG' },
    { ...record, name: 'othersite.key' },
    { ...record, signature: record.signature.map((b, i) => i === 0 ? b ^ 1 : b) }
  ]
  for (const t of tampered) assert.throws(() => { verifyKvRecord(t, ownerAddress) }, InvalidSignatureError)
  // A bit flipped in the encoded bytes either breaks decoding or the signature, never passes.
  const bytes = encodeKvRecord(record)
  for (let i = 0; i < bytes.byteLength; i += 7) {
    const flipped = bytes.slice()
    flipped[i] = (flipped[i] ?? 0) ^ 0x04
    assert.throws(() => { verifyKvRecord(decodeKvRecord(flipped), ownerAddress) }, `flip at byte ${i} must not pass`)
  }
})

test('a writer that is not the owner is refused, even with a valid signature', () => {
  const stranger = generateKeyPair()
  const record = write('greeting', 'hello', 1, stranger)
  assert.throws(() => { verifyKvRecord(record, ownerAddress) }, NotOwnerError)
  assert.throws(() => { verifyKvRecord(write('greeting', 'hello', 1), addressOf(stranger.publicKey)) }, NotOwnerError, 'the owner is whoever the ledger says')
})

test('a delegation lets an app key write under its prefix until it expires, and nowhere else', () => {
  const delegation = signKvDelegation({ name, ownerKey: owner, delegate: app.publicKey, prefix: 'posts/', expiresAt: now + day })
  const ok = write('posts/1', 'first', 1, app, { delegation })
  verifyKvRecord(ok, ownerAddress, { now })
  assert.deepEqual(kvAuthorityOf(ok), ownerAddress, 'a delegated write carries the owner\'s authority')
  assert.deepEqual(decodeKvRecord(encodeKvRecord(ok)), ok)

  assert.throws(() => { verifyKvRecord(write('profile', 'x', 1, app, { delegation }), ownerAddress, { now }) }, /covers only keys starting with "posts\/"/)
  assert.throws(() => { verifyKvRecord(write('post', 'x', 1, app, { delegation }), ownerAddress, { now }) }, NotOwnerError)
  assert.throws(() => { verifyKvRecord(ok, ownerAddress, { now: now + day + 1 }) }, /expired/, 'a new write after expiry is refused')
  verifyKvRecord(ok, ownerAddress) // read or synced later: a past write stays valid

  // Another key presenting the app's delegation.
  const thief = generateKeyPair()
  const stolen = resign({ ...ok, writer: thief.publicKey }, thief)
  assert.throws(() => { verifyKvRecord(stolen, ownerAddress, { now }) }, /for another key than the record's writer/)
  // A delegation for another name.
  const elsewhere = signKvDelegation({ name: 'other.key', ownerKey: owner, delegate: app.publicKey, prefix: '', expiresAt: now + day })
  assert.throws(() => { verifyKvRecord(write('posts/1', 'x', 1, app, { delegation: elsewhere }), ownerAddress, { now }) }, /for the name other.key/)
  // Signed by someone who does not own the name.
  const fake = signKvDelegation({ name, ownerKey: thief, delegate: app.publicKey, prefix: '', expiresAt: now + day })
  assert.throws(() => { verifyKvRecord(write('posts/1', 'x', 1, app, { delegation: fake }), ownerAddress, { now }) }, NotOwnerError)
  // The app widening its own delegation breaks the owner's signature on it.
  const widened = resign({ ...ok, delegation: { ...delegation, prefix: '' }, key: 'profile' }, app)
  assert.throws(() => { verifyKvRecord(widened, ownerAddress, { now }) }, InvalidSignatureError)
  // An empty prefix covers every key.
  const all = signKvDelegation({ name, ownerKey: owner, delegate: app.publicKey, prefix: '', expiresAt: now + day })
  verifyKvRecord(write('anything', 'x', 1, app, { delegation: all }), ownerAddress, { now })
})

test('keys, values and names outside the bounds are refused with a clear error', () => {
  assert.throws(() => write('', 'x', 1), InvalidKvKeyError)
  assert.throws(() => write('a\0b', 'x', 1), /NUL/)
  assert.throws(() => write('é'.repeat(maxKvKeyBytes / 2 + 1), 'x', 1), /at most 256 bytes/)
  write('é'.repeat(maxKvKeyBytes / 2), 'x', 1)
  assert.throws(() => write('bad\uD800', 'x', 1), /well-formed/)
  assert.throws(() => signKvRecord({ name, key: 'k', value: new Uint8Array(maxKvValueBytes + 1), version: 1, writerKey: owner }), PayloadTooLargeError)
  assert.throws(() => signKvRecord({ name: 'MySite.key', key: 'k', value: new Uint8Array(1), version: 1, writerKey: owner }), InvalidNameError)
  assert.throws(() => signKvDelegation({ name, ownerKey: owner, delegate: app.publicKey, prefix: 'a\0', expiresAt: now }), InvalidKvKeyError)

  // On the wire: an oversized value is "too large", a smuggled field or missing value is malformed.
  const wire = kvRecordToWire(write('k', 'v', 1))
  assert.throws(() => decodeKvRecord(encode({ ...wire, value: new Uint8Array(maxKvValueBytes + 1) })), PayloadTooLargeError)
  assert.throws(() => decodeKvRecord(encode({ ...wire, extra: 1 })), MalformedMessageError)
  const { value: _value, ...noValue } = wire
  assert.throws(() => decodeKvRecord(encode(noValue)), MalformedMessageError)
  assert.throws(() => decodeKvRecord(encode({ ...wire, name: 'MYSITE.key' })), MalformedMessageError)
  assert.throws(() => decodeKvRecord(encode({ ...wire, version: -1 })), MalformedMessageError)
  assert.deepEqual(decode(encode(wire)), wire)
})

test('the shard of a key is the first 4 bytes of SHA-256(name NUL key) modulo the shard count', () => {
  const h = sha256(utf8.encode(`${name}\0posts/1`))
  assert.equal(kvBucketOf(name, 'posts/1'), Buffer.from(h).readUInt32BE(0))
  assert.equal(kvShardOf(name, 'posts/1', 7), Buffer.from(h).readUInt32BE(0) % 7)
  assert.equal(kvShardOf(name, 'anything', 1), 0)
  const counts = new Array<number>(4).fill(0)
  for (let i = 0; i < 4000; i++) {
    const s = kvShardOf(name, `key-${i}`, 4)
    counts[s] = (counts[s] ?? 0) + 1
  }
  for (const c of counts) assert.ok(c > 800 && c < 1200, `keys spread over shards evenly: ${counts.join(', ')}`)
  assert.notEqual(kvBucketOf('a.key', 'b'), kvBucketOf('other.key', 'b'))
})

test('a put must raise the version; a resend of the stored record changes nothing', () => {
  const held = kvSummaryOf(write('k', 'a', 3))
  assert.equal(checkKvPut(undefined, write('k', 'a', 0)), 'stored')
  assert.equal(checkKvPut(held, write('k', 'b', 4)), 'stored')
  assert.equal(checkKvPut(held, write('k', 'a', 3)), 'unchanged')
  for (const stale of [write('k', 'b', 3), write('k', 'b', 2)]) {
    assert.throws(() => checkKvPut(held, stale), (err: unknown) => {
      assert.ok(err instanceof StaleVersionError)
      assert.equal(err.current, 3)
      assert.equal(err.status, 409)
      assert.match(err.message, /stored version 3; write version 4 or higher/)
      return true
    })
  }
})

/** Records of a few keys with many versions and equal-version conflicts between two writers. */
function randomHistory (rng: Random): KvRecord[] {
  const delegation = signKvDelegation({ name, ownerKey: owner, delegate: app.publicKey, prefix: '', expiresAt: now + day })
  const out: KvRecord[] = []
  const keys = ['a', 'b', 'é', 'zz', '😀']
  for (let i = 0; i < 12 + rng.int(12); i++) {
    const key = keys[rng.int(keys.length)] ?? 'a'
    const version = rng.int(4)
    const value = rng.int(5) === 0 ? undefined : `v${rng.int(3)}`
    out.push(rng.int(2) === 0 ? write(key, value, version) : write(key, value, version, app, { delegation }))
  }
  return out
}

function shuffled<T> (items: readonly T[], rng: Random): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    const a = out[i] as T
    out[i] = out[j] as T
    out[j] = a
  }
  return out
}

function mergeAll (records: readonly KvRecord[]): Map<string, KvRecord> {
  const state = new Map<string, KvRecord>()
  for (const r of records) state.set(r.key, mergeKv(state.get(r.key), r))
  return state
}

function digestOf (state: Map<string, KvRecord>): Uint8Array {
  return kvDigest([...state.values()].map(kvSummaryOf).sort((a, b) => compareKvKeys(a.key, b.key)))
}

test('property: any order of merges, with duplicates, converges to the same state (200 seeds)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rng = seededRandom(seed)
    const history = randomHistory(rng)
    const reference = mergeAll(history)
    // The winner per key is the highest version, then the smallest signature hash.
    for (const [key, kept] of reference) {
      const candidates = history.filter(r => r.key === key)
      const top = Math.max(...candidates.map(r => r.version))
      const best = candidates.filter(r => r.version === top).map(r => Buffer.from(kvRecordHash(r)).toString('hex')).sort()[0]
      assert.equal(kept.version, top, `seed ${seed}`)
      assert.equal(Buffer.from(kvRecordHash(kept)).toString('hex'), best, `seed ${seed}`)
    }
    for (let order = 0; order < 5; order++) {
      // Two replicas see the records in different orders, some twice, then exchange states.
      const seenByA = shuffled([...history, ...history.slice(0, rng.int(history.length))], rng)
      const seenByB = shuffled(history, rng)
      const a = mergeAll(seenByA)
      const b = mergeAll(seenByB)
      assert.deepEqual(digestOf(a), digestOf(reference), `seed ${seed} order ${order}`)
      assert.deepEqual(digestOf(mergeAll([...a.values(), ...b.values()])), digestOf(reference), `seed ${seed}: exchanging states changes nothing`)
    }
  }
})

test('digest: sensitive to versions and content, asserts its key order', () => {
  const s1 = [kvSummaryOf(write('a', 'x', 1)), kvSummaryOf(write('b', 'x', 1))]
  const s2 = [kvSummaryOf(write('a', 'x', 2)), kvSummaryOf(write('b', 'x', 1))]
  const s3 = [kvSummaryOf(write('a', 'y', 1)), kvSummaryOf(write('b', 'x', 1))]
  assert.notDeepEqual(kvDigest(s1), kvDigest(s2))
  assert.notDeepEqual(kvDigest(s1), kvDigest(s3))
  assert.notDeepEqual(kvDigest(s1), kvDigest([]))
  assert.throws(() => kvDigest([...s1].reverse()), /ascending key order/)
  // UTF-8 byte order, not UTF-16: U+FFFD sorts before an astral character.
  assert.ok(compareKvKeys('\uFFFD', '😀') < 0)
  assert.ok('\uFFFD' > '😀', 'JavaScript\'s own string order differs here')
})
