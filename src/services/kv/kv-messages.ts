/**
 * Wire messages of the key-value protocols, canonical CBOR, every field shape-checked on decode:
 *
 * | protocol | request | response |
 * |---|---|---|
 * | `/keynet/kv/get/1` | `{ name, keys: [key, …] }` (≤ `maxKvGetKeysPerRequest`) | `[record \| null, …]` in request order, `null` = not held |
 * | `/keynet/kv/put/1` | `record` | `{ outcome: "stored" \| "unchanged" \| "stale", version }` (`version`: what the replica now holds) |
 * | `/keynet/kv/sync/1` | `{ name, shards, shard, digest, after? }` | `{ digest, entries: [[key, version, hash], …], next? }` |
 *
 * A sync answer whose `digest` equals the one asked with lists nothing (the shard is in sync);
 * otherwise it lists the responder's summaries in ascending key order after `after`, at most
 * `maxKvSyncEntriesPerPage`, with `next` (the last key listed) when more follow. A decoder throws
 * `MalformedMessageError` naming the field.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxNameChars, maxShards } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import { maxKvKeyBytes } from '../../core/kv/constants.ts'
import { compareKvKeys, type KvSummary } from '../../core/kv/merge.ts'
import { checkKvKey, kvRecordFromWire, kvRecordToWire, wireName, type KvRecord } from '../../core/kv/record.ts'
import { maxKvGetKeysPerRequest, maxKvSyncEntriesPerPage } from './constants.ts'

/** Read records by key. */
export const kvGetProtocol = '/keynet/kv/get/1'
/** Write one signed record. */
export const kvPutProtocol = '/keynet/kv/put/1'
/** Compare one shard's digest and list its summaries (anti-entropy). */
export const kvSyncProtocol = '/keynet/kv/sync/1'

/** A get request. */
export interface KvGetRequest { name: string, keys: string[] }

/** What a put did: `version` is the version the replica holds for the key afterwards. */
export interface KvPutAnswer { outcome: 'stored' | 'unchanged' | 'stale', version: number }

/** A sync request: the requester's view of one shard. */
export interface KvSyncRequest {
  name: string
  /** The name's shard count, as the requester reads it from the ledger. */
  shards: number
  shard: number
  /** The requester's digest of the shard (`kvDigest`). */
  digest: Uint8Array
  /** List only keys after this one (the `next` of the previous page). */
  after?: string
}

/** One page of a shard's summaries. */
export interface KvSyncPage {
  /** The responder's digest of the shard. */
  digest: Uint8Array
  entries: KvSummary[]
  /** Present when more summaries follow: ask again with `after: next`. */
  next?: string
}

const putOutcomes = ['stored', 'unchanged', 'stale'] as const

/** Encodes a get request. */
export function encodeKvGetRequest (request: KvGetRequest): Uint8Array {
  return encode({ name: request.name, keys: request.keys })
}

/** Decodes a get request. */
export function decodeKvGetRequest (bytes: Uint8Array): KvGetRequest {
  const r = shape.record(decode(bytes), 'get request')
  shape.onlyKeys(r, 'get request', ['name', 'keys'])
  const keys = shape.list(r.keys, 'get request.keys', maxKvGetKeysPerRequest).map((k, i) => wireKey(k, `get request.keys[${i}]`))
  return { name: wireName(r.name, 'get request.name'), keys }
}

/** Encodes a get response. */
export function encodeKvGetResponse (records: ReadonlyArray<KvRecord | undefined>): Uint8Array {
  return encode(records.map(r => r === undefined ? null : kvRecordToWire(r)))
}

/** Decodes a get response to a request of `asked` keys; the records are shape-checked, not yet verified. */
export function decodeKvGetResponse (bytes: Uint8Array, asked: number): Array<KvRecord | undefined> {
  const list = shape.list(decode(bytes), 'get response', asked)
  if (list.length !== asked) throw new MalformedMessageError(`get response must have one entry per key (${asked}), got ${list.length}`)
  return list.map((r, i) => shape.optional(r, v => kvRecordFromWire(v, `get response[${i}]`)))
}

/** Encodes a put request. */
export function encodeKvPutRequest (record: KvRecord): Uint8Array {
  return encode(kvRecordToWire(record))
}

/** Decodes a put request (see `kvRecordFromWire` for what it throws); the record is not yet verified. */
export function decodeKvPutRequest (bytes: Uint8Array): KvRecord {
  return kvRecordFromWire(decode(bytes), 'put request')
}

/** Encodes a put response. */
export function encodeKvPutResponse (answer: KvPutAnswer): Uint8Array {
  return encode({ outcome: answer.outcome, version: answer.version })
}

/** Decodes a put response. */
export function decodeKvPutResponse (bytes: Uint8Array): KvPutAnswer {
  const r = shape.record(decode(bytes), 'put response')
  shape.onlyKeys(r, 'put response', ['outcome', 'version'])
  const outcome = putOutcomes.find(o => o === r.outcome)
  if (outcome === undefined) throw new MalformedMessageError(`put response.outcome must be one of ${putOutcomes.join(', ')}`)
  return { outcome, version: shape.uint(r.version, 'put response.version') }
}

/** Encodes a sync request. */
export function encodeKvSyncRequest (request: KvSyncRequest): Uint8Array {
  const wire: Record<string, unknown> = { name: request.name, shards: request.shards, shard: request.shard, digest: request.digest }
  if (request.after !== undefined) wire.after = request.after
  return encode(wire)
}

/** Decodes a sync request. */
export function decodeKvSyncRequest (bytes: Uint8Array): KvSyncRequest {
  const r = shape.record(decode(bytes), 'sync request')
  shape.onlyKeys(r, 'sync request', ['name', 'shards', 'shard', 'digest', 'after'])
  const shards = shape.uint(r.shards, 'sync request.shards')
  const shard = shape.uint(r.shard, 'sync request.shard')
  if (shards < 1 || shards > maxShards || shard >= shards) throw new MalformedMessageError(`sync request must have 1 ≤ shards ≤ ${maxShards} and shard < shards`)
  const request: KvSyncRequest = { name: wireName(r.name, 'sync request.name'), shards, shard, digest: shape.bytes(r.digest, 'sync request.digest', 32) }
  if (r.after !== undefined) request.after = wireKey(r.after, 'sync request.after')
  return request
}

/** Encodes a sync page. */
export function encodeKvSyncPage (page: KvSyncPage): Uint8Array {
  const wire: Record<string, unknown> = { digest: page.digest, entries: page.entries.map(e => [e.key, e.version, e.hash]) }
  if (page.next !== undefined) wire.next = page.next
  return encode(wire)
}

/** Decodes a sync page; checks that its keys ascend and lie after `after`. */
export function decodeKvSyncPage (bytes: Uint8Array, after?: string): KvSyncPage {
  const r = shape.record(decode(bytes), 'sync response')
  shape.onlyKeys(r, 'sync response', ['digest', 'entries', 'next'])
  let last = after
  const entries = shape.list(r.entries, 'sync response.entries', maxKvSyncEntriesPerPage).map((e, i) => {
    const field = `sync response.entries[${i}]`
    const triple = shape.list(e, field, 3)
    if (triple.length !== 3) throw new MalformedMessageError(`${field} must be [key, version, hash]`)
    const key = wireKey(triple[0], `${field}.key`)
    if (last !== undefined && compareKvKeys(last, key) >= 0) throw new MalformedMessageError(`${field}.key must come after the previous key`)
    last = key
    return { key, version: shape.uint(triple[1], `${field}.version`), hash: shape.bytes(triple[2], `${field}.hash`, 32) }
  })
  const page: KvSyncPage = { digest: shape.bytes(r.digest, 'sync response.digest', 32), entries }
  if (r.next !== undefined) {
    page.next = wireKey(r.next, 'sync response.next')
    if (after !== undefined && compareKvKeys(after, page.next) >= 0) throw new MalformedMessageError('sync response.next must come after the key asked from')
  }
  return page
}

function wireKey (v: unknown, field: string): string {
  const key = shape.str(v, field, maxKvKeyBytes)
  try {
    checkKvKey(key)
  } catch (err) {
    throw new MalformedMessageError(`${field}: ${(err as Error).message}`)
  }
  return key
}
