import { equalBytes } from '../../../foundations/bytes.ts'
import { NameNotFoundError, NameTakenError, NotOwnerError, NameExpiredError } from '../../../foundations/errors.ts'
import { parseName } from '../../names/grammar.ts'
import { charge, checkTerms, effectiveExpiry, nameStatus, registrationPrice, subNameExpiry } from '../names.ts'
import { checkRecordsSize } from '../records.ts'
import type { TxHandler } from './context.ts'

/**
 * First come, first served: a free (or fully expired) root name goes to the first registration
 * that pays its price. A sub-name may only be created by the owner of its parent name.
 */
export const nameRegister: TxHandler<'name-register'> = (ctx, body) => {
  const { state, params, time, sender } = ctx
  const parsed = parseName(body.name)
  checkTerms(body.terms)
  const existing = state.name(parsed.name)
  if (existing !== undefined && nameStatus(effectiveExpiry(state, parsed, existing), time, params) !== 'expired') {
    throw new NameTakenError(`${parsed.name} is already registered`)
  }
  let expiresAt = time + params.termMs * body.terms
  if (parsed.parent !== undefined) {
    const parent = state.name(parsed.parent)
    if (parent === undefined) throw new NameNotFoundError(`parent name ${parsed.parent} is not registered`)
    const root = parsed.parent === parsed.root ? parent : state.name(parsed.root)
    if (root === undefined || nameStatus(root.expiresAt, time, params) !== 'active') throw new NameExpiredError(`${parsed.root} is not active`)
    if (parent !== root && nameStatus(subNameExpiry(parent, root), time, params) !== 'active') throw new NameExpiredError(`${parsed.parent} is not active`)
    if (!equalBytes(parent.owner, sender) && !equalBytes(root.owner, sender)) throw new NotOwnerError(`only the owner of ${parsed.parent} may create ${parsed.name}`)
    expiresAt = root.expiresAt
  }
  const records = body.records ?? {}
  checkRecordsSize(records)
  charge(state, sender, registrationPrice(parsed, body.terms, params))
  state.setName({
    name: parsed.name,
    owner: body.owner ?? sender,
    registeredAt: time,
    expiresAt,
    version: existing === undefined ? 1 : existing.version + 1,
    records
  })
}
