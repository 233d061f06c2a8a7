/**
 * Admission of proposals and votes from peers: shape, height and round windows, signatures,
 * duplicates and equivocation, then into the log. Nothing here throws on peer input; bad input
 * becomes a `reject` action.
 */
import { compareBytes, equalBytes, toHex } from '../../foundations/bytes.ts'
import { maxFutureMessagesPerSigner, maxProposalsPerRound, maxVotesPerValidator } from './constants.ts'
import { messageHeight, proposalSignBytes, voteSignBytes } from './messages.ts'
import { proposerIndex } from './proposer.ts'
import { isRetained, noteRound, storeProposal } from './log.ts'
import { hashOf } from './round.ts'
import { oneThird, reject, emit, type Transition } from './transition.ts'
import type { ConsensusMessage, PeerRef, SignedProposal, SignedVote } from './types.ts'
import { indexOf, powerOf } from './validators.ts'
import { addVote, emptyRoundLog, hashKey, markEquivocator, nilKey, proposalFor, removeVote, votesOf, withVotes, type RoundLog, type VoteSet } from './votes.ts'
import type { ConsensusState } from './state.ts'

/** Admits a decoded, shape-checked message from a peer. */
export function receiveMessage (t: Transition, message: ConsensusMessage, from: PeerRef | undefined): void {
  if (message.type === 'vote') receiveVote(t, message.vote, from)
  else receiveProposal(t, message.proposal, from)
}

/** Admits a vote: late ones are dropped, later heights buffered or counted, bad ones rejected. */
export function receiveVote (t: Transition, vote: SignedVote, from: PeerRef | undefined): void {
  const s = t.s
  if (vote.height < s.height || (vote.height === s.height && s.step === 'decided')) return // late: harmless
  const index = indexOf(s.validators, vote.validator)
  if (vote.height > s.height) {
    receiveAhead(t, { type: 'vote', vote }, index, vote.signature, () => voteSignBytes(t.ctx.chainId, vote), from)
    return
  }
  if (index < 0) return reject(t, from, 'vote from a key outside the validator set', true)
  if (!isRetained(s, vote.round)) {
    // Too old: ignored. Too far ahead: counts toward the round skip (line 55) only.
    if (vote.round > s.round && verifyVote(t, vote, from)) noteRound(t, index, vote.round)
    return
  }
  const log = s.log.get(vote.round) ?? emptyRoundLog
  const set = votesOf(log, vote.type)
  const held = set.byValidator.get(index) ?? []
  const same = held.find(v => hashKey(v.hash) === hashKey(vote.hash))
  if (same !== undefined && equalBytes(same.signature, vote.signature)) return // a duplicate
  if (!verifyVote(t, vote, from)) return
  if (same !== undefined) return // the same vote under another valid signature
  const power = powerOf(s.validators, index)
  const next = held.length === 0 ? addVote(set, index, vote, power) : addConflicting(t, log, set, index, vote, power)
  if (next !== set) t.s = { ...s, log: new Map(s.log).set(vote.round, withVotes(log, vote.type, next)) }
  noteRound(t, index, vote.round)
}

/**
 * A further, different vote of a validator that already voted: evidence (once), then counted per
 * value while the value is relevant (see VoteSet). At the bound it replaces one of the
 * validator's votes that no longer is relevant.
 */
function addConflicting (t: Transition, log: RoundLog, set: VoteSet, index: number, vote: SignedVote, power: number): VoteSet {
  const held = set.byValidator.get(index) ?? []
  let next = set
  if (held[0] !== undefined && !set.equivocators.has(index)) {
    emit(t, { type: 'evidence', evidence: { first: held[0], second: vote } })
    next = markEquivocator(next, index)
  }
  const relevant = (hash: Uint8Array | null): boolean => isRelevant(t.s, log, vote.round, hashKey(hash))
  if (!relevant(vote.hash)) return next
  if (held.length < maxVotesPerValidator) return addVote(next, index, vote, power)
  const stale = held.findIndex((v, i) => i > 0 && !relevant(v.hash))
  return stale < 0 ? next : addVote(removeVote(next, index, stale, power), index, vote, power)
}

/** Admits a proposal: it must be signed by the proposer of its (height, round). */
export function receiveProposal (t: Transition, proposal: SignedProposal, from: PeerRef | undefined): void {
  const s = t.s
  if (proposal.height < s.height || (proposal.height === s.height && s.step === 'decided')) return
  const proposer = proposerIndex(s.validators, proposal.height, proposal.round)
  const proposerKey = s.validators.validators[proposer]?.publicKey
  if (proposerKey === undefined) return
  // A copy of a proposal already held: skip hashing a whole block again.
  if (proposal.height === s.height && s.log.get(proposal.round)?.proposals.some(e => isCopy(e.proposal, proposal)) === true) return
  const hash = hashOf(t, proposal.value)
  const verify = (): boolean => {
    if (t.ctx.verify(proposerKey, proposalSignBytes(t.ctx.chainId, proposal, hash), proposal.signature)) return true
    reject(t, from, 'proposal not signed by the proposer of its round', true)
    return false
  }
  if (proposal.height > s.height) {
    receiveAhead(t, { type: 'proposal', proposal }, proposer, proposal.signature, () => proposalSignBytes(t.ctx.chainId, proposal, hash), from)
    return
  }
  if (!isRetained(s, proposal.round)) {
    if (proposal.round > s.round && verify()) noteRound(t, proposer, proposal.round)
    return
  }
  const log = s.log.get(proposal.round) ?? emptyRoundLog
  const key = hashKey(hash)
  if (proposalFor(log, key) !== undefined) return
  if (!verify()) return
  if (log.proposals.length >= maxProposalsPerRound) return reject(t, from, 'proposer sent more proposals for one round than are kept', false)
  storeProposal(t, { proposal, hash, key, valid: t.ctx.validate(proposal.height, proposal.value) })
}

/**
 * A message for a later height, checked against the current validator set (a changed set only
 * costs a dropped message, which gossip re-sends). Counts toward `behind`; kept if for height + 1.
 */
function receiveAhead (t: Transition, message: ConsensusMessage, index: number, signature: Uint8Array, signBytes: () => Uint8Array, from: PeerRef | undefined): void {
  const s = t.s
  const validator = s.validators.validators[index]
  if (index < 0 || validator === undefined) return // possibly a validator of that later height
  const signer = toHex(validator.publicKey)
  const buffered = s.future.filter(b => b.signer === signer)
  if (buffered.some(b => equalBytes(signatureOf(b.message), signature))) return // a duplicate
  if (!t.ctx.verify(validator.publicKey, signBytes(), signature)) return reject(t, from, 'bad signature', true)
  const height = messageHeight(message)
  noteAhead(t, signer, height)
  if (height !== s.height + 1 || buffered.length >= maxFutureMessagesPerSigner) return
  t.s = { ...t.s, future: [...t.s.future, from === undefined ? { signer, message } : { signer, message, from }] }
}

/** Emits `behind` when more than 1/3 of the power has been seen at a later height. */
function noteAhead (t: Transition, signer: string, height: number): void {
  const s = t.s
  if ((s.aheadHeights.get(signer) ?? 0) >= height) return
  const aheadHeights = new Map(s.aheadHeights).set(signer, height)
  t.s = { ...s, aheadHeights }
  const seen = [...aheadHeights].sort((a, b) => b[1] - a[1])
  let power = 0
  for (const [key, h] of seen) {
    const index = s.validators.indexByKey.get(key)
    if (index === undefined) continue
    power += powerOf(s.validators, index)
    if (!oneThird(t, power)) continue
    // While decided, the next height is the driver's to start; reaching it is not being behind.
    const threshold = s.step === 'decided' ? s.height + 1 : s.height
    if (h > threshold && h > s.behindReported) {
      t.s = { ...t.s, behindReported: h }
      emit(t, { type: 'behind', height: h })
    }
    return
  }
}

/**
 * Values whose votes matter in `round`: nil, the round's proposals, and values that a proposal of
 * the current round re-proposes with `round` as its POL round. At most 1 + 2 * maxProposalsPerRound.
 */
function isRelevant (s: ConsensusState, log: RoundLog, round: number, key: string): boolean {
  if (key === nilKey || proposalFor(log, key) !== undefined) return true
  return s.log.get(s.round)?.proposals.some(p => p.key === key && p.proposal.validRound === round) ?? false
}

function verifyVote (t: Transition, vote: SignedVote, from: PeerRef | undefined): boolean {
  if (t.ctx.verify(vote.validator, voteSignBytes(t.ctx.chainId, vote), vote.signature)) return true
  reject(t, from, 'bad vote signature', true)
  return false
}

function isCopy (a: SignedProposal, b: SignedProposal): boolean {
  return a.validRound === b.validRound && a.value.byteLength === b.value.byteLength && equalBytes(a.signature, b.signature) && compareBytes(a.value, b.value) === 0
}

function signatureOf (m: ConsensusMessage): Uint8Array {
  return m.type === 'vote' ? m.vote.signature : m.proposal.signature
}
