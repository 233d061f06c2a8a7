import { toHex } from '../../../foundations/bytes.ts'
import { NotFoundError } from '../../../foundations/errors.ts'
import { getProvider } from '../providers.ts'
import { stateKey } from '../state-keys.ts'
import type { TxHandler } from './context.ts'

/** A registered provider says it is alive (and may move to new addresses). */
export const providerHeartbeat: TxHandler<'provider-heartbeat'> = (ctx, body) => {
  const entry = getProvider(ctx.state, ctx.sender)
  if (entry === undefined) throw new NotFoundError(`${toHex(ctx.sender)} is not a registered provider: send provider-register first`)
  ctx.state.setEntry(stateKey.provider(ctx.sender), { ...entry, addrs: body.addrs ?? entry.addrs, lastSeen: ctx.time })
}
