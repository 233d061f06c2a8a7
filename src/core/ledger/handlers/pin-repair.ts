import { equalBytes, toHex } from '../../../foundations/bytes.ts'
import { InvalidTransactionError, NotFoundError } from '../../../foundations/errors.ts'
import { getPin, getProvider, isProviderLive, kindsOf } from '../providers.ts'
import { stateKey } from '../state-keys.ts'
import type { TxHandler } from './context.ts'

/**
 * A holder replaces another holder that has been silent for longer than the chain's provider
 * timeout. Only the first repair of a gone holder succeeds (afterwards it is no longer listed),
 * so however many holders notice, the replica is restored once.
 */
export const pinRepair: TxHandler<'pin-repair'> = (ctx, body) => {
  const pin = getPin(ctx.state, body.cid)
  if (pin === undefined) throw new NotFoundError(`${body.cid} is not pinned`)
  const listed = (a: Uint8Array): boolean => pin.holders.some(h => equalBytes(h, a))
  if (!listed(ctx.sender)) throw new InvalidTransactionError(`only a holder of ${body.cid} may repair it`)
  if (!listed(body.gone)) throw new InvalidTransactionError(`${toHex(body.gone)} no longer holds ${body.cid} (already repaired?)`)
  if (listed(body.replacement)) throw new InvalidTransactionError(`${toHex(body.replacement)} already holds ${body.cid}`)
  const gone = getProvider(ctx.state, body.gone)
  if (gone !== undefined && isProviderLive(gone, ctx.time, ctx.params)) {
    throw new InvalidTransactionError(`${toHex(body.gone)} was seen ${ctx.time - gone.lastSeen} ms ago; it may be replaced after ${ctx.params.providerTimeoutMs} ms of silence`)
  }
  const replacement = getProvider(ctx.state, body.replacement)
  if (replacement === undefined) throw new NotFoundError(`replacement ${toHex(body.replacement)} is not a registered provider`)
  if (!kindsOf(replacement).includes('storage')) throw new InvalidTransactionError(`replacement ${toHex(body.replacement)} does not offer storage`)
  if (!isProviderLive(replacement, ctx.time, ctx.params)) throw new InvalidTransactionError(`replacement ${toHex(body.replacement)} is not live`)
  ctx.state.setEntry(stateKey.pin(body.cid), {
    ...pin,
    holders: pin.holders.map(h => equalBytes(h, body.gone) ? body.replacement : h),
    repairs: pin.repairs + 1
  })
}
