import { toHex } from '../../../../foundations/bytes.ts'
import { MalformedMessageError } from '../../../../foundations/errors.ts'
import { addStake } from '../../../market/stake.ts'
import { marketKey } from '../keys.ts'
import { debit, getStake, linkOperator } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/** Moves funds from the sender into an operator's stake; the sender becomes one of its stake sources. */
export const stake: MarketHandler<'stake'> = (ctx, body) => {
  if (body.amount <= 0) throw new MalformedMessageError('a stake amount must be positive')
  debit(ctx.state, ctx.sender, body.amount, 'the stake')
  const operator = toHex(body.operator)
  const next = addStake(getStake(ctx.state, operator), body.amount, toHex(ctx.sender))
  ctx.state.setEntry(marketKey.stake(operator), next)
  linkOperator(ctx.state, operator, next.sources.map(s => `src:${s}`))
}
