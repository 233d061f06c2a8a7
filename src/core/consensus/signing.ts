/**
 * The double-sign guard. A validator signs at strictly increasing (height, round, step); the
 * `SigningRecord` holds the last one and is persisted before what it covers leaves the node, so a
 * restarted validator resumes from it and never signs a conflicting message.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { maxValidators, maxValueBytes, maxVotesPerValidator, valueHashBytes } from './constants.ts'
import { checkVote } from './messages.ts'
import type { Lock, SignedVote, SigningRecord, SignStep } from './types.ts'

/** The record of a validator that has never signed. */
export const emptySigningRecord: SigningRecord = { height: 0, round: 0, step: null, votes: [], proposalHash: null, lock: null }

const stepRank: Record<SignStep, number> = { propose: 1, prevote: 2, precommit: 3 }

/** True when signing at (height, round, step) comes strictly after everything in `record`. */
export function canSign (record: SigningRecord, height: number, round: number, step: SignStep): boolean {
  if (height !== record.height) return height > record.height
  if (round !== record.round) return round > record.round
  return stepRank[step] > (record.step === null ? 0 : stepRank[record.step])
}

/** The record after signing a proposal of the value with `hash`. */
export function recordProposal (record: SigningRecord, height: number, round: number, hash: Uint8Array, lock: Lock | null): SigningRecord {
  return { height, round, step: 'propose', votes: recentVotes(record, height, round), proposalHash: hash, lock }
}

/** The record after signing `vote`; `lock` is the lock held once the vote is cast. */
export function recordVote (record: SigningRecord, vote: SignedVote, lock: Lock | null): SigningRecord {
  const sameRound = record.height === vote.height && record.round === vote.round
  return {
    height: vote.height,
    round: vote.round,
    step: vote.type,
    votes: [...recentVotes(record, vote.height, vote.round), vote],
    proposalHash: sameRound ? record.proposalHash : null,
    lock
  }
}

/**
 * Own votes worth keeping when signing at (height, round): those of this round and the one
 * before. A validator reaches round r only after a quorum precommitted in r - 1, so peers still in
 * r - 1 may need exactly its precommit there to time out and follow.
 */
function recentVotes (record: SigningRecord, height: number, round: number): readonly SignedVote[] {
  return record.votes.filter(v => v.height === height && v.round >= round - 1)
}

/** Canonical bytes of a record, for the driver's store. */
export function encodeSigningRecord (record: SigningRecord): Uint8Array {
  return encode({
    height: record.height,
    round: record.round,
    step: record.step,
    votes: record.votes.map(voteFields),
    proposalHash: record.proposalHash,
    lock: record.lock === null ? null : { round: record.lock.round, hash: record.lock.hash, value: record.lock.value, pol: record.lock.pol.map(voteFields) }
  })
}

/** Inverse of `encodeSigningRecord`; throws `MalformedMessageError` on a damaged record. */
export function decodeSigningRecord (bytes: Uint8Array): SigningRecord {
  const raw = shape.record(decode(bytes), 'signingRecord')
  shape.onlyKeys(raw, 'signingRecord', ['height', 'round', 'step', 'votes', 'proposalHash', 'lock'])
  const step = raw.step
  if (step !== null && step !== 'propose' && step !== 'prevote' && step !== 'precommit') throw new MalformedMessageError('signingRecord.step is not a signing step')
  const lockRaw = raw.lock === null ? null : shape.record(raw.lock, 'signingRecord.lock')
  return {
    height: shape.uint(raw.height, 'signingRecord.height'),
    round: shape.uint(raw.round, 'signingRecord.round'),
    step,
    votes: shape.list(raw.votes, 'signingRecord.votes', 4).map(checkVote),
    proposalHash: raw.proposalHash === null ? null : shape.bytes(raw.proposalHash, 'signingRecord.proposalHash', valueHashBytes),
    lock: lockRaw === null ? null : decodeLock(lockRaw)
  }
}

function decodeLock (raw: Record<string, unknown>): Lock {
  shape.onlyKeys(raw, 'signingRecord.lock', ['round', 'hash', 'value', 'pol'])
  return {
    round: shape.uint(raw.round, 'lock.round'),
    hash: shape.bytes(raw.hash, 'lock.hash', valueHashBytes),
    value: shape.bytes(raw.value, 'lock.value', undefined, maxValueBytes),
    pol: shape.list(raw.pol, 'lock.pol', maxValidators * maxVotesPerValidator).map(checkVote)
  }
}

function voteFields (v: SignedVote): Record<string, unknown> {
  return { type: v.type, height: v.height, round: v.round, hash: v.hash, validator: v.validator, signature: v.signature }
}
