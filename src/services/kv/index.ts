/**
 * @packageDocumentation
 *
 * A name's key-value data on storage nodes: signed records in SQLite with per-name quotas
 * (`KvStore`), served over `/keynet/kv/{get,put,sync}/1` (`serveKv`), read and written on one
 * replica through `KvClient` (reads verified against the name's owner), and kept converged
 * across the replicas of each shard by an anti-entropy loop (`KvReplicator`). Records, their
 * checks and the merge rule are in `core/kv`. Protocol: docs/protocol/kv.md.
 *
 * @example
 * ```ts
 * import { KvStore, KvClient, KvReplicator, serveKv } from './src/services/kv/index.ts'
 * import { signKvRecord } from './src/core/kv/index.ts'
 *
 * // on a storage node (the composition root supplies the ledger lookups)
 * const store = KvStore.open({ path: './node/kv.sqlite' })
 * const stop = await serveKv(host, store, { ownerOf, shardsHeld })
 * const replicator = new KvReplicator({ host, store, ownerOf, heldShards, replicasOf })
 * replicator.start()
 *
 * // on a client, for each replica of the key's shard
 * const replica = new KvClient({ host: myHost, peerId })
 * await replica.put(signKvRecord({ name: 'mysite.key', key: 'greeting', value, version: 2, writerKey: ownerKey }))
 * const record = await replica.get('mysite.key', 'greeting', { owner })   // verified, or undefined
 * ```
 */
export { KvStore, type KvStoreInit, type KvSummaryPage, type KvUsage } from './kv-store.ts'
export { serveKv, type HeldShards, type ServeKvOptions, type ServedKvStore } from './kv-protocol.ts'
export { KvClient, type KvClientInit, type KvPutResult, type KvReadOptions } from './kv-client.ts'
export { KvReplicator, type HeldShard, type KvReplicatorInit, type KvSyncReport, type ReplicaAddress } from './kv-replicator.ts'
export {
  kvGetProtocol, kvPutProtocol, kvSyncProtocol, type KvGetRequest, type KvPutAnswer, type KvSyncPage, type KvSyncRequest
} from './kv-messages.ts'
export { KvQuotaExceededError, KvReplicaFaultError, ShardNotHeldError } from './errors.ts'
export * from './constants.ts'
