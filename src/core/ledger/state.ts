import { utf8 } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import type { AuthMap } from '../auth-map/index.ts'
import { stateKey } from './state-keys.ts'
import type { Account, NameEntry } from './types.ts'

/** One write to the state map; `value` undefined deletes the key. */
export interface StateChange { key: Uint8Array, value: Uint8Array | undefined }

/** A value as the view holds it: decoded for handlers, encoded only when the block is done. */
interface Slot { value: unknown, present: boolean }

const absent: Slot = { value: undefined, present: false }

/**
 * A writable view over an immutable state map: reads see earlier writes, writes collect in an
 * overlay, and `commit()` folds them into a new map in one batch (each touched tree node is
 * hashed once per block, not once per write). `fork()` starts a nested view whose writes are
 * dropped unless merged, which makes every transaction all-or-nothing.
 *
 * Entries are kept decoded (and reads from the map cached by the root view), so a block that
 * touches one account a thousand times decodes it once and encodes it once. Values handed out
 * are shared: handlers treat them as immutable and write new objects.
 */
export class StateView {
  readonly base: AuthMap
  private readonly parent: StateView | undefined
  private readonly writes = new Map<string, Slot>()
  private readonly reads = new Map<string, Slot>()

  constructor (base: AuthMap, parent?: StateView) {
    this.base = base
    this.parent = parent
  }

  private slot (key: string): Slot {
    for (let view: StateView | undefined = this; view !== undefined; view = view.parent) {
      const w = view.writes.get(key)
      if (w !== undefined) return w
    }
    const root = this.root()
    let read = root.reads.get(key)
    if (read === undefined) {
      const raw = this.base.get(utf8.encode(key))
      read = raw === undefined ? absent : { value: decode(raw), present: true }
      root.reads.set(key, read)
    }
    return read
  }

  private root (): StateView {
    let view: StateView = this
    while (view.parent !== undefined) view = view.parent
    return view
  }

  has (key: string): boolean {
    return this.slot(key).present
  }

  /** The encoded value under a key (for entries without a typed accessor, and for proofs). */
  getRaw (key: string): Uint8Array | undefined {
    const s = this.slot(key)
    return s.present ? encode(s.value) : undefined
  }

  setRaw (key: string, value: Uint8Array | undefined): void {
    this.writes.set(key, value === undefined ? absent : { value: decode(value), present: true })
  }

  account (address: Uint8Array): Account {
    const s = this.slot(stateKey.account(address))
    return s.present ? s.value as Account : { balance: 0, nonce: 0 }
  }

  setAccount (address: Uint8Array, account: Account): void {
    this.writes.set(stateKey.account(address), { value: { balance: account.balance, nonce: account.nonce }, present: true })
  }

  name (name: string): NameEntry | undefined {
    const s = this.slot(stateKey.name(name))
    return s.present ? s.value as NameEntry : undefined
  }

  setName (entry: NameEntry): void {
    this.writes.set(stateKey.name(entry.name), { value: entry, present: true })
  }

  deleteName (name: string): void {
    this.writes.set(stateKey.name(name), absent)
  }

  /** A decoded entry of any other kind (providers, pins); treat it as immutable. */
  entry<T> (key: string): T | undefined {
    const s = this.slot(key)
    return s.present ? s.value as T : undefined
  }

  setEntry (key: string, value: unknown): void {
    this.writes.set(key, { value, present: true })
  }

  deleteEntry (key: string): void {
    this.writes.set(key, absent)
  }

  /** A nested view for one transaction. */
  fork (): StateView {
    return new StateView(this.base, this)
  }

  /** Moves this nested view's writes into its parent. */
  mergeIntoParent (): void {
    if (this.parent === undefined) throw new Error('mergeIntoParent on a root view')
    for (const [key, w] of this.writes) this.parent.writes.set(key, w)
    this.writes.clear()
  }

  /** The writes of this view (undefined value = delete), encoded, for the map and the store. */
  changes (): StateChange[] {
    return [...this.writes].map(([key, w]) => ({ key: utf8.encode(key), value: w.present ? encode(w.value) : undefined }))
  }

  /** The new state map with every write applied. */
  commit (changes: StateChange[] = this.changes()): AuthMap {
    if (this.parent !== undefined) throw new Error('commit on a nested view')
    if (changes.length === 0) return this.base
    return this.base.batch(changes)
  }
}
