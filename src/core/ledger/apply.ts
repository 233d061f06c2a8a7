import { BadNonceError, FeeTooLowError, InsufficientFundsError, KeynetError, WrongChainError } from '../../foundations/errors.ts'
import { nameRegister } from './handlers/name-register.ts'
import { nameRenew } from './handlers/name-renew.ts'
import { nameTransfer } from './handlers/name-transfer.ts'
import { nameUpdate } from './handlers/name-update.ts'
import { transfer } from './handlers/transfer.ts'
import { providerRegister } from './handlers/provider-register.ts'
import { providerHeartbeat } from './handlers/provider-heartbeat.ts'
import { contentPin } from './handlers/content-pin.ts'
import { contentUnpin } from './handlers/content-unpin.ts'
import { pinRepair } from './handlers/pin-repair.ts'
import type { TxContext } from './handlers/context.ts'
import { runMarketBody } from './market/index.ts'
import type { StateView } from './state.ts'
import { senderOf } from './tx.ts'
import type { ChainParams, Tx, TxBody } from './types.ts'

/** Where a block's transactions run and whom their fees pay. */
export interface BlockEnv {
  chainId: string
  height: number
  time: number
  params: ChainParams
  /** Address of the proposer, credited with the fees. */
  feeRecipient: Uint8Array
  /** Hash of the block this one builds on (the market's randomness); absent in a pre-check outside a block. */
  parentHash?: Uint8Array
}

/**
 * Applies one transaction whose signature was already checked, in two stages. The admission
 * checks (chain, fee, nonce, balance for the fee) throw, and a transaction failing them cannot
 * enter a block. The body then runs all-or-nothing: if it fails (say the name was taken a moment
 * earlier) the fee is still paid and the nonce used, and the error is returned as the
 * transaction's result — so one failed transaction never blocks the sender's later ones.
 */
export function applyTx (state: StateView, tx: Tx, env: BlockEnv): KeynetError | undefined {
  if (tx.chainId !== env.chainId) throw new WrongChainError(`transaction is for chain "${tx.chainId}", this is "${env.chainId}"`)
  if (tx.fee < env.params.minTxFee) throw new FeeTooLowError(`fee ${tx.fee} is below the minimum ${env.params.minTxFee}`)
  const sender = senderOf(tx)
  const view = state.fork()
  const account = view.account(sender)
  if (tx.nonce !== account.nonce) throw new BadNonceError(`nonce ${tx.nonce} is not the account's next nonce ${account.nonce}`)
  if (account.balance < tx.fee) throw new InsufficientFundsError(`balance ${account.balance} cannot pay the fee ${tx.fee}`)
  view.setAccount(sender, { balance: account.balance - tx.fee, nonce: account.nonce + 1 })
  const recipient = view.account(env.feeRecipient)
  view.setAccount(env.feeRecipient, { ...recipient, balance: recipient.balance + tx.fee })
  view.mergeIntoParent()
  const bodyView = state.fork()
  try {
    runBody({ state: bodyView, chainId: env.chainId, height: env.height, time: env.time, params: env.params, sender, senderKey: tx.from, ...(env.parentHash === undefined ? {} : { parentHash: env.parentHash }) }, tx.body)
  } catch (err) {
    if (err instanceof KeynetError) return err
    throw err
  }
  bodyView.mergeIntoParent()
  return undefined
}

function runBody (ctx: TxContext, body: TxBody): void {
  switch (body.type) {
    case 'transfer': return transfer(ctx, body)
    case 'name-register': return nameRegister(ctx, body)
    case 'name-update': return nameUpdate(ctx, body)
    case 'name-transfer': return nameTransfer(ctx, body)
    case 'name-renew': return nameRenew(ctx, body)
    case 'provider-register': return providerRegister(ctx, body)
    case 'provider-heartbeat': return providerHeartbeat(ctx, body)
    case 'content-pin': return contentPin(ctx, body)
    case 'content-unpin': return contentUnpin(ctx, body)
    case 'pin-repair': return pinRepair(ctx, body)
    default: return runMarketBody(ctx, body)
  }
}
