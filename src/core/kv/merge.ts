/**
 * The merge rule that makes replicas converge, and the summaries replicas compare.
 *
 * Of two valid records of one key, the higher version wins; at equal versions the one whose
 * signature hash (SHA-256 of its signature) is lexicographically smaller wins. That is a total
 * order on distinct records, so keeping the winner is commutative, associative and idempotent:
 * replicas that have seen the same records hold the same state, whatever the order.
 *
 * A fresh write (a put) is stricter: its version must be above the stored one, except for a
 * resend of the very record stored, which is accepted and changes nothing.
 */
import assert from 'node:assert/strict'
import { compareBytes, equalBytes, utf8 } from '../../foundations/bytes.ts'
import { encode } from '../../foundations/encoding.ts'
import { sha256 } from '../../foundations/hash.ts'
import { StaleVersionError } from './errors.ts'
import type { KvRecord } from './record.ts'

/** What replicas compare per key without sending values: key, version, and signature hash. */
export interface KvSummary {
  key: string
  version: number
  /** SHA-256 of the record's signature: identifies its content (ed25519 signatures are deterministic). */
  hash: Uint8Array
}

/** What a put does to the stored record: writes the new one, or finds it already stored. */
export type KvPutOutcome = 'stored' | 'unchanged'

const digestDomain = utf8.encode('keynet/kv-digest/1\n')

/** SHA-256 of the record's signature. */
export function kvRecordHash (record: Pick<KvRecord, 'signature'>): Uint8Array {
  return sha256(record.signature)
}

/** The summary of a record. */
export function kvSummaryOf (record: KvRecord): KvSummary {
  return { key: record.key, version: record.version, hash: kvRecordHash(record) }
}

/** Whether `a` beats `b` under the merge rule (both of one key). Irreflexive: a record never beats itself. */
export function kvSupersedes (a: Pick<KvSummary, 'version' | 'hash'>, b: Pick<KvSummary, 'version' | 'hash'>): boolean {
  if (a.version !== b.version) return a.version > b.version
  return compareBytes(a.hash, b.hash) < 0
}

/** The record a replica keeps of `held` (or none) and `incoming`, both valid records of one key. */
export function mergeKv (held: KvRecord | undefined, incoming: KvRecord): KvRecord {
  if (held === undefined) return incoming
  assert.ok(held.name === incoming.name && held.key === incoming.key, 'merge compares records of one key')
  return kvSupersedes(kvSummaryOf(incoming), kvSummaryOf(held)) ? incoming : held
}

/**
 * What a fresh write of `incoming` does over the stored summary `held`: `'stored'` when its
 * version is above, `'unchanged'` for a resend of the stored record. Throws `StaleVersionError`
 * (naming the current version) otherwise.
 */
export function checkKvPut (held: Pick<KvSummary, 'key' | 'version' | 'hash'> | undefined, incoming: KvRecord): KvPutOutcome {
  if (held === undefined || incoming.version > held.version) return 'stored'
  if (incoming.version === held.version && equalBytes(kvRecordHash(incoming), held.hash)) return 'unchanged'
  throw new StaleVersionError(
    `version ${incoming.version} of key "${incoming.key.slice(0, 64)}" is not above the stored version ${held.version}; write version ${held.version + 1} or higher`,
    held.version
  )
}

/** Orders keys by their UTF-8 bytes (the order summaries and digests use). */
export function compareKvKeys (a: string, b: string): number {
  return compareBytes(utf8.encode(a), utf8.encode(b))
}

/**
 * The digest of a shard: SHA-256 over a domain tag and the canonical CBOR `[key, version, hash]`
 * of every summary, in ascending UTF-8 key order (asserted). Equal digests mean equal shards.
 */
export function kvDigest (summaries: Iterable<KvSummary>): Uint8Array {
  const parts: Uint8Array[] = [digestDomain]
  let last: string | undefined
  for (const s of summaries) {
    assert.ok(last === undefined || compareKvKeys(last, s.key) < 0, 'summaries must come in ascending key order, each key once')
    last = s.key
    parts.push(encode([s.key, s.version, s.hash]))
  }
  return sha256(...parts)
}
