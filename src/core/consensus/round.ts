/**
 * What a validator does on its own initiative within a round (Algorithm 1, arXiv:1807.04938):
 * start a round, propose, vote, schedule timeouts. Every signature passes the double-sign guard
 * and is preceded by a `persist-signing` action.
 */
import assert from 'node:assert/strict'
import { maxTimeoutMs, valueHashBytes } from './constants.ts'
import { pruneLog, storeOwnVote, storeProposal } from './log.ts'
import { proposalSignBytes, voteSignBytes } from './messages.ts'
import { proposerIndex } from './proposer.ts'
import { canSign, recordProposal, recordVote } from './signing.ts'
import { freshRoundFlags, type ConsensusState } from './state.ts'
import { emit, emitSigned, type Transition } from './transition.ts'
import type { SignedVote, TimeoutStep, VoteType } from './types.ts'
import { hashKey } from './votes.ts'

/** StartRound(round), lines 11–21. */
export function startRound (t: Transition, round: number): void {
  const s = t.s
  t.s = { ...s, round, step: 'propose', flags: freshRoundFlags, awaitingValue: false, log: pruneLog(s, round) }
  // The paper schedules this timeout only on non-proposers; scheduling it everywhere also covers
  // a driver that never answers `need-value`, and is stale (ignored) once the proposer prevotes.
  scheduleTimeout(t, 'propose')
  if (!isOwnTurn(t.s)) return
  if (t.s.validValue !== null) {
    propose(t, t.s.validValue, t.s.validRound)
  } else if (canSign(t.s.signing, t.s.height, round, 'propose')) {
    t.s = { ...t.s, awaitingValue: true }
    emit(t, { type: 'need-value', height: t.s.height, round })
  }
}

/** Lines 14–17: sign and broadcast a proposal; it then enters the own log like any other. */
export function propose (t: Transition, value: Uint8Array, validRound: number): void {
  const s = t.s
  if (!canSign(s.signing, s.height, s.round, 'propose')) return
  const hash = hashOf(t, value)
  const header = { height: s.height, round: s.round, validRound }
  const proposal = { ...header, value, signature: t.ctx.sign(proposalSignBytes(t.ctx.chainId, header, hash)) }
  const record = recordProposal(s.signing, s.height, s.round, hash, s.lock)
  t.s = { ...s, signing: record, awaitingValue: false }
  emitSigned(t, record, { type: 'proposal', proposal })
  storeProposal(t, { proposal, hash, key: hashKey(hash), valid: t.ctx.validate(s.height, value) })
}

/** Schedules the `step` timeout of the current round; it grows linearly with the round. */
export function scheduleTimeout (t: Transition, step: TimeoutStep): void {
  const { timeouts } = t.ctx
  const base = step === 'propose' ? timeouts.proposeMs : step === 'prevote' ? timeouts.prevoteMs : timeouts.precommitMs
  const delayMs = Math.min(maxTimeoutMs, base + t.s.round * timeouts.roundIncrementMs)
  emit(t, { type: 'schedule-timeout', height: t.s.height, round: t.s.round, step, delayMs })
}

/** Signs and broadcasts a vote for the current round, and counts it in the own log. */
export function castVote (t: Transition, type: VoteType, hash: Uint8Array | null): void {
  const s = t.s
  if (s.self === null || s.selfIndex < 0) return
  if (!canSign(s.signing, s.height, s.round, type)) return
  const unsigned = { type, height: s.height, round: s.round, hash }
  const vote: SignedVote = { ...unsigned, validator: s.self, signature: t.ctx.sign(voteSignBytes(t.ctx.chainId, unsigned)) }
  const record = recordVote(s.signing, vote, s.lock)
  t.s = { ...s, signing: record }
  emitSigned(t, record, { type: 'vote', vote })
  storeOwnVote(t, vote)
}

/** `id(v)`: the value's hash from the injected `hashValue`, checked to be 32 bytes. */
export function hashOf (t: Transition, value: Uint8Array): Uint8Array {
  const hash = t.ctx.hashValue(value)
  assert.equal(hash.byteLength, valueHashBytes, 'ctx.hashValue must return 32 bytes')
  return hash
}

function isOwnTurn (s: ConsensusState): boolean {
  return s.selfIndex >= 0 && proposerIndex(s.validators, s.height, s.round) === s.selfIndex
}
