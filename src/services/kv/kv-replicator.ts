/**
 * Anti-entropy for the key-value store: every `intervalMs`, for each shard this node holds,
 * pull from each other replica of that shard what it holds newer. Per (shard, replica) the node
 * sends its shard digest; an equal digest ends the exchange at once (one small round trip). A
 * different one brings the replica's summaries page by page; the keys where the replica's
 * summary beats ours under the merge rule are fetched with `/keynet/kv/get/1`, verified against
 * the name's owner, and merged. Every replica pulls from every other, so once a partition heals
 * all of them hold the same records within a few rounds. Nobody pushes unasked.
 *
 * @example
 * ```ts
 * const replicator = new KvReplicator({
 *   host, store,
 *   ownerOf: name => ledger.name(name)?.owner,
 *   heldShards: () => shardsAssignedTo(myAddress),           // [{ name, shards, shard }, …]
 *   replicasOf: (name, shard) => providersOf(name, shard),   // [{ peerId, addrs }, …]
 * })
 * replicator.start()
 * // …
 * await replicator.stop()
 * ```
 */
import { equalBytes } from '../../foundations/bytes.ts'
import { kvSupersedes } from '../../core/kv/merge.ts'
import { kvShardOf } from '../../core/kv/shard.ts'
import type { P2PHost } from '../p2p/index.ts'
import {
  defaultKvRequestTimeoutMs, defaultKvSyncIntervalMs, kvConnectTimeoutMs, kvSyncConcurrency, maxKvGetKeysPerRequest,
  maxKvShardSyncsPerRound, maxKvSyncPagesPerRound
} from './constants.ts'
import { KvQuotaExceededError } from './errors.ts'
import { KvClient } from './kv-client.ts'
import type { KvStore } from './kv-store.ts'

/** One shard of one name that this node holds. */
export interface HeldShard {
  name: string
  /** The name's shard count (its `shard` record). */
  shards: number
  shard: number
}

/** Where a replica of a shard answers. */
export interface ReplicaAddress {
  peerId: string
  /** Its multiaddrs (with or without `/p2p/<peerId>`); empty when the host already knows how to reach it. */
  addrs: readonly string[]
}

/** What one round did. */
export interface KvSyncReport {
  /** (shard, replica) pairs synced without error. */
  synced: number
  /** Records taken in (new keys, or newer than held). */
  pulled: number
  /** (shard, replica) pairs that failed (unreachable, faulty, quota); logged. */
  failed: number
}

/** How a replicator is built. */
export interface KvReplicatorInit {
  host: P2PHost
  store: Pick<KvStore, 'digest' | 'summary' | 'merge'>
  /** The name's owner address in the node's ledger view; names without one are skipped. */
  ownerOf: (name: string) => Uint8Array | undefined
  /** The shards this node holds, read afresh every round. */
  heldShards: () => Iterable<HeldShard>
  /** The replicas of a shard (this node among them or not: it is skipped). */
  replicasOf: (name: string, shard: number) => readonly ReplicaAddress[]
  /** Pause between the end of one round and the start of the next (default `defaultKvSyncIntervalMs`). */
  intervalMs?: number
  /** Deadline of one request to a replica (default `defaultKvRequestTimeoutMs`). */
  timeoutMs?: number
  /** Called after each round of the loop. */
  onRound?: (report: KvSyncReport) => void
  log?: (line: string) => void
}

interface Pair { held: HeldShard, replica: ReplicaAddress }

/** The anti-entropy loop of one node's key-value store. */
export class KvReplicator {
  readonly #init: KvReplicatorInit
  readonly #intervalMs: number
  readonly #log: (line: string) => void
  #timer: NodeJS.Timeout | undefined
  #lifetime: AbortController | undefined
  #round: Promise<unknown> = Promise.resolve()
  /** Where the next round starts in the list of pairs, so a node with more than a round's worth rotates. */
  #offset = 0

  constructor (init: KvReplicatorInit) {
    this.#init = init
    this.#intervalMs = init.intervalMs ?? defaultKvSyncIntervalMs
    this.#log = init.log ?? (() => {})
  }

  /** Starts the loop: a round at once, then one `intervalMs` after each round ends. */
  start (): void {
    if (this.#lifetime !== undefined) return
    this.#lifetime = new AbortController()
    this.#schedule(0)
  }

  /** Stops the loop and waits for the round under way to end (its requests are aborted). */
  async stop (): Promise<void> {
    const lifetime = this.#lifetime
    if (lifetime === undefined) return
    this.#lifetime = undefined
    clearTimeout(this.#timer)
    this.#timer = undefined
    lifetime.abort()
    await this.#round
  }

  /** One round over every held shard and each of its other replicas (at most `maxKvShardSyncsPerRound` pairs). */
  async syncOnce (signal?: AbortSignal): Promise<KvSyncReport> {
    const pairs: Pair[] = []
    for (const held of this.#init.heldShards()) {
      for (const replica of this.#init.replicasOf(held.name, held.shard)) {
        if (replica.peerId !== this.#init.host.peerId) pairs.push({ held, replica })
      }
    }
    const start = pairs.length === 0 ? 0 : this.#offset % pairs.length
    const todo = [...pairs.slice(start), ...pairs.slice(0, start)].slice(0, maxKvShardSyncsPerRound)
    this.#offset = start + todo.length
    const report: KvSyncReport = { synced: 0, pulled: 0, failed: 0 }
    const aborted = (): boolean => signal?.aborted === true
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < todo.length && !aborted()) {
        const pair = todo[next++]
        if (pair === undefined) break
        try {
          report.pulled += await this.syncShard(pair.replica, pair.held, signal)
          report.synced += 1
        } catch (err) {
          report.failed += 1
          if (!aborted()) this.#log(`kv sync of ${pair.held.name} shard ${pair.held.shard} with ${pair.replica.peerId} failed: ${(err as Error).message}`)
        }
      }
    }
    await Promise.all(Array.from({ length: kvSyncConcurrency }, worker))
    return report
  }

  /**
   * Pulls from one replica what it holds newer in one shard; resolves the number of records
   * taken in. Throws when the replica is unreachable or faulty (`KvReplicaFaultError`, and it is
   * penalised), or the store's quota is reached (`KvQuotaExceededError`).
   */
  async syncShard (replica: ReplicaAddress, held: HeldShard, signal?: AbortSignal): Promise<number> {
    const { name, shards, shard } = held
    const owner = this.#init.ownerOf(name)
    if (owner === undefined) return 0
    const { store } = this.#init
    await this.#connect(replica, signal)
    const client = new KvClient({ host: this.#init.host, peerId: replica.peerId, timeoutMs: this.#init.timeoutMs })
    const digest = store.digest(name, owner, shards, shard)
    let after: string | undefined
    let pulled = 0
    for (let page = 0; page < maxKvSyncPagesPerRound; page++) {
      const answer = await client.syncPage({ name, shards, shard, digest, after }, signal)
      if (after === undefined && equalBytes(answer.digest, digest)) return pulled
      const wanted = answer.entries.filter(e => {
        if (kvShardOf(name, e.key, shards) !== shard) return false
        const mine = store.summary(name, e.key, owner)
        return mine === undefined || kvSupersedes(e, mine)
      }).map(e => e.key)
      for (let i = 0; i < wanted.length; i += maxKvGetKeysPerRequest) {
        const records = await client.getMany(name, wanted.slice(i, i + maxKvGetKeysPerRequest), { owner, signal })
        for (const record of records) {
          if (record === undefined) continue
          try {
            if (store.merge(record, owner)) pulled += 1
          } catch (err) {
            if (err instanceof KvQuotaExceededError) throw new KvQuotaExceededError(`${err.message} (after taking in ${pulled} records)`)
            throw err
          }
        }
      }
      if (answer.next === undefined) break
      after = answer.next
    }
    return pulled
  }

  #schedule (delayMs: number): void {
    const lifetime = this.#lifetime
    if (lifetime === undefined) return
    this.#timer = setTimeout(() => {
      const round = this.syncOnce(lifetime.signal).then(
        report => { if (!lifetime.signal.aborted) this.#init.onRound?.(report) },
        err => { this.#log(`kv sync round failed: ${(err as Error).message}`) }
      )
      this.#round = round
      void round.finally(() => { if (this.#lifetime === lifetime) this.#schedule(this.#intervalMs) })
    }, delayMs)
    this.#timer.unref?.()
  }

  /** Dials the replica when it is not connected and addresses are known; the first address that answers wins. */
  async #connect (replica: ReplicaAddress, signal?: AbortSignal): Promise<void> {
    const { host } = this.#init
    if (replica.addrs.length === 0 || host.peers().includes(replica.peerId)) return
    let last: unknown
    for (const addr of replica.addrs) {
      signal?.throwIfAborted()
      try {
        const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${replica.peerId}`
        const timeout = AbortSignal.timeout(kvConnectTimeoutMs)
        await host.connect(full, signal === undefined ? timeout : AbortSignal.any([signal, timeout]))
        return
      } catch (err) {
        last = err
      }
    }
    throw last
  }
}
