/**
 * Operating errors of the key-value service, one class per condition, matched by `.name`.
 * Record-level refusals (stale version, bad key) are core/kv's; signature and ownership use the
 * foundation's `InvalidSignatureError` and `NotOwnerError`.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** A write would take a name past the store's record or byte quota, or the store past its capacity. */
export class KvQuotaExceededError extends errorWithStatus(507) {}

/** The node does not hold the shard of that key (per the name's `shard` record); ask one of its providers. */
export class ShardNotHeldError extends errorWithStatus(421) {}

/** A replica answered with a record that does not verify, or an answer that breaks the protocol. */
export class KvReplicaFaultError extends errorWithStatus(502) {}
