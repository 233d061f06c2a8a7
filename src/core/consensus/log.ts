/**
 * Writing to the message log of the current height, and the window of rounds it keeps.
 */
import { maxRetainedRounds, maxRoundsAhead } from './constants.ts'
import { proposerIndex } from './proposer.ts'
import type { ConsensusState } from './state.ts'
import type { Transition } from './transition.ts'
import type { SignedVote } from './types.ts'
import { powerOf } from './validators.ts'
import { addVote, emptyRoundLog, hashKey, proposalFor, votesOf, withVotes, type ProposalEntry, type RoundLog } from './votes.ts'

/** Adds this validator's own vote to the log (no signature check: it signed it). */
export function storeOwnVote (t: Transition, vote: SignedVote): void {
  const s = t.s
  const log = s.log.get(vote.round) ?? emptyRoundLog
  const set = votesOf(log, vote.type)
  if (set.byValidator.get(s.selfIndex)?.some(v => hashKey(v.hash) === hashKey(vote.hash)) === true) return
  const next = withVotes(log, vote.type, addVote(set, s.selfIndex, vote, powerOf(s.validators, s.selfIndex)))
  t.s = { ...s, log: new Map(s.log).set(vote.round, next) }
  noteRound(t, s.selfIndex, vote.round)
}

/** Adds a verified proposal of the current height to the log (once per value and round). */
export function storeProposal (t: Transition, entry: ProposalEntry): void {
  const s = t.s
  const round = entry.proposal.round
  const log = s.log.get(round) ?? emptyRoundLog
  if (proposalFor(log, entry.key) !== undefined) return
  t.s = { ...s, log: new Map(s.log).set(round, { ...log, proposals: [...log.proposals, entry] }) }
  noteRound(t, proposerIndex(s.validators, s.height, round), round)
}

/** Remembers the highest round a validator was seen at, for line 55. */
export function noteRound (t: Transition, index: number, round: number): void {
  const seen = t.s.maxRoundSeen.get(index)
  if (seen !== undefined && seen >= round) return
  t.s = { ...t.s, maxRoundSeen: new Map(t.s.maxRoundSeen).set(index, round) }
}

/** True for rounds whose messages the log keeps (constants.ts explains the window). */
export function isRetained (s: ConsensusState, round: number): boolean {
  if (round > s.round + maxRoundsAhead) return false
  return round > s.round - maxRetainedRounds || isPinned(s, round)
}

/** Rounds kept whatever their age: the lock, the valid value, and POL rounds of current proposals. */
function isPinned (s: ConsensusState, round: number): boolean {
  if (round === s.lockedRound || round === s.validRound) return true
  return s.log.get(s.round)?.proposals.some(p => p.proposal.validRound === round) ?? false
}

/** The log without the rounds that fall out of the window when `round` starts. */
export function pruneLog (s: ConsensusState, round: number): ReadonlyMap<number, RoundLog> {
  const next = { ...s, round }
  let pruned: Map<number, RoundLog> | undefined
  for (const r of s.log.keys()) {
    if (r <= round - maxRetainedRounds && !isPinned(next, r)) (pruned ??= new Map(s.log)).delete(r)
  }
  return pruned ?? s.log
}
