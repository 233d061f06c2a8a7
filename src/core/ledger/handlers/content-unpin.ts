import { equalBytes, toHex } from '../../../foundations/bytes.ts'
import { NotFoundError, NotOwnerError } from '../../../foundations/errors.ts'
import { getPin } from '../providers.ts'
import { stateKey } from '../state-keys.ts'
import type { TxHandler } from './context.ts'

/** The pin's owner releases its holders; they may drop the blocks. */
export const contentUnpin: TxHandler<'content-unpin'> = (ctx, body) => {
  const pin = getPin(ctx.state, body.cid)
  if (pin === undefined) throw new NotFoundError(`${body.cid} is not pinned`)
  if (!equalBytes(pin.owner, ctx.sender)) throw new NotOwnerError(`${body.cid} is pinned by ${toHex(pin.owner)}, not by the sender`)
  ctx.state.deleteEntry(stateKey.pin(body.cid))
}
