/** CIDs on the wire of the block protocols: the binary CIDv1 form, shape-checked on the way in. */
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { CID } from '../../core/content/cid.ts'
import { maxCidBytes } from './constants.ts'

/** A binary CIDv1 from decoded wire data; throws `MalformedMessageError` naming the field. */
export function cidFromWire (v: unknown, field: string): CID {
  const raw = shape.bytes(v, field, undefined, maxCidBytes)
  let cid: CID
  try {
    cid = CID.decode(raw)
  } catch (err) {
    throw new MalformedMessageError(`${field} must be a binary CID: ${(err as Error).message}`)
  }
  if (cid.version !== 1) throw new MalformedMessageError(`${field} must be a CIDv1`)
  return cid
}

/** A bounded list of binary CIDs from decoded wire data; throws `MalformedMessageError`. */
export function cidListFromWire (v: unknown, field: string, maxLength: number): CID[] {
  return shape.list(v, field, maxLength).map((c, i) => cidFromWire(c, `${field}[${i}]`))
}
