import { equalBytes, toHex } from '../../../foundations/bytes.ts'
import { InvalidTransactionError, NotFoundError, NotOwnerError } from '../../../foundations/errors.ts'
import { controlledName } from '../names.ts'
import { getPin, getProvider, kindsOf } from '../providers.ts'
import { checkRecordsSize } from '../records.ts'
import { stateKey } from '../state-keys.ts'
import type { TxHandler } from './context.ts'

/**
 * Records where a DAG is held and the policy its holders keep; with `name`, also points the
 * name's `content` record at it, in the same transaction. Pinning the same CID again (the
 * owner re-publishing) replaces the holders and policy.
 */
export const contentPin: TxHandler<'content-pin'> = (ctx, body) => {
  const existing = getPin(ctx.state, body.cid)
  if (existing !== undefined && !equalBytes(existing.owner, ctx.sender)) {
    throw new NotOwnerError(`${body.cid} is already pinned by ${toHex(existing.owner)}; its holders serve it, so point your name at it with name update`)
  }
  if (body.holders.length < body.replicas) throw new InvalidTransactionError(`${body.holders.length} holders cannot keep ${body.replicas} replicas`)
  for (const h of body.holders) {
    const provider = getProvider(ctx.state, h)
    if (provider === undefined) throw new NotFoundError(`holder ${toHex(h)} is not a registered provider`)
    if (!kindsOf(provider).includes('storage')) throw new InvalidTransactionError(`holder ${toHex(h)} does not offer storage`)
  }
  if (body.name !== undefined) {
    const { entry } = controlledName(ctx.state, body.name, ctx.sender, ctx.time, ctx.params)
    const records = { ...entry.records, content: { cid: body.cid, replicas: body.replicas, regions: body.regions } }
    checkRecordsSize(records)
    ctx.state.setName({ ...entry, records, version: entry.version + 1 })
  }
  ctx.state.setEntry(stateKey.pin(body.cid), {
    cid: body.cid,
    owner: ctx.sender,
    replicas: body.replicas,
    regions: body.regions,
    holders: body.holders,
    ...(body.name === undefined ? (existing?.name === undefined ? {} : { name: existing.name }) : { name: body.name }),
    pinnedAt: ctx.time,
    repairs: existing?.repairs ?? 0
  })
}
