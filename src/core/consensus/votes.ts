/**
 * The message log of one height, per round: proposals, and prevotes and precommits with their
 * tallies. Immutable with structural sharing: adding a message copies only the maps on its path.
 */
import { toHex } from '../../foundations/bytes.ts'
import type { SignedProposal, SignedVote, VoteType } from './types.ts'

/** Tally key of a nil vote; value hashes use their hex form. */
export const nilKey = 'nil'

/** Tally key of a vote's hash. */
export function hashKey (hash: Uint8Array | null): string {
  return hash === null ? nilKey : toHex(hash)
}

/**
 * Votes of one type in one round. A validator's first vote always counts toward "votes of any
 * kind" (`power`). Per value, every distinct signed vote counts, as in the paper, where a process
 * that received an equivocator's two votes holds both messages: otherwise whichever of its votes
 * arrived first would hide a POL that other nodes saw, and a lock could never be released.
 * A conflicting vote is kept only while its value is relevant to the round (nil, a proposal of the
 * round, or a current re-proposal naming the round as its POL round), and a relevant vote evicts
 * an irrelevant one at the `maxVotesPerValidator` bound, so votes for made-up values can never
 * crowd out the ones that matter.
 */
export interface VoteSet {
  /** Validator index → its votes, first vote first. */
  readonly byValidator: ReadonlyMap<number, readonly SignedVote[]>
  /** Power of the validators with a vote in the set, whatever they voted for. */
  readonly power: number
  /** `hashKey` → power of the validators that voted for it. */
  readonly powerByKey: ReadonlyMap<string, number>
  /** Validators already reported for equivocating in this set. */
  readonly equivocators: ReadonlySet<number>
}

/** A proposal as kept in the log, with what was derived from it once. */
export interface ProposalEntry {
  readonly proposal: SignedProposal
  readonly hash: Uint8Array
  readonly key: string
  /** `ctx.validate(height, value)`, evaluated once on arrival. */
  readonly valid: boolean
}

/** What the log holds for one round. */
export interface RoundLog {
  /** In arrival order; all from the round's proposer (several only if it is Byzantine). */
  readonly proposals: readonly ProposalEntry[]
  readonly prevotes: VoteSet
  readonly precommits: VoteSet
}

/** A set with no votes. */
export const emptyVoteSet: VoteSet = { byValidator: new Map(), power: 0, powerByKey: new Map(), equivocators: new Set() }

/** A round with no messages. */
export const emptyRoundLog: RoundLog = { proposals: [], prevotes: emptyVoteSet, precommits: emptyVoteSet }

/** The prevotes or precommits of a round. */
export function votesOf (log: RoundLog, type: VoteType): VoteSet {
  return type === 'prevote' ? log.prevotes : log.precommits
}

/** The round with its prevotes or precommits replaced. */
export function withVotes (log: RoundLog, type: VoteType, set: VoteSet): RoundLog {
  return type === 'prevote' ? { ...log, prevotes: set } : { ...log, precommits: set }
}

/** Adds a vote of validator `index` for a value it has not voted for yet in this set. */
export function addVote (set: VoteSet, index: number, vote: SignedVote, power: number): VoteSet {
  const existing = set.byValidator.get(index)
  const byValidator = new Map(set.byValidator)
  byValidator.set(index, existing === undefined ? [vote] : [...existing, vote])
  const key = hashKey(vote.hash)
  const powerByKey = new Map(set.powerByKey)
  powerByKey.set(key, (powerByKey.get(key) ?? 0) + power)
  return { ...set, byValidator, power: existing === undefined ? set.power + power : set.power, powerByKey }
}

/** Removes the `position`-th vote of validator `index` (never its first, which `power` counts). */
export function removeVote (set: VoteSet, index: number, position: number, power: number): VoteSet {
  const votes = set.byValidator.get(index)
  const vote = votes?.[position]
  if (votes === undefined || vote === undefined || position === 0) return set
  const key = hashKey(vote.hash)
  const powerByKey = new Map(set.powerByKey).set(key, (set.powerByKey.get(key) ?? 0) - power)
  return { ...set, byValidator: new Map(set.byValidator).set(index, votes.filter((_, i) => i !== position)), powerByKey }
}

/** Records that evidence against validator `index` was emitted for this set. */
export function markEquivocator (set: VoteSet, index: number): VoteSet {
  return { ...set, equivocators: new Set(set.equivocators).add(index) }
}

/** Power voting for `key` (a hash key or `nilKey`). */
export function powerFor (set: VoteSet, key: string): number {
  return set.powerByKey.get(key) ?? 0
}

/** The votes in `set` for `key`, in validator order. */
export function votesFor (set: VoteSet, key: string): SignedVote[] {
  const out: SignedVote[] = []
  for (const index of [...set.byValidator.keys()].sort((a, b) => a - b)) {
    const vote = set.byValidator.get(index)?.find(v => hashKey(v.hash) === key)
    if (vote !== undefined) out.push(vote)
  }
  return out
}

/** Every vote in `set`. */
export function allVotes (set: VoteSet): SignedVote[] {
  return [...set.byValidator.values()].flat()
}

/** The round's proposal of the value with `key`, if held. */
export function proposalFor (log: RoundLog, key: string): ProposalEntry | undefined {
  return log.proposals.find(p => p.key === key)
}
