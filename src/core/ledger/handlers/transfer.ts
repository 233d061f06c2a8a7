import { InsufficientFundsError, InvalidTransactionError } from '../../../foundations/errors.ts'
import type { TxHandler } from './context.ts'

/** Moves `amount` from the sender to `to`. */
export const transfer: TxHandler<'transfer'> = (ctx, body) => {
  if (body.amount === 0) throw new InvalidTransactionError('transfer amount must be positive')
  const from = ctx.state.account(ctx.sender)
  if (from.balance < body.amount) throw new InsufficientFundsError(`balance ${from.balance} is below the amount ${body.amount}`)
  ctx.state.setAccount(ctx.sender, { ...from, balance: from.balance - body.amount })
  const to = ctx.state.account(body.to)
  const balance = to.balance + body.amount
  if (!Number.isSafeInteger(balance)) throw new InvalidTransactionError('recipient balance would overflow')
  ctx.state.setAccount(body.to, { ...to, balance })
}
