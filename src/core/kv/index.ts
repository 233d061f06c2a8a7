/**
 * @packageDocumentation
 *
 * A name's key-value data, the pure part: signed, versioned records (`KvRecord`), an owner's
 * delegation to an app key (`KvDelegation`), the checks every replica and client runs
 * (`verifyKvRecord`), the shard of a key (`kvShardOf`), and the merge rule that makes replicas
 * converge (`mergeKv`, `checkKvPut`, `kvDigest`). No I/O: the store, protocols and replication
 * are in `services/kv`. Protocol: docs/protocol/kv.md.
 *
 * @example
 * ```ts
 * import { signKvRecord, signKvDelegation, verifyKvRecord, kvShardOf } from './src/core/kv/index.ts'
 * import { addressOf, generateKeyPair } from './src/foundations/crypto.ts'
 *
 * const owner = generateKeyPair(), app = generateKeyPair()
 * const delegation = signKvDelegation({ name: 'mysite.key', ownerKey: owner, delegate: app.publicKey, prefix: 'posts/', expiresAt: Date.now() + 86_400_000 })
 * const record = signKvRecord({ name: 'mysite.key', key: 'posts/1', value: new TextEncoder().encode('hi'), version: 1, writerKey: app, delegation })
 * verifyKvRecord(record, addressOf(owner.publicKey), { now: Date.now() })   // throws if not allowed
 * kvShardOf('mysite.key', 'posts/1', 4)                                      // 0..3
 * ```
 */
export {
  checkKvKey, checkKvName, checkKvPrefix, checkKvValue, decodeKvRecord, encodeKvRecord, kvDelegationSigningBytes,
  kvRecordFromWire, kvRecordSigningBytes, kvRecordToWire,
  type KvDelegation, type KvDelegationBody, type KvRecord, type KvRecordBody
} from './record.ts'
export { signKvDelegation, signKvRecord, type KvDelegationGrant, type KvWrite } from './sign.ts'
export { kvAuthorityOf, kvSignatureValid, verifyKvRecord, type VerifyKvOptions } from './verify.ts'
export { kvBucketOf, kvShardOf } from './shard.ts'
export {
  checkKvPut, compareKvKeys, kvDigest, kvRecordHash, kvSummaryOf, kvSupersedes, mergeKv, type KvPutOutcome, type KvSummary
} from './merge.ts'
export * from './errors.ts'
export * from './constants.ts'
