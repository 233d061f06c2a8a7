/**
 * Wire form and sign bytes of consensus messages, in the canonical CBOR of foundations/encoding.
 *
 * Wire (one CBOR map per message):
 * - vote:     `{ type: 'prevote' | 'precommit', height, round, hash: bytes(32) | null, validator: bytes(32), signature }`
 * - proposal: `{ type: 'proposal', height, round, validRound, value, signature }`
 *
 * Sign bytes:
 * - vote:     `encode({ chainId, type, height, round, hash })`
 * - proposal: `encode({ chainId, type: 'proposal', height, round, validRound, hash: hashValue(value) })`
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { maxMessageBytes, maxSignatureBytes, maxValueBytes, publicKeyBytes, valueHashBytes } from './constants.ts'
import type { ConsensusMessage, SignedProposal, SignedVote, VoteType } from './types.ts'

/** The bytes a validator signs for a vote. */
export function voteSignBytes (chainId: string, vote: Pick<SignedVote, 'type' | 'height' | 'round' | 'hash'>): Uint8Array {
  return encode({ chainId, type: vote.type, height: vote.height, round: vote.round, hash: vote.hash })
}

/** The bytes a proposer signs: they cover the value through its hash. */
export function proposalSignBytes (chainId: string, p: Pick<SignedProposal, 'height' | 'round' | 'validRound'>, hash: Uint8Array): Uint8Array {
  return encode({ chainId, type: 'proposal', height: p.height, round: p.round, validRound: p.validRound, hash })
}

/** The height a message is for. */
export function messageHeight (m: ConsensusMessage): number {
  return m.type === 'vote' ? m.vote.height : m.proposal.height
}

/** Encodes a message for the wire. */
export function encodeMessage (m: ConsensusMessage): Uint8Array {
  if (m.type === 'vote') {
    const v = m.vote
    return encode({ type: v.type, height: v.height, round: v.round, hash: v.hash, validator: v.validator, signature: v.signature })
  }
  const p = m.proposal
  return encode({ type: 'proposal', height: p.height, round: p.round, validRound: p.validRound, value: p.value, signature: p.signature })
}

/**
 * Decodes and shape-checks a message from the wire (signatures are checked by `step`, which knows
 * the validator set). Throws `MalformedMessageError` on anything else, including oversize input.
 */
export function decodeMessage (bytes: Uint8Array): ConsensusMessage {
  if (bytes.byteLength > maxMessageBytes) throw new MalformedMessageError(`consensus message is ${bytes.byteLength} bytes; the limit is ${maxMessageBytes}`)
  const raw = shape.record(decode(bytes), 'message')
  if (raw.type === 'proposal') {
    shape.onlyKeys(raw, 'proposal', ['type', 'height', 'round', 'validRound', 'value', 'signature'])
    return { type: 'proposal', proposal: checkProposal(raw) }
  }
  shape.onlyKeys(raw, 'vote', ['type', 'height', 'round', 'hash', 'validator', 'signature'])
  return { type: 'vote', vote: checkVote(raw) }
}

/** Shape of a vote from any untrusted source; returns a fresh, well-typed copy. */
export function checkVote (v: unknown): SignedVote {
  const raw = shape.record(v, 'vote')
  return {
    type: voteType(raw.type),
    height: shape.uint(raw.height, 'vote.height'),
    round: shape.uint(raw.round, 'vote.round'),
    hash: raw.hash === null ? null : shape.bytes(raw.hash, 'vote.hash', valueHashBytes),
    validator: shape.bytes(raw.validator, 'vote.validator', publicKeyBytes),
    signature: shape.bytes(raw.signature, 'vote.signature', undefined, maxSignatureBytes)
  }
}

/** Shape of a proposal from any untrusted source; returns a fresh, well-typed copy. */
export function checkProposal (v: unknown): SignedProposal {
  const raw = shape.record(v, 'proposal')
  const round = shape.uint(raw.round, 'proposal.round')
  const validRound = raw.validRound
  if (typeof validRound !== 'number' || !Number.isSafeInteger(validRound) || validRound < -1 || validRound >= round) {
    throw new MalformedMessageError('proposal.validRound must be -1 or a round below proposal.round')
  }
  return {
    height: shape.uint(raw.height, 'proposal.height'),
    round,
    validRound,
    value: shape.bytes(raw.value, 'proposal.value', undefined, maxValueBytes),
    signature: shape.bytes(raw.signature, 'proposal.signature', undefined, maxSignatureBytes)
  }
}

function voteType (v: unknown): VoteType {
  if (v === 'prevote' || v === 'precommit') return v
  throw new MalformedMessageError('message.type must be "proposal", "prevote" or "precommit"')
}
