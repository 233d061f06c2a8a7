/**
 * Which shard of a name's store a key lives in: the first 4 bytes of
 * SHA-256(name ‖ 0x00 ‖ key), read big-endian, modulo the name's shard count (its `shard`
 * record on the ledger). The 32-bit number before the modulo is the key's bucket; a store keeps
 * it so it can list a shard for any shard count.
 */
import assert from 'node:assert/strict'
import { utf8 } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxShards } from '../../foundations/limits.ts'

/** The key's 32-bit bucket: first 4 bytes of SHA-256(name ‖ 0x00 ‖ key), big-endian. */
export function kvBucketOf (name: string, key: string): number {
  const h = sha256(utf8.encode(`${name}\0${key}`))
  return ((h[0] ?? 0) * 2 ** 24) + ((h[1] ?? 0) << 16) + ((h[2] ?? 0) << 8) + (h[3] ?? 0)
}

/** The shard (0 … shards − 1) holding `key` of `name` when the name has `shards` shards. */
export function kvShardOf (name: string, key: string, shards: number): number {
  assert.ok(Number.isSafeInteger(shards) && shards >= 1 && shards <= maxShards, `shards must be 1..${maxShards}`)
  return kvBucketOf(name, key) % shards
}
