/**
 * The local record of provider faults (decision 0004: wrong blocks, stalls, unreachable
 * providers), kept as JSON lines in one file bounded in size: when it passes `maxBytes`, the
 * oldest entries are dropped until half of it is left and the file is rewritten atomically. The
 * market turns these records into reputation; here they are only kept and counted.
 *
 * @example
 * ```ts
 * const log = new FaultLog(join(dataDir, 'faults.jsonl'))
 * const fetcher = new BlockFetcher({ host, providers, onFault: (f) => { log.append(f) } })
 * // …
 * await log.flush()
 * console.log(log.countsByProvider())
 * ```
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { appendFile } from 'node:fs/promises'
import { replaceFileDurably } from '../store/atomic-file.ts'
import { systemClock, type Clock } from '../../foundations/clock.ts'
import type { CID } from '../../core/content/cid.ts'
import { maxFaultDetailChars, maxFaultLogBytes } from '../storage/constants.ts'

/** What a provider did wrong. `malformed`: it broke the wire format. */
export type FaultKind = 'wrong-block' | 'stall' | 'unreachable' | 'malformed'

const faultKinds: readonly FaultKind[] = ['wrong-block', 'stall', 'unreachable', 'malformed']

/** One fault of one provider while fetching one block. */
export interface Fault {
  /** Peer id of the provider. */
  provider: string
  /** The block asked for. */
  cid: CID
  kind: FaultKind
  /** What exactly happened (an error message), when known. */
  detail?: string
}

/** A fault as logged. */
export interface FaultEntry {
  /** When it was recorded, in milliseconds since the Unix epoch. */
  time: number
  provider: string
  /** The block's CID string. */
  cid: string
  kind: FaultKind
  detail?: string
}

/** Faults of one provider, among those the log holds. */
export interface FaultCounts {
  total: number
  byKind: Record<FaultKind, number>
}

/** Options of a fault log. */
export interface FaultLogOptions {
  /** Bytes of the file before the oldest half is dropped (default `maxFaultLogBytes`). */
  maxBytes?: number
  clock?: Clock
}

/** Provider faults appended to a bounded JSON-lines file, also held in memory for queries. */
export class FaultLog {
  /** The log file. */
  readonly path: string
  readonly #maxBytes: number
  readonly #clock: Clock
  /** Entries with their line lengths, oldest first; bounded by `maxBytes` of lines. */
  #entries: Array<{ entry: FaultEntry, lineBytes: number }> = []
  #bytes = 0
  #written: Promise<void> = Promise.resolve()
  #writeError: unknown

  /**
   * Opens the log at `path` (a JSON-lines file, created on the first fault), loading the
   * entries it holds; lines that do not parse are dropped. The file is small (`maxBytes`), so
   * it is read at once.
   */
  constructor (path: string, opts: FaultLogOptions = {}) {
    this.path = path
    this.#maxBytes = opts.maxBytes ?? maxFaultLogBytes
    this.#clock = opts.clock ?? systemClock
    assert.ok(Number.isSafeInteger(this.#maxBytes) && this.#maxBytes >= 1024, 'maxBytes must be at least 1024')
    let text = ''
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const line of text.split('\n')) {
      const entry = parseEntry(line)
      if (entry !== undefined) this.#add(entry)
    }
    // Rewrite a file that is over its bound or holds lines that did not parse.
    if (this.#bytes > this.#maxBytes || Buffer.byteLength(text) !== this.#bytes) {
      this.#compact()
      this.#rewrite()
    }
  }

  /**
   * Records a fault (time-stamped now). The write to disk is queued and never throws here;
   * `flush` reports a failed write.
   */
  append (fault: Fault): void {
    const entry: FaultEntry = { time: this.#clock.now(), provider: fault.provider, cid: fault.cid.toString(), kind: fault.kind }
    if (fault.detail !== undefined) entry.detail = fault.detail.slice(0, maxFaultDetailChars)
    const line = this.#add(entry)
    if (this.#bytes > this.#maxBytes) {
      this.#compact()
      this.#rewrite()
    } else {
      this.#enqueue(async () => { await appendFile(this.path, line) })
    }
  }

  /** Resolves once every recorded fault is on disk; rejects with the first write error since the last flush. */
  async flush (): Promise<void> {
    await this.#written
    const err = this.#writeError
    this.#writeError = undefined
    if (err !== undefined) throw err
  }

  /** The newest `n` entries, newest first. */
  recent (n: number): FaultEntry[] {
    if (n <= 0) return []
    return this.#entries.slice(-n).map(e => e.entry).reverse()
  }

  /** Faults per provider among the entries held. */
  countsByProvider (): Map<string, FaultCounts> {
    const counts = new Map<string, FaultCounts>()
    for (const { entry } of this.#entries) {
      let c = counts.get(entry.provider)
      if (c === undefined) {
        c = { total: 0, byKind: { 'wrong-block': 0, stall: 0, unreachable: 0, malformed: 0 } }
        counts.set(entry.provider, c)
      }
      c.total += 1
      c.byKind[entry.kind] += 1
    }
    return counts
  }

  #add (entry: FaultEntry): string {
    const line = JSON.stringify(entry) + '\n'
    const lineBytes = Buffer.byteLength(line)
    this.#entries.push({ entry, lineBytes })
    this.#bytes += lineBytes
    return line
  }

  /** Drops the oldest entries until at most half of `maxBytes` is left. */
  #compact (): void {
    let drop = 0
    let bytes = this.#bytes
    while (drop < this.#entries.length && bytes > this.#maxBytes / 2) {
      bytes -= this.#entries[drop]?.lineBytes ?? 0
      drop += 1
    }
    this.#entries = this.#entries.slice(drop)
    this.#bytes = bytes
  }

  /** Queues a rewrite of the file with the entries held now (temporary file, then rename). */
  #rewrite (): void {
    const text = this.#entries.map(e => JSON.stringify(e.entry) + '\n').join('')
    this.#enqueue(async () => { await replaceFileDurably(this.path, text) })
  }

  #enqueue (write: () => Promise<void>): void {
    this.#written = this.#written.then(write).catch((err: unknown) => { this.#writeError ??= err })
  }
}

function parseEntry (line: string): FaultEntry | undefined {
  if (line.trim() === '') return undefined
  let v: unknown
  try {
    v = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const e = v as Record<string, unknown>
  if (typeof e.time !== 'number' || typeof e.provider !== 'string' || typeof e.cid !== 'string') return undefined
  if (!faultKinds.includes(e.kind as FaultKind)) return undefined
  const entry: FaultEntry = { time: e.time, provider: e.provider, cid: e.cid, kind: e.kind as FaultKind }
  if (typeof e.detail === 'string') entry.detail = e.detail.slice(0, maxFaultDetailChars)
  return entry
}
