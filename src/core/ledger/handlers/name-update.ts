import { InvalidTransactionError } from '../../../foundations/errors.ts'
import { controlledName } from '../names.ts'
import { checkRecordsSize } from '../records.ts'
import type { TxHandler } from './context.ts'

/** Replaces a name's record set; `ifVersion` makes it a compare-and-set. */
export const nameUpdate: TxHandler<'name-update'> = (ctx, body) => {
  const { entry } = controlledName(ctx.state, body.name, ctx.sender, ctx.time, ctx.params)
  if (body.ifVersion !== undefined && body.ifVersion !== entry.version) {
    throw new InvalidTransactionError(`${entry.name} is at version ${entry.version}, not ${body.ifVersion}`)
  }
  checkRecordsSize(body.records)
  ctx.state.setName({ ...entry, records: body.records, version: entry.version + 1 })
}
