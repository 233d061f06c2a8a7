import type { StateView } from '../state.ts'
import type { ChainParams, TxBody } from '../types.ts'

/** What a transaction handler sees: the state, the block's height and time, and the sender. */
export interface TxContext {
  state: StateView
  chainId: string
  height: number
  /** Ledger time of the block (ms). */
  time: number
  params: ChainParams
  /** Address of the signer. */
  sender: Uint8Array
  /** Public key of the signer. */
  senderKey: Uint8Array
  /** Hash of the parent block (absent in a pre-check outside a block). */
  parentHash?: Uint8Array
}

export type TxHandler<T extends TxBody['type']> = (ctx: TxContext, body: Extract<TxBody, { type: T }>) => void
