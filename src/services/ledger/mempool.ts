import { toHex } from '../../foundations/bytes.ts'
import { BadNonceError, FeeTooLowError, InsufficientFundsError, MempoolFullError, WrongChainError } from '../../foundations/errors.ts'
import { maxMempoolTxs, maxMempoolTxsPerSender, maxNonceGap, maxPendingAgeMs } from '../../foundations/limits.ts'
import { decodeSignedTx, senderOf, txIdHex } from '../../core/ledger/tx.ts'
import type { SignedTx } from '../../core/ledger/types.ts'
import { VerifiedTxs } from './verified-txs.ts'

interface Pending { id: string, encoded: Uint8Array, signed: SignedTx, sender: string, nonce: number, addedAt: number }

export interface MempoolInit {
  chainId: string
  minTxFee: number
  /** The committed state of an account: its next nonce and its balance. */
  account: (address: Uint8Array) => { nonce: number, balance: number }
  /** Milliseconds, for expiring transactions that can never be included. */
  now: () => number
  /** Signature checks this node remembers, shared with block execution (a fresh one if absent). */
  verifiedTxs?: VerifiedTxs
}

/**
 * Transactions waiting for a block. Each is decoded and its signature checked once, on entry,
 * through the node's `VerifiedTxs`, which block building and validation share. Bounded in total and per
 * sender; when full, new transactions are refused (the sender retries) rather than old ones
 * dropped, so an accepted transaction is never silently lost.
 */
export class Mempool {
  private readonly init: MempoolInit
  readonly verifiedTxs: VerifiedTxs
  private readonly byId = new Map<string, Pending>()
  private readonly bySender = new Map<string, Map<number, Pending>>()

  constructor (init: MempoolInit) {
    this.init = init
    this.verifiedTxs = init.verifiedTxs ?? new VerifiedTxs()
  }

  get size (): number { return this.byId.size }

  has (encoded: Uint8Array): boolean {
    return this.byId.has(txIdHex(encoded))
  }

  /**
   * Admits a transaction or throws the reason it cannot be admitted; returns its id. A caller
   * that already decoded it passes that along as `decoded`. The signature is checked last, after
   * the cheap checks, and only if `verifiedTxs` has not checked these bytes before.
   */
  add (encoded: Uint8Array, decoded?: SignedTx): string {
    const id = txIdHex(encoded)
    if (this.byId.has(id)) return id
    let signed = decoded ?? decodeSignedTx(encoded)
    const { tx } = signed
    if (tx.chainId !== this.init.chainId) throw new WrongChainError(`transaction is for chain "${tx.chainId}", this node runs "${this.init.chainId}"`)
    if (tx.fee < this.init.minTxFee) throw new FeeTooLowError(`fee ${tx.fee} is below the minimum ${this.init.minTxFee}`)
    const address = senderOf(tx)
    const account = this.init.account(address)
    const next = account.nonce
    if (tx.nonce < next) throw new BadNonceError(`nonce ${tx.nonce} was already used; the account's next nonce is ${next}`)
    if (tx.nonce >= next + maxNonceGap) throw new BadNonceError(`nonce ${tx.nonce} is too far ahead of the account's next nonce ${next}`)
    const sender = toHex(address)
    const queue = this.bySender.get(sender)
    if (queue?.has(tx.nonce) === true) throw new BadNonceError(`another pending transaction already uses nonce ${tx.nonce}`)
    if (this.byId.size >= maxMempoolTxs) throw new MempoolFullError(`the mempool holds ${maxMempoolTxs} transactions; retry shortly`)
    if ((queue?.size ?? 0) >= maxMempoolTxsPerSender) throw new MempoolFullError(`this sender has ${maxMempoolTxsPerSender} pending transactions; wait for some to commit`)
    // Every pending transaction must be able to pay its fee, so unfunded keys cannot fill the pool.
    const owed = tx.fee * ((queue?.size ?? 0) + 1)
    if (account.balance < owed) throw new InsufficientFundsError(`balance ${account.balance} cannot pay the fees of this and the sender's ${queue?.size ?? 0} pending transactions`)
    signed = this.verifiedTxs.signedTx(encoded, signed)
    const pending: Pending = { id, encoded, signed, sender, nonce: tx.nonce, addedAt: this.init.now() }
    this.byId.set(id, pending)
    if (queue === undefined) this.bySender.set(sender, new Map([[tx.nonce, pending]]))
    else queue.set(tx.nonce, pending)
    return id
  }

  /** The nonce a sender's next transaction should use, counting its pending ones. */
  nextNonce (address: Uint8Array, committed: number): number {
    const queue = this.bySender.get(toHex(address))
    let nonce = committed
    while (queue?.has(nonce) === true) nonce++
    return nonce
  }

  hasId (id: string): boolean {
    return this.byId.has(id)
  }

  /** The bytes of a pending transaction by its hex id, if this mempool holds it. */
  encodedOf (id: string): Uint8Array | undefined {
    return this.byId.get(id)?.encoded
  }

  /** The already-verified form of a pending transaction, if this mempool holds it. */
  verified (encoded: Uint8Array): SignedTx | undefined {
    return this.byId.get(txIdHex(encoded))?.signed
  }

  /**
   * The decoded, signature-checked form of any transaction, for block building and execution
   * (`decoded`, if given, must come from these bytes):
   * the pending copy, else one `verifiedTxs` remembers, else decoded and checked now (throwing
   * as the ledger would). The pending copy comes first because a deep mempool holds more
   * transactions than the bounded memory of checks.
   */
  checkedTx (encoded: Uint8Array, decoded?: SignedTx): SignedTx {
    return this.verified(encoded) ?? this.verifiedTxs.signedTx(encoded, decoded)
  }

  /** Whether any pending transaction could go into the next block (its sender's next nonce is here). */
  hasCandidates (): boolean {
    for (const queue of this.bySender.values()) {
      const first = queue.values().next().value
      if (first !== undefined && queue.has(this.init.account(senderOf(first.signed.tx)).nonce)) return true
    }
    return false
  }

  /**
   * Candidates for the next block: senders take turns, each contributing its transactions in
   * nonce order from its committed nonce while they are contiguous.
   */
  *candidates (limit: number): Iterable<Uint8Array> {
    const runs: Pending[][] = []
    for (const queue of this.bySender.values()) {
      const first = queue.values().next().value
      if (first === undefined) continue
      let nonce = this.init.account(senderOf(first.signed.tx)).nonce
      const run: Pending[] = []
      for (let p = queue.get(nonce); p !== undefined; p = queue.get(++nonce)) run.push(p)
      if (run.length > 0) runs.push(run)
    }
    let given = 0
    for (let i = 0; given < limit; i++) {
      let any = false
      for (const run of runs) {
        const p = run[i]
        if (p === undefined) continue
        any = true
        yield p.encoded
        if (++given >= limit) return
      }
      if (!any) return
    }
  }

  /** Drops transactions a committed block used up or made stale (nonce below the account's). */
  pruneCommitted (committed: Uint8Array[]): void {
    const touched = new Set<string>()
    for (const encoded of committed) {
      const id = txIdHex(encoded)
      const p = this.byId.get(id)
      if (p !== undefined) { touched.add(p.sender); continue }
      // A committed transaction was checked (so decoded) when its block executed here.
      const signed = this.verifiedTxs.known(id)
      if (signed !== undefined) { touched.add(toHex(senderOf(signed.tx))); continue }
      try { touched.add(toHex(senderOf(decodeSignedTx(encoded).tx))) } catch { /* not ours to judge */ }
    }
    for (const sender of touched) {
      const queue = this.bySender.get(sender)
      if (queue === undefined) continue
      const first = queue.values().next().value
      if (first === undefined) { this.bySender.delete(sender); continue }
      const next = this.init.account(senderOf(first.signed.tx)).nonce
      for (const [nonce, p] of queue) {
        if (nonce < next) { queue.delete(nonce); this.byId.delete(p.id) }
      }
      if (queue.size === 0) this.bySender.delete(sender)
    }
  }

  /**
   * Drops transactions pending longer than `maxPendingAgeMs`: ones stuck behind a nonce gap that
   * was never filled would otherwise hold mempool space for ever. Returns how many were dropped.
   */
  expire (): number {
    const cutoff = this.init.now() - maxPendingAgeMs
    let dropped = 0
    for (const p of this.byId.values()) {
      if (p.addedAt < cutoff) { this.remove(p.encoded); dropped++ }
    }
    return dropped
  }

  /** Drops a transaction that can no longer apply (e.g. its name was taken meanwhile). */
  remove (encoded: Uint8Array): void {
    const p = this.byId.get(txIdHex(encoded))
    if (p === undefined) return
    this.byId.delete(p.id)
    const queue = this.bySender.get(p.sender)
    queue?.delete(p.nonce)
    if (queue?.size === 0) this.bySender.delete(p.sender)
  }
}
