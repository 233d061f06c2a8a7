/**
 * Whether a record may stand: its writer's signature, and the writer's right to write — it is
 * the name's owner, or holds a delegation the owner signed that covers the record's name and key
 * (and, for a new write, has not expired). Replicas check every record they take in, clients
 * every record they read.
 */
import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { addressOf, verifyBytes } from '../../foundations/crypto.ts'
import { InvalidSignatureError, NotOwnerError } from '../../foundations/errors.ts'
import { kvDelegationSigningBytes, kvRecordSigningBytes, type KvRecord } from './record.ts'

/** Options of `verifyKvRecord`. */
export interface VerifyKvOptions {
  /**
   * The verifier's clock (ms since the epoch), given when the record is a new write: a delegation
   * that expired before it is refused. Omitted for records read or synced, which were checked
   * when first written (a delegate's past writes stay valid after its delegation ends).
   */
  now?: number
}

/** Whether the writer's signature over the record is valid. Never throws. */
export function kvSignatureValid (record: KvRecord): boolean {
  try {
    return verifyBytes(record.writer, kvRecordSigningBytes(record), record.signature)
  } catch {
    return false
  }
}

/**
 * The address (20 bytes) whose authority the record claims: its writer's, or for a delegated
 * write the delegating owner's. It must equal the name's owner for the record to stand.
 */
export function kvAuthorityOf (record: KvRecord): Uint8Array {
  return addressOf(record.delegation?.owner ?? record.writer)
}

/**
 * Throws unless the record is validly signed and written with the authority of `owner` (the
 * name's owner address on the ledger): `InvalidSignatureError` for a bad record or delegation
 * signature, `NotOwnerError` for a writer that is neither the owner nor a delegate covering
 * this name and key (or, with `opts.now`, whose delegation has expired).
 */
export function verifyKvRecord (record: KvRecord, owner: Uint8Array, opts: VerifyKvOptions = {}): void {
  const where = `${record.name} key "${record.key.slice(0, 64)}"`
  if (!kvSignatureValid(record)) throw new InvalidSignatureError(`the record of ${where} (version ${record.version}) is not validly signed by its writer`)
  const d = record.delegation
  if (d === undefined) {
    if (!equalBytes(addressOf(record.writer), owner)) {
      throw new NotOwnerError(`the writer of ${where} (address ${toHex(addressOf(record.writer))}) does not own ${record.name} (owner ${toHex(owner)}) and shows no delegation; sign with the owner's key or attach a delegation`)
    }
    return
  }
  if (!equalBytes(addressOf(d.owner), owner)) {
    throw new NotOwnerError(`the delegation of ${where} is signed by address ${toHex(addressOf(d.owner))}, not by the owner of ${record.name} (${toHex(owner)}); ask the current owner for a new delegation`)
  }
  if (!verifyBytes(d.owner, kvDelegationSigningBytes(d), d.signature)) throw new InvalidSignatureError(`the delegation of ${where} is not validly signed by the owner's key`)
  if (!equalBytes(d.delegate, record.writer)) throw new NotOwnerError(`the delegation of ${where} is for another key than the record's writer`)
  if (d.name !== record.name) throw new NotOwnerError(`the delegation of ${where} is for the name ${d.name}, not ${record.name}`)
  if (!record.key.startsWith(d.prefix)) throw new NotOwnerError(`the delegation of ${where} covers only keys starting with "${d.prefix.slice(0, 64)}"`)
  if (opts.now !== undefined && opts.now > d.expiresAt) {
    throw new NotOwnerError(`the delegation of ${where} expired at ${new Date(d.expiresAt).toISOString()}; ask the owner for a new one`)
  }
}
