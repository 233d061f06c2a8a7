import { InvalidTransactionError } from '../../../foundations/errors.ts'
import { charge, checkTerms, controlledName, registrationPrice } from '../names.ts'
import type { TxHandler } from './context.ts'

/** Extends a root name by whole terms; allowed in the grace period after expiry, by the owner. */
export const nameRenew: TxHandler<'name-renew'> = (ctx, body) => {
  checkTerms(body.terms)
  const { parsed, entry } = controlledName(ctx.state, body.name, ctx.sender, ctx.time, ctx.params, true)
  if (parsed.parent !== undefined) throw new InvalidTransactionError(`${parsed.name} is a sub-name; renew ${parsed.root} instead`)
  charge(ctx.state, ctx.sender, registrationPrice(parsed, body.terms, ctx.params))
  const from = Math.max(entry.expiresAt, 0)
  ctx.state.setName({ ...entry, expiresAt: from + ctx.params.termMs * body.terms, version: entry.version + 1 })
}
