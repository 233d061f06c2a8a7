/**
 * The key-value protocols a storage node serves over the p2p host — get, put and sync (wire
 * formats in kv-messages.ts). Every write is checked against the name's owner in the node's own
 * ledger view (`ownerOf`) before it touches the store; reads and sync listings only show records
 * written under the current owner. A peer that sends a malformed message or a record with a bad
 * signature is penalised (an honest client checks its records before sending them).
 *
 * @example
 * ```ts
 * const store = KvStore.open({ path: join(dataDir, 'kv.sqlite') })
 * const stop = await serveKv(host, store, { ownerOf: name => ledger.name(name)?.owner })
 * // … other nodes use `new KvClient({ host, peerId })` against it …
 * await stop()
 * ```
 */
import { systemClock, type Clock } from '../../foundations/clock.ts'
import { equalBytes } from '../../foundations/bytes.ts'
import { InvalidSignatureError, MalformedMessageError, NameNotFoundError } from '../../foundations/errors.ts'
import { StaleVersionError } from '../../core/kv/errors.ts'
import { kvShardOf } from '../../core/kv/shard.ts'
import { kvAuthorityOf, verifyKvRecord } from '../../core/kv/verify.ts'
import type { P2PHost, RequestHandler } from '../p2p/index.ts'
import { kvHandlerTimeoutMs, maxKvGetRequestBytes, maxKvPutRequestBytes, maxKvSyncRequestBytes } from './constants.ts'
import { ShardNotHeldError } from './errors.ts'
import {
  decodeKvGetRequest, decodeKvPutRequest, decodeKvSyncRequest, encodeKvGetResponse, encodeKvPutResponse, encodeKvSyncPage,
  kvGetProtocol, kvPutProtocol, kvSyncProtocol
} from './kv-messages.ts'
import type { KvStore } from './kv-store.ts'

/** The shards of a name this node holds: the name's shard count and the indices held. */
export interface HeldShards {
  shards: number
  held: readonly number[]
}

/** What `serveKv` reads from the node's ledger view. */
export interface ServeKvOptions {
  /** The name's owner address (20 bytes) in the node's ledger view; `undefined` for no such name. */
  ownerOf: (name: string) => Uint8Array | undefined
  /**
   * The shards of `name` this node holds (from the name's `shard` record), or `undefined` for
   * none: writes, reads and syncs of other shards are refused with `ShardNotHeldError`. When
   * omitted, the node serves every key of every name.
   */
  shardsHeld?: (name: string) => HeldShards | undefined
  /** Clock that judges delegation expiry of new writes (default: the system clock). */
  clock?: Clock
}

/** The part of a `KvStore` the protocols use. */
export type ServedKvStore = Pick<KvStore, 'get' | 'put' | 'digest' | 'summaries'>

/**
 * Serves `/keynet/kv/{get,put,sync}/1` from `store`. Resolves to a function that stops serving
 * them.
 */
export async function serveKv (host: P2PHost, store: ServedKvStore, opts: ServeKvOptions): Promise<() => Promise<void>> {
  const clock = opts.clock ?? systemClock
  const penalising = (protocol: string, handler: RequestHandler): RequestHandler => async (request, from, signal) => {
    try {
      return await handler(request, from, signal)
    } catch (err) {
      if (err instanceof MalformedMessageError || err instanceof InvalidSignatureError) host.penalise(from, `${protocol}: ${err.message}`)
      throw err
    }
  }
  const ownerOf = (name: string): Uint8Array => {
    const owner = opts.ownerOf(name)
    if (owner === undefined) throw new NameNotFoundError(`${name} is not registered in this node's ledger view; register it first, or wait for the node to catch up`)
    return owner
  }
  /** Throws `ShardNotHeldError` unless this node holds `shard` (of `shards`, or of its own count when omitted). */
  const checkHeld = (name: string, shardOf: (shards: number) => number, shards?: number): void => {
    if (opts.shardsHeld === undefined) return
    const layout = opts.shardsHeld(name)
    if (layout === undefined) throw new ShardNotHeldError(`this node holds no shard of ${name}; ask a provider listed in its shard record`)
    if (shards !== undefined && shards !== layout.shards) {
      throw new ShardNotHeldError(`this node reads ${layout.shards} shards for ${name} in its ledger view, not ${shards}; retry once both views agree`)
    }
    const shard = shardOf(layout.shards)
    if (!layout.held.includes(shard)) throw new ShardNotHeldError(`this node does not hold shard ${shard} of ${name}; ask a provider listed in its shard record`)
  }

  const get: RequestHandler = async (request) => {
    const { name, keys } = decodeKvGetRequest(request)
    const owner = ownerOf(name)
    for (const key of keys) checkHeld(name, shards => kvShardOf(name, key, shards))
    return encodeKvGetResponse(keys.map(key => {
      const record = store.get(name, key)
      return record !== undefined && equalBytes(kvAuthorityOf(record), owner) ? record : undefined
    }))
  }

  const put: RequestHandler = async (request) => {
    const record = decodeKvPutRequest(request)
    const owner = ownerOf(record.name)
    checkHeld(record.name, shards => kvShardOf(record.name, record.key, shards))
    verifyKvRecord(record, owner, { now: clock.now() })
    try {
      const outcome = store.put(record, owner)
      return encodeKvPutResponse({ outcome, version: record.version })
    } catch (err) {
      if (err instanceof StaleVersionError) return encodeKvPutResponse({ outcome: 'stale', version: err.current })
      throw err
    }
  }

  const sync: RequestHandler = async (request) => {
    const ask = decodeKvSyncRequest(request)
    const owner = ownerOf(ask.name)
    checkHeld(ask.name, () => ask.shard, ask.shards)
    const digest = store.digest(ask.name, owner, ask.shards, ask.shard)
    if (ask.after === undefined && equalBytes(digest, ask.digest)) return encodeKvSyncPage({ digest, entries: [] })
    return encodeKvSyncPage({ digest, ...store.summaries(ask.name, owner, ask.shards, ask.shard, ask.after) })
  }

  await host.handle(kvGetProtocol, penalising(kvGetProtocol, get), { maxRequestBytes: maxKvGetRequestBytes, timeoutMs: kvHandlerTimeoutMs })
  await host.handle(kvPutProtocol, penalising(kvPutProtocol, put), { maxRequestBytes: maxKvPutRequestBytes, timeoutMs: kvHandlerTimeoutMs })
  await host.handle(kvSyncProtocol, penalising(kvSyncProtocol, sync), { maxRequestBytes: maxKvSyncRequestBytes, timeoutMs: kvHandlerTimeoutMs })
  return async () => {
    for (const protocol of [kvGetProtocol, kvPutProtocol, kvSyncProtocol]) await host.unhandle(protocol)
  }
}
