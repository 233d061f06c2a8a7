import { controlledName } from '../names.ts'
import type { TxHandler } from './context.ts'

/** Hands a name to another address; also how an owner rotates to a new key. */
export const nameTransfer: TxHandler<'name-transfer'> = (ctx, body) => {
  const { entry } = controlledName(ctx.state, body.name, ctx.sender, ctx.time, ctx.params)
  ctx.state.setName({ ...entry, owner: body.to, version: entry.version + 1 })
}
