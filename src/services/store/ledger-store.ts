import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { createRequire } from 'node:module'
import type { DatabaseSync as Database, SQLInputValue, StatementSync } from 'node:sqlite'
import type { StateChange } from '../../core/ledger/state.ts'

// Loaded at evaluation time rather than link time, so the CLI can quiet Node 22's
// "experimental" notice for node:sqlite before it is printed.
const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite')

/** Rows written by one multi-row INSERT (SQLite allows 32,766 parameters per statement). */
const rowsPerStatement = 64

/** A committed transaction's place and result. */
export interface TxRecord { id: Uint8Array, index: number, error?: { name: string, message: string } }

/** A committed block as stored: its bytes and the commit certificate that finalised it. */
export interface StoredBlock { height: number, hash: Uint8Array, block: Uint8Array, certificate: Uint8Array }

/**
 * The node's embedded on-disk store (SQLite, write-ahead log): committed blocks with their
 * certificates, the current state entries, and small metadata such as the validator's signing
 * record. A block, its state changes and the new head are written in one transaction, so a
 * `kill -9` at any moment leaves either the old or the new height on disk, never a mix.
 */
export class LedgerStore {
  private readonly db: Database
  private readonly stmts: {
    putBlock: StatementSync, getBlock: StatementSync, blocksFrom: StatementSync
    putState: StatementSync, delState: StatementSync, allState: StatementSync
    putMeta: StatementSync, getMeta: StatementSync, head: StatementSync
    putTx: StatementSync, getTx: StatementSync
    putTxRows: StatementSync, putStateRows: StatementSync
  }
  private readonly synchronous: 'FULL' | 'NORMAL'

  /**
   * `durable` (default true): writes other than blocks (a validator's signing record) reach the
   * disk before they return (an fsync, which blocks the event loop for milliseconds). A validator
   * needs that: its signing record must survive a power cut. A node that only follows the chain
   * (a gateway, a storage node) has nothing it could not fetch again from its peers, so it skips
   * the fsync: the log still keeps every commit atomic (a `kill -9` loses nothing).
   */
  constructor (path: string, opts: { durable?: boolean } = {}) {
    mkdirSync(dirname(path), { recursive: true })
    this.db = new DatabaseSync(path)
    this.synchronous = opts.durable ?? true ? 'FULL' : 'NORMAL'
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${this.synchronous};
      CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL, block BLOB NOT NULL, certificate BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS txs (id BLOB PRIMARY KEY, height INTEGER NOT NULL, idx INTEGER NOT NULL, error TEXT) WITHOUT ROWID;
    `)
    this.stmts = {
      putBlock: this.db.prepare('INSERT INTO blocks (height, hash, block, certificate) VALUES (?, ?, ?, ?)'),
      getBlock: this.db.prepare('SELECT height, hash, block, certificate FROM blocks WHERE height = ?'),
      blocksFrom: this.db.prepare('SELECT height, hash, block, certificate FROM blocks WHERE height >= ? ORDER BY height LIMIT ?'),
      putState: this.db.prepare('INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)'),
      delState: this.db.prepare('DELETE FROM state WHERE key = ?'),
      allState: this.db.prepare('SELECT key, value FROM state'),
      putMeta: this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      head: this.db.prepare('SELECT MAX(height) AS height FROM blocks'),
      putTx: this.db.prepare('INSERT OR REPLACE INTO txs (id, height, idx, error) VALUES (?, ?, ?, ?)'),
      putTxRows: this.db.prepare(`INSERT OR REPLACE INTO txs (id, height, idx, error) VALUES ${Array(rowsPerStatement).fill('(?, ?, ?, ?)').join(', ')}`),
      putStateRows: this.db.prepare(`INSERT OR REPLACE INTO state (key, value) VALUES ${Array(rowsPerStatement).fill('(?, ?)').join(', ')}`),
      getTx: this.db.prepare('SELECT height, idx, error FROM txs WHERE id = ?')
    }
  }

  /** Height of the last committed block, 0 before the first. */
  height (): number {
    const row = this.stmts.head.get() as { height: number | null } | undefined
    return row?.height ?? 0
  }

  /**
   * Writes a committed block, its state changes and its transactions' results atomically.
   * Atomic but not flushed to the disk at once (`synchronous = NORMAL` for this transaction):
   * a `kill -9` loses nothing, since the operating system holds the write. A power cut may lose
   * the last blocks, which a finalised chain lets the node fetch again by block sync; and any
   * later `putMeta` (a validator's signing record, written before each vote) flushes the
   * write-ahead log and these blocks with it, so a node never votes on a height whose parent
   * is not on disk. This keeps one disk flush per block off the consensus path.
   */
  commitBlock (stored: StoredBlock, changes: StateChange[], txs: TxRecord[] = []): void {
    this.db.exec('PRAGMA synchronous = NORMAL')
    this.db.exec('BEGIN')
    try {
      this.stmts.putBlock.run(stored.height, stored.hash, stored.block, stored.certificate)
      // Full statements of many rows each, then the rest row by row: one call into SQLite per
      // `rowsPerStatement` rows instead of per row (a block writes two or three rows per transaction).
      const txRow = (t: TxRecord): unknown[] => [t.id, stored.height, t.index, t.error === undefined ? null : JSON.stringify(t.error)]
      const fullTx = txs.length - (txs.length % rowsPerStatement)
      for (let i = 0; i < fullTx; i += rowsPerStatement) this.stmts.putTxRows.run(...txs.slice(i, i + rowsPerStatement).flatMap(txRow) as SQLInputValue[])
      for (const t of txs.slice(fullTx)) this.stmts.putTx.run(...txRow(t) as SQLInputValue[])
      const puts = changes.filter(c => c.value !== undefined)
      for (const c of changes) if (c.value === undefined) this.stmts.delState.run(c.key)
      // Keys are distinct within a block's changes, so the order of puts does not matter.
      const fullPut = puts.length - (puts.length % rowsPerStatement)
      for (let i = 0; i < fullPut; i += rowsPerStatement) this.stmts.putStateRows.run(...puts.slice(i, i + rowsPerStatement).flatMap(c => [c.key, c.value!]))
      for (const c of puts.slice(fullPut)) this.stmts.putState.run(c.key, c.value!)
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    } finally {
      this.db.exec(`PRAGMA synchronous = ${this.synchronous}`)
    }
  }

  /** Where a committed transaction landed and whether it failed. */
  tx (id: Uint8Array): { height: number, index: number, error?: { name: string, message: string } } | undefined {
    const row = this.stmts.getTx.get(id) as { height: number, idx: number, error: string | null } | undefined
    if (row === undefined) return undefined
    return row.error === null ? { height: row.height, index: row.idx } : { height: row.height, index: row.idx, error: JSON.parse(row.error) }
  }

  block (height: number): StoredBlock | undefined {
    return toStored(this.stmts.getBlock.get(height))
  }

  blocksFrom (height: number, limit: number): StoredBlock[] {
    return this.stmts.blocksFrom.all(height, limit).map(r => toStored(r)).filter((b): b is StoredBlock => b !== undefined)
  }

  *stateEntries (): Iterable<[Uint8Array, Uint8Array]> {
    for (const row of this.stmts.allState.iterate() as Iterable<{ key: Uint8Array, value: Uint8Array }>) {
      yield [new Uint8Array(row.key), new Uint8Array(row.value)]
    }
  }

  putMeta (key: string, value: Uint8Array): void {
    this.stmts.putMeta.run(key, value)
  }

  getMeta (key: string): Uint8Array | undefined {
    const row = this.stmts.getMeta.get(key) as { value: Uint8Array } | undefined
    return row === undefined ? undefined : new Uint8Array(row.value)
  }

  close (): void {
    if (this.db.isOpen) this.db.close()
  }
}

function toStored (row: unknown): StoredBlock | undefined {
  if (row === undefined || row === null) return undefined
  const r = row as { height: number, hash: Uint8Array, block: Uint8Array, certificate: Uint8Array }
  return { height: r.height, hash: new Uint8Array(r.hash), block: new Uint8Array(r.block), certificate: new Uint8Array(r.certificate) }
}
