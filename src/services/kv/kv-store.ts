/**
 * The key-value store of a storage node: every record it holds, in one SQLite file. Write-ahead
 * log with `synchronous = NORMAL`: an acknowledged write survives a crash of the process; a power
 * loss may drop the last writes of this one node, which anti-entropy brings back from the other
 * replicas (a full sync per write would cost ~7 ms each). One row per (name, key) with the
 * key's bucket (for listing a shard under any shard count), version, signature hash and
 * authority (the owner address it was written under), and per-name totals for the quotas.
 *
 * Records must be verified (`verifyKvRecord` against the name's owner) before they are given to
 * it. A held record written under another owner than the current one (the name changed hands)
 * counts as absent: any valid write of the current owner replaces it, and it is never listed.
 *
 * @example
 * ```ts
 * const store = KvStore.open({ path: './node/kv.sqlite' })
 * store.put(record, owner)                       // 'stored' | 'unchanged'; throws StaleVersionError
 * store.get('mysite.key', 'posts/1')             // the record, or undefined
 * store.merge(recordFromAReplica, owner)         // keeps the winner of the merge rule
 * store.digest('mysite.key', owner, 4, 1)        // equal on replicas that hold the same shard 1 of 4
 * ```
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import type { DatabaseSync as Database, StatementSync } from 'node:sqlite'
import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { maxShards } from '../../foundations/limits.ts'
import { checkKvPut, kvDigest, kvRecordHash, kvSupersedes, type KvPutOutcome, type KvSummary } from '../../core/kv/merge.ts'
import { decodeKvRecord, encodeKvRecord, type KvRecord } from '../../core/kv/record.ts'
import { kvBucketOf } from '../../core/kv/shard.ts'
import { kvAuthorityOf } from '../../core/kv/verify.ts'
import {
  defaultKvCapacityBytes, defaultMaxKvBytesPerName, defaultMaxKvRecordsPerName, maxKvCachedDigestNames, maxKvSyncEntriesPerPage
} from './constants.ts'
import { KvQuotaExceededError } from './errors.ts'

// Loaded at evaluation time, as in the ledger store, so the CLI can quiet Node 22's notice first.
const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite')

/** How a store is opened. */
export interface KvStoreInit {
  /** SQLite file; its folder is created when absent. */
  path: string
  /** Records (tombstones included) one name may hold (default `defaultMaxKvRecordsPerName`). */
  maxRecordsPerName?: number
  /** Encoded record bytes one name may hold (default `defaultMaxKvBytesPerName`). */
  maxBytesPerName?: number
  /** Encoded record bytes the whole store may hold (default `defaultKvCapacityBytes`). */
  capacityBytes?: number
}

/** What a store, or one name in it, holds. */
export interface KvUsage {
  records: number
  /** Bytes of the encoded records. */
  bytes: number
}

/** One page of a shard's summaries, in ascending key order; `next` is set when more follow. */
export interface KvSummaryPage {
  entries: KvSummary[]
  next?: string
}

interface Row { version: number, hash: Uint8Array, authority: Uint8Array, size: number }

/** Signed records of many names on disk, with per-name quotas and the merge rule applied on every write. */
export class KvStore {
  /** The SQLite file. */
  readonly path: string
  /** Records one name may hold. */
  readonly maxRecordsPerName: number
  /** Bytes one name may hold. */
  readonly maxBytesPerName: number
  /** Bytes the store may hold. */
  readonly capacityBytes: number
  readonly #db: Database
  readonly #stmts: Record<'get' | 'row' | 'upsert' | 'nameUsage' | 'setName' | 'shard' | 'shardAfter' | 'total', StatementSync>
  #totalBytes: number
  #totalRecords: number
  /** Digests by name, then by `owner/shards/shard`; emptied past `maxKvCachedDigestNames` names. */
  readonly #digests = new Map<string, Map<string, Uint8Array>>()

  private constructor (init: KvStoreInit) {
    this.path = init.path
    this.maxRecordsPerName = init.maxRecordsPerName ?? defaultMaxKvRecordsPerName
    this.maxBytesPerName = init.maxBytesPerName ?? defaultMaxKvBytesPerName
    this.capacityBytes = init.capacityBytes ?? defaultKvCapacityBytes
    for (const [what, n] of [['maxRecordsPerName', this.maxRecordsPerName], ['maxBytesPerName', this.maxBytesPerName], ['capacityBytes', this.capacityBytes]] as const) {
      assert.ok(Number.isSafeInteger(n) && n >= 0, `${what} must be a non-negative integer`)
    }
    mkdirSync(dirname(init.path), { recursive: true })
    this.#db = new DatabaseSync(init.path)
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS records (
        name TEXT NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL, version INTEGER NOT NULL,
        hash BLOB NOT NULL, authority BLOB NOT NULL, record BLOB NOT NULL,
        PRIMARY KEY (name, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, records INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;
    `)
    const shardQuery = 'SELECT key, version, hash FROM records WHERE name = ? AND authority = ? AND bucket % ? = ?'
    this.#stmts = {
      get: this.#db.prepare('SELECT record FROM records WHERE name = ? AND key = ?'),
      row: this.#db.prepare('SELECT version, hash, authority, length(record) AS size FROM records WHERE name = ? AND key = ?'),
      upsert: this.#db.prepare('INSERT OR REPLACE INTO records (name, key, bucket, version, hash, authority, record) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      nameUsage: this.#db.prepare('SELECT records, bytes FROM names WHERE name = ?'),
      setName: this.#db.prepare('INSERT OR REPLACE INTO names (name, records, bytes) VALUES (?, ?, ?)'),
      shard: this.#db.prepare(`${shardQuery} ORDER BY key LIMIT ?`),
      shardAfter: this.#db.prepare(`${shardQuery} AND key > ? ORDER BY key LIMIT ?`),
      total: this.#db.prepare('SELECT COALESCE(SUM(records), 0) AS records, COALESCE(SUM(bytes), 0) AS bytes FROM names')
    }
    const total = this.#stmts.total.get() as { records: number, bytes: number }
    this.#totalRecords = total.records
    this.#totalBytes = total.bytes
  }

  /** Opens (or creates) the store at `init.path`. */
  static open (init: KvStoreInit): KvStore {
    return new KvStore(init)
  }

  /** The record held for `key` of `name`, whoever wrote it; `undefined` when none. */
  get (name: string, key: string): KvRecord | undefined {
    const row = this.#stmts.get.get(name, key) as { record: Uint8Array } | undefined
    return row === undefined ? undefined : decodeKvRecord(new Uint8Array(row.record))
  }

  /** The summary of the record held for `key`, if one is held under `owner`'s authority. */
  summary (name: string, key: string, owner: Uint8Array): KvSummary | undefined {
    const row = this.#row(name, key)
    if (row === undefined || !equalBytes(row.authority, owner)) return undefined
    return { key, version: row.version, hash: row.hash }
  }

  /**
   * A fresh write of a verified record under `owner`: `'stored'`, or `'unchanged'` for a resend
   * of the record held. Throws `StaleVersionError` when its version is not above the held one,
   * `KvQuotaExceededError` past a quota.
   */
  put (record: KvRecord, owner: Uint8Array): KvPutOutcome {
    this.#assertVerified(record, owner)
    const row = this.#row(record.name, record.key)
    const held = row !== undefined && equalBytes(row.authority, owner) ? { key: record.key, version: row.version, hash: row.hash } : undefined
    const outcome = checkKvPut(held, record)
    if (outcome === 'stored') this.#write(record, row)
    return outcome
  }

  /**
   * Takes in a verified record from another replica under `owner`, keeping the winner of the
   * merge rule. Resolves `true` when it replaced what was held (or nothing was). Throws
   * `KvQuotaExceededError` past a quota.
   */
  merge (record: KvRecord, owner: Uint8Array): boolean {
    this.#assertVerified(record, owner)
    const row = this.#row(record.name, record.key)
    if (row !== undefined && equalBytes(row.authority, owner) && !kvSupersedes({ version: record.version, hash: kvRecordHash(record) }, row)) return false
    this.#write(record, row)
    return true
  }

  /** The digest (`kvDigest`) of shard `shard` of `shards` of `name`, over the records held under `owner`. */
  digest (name: string, owner: Uint8Array, shards: number, shard: number): Uint8Array {
    checkShard(shards, shard)
    const id = `${toHex(owner)}/${shards}/${shard}`
    const cached = this.#digests.get(name)?.get(id)
    if (cached !== undefined) return cached
    const rows = this.#stmts.shard.iterate(name, owner, shards, shard, Number.MAX_SAFE_INTEGER) as Iterable<{ key: string, version: number, hash: Uint8Array }>
    const digest = kvDigest(mapRows(rows))
    if (!this.#digests.has(name) && this.#digests.size >= maxKvCachedDigestNames) this.#digests.clear()
    let forName = this.#digests.get(name)
    if (forName === undefined) {
      forName = new Map()
      this.#digests.set(name, forName)
    }
    // One entry per (owner, shard layout) seen: at most a few, as a name has one owner and layout at a time.
    if (forName.size >= maxShards) forName.clear()
    forName.set(id, digest)
    return digest
  }

  /** Up to `limit` summaries of the shard held under `owner`, in ascending key order after `after`. */
  summaries (name: string, owner: Uint8Array, shards: number, shard: number, after?: string, limit = maxKvSyncEntriesPerPage): KvSummaryPage {
    checkShard(shards, shard)
    assert.ok(Number.isSafeInteger(limit) && limit >= 1)
    const rows = (after === undefined
      ? this.#stmts.shard.all(name, owner, shards, shard, limit + 1)
      : this.#stmts.shardAfter.all(name, owner, shards, shard, after, limit + 1)) as Array<{ key: string, version: number, hash: Uint8Array }>
    const entries = [...mapRows(rows.slice(0, limit))]
    const last = entries[entries.length - 1]
    return rows.length > limit && last !== undefined ? { entries, next: last.key } : { entries }
  }

  /** Records and bytes held for `name`, or in the whole store. */
  usage (name?: string): KvUsage {
    if (name === undefined) return { records: this.#totalRecords, bytes: this.#totalBytes }
    const row = this.#stmts.nameUsage.get(name) as KvUsage | undefined
    return row === undefined ? { records: 0, bytes: 0 } : { records: row.records, bytes: row.bytes }
  }

  /** Closes the database; the store is unusable after. */
  close (): void {
    if (this.#db.isOpen) this.#db.close()
  }

  #row (name: string, key: string): Row | undefined {
    const row = this.#stmts.row.get(name, key) as Row | undefined
    return row === undefined ? undefined : { version: row.version, hash: new Uint8Array(row.hash), authority: new Uint8Array(row.authority), size: row.size }
  }

  #assertVerified (record: KvRecord, owner: Uint8Array): void {
    assert.ok(equalBytes(kvAuthorityOf(record), owner), 'a record must be verified against the owner before it is stored')
  }

  /** Writes `record` over `held` (its row, if any) with the quota checks, in one transaction. */
  #write (record: KvRecord, held: Row | undefined): void {
    const bytes = encodeKvRecord(record)
    const usage = this.usage(record.name)
    const addedRecords = held === undefined ? 1 : 0
    const addedBytes = bytes.byteLength - (held?.size ?? 0)
    if (usage.records + addedRecords > this.maxRecordsPerName) {
      throw new KvQuotaExceededError(`${record.name} holds ${usage.records} records, the most this node keeps per name; delete keys (tombstones stay) or spread the name over more shards`)
    }
    if (usage.bytes + addedBytes > this.maxBytesPerName) {
      throw new KvQuotaExceededError(`writing key "${record.key.slice(0, 64)}" would take ${record.name} past ${this.maxBytesPerName} bytes on this node (${usage.bytes} held); store large values as content`)
    }
    if (this.#totalBytes + addedBytes > this.capacityBytes) {
      throw new KvQuotaExceededError(`this node's key-value store is full (${this.#totalBytes} of ${this.capacityBytes} bytes); try another provider`)
    }
    this.#db.exec('BEGIN')
    try {
      this.#stmts.upsert.run(record.name, record.key, kvBucketOf(record.name, record.key), record.version, kvRecordHash(record), kvAuthorityOf(record), bytes)
      this.#stmts.setName.run(record.name, usage.records + addedRecords, usage.bytes + addedBytes)
      this.#db.exec('COMMIT')
    } catch (err) {
      this.#db.exec('ROLLBACK')
      throw err
    }
    this.#totalRecords += addedRecords
    this.#totalBytes += addedBytes
    this.#digests.delete(record.name)
  }
}

function checkShard (shards: number, shard: number): void {
  assert.ok(Number.isSafeInteger(shards) && shards >= 1 && shards <= maxShards && Number.isSafeInteger(shard) && shard >= 0 && shard < shards, 'shard must be in 0..shards-1, shards in 1..maxShards')
}

function * mapRows (rows: Iterable<{ key: string, version: number, hash: Uint8Array }>): Generator<KvSummary> {
  for (const r of rows) yield { key: r.key, version: r.version, hash: new Uint8Array(r.hash) }
}
