/**
 * Lets a node send transactions from its own key (a provider's registration, heartbeats and
 * repairs): the next nonce counts its pending transactions, the fee is the chain minimum.
 */
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { encodeSignedTx, signTx } from '../../core/ledger/tx.ts'
import type { TxBody } from '../../core/ledger/types.ts'
import type { LedgerNode } from './ledger-node.ts'

export class NodeWallet {
  readonly address: Uint8Array
  private readonly ledger: LedgerNode
  private readonly key: KeyPair

  constructor (ledger: LedgerNode, key: KeyPair) {
    this.ledger = ledger
    this.key = key
    this.address = addressOf(key.publicKey)
  }

  get balance (): number {
    return this.ledger.view().account(this.address).balance
  }

  /** Signs and submits; returns the transaction id. Throws why the mempool refused it. */
  send (body: TxBody): string {
    const committed = this.ledger.view().account(this.address).nonce
    const nonce = this.ledger.mempool.nextNonce(this.address, committed)
    const tx = { chainId: this.ledger.chain.genesis.chainId, from: this.key.publicKey, nonce, fee: this.ledger.chain.genesis.params.minTxFee, body }
    return this.ledger.submit(encodeSignedTx(signTx(tx, this.key.secretKey)))
  }
}
