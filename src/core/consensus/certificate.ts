/**
 * Commit certificates: the >2/3 precommits that decided a height, as carried by `commit` actions,
 * stored with blocks, served by block sync and checked by light clients.
 */
import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import * as shape from '../../foundations/shape.ts'
import { maxValidators } from './constants.ts'
import { checkVote, voteSignBytes } from './messages.ts'
import type { SignedVote, Validator } from './types.ts'
import { isQuorum, validatorSet } from './validators.ts'

/**
 * True when `certificate` proves that `hash` was decided at `height`: precommits for `hash`, all
 * of one round, from distinct members of `validators` holding more than 2/3 of the power, each
 * with a valid signature. Any other entry (wrong type, height, round or hash, a stranger, a
 * duplicate, a bad signature) makes it false. Never throws on malformed certificates.
 */
export function verifyCommitCertificate (
  chainId: string,
  validators: readonly Validator[],
  height: number,
  hash: Uint8Array,
  certificate: readonly SignedVote[],
  verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
): boolean {
  if (certificate.length === 0 || certificate.length > Math.min(validators.length, maxValidators)) return false
  const set = validatorSet(validators)
  const round = certificate[0]?.round
  const seen = new Set<string>()
  let power = 0
  for (const entry of certificate) {
    let vote: SignedVote
    try {
      vote = checkVote(entry)
    } catch {
      return false
    }
    if (vote.type !== 'precommit' || vote.height !== height || vote.round !== round) return false
    if (vote.hash === null || !equalBytes(vote.hash, hash)) return false
    const key = toHex(vote.validator)
    const index = set.indexByKey.get(key)
    if (index === undefined || seen.has(key)) return false
    seen.add(key)
    if (!verify(vote.validator, voteSignBytes(chainId, vote), vote.signature)) return false
    power += set.validators[index]?.power ?? 0
  }
  return isQuorum(power, set.totalPower)
}

/** Canonical bytes of a certificate, as stored with a block and served by sync. */
export function encodeCertificate (certificate: readonly SignedVote[]): Uint8Array {
  return encode(certificate.map(v => ({ type: v.type, height: v.height, round: v.round, hash: v.hash, validator: v.validator, signature: v.signature })))
}

/** Shape-checks a certificate (not its signatures); throws `MalformedMessageError`. */
export function decodeCertificate (bytes: Uint8Array): SignedVote[] {
  return shape.list(decode(bytes), 'certificate', maxValidators).map(checkVote)
}
