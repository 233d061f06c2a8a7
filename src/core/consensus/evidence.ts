/**
 * Equivocation evidence on the wire and in blocks: two signed votes by one validator for the same
 * height, round and type but different values. Anyone holding the validator set can check it.
 */
import { equalBytes } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import * as shape from '../../foundations/shape.ts'
import { checkVote, voteSignBytes } from './messages.ts'
import type { Equivocation, SignedVote, Validator } from './types.ts'

/** Encoded evidence: two votes with 64-byte signatures fit with room to spare. */
export const maxEvidenceBytes = 1024

/** Canonical bytes of evidence, as carried in a block's evidence list. */
export function encodeEvidence (evidence: Equivocation): Uint8Array {
  return encode({ first: voteFields(evidence.first), second: voteFields(evidence.second) })
}

/** Shape only; `evidenceId` checks what it proves. Throws `MalformedMessageError`. */
export function decodeEvidence (bytes: Uint8Array): Equivocation {
  if (bytes.byteLength > maxEvidenceBytes) throw new MalformedMessageError(`evidence is ${bytes.byteLength} bytes; the limit is ${maxEvidenceBytes}`)
  const raw = shape.record(decode(bytes), 'evidence')
  shape.onlyKeys(raw, 'evidence', ['first', 'second'])
  return { first: checkVote(raw.first), second: checkVote(raw.second) }
}

/**
 * The id of the offence `encoded` proves, or undefined when it proves nothing: both votes must be
 * validly signed by the same member of `validators`, for the same height, round and type, and
 * differ in what they vote for. The id names the offence (validator, height, round, type), not the
 * pair of votes, so one offence is punished once whichever two of its votes are shown.
 */
export function evidenceId (
  chainId: string,
  validators: readonly Validator[],
  encoded: Uint8Array,
  verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
): Uint8Array | undefined {
  let evidence: Equivocation
  try {
    evidence = decodeEvidence(encoded)
  } catch {
    return undefined
  }
  const { first: a, second: b } = evidence
  if (!equalBytes(a.validator, b.validator) || a.type !== b.type || a.height !== b.height || a.round !== b.round) return undefined
  if (a.hash === null ? b.hash === null : b.hash !== null && equalBytes(a.hash, b.hash)) return undefined
  if (!validators.some(v => equalBytes(v.publicKey, a.validator))) return undefined
  if (!verify(a.validator, voteSignBytes(chainId, a), a.signature) || !verify(b.validator, voteSignBytes(chainId, b), b.signature)) return undefined
  return sha256(encode({ chainId, validator: a.validator, height: a.height, round: a.round, type: a.type }))
}

function voteFields (v: SignedVote): Record<string, unknown> {
  return { type: v.type, height: v.height, round: v.round, hash: v.hash, validator: v.validator, signature: v.signature }
}
