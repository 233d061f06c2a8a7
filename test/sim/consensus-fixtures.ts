/**
 * Fixtures for unit tests of the consensus step function: four validators of power 1, one node
 * under test, and helpers to sign the messages the others would send.
 */
import { equalBytes, utf8 } from '../../src/foundations/bytes.ts'
import { sha256 } from '../../src/foundations/hash.ts'
import { encodeMessage, proposalSignBytes, voteSignBytes } from '../../src/core/consensus/messages.ts'
import { proposerFor } from '../../src/core/consensus/proposer.ts'
import { initialState, type ConsensusState } from '../../src/core/consensus/state.ts'
import { step } from '../../src/core/consensus/step.ts'
import type { ConsensusAction, ConsensusContext, ConsensusEvent, SignedProposal, SignedVote, SigningRecord, Validator, VoteType } from '../../src/core/consensus/types.ts'
import { simKeys } from '../../src/sim/keys.ts'

export const chainId = 'unit'
export const keys = simKeys('fast', 4, 42)
export const validators: Validator[] = keys.publicKeys.map(publicKey => ({ publicKey, power: 1 }))
export const timeouts = { proposeMs: 100, prevoteMs: 50, precommitMs: 50, roundIncrementMs: 10 }

export function value (label: string): Uint8Array {
  return utf8.encode(label)
}

export function hashOf (v: Uint8Array): Uint8Array {
  return sha256(v)
}

/** Index (into `keys`) of the proposer of (height, round). */
export function proposerOf (height: number, round: number): number {
  const p = proposerFor(validators, height, round)
  return keys.publicKeys.findIndex(k => equalBytes(k, p.publicKey))
}

/** A validator index that proposes in none of `rounds` at `height` (at most three rounds). */
export function nonProposer (height: number, rounds: readonly number[]): number {
  const index = [0, 1, 2, 3].find(i => rounds.every(r => proposerOf(height, r) !== i))
  if (index === undefined) throw new RangeError('every validator proposes in one of these rounds')
  return index
}

export function ctxFor (index: number, extra: Partial<ConsensusContext> = {}): ConsensusContext {
  return {
    chainId,
    sign: keys.signer(index),
    verify: keys.verify,
    validate: (_height, v) => !utf8.decode(v).startsWith('invalid'),
    hashValue: hashOf,
    timeouts,
    ...extra
  }
}

export function signedVote (index: number, type: VoteType, height: number, round: number, hash: Uint8Array | null): SignedVote {
  const unsigned = { type, height, round, hash }
  return { ...unsigned, validator: keys.publicKeys[index] as Uint8Array, signature: keys.signer(index)(voteSignBytes(chainId, unsigned)) }
}

export function signedProposal (height: number, round: number, v: Uint8Array, validRound = -1, signer = proposerOf(height, round)): SignedProposal {
  const header = { height, round, validRound }
  return { ...header, value: v, signature: keys.signer(signer)(proposalSignBytes(chainId, header, hashOf(v))) }
}

/** One node under test: feeds events, keeps the state, collects every action. */
export class Node {
  state: ConsensusState
  readonly ctx: ConsensusContext
  readonly index: number
  log: ConsensusAction[] = []

  constructor (index: number, options: { height?: number, signingRecord?: SigningRecord, ctx?: Partial<ConsensusContext> } = {}) {
    this.index = index
    this.ctx = ctxFor(index, options.ctx)
    this.state = initialState({
      height: options.height ?? 1,
      validators,
      self: keys.publicKeys[index] as Uint8Array,
      ...(options.signingRecord === undefined ? {} : { signingRecord: options.signingRecord })
    })
  }

  /** Applies one event and returns its actions. */
  feed (event: ConsensusEvent): ConsensusAction[] {
    const { state, actions } = step(this.state, event, this.ctx)
    this.state = state
    this.log.push(...actions)
    return actions
  }

  start (height = this.state.height): ConsensusAction[] {
    return this.feed({ type: 'start-height', height, validators })
  }

  vote (index: number, type: VoteType, round: number, hash: Uint8Array | null, height = this.state.height): ConsensusAction[] {
    return this.feed({ type: 'vote', vote: signedVote(index, type, height, round, hash), from: `peer${index}` })
  }

  propose (round: number, v: Uint8Array, validRound = -1, height = this.state.height): ConsensusAction[] {
    return this.feed({ type: 'message', bytes: encodeMessage({ type: 'proposal', proposal: signedProposal(height, round, v, validRound) }), from: 'peer' })
  }

  /** The other three validators' indices. */
  others (): number[] {
    return [0, 1, 2, 3].filter(i => i !== this.index)
  }
}

/** Own votes broadcast in `actions`. */
export function broadcastVotes (actions: readonly ConsensusAction[]): SignedVote[] {
  return actions.flatMap(a => a.type === 'broadcast' && a.message.type === 'vote' ? [a.message.vote] : [])
}

export function actionTypes (actions: readonly ConsensusAction[]): string[] {
  return actions.map(a => a.type === 'broadcast' ? `broadcast:${a.message.type === 'vote' ? a.message.vote.type : 'proposal'}` : a.type)
}
