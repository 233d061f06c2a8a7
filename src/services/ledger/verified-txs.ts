import { maxVerifiedTxs } from '../../foundations/limits.ts'
import { decodeSignedTx, txIdHex, verifyTxSignature } from '../../core/ledger/tx.ts'
import type { SignedTx } from '../../core/ledger/types.ts'

/**
 * Transactions whose signature this node has already checked, by id (the hash of the exact
 * signed bytes, so other bytes never match an entry). Mempool admission and block execution
 * share it: a transaction checked when it entered the mempool is neither decoded nor checked
 * again when a block holding it executes, and one first met in a peer's proposal is not checked
 * again when gossip later delivers it. Bounded: past `limit` the oldest entry is dropped, which
 * costs at most a repeated check, never a skipped one.
 */
export class VerifiedTxs {
  readonly limit: number
  private readonly byId = new Map<string, SignedTx>()
  private checks = 0

  constructor (limit = maxVerifiedTxs) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`a verified-transaction limit must be a positive integer, not ${limit}`)
    this.limit = limit
  }

  get size (): number { return this.byId.size }

  /** Signature checks actually performed (not answered from memory) since this map was made. */
  get signatureChecks (): number { return this.checks }

  has (encoded: Uint8Array): boolean {
    return this.byId.has(txIdHex(encoded))
  }

  /** The checked form of the transaction with this hex id, if remembered. */
  known (id: string): SignedTx | undefined {
    return this.byId.get(id)
  }

  /**
   * The decoded, signature-checked form of `encoded`. Bytes seen before are answered from
   * memory; others are decoded (or taken from `decoded`, which must come from these bytes) and
   * checked, throwing `MalformedMessageError` or `InvalidSignatureError` as the ledger would.
   */
  signedTx (encoded: Uint8Array, decoded?: SignedTx): SignedTx {
    const id = txIdHex(encoded)
    const known = this.byId.get(id)
    if (known !== undefined) return known
    const signed = decoded ?? decodeSignedTx(encoded)
    this.checks++
    verifyTxSignature(signed)
    if (this.byId.size >= this.limit) {
      const oldest = this.byId.keys().next().value
      if (oldest !== undefined) this.byId.delete(oldest)
    }
    this.byId.set(id, signed)
    return signed
  }
}
