/**
 * Every bound and timing of the key-value store on a storage node, its protocols
 * (`/keynet/kv/{get,put,sync}/1`) and its anti-entropy loop, each with its reason.
 * Relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxNameChars } from '../../foundations/limits.ts'
import { maxKvKeyBytes, maxKvRecordBytes } from '../../core/kv/constants.ts'
import { maxMessageBytesCap } from '../p2p/index.ts'

/** Keys asked for in one get request: a full answer of the largest records stays near 2 MiB. */
export const maxKvGetKeysPerRequest = 32
/** Key summaries in one sync page: a page stays near 300 KiB; a larger shard is paged. */
export const maxKvSyncEntriesPerPage = 1024
/** Sync pages read from one replica for one shard per round: 64 Ki keys a round; the rest the next round. */
export const maxKvSyncPagesPerRound = 64
/** Bytes of a put request: one record. */
export const maxKvPutRequestBytes = maxKvRecordBytes + 64
/** Bytes of a get request: a name and a full list of the longest keys with their CBOR headers. */
export const maxKvGetRequestBytes = maxNameChars + maxKvGetKeysPerRequest * (maxKvKeyBytes + 8) + 64
/** Bytes of a get response: one largest record per key asked, with framing. */
export const maxKvGetResponseBytes = maxKvGetKeysPerRequest * (maxKvRecordBytes + 16) + 64
/** Bytes of a sync request: a name, a cursor key, a digest and small integers. */
export const maxKvSyncRequestBytes = maxNameChars + maxKvKeyBytes + 256
/** Bytes of a sync response: a full page of the longest keys, each with version and hash. */
export const maxKvSyncResponseBytes = maxKvSyncEntriesPerPage * (maxKvKeyBytes + 56) + 512
/** Bytes of a put response: an outcome and a version. */
export const maxKvPutResponseBytes = 256

/** Deadline of a KV handler on the serving node: a page or a batch is read from SQLite well within it. */
export const kvHandlerTimeoutMs = 10_000
/** Default deadline of one KV request made by a `KvClient`. */
export const defaultKvRequestTimeoutMs = 10_000
/** Deadline of dialling one address of a replica; its other addresses are tried after. */
export const kvConnectTimeoutMs = 5_000

/** Default pause between two anti-entropy rounds: a healed partition converges within a few seconds. */
export const defaultKvSyncIntervalMs = 2_000
/** (shard, replica) pairs synced in one round: a node with more takes several rounds, in rotation. */
export const maxKvShardSyncsPerRound = 4096
/** Shard syncs run at once: enough to hide latency, few enough to leave the node its other work. */
export const kvSyncConcurrency = 4

/** Default records of one name a store keeps (tombstones included); past it writes of new keys are refused. */
export const defaultMaxKvRecordsPerName = 100_000
/** Default bytes of one name's records a store keeps. */
export const defaultMaxKvBytesPerName = 256 * 1024 * 1024
/** Default bytes of all records a store keeps. */
export const defaultKvCapacityBytes = 1024 * 1024 * 1024
/** Names whose shard digests a store caches; past it the cache is emptied (digests are recomputed on demand). */
export const maxKvCachedDigestNames = 4096

assert.ok(maxKvPutRequestBytes <= maxMessageBytesCap && maxKvGetResponseBytes <= maxMessageBytesCap && maxKvSyncResponseBytes <= maxMessageBytesCap)
assert.ok(maxKvGetResponseBytes <= 4 * 1024 * 1024, 'a get answer stays a few MiB')
assert.ok(defaultMaxKvBytesPerName <= defaultKvCapacityBytes)
assert.ok(kvConnectTimeoutMs < defaultKvRequestTimeoutMs)
