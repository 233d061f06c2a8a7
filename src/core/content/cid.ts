/**
 * Content identifiers: CIDv1 with sha2-256 over a block's bytes, codec `raw` (0x55) for file
 * chunks and `dag-pb` (0x70) for file and directory nodes. Hashing is synchronous (Node's SHA-256).
 */
import { CID } from 'multiformats/cid'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { create as createDigest } from 'multiformats/hashes/digest'
import { equalBytes } from '../../foundations/bytes.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { sha256, hashBytes } from '../../foundations/hash.ts'
import { maxCidChars } from './constants.ts'

export { CID }

/** Multicodec of a raw block (a file chunk). */
export const rawCode = 0x55
/** Multicodec of a dag-pb block (a UnixFS file or directory node). */
export const dagPbCode = 0x70
/** Multihash code of sha2-256, the one hash Keynet writes and reads. */
export const sha256Code = 0x12

/** A block: its CID and the bytes that hash to it. */
export interface Block { cid: CID, bytes: Uint8Array }

/**
 * Fetches one block by CID and returns its bytes, already checked against the CID (a getter
 * never returns unverified bytes). Rejects with `NotFoundError`, `TimeoutError`, an abort, etc.
 */
export type BlockGetter = (cid: CID, signal?: AbortSignal) => Promise<Uint8Array>

const decoder = base32.decoder.or(base36.decoder).or(base58btc.decoder)

/**
 * Parses a CIDv1 string in base32 (`b…`), base36 (`k…`) or base58btc (`z…`). Throws
 * `MalformedMessageError` for anything else, for CIDv0 (`Qm…`) and for hashes other than sha2-256.
 */
export function parseCid (s: string): CID {
  if (typeof s !== 'string' || s.length === 0 || s.length > maxCidChars) {
    throw new MalformedMessageError(`a CID must be a string of 1 to ${maxCidChars} characters`)
  }
  if (s.startsWith('Qm')) throw new MalformedMessageError(`CIDv0 "${s}" is not accepted: use its CIDv1 form (\`ipfs cid format -v 1 -b base32 ${s}\`)`)
  let cid: CID
  try {
    cid = CID.parse(s, decoder)
  } catch (err) {
    throw new MalformedMessageError(`"${s.slice(0, 64)}" is not a CID (base32 "b…", base36 "k…" or base58btc "z…"): ${(err as Error).message}`)
  }
  if (cid.version !== 1) throw new MalformedMessageError(`"${s}" is a CIDv${cid.version}; only CIDv1 is accepted`)
  if (cid.multihash.code !== sha256Code || cid.multihash.size !== hashBytes) {
    throw new MalformedMessageError(`"${s}" uses hash 0x${cid.multihash.code.toString(16)}; only sha2-256 (0x12) is accepted`)
  }
  return cid
}

/** The CIDv1 (sha2-256) of `bytes` encoded with multicodec `code`. */
export function cidForBlock (code: number, bytes: Uint8Array): CID {
  return CID.create(1, code, createDigest(sha256Code, sha256(bytes)))
}

/** Whether `bytes` hash to `cid`; false for any hash other than sha2-256. */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  if (cid.multihash.code !== sha256Code) return false
  return equalBytes(sha256(bytes), cid.multihash.digest)
}
