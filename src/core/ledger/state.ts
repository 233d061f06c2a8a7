import { toHex } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import type { AuthMap } from '../auth-map/index.ts'
import { stateKey } from './state-keys.ts'
import type { Account, NameEntry } from './types.ts'

/** One write to the state map; `value` undefined deletes the key. */
export interface StateChange { key: Uint8Array, value: Uint8Array | undefined }

/**
 * A writable view over an immutable state map: reads see earlier writes, writes collect in an
 * overlay, and `commit()` folds them into a new map in one batch (each touched tree node is
 * hashed once per block, not once per write). `fork()` starts a nested view whose writes are
 * dropped unless merged, which makes every transaction all-or-nothing.
 */
export class StateView {
  readonly base: AuthMap
  private readonly parent: StateView | undefined
  private readonly writes = new Map<string, { key: Uint8Array, value: Uint8Array | undefined }>()

  constructor (base: AuthMap, parent?: StateView) {
    this.base = base
    this.parent = parent
  }

  getRaw (key: Uint8Array): Uint8Array | undefined {
    const id = toHex(key)
    for (let view: StateView | undefined = this; view !== undefined; view = view.parent) {
      const w = view.writes.get(id)
      if (w !== undefined) return w.value
    }
    return this.base.get(key)
  }

  setRaw (key: Uint8Array, value: Uint8Array | undefined): void {
    this.writes.set(toHex(key), { key, value })
  }

  account (address: Uint8Array): Account {
    const raw = this.getRaw(stateKey.account(address))
    return raw === undefined ? { balance: 0, nonce: 0 } : decode<Account>(raw)
  }

  setAccount (address: Uint8Array, account: Account): void {
    this.setRaw(stateKey.account(address), encode({ balance: account.balance, nonce: account.nonce }))
  }

  name (name: string): NameEntry | undefined {
    const raw = this.getRaw(stateKey.name(name))
    return raw === undefined ? undefined : decode<NameEntry>(raw)
  }

  setName (entry: NameEntry): void {
    this.setRaw(stateKey.name(entry.name), encode(entry))
  }

  deleteName (name: string): void {
    this.setRaw(stateKey.name(name), undefined)
  }

  /** A nested view for one transaction. */
  fork (): StateView {
    return new StateView(this.base, this)
  }

  /** Moves this nested view's writes into its parent. */
  mergeIntoParent (): void {
    if (this.parent === undefined) throw new Error('mergeIntoParent on a root view')
    for (const [id, w] of this.writes) this.parent.writes.set(id, w)
    this.writes.clear()
  }

  /** The writes of this view (undefined value = delete), for persisting them beside the block. */
  changes (): StateChange[] {
    return [...this.writes.values()].map(w => ({ key: w.key, value: w.value }))
  }

  /** The new state map with every write applied. */
  commit (): AuthMap {
    if (this.parent !== undefined) throw new Error('commit on a nested view')
    if (this.writes.size === 0) return this.base
    return this.base.batch(this.changes())
  }
}
