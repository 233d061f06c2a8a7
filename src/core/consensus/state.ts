/**
 * The state of one validator's consensus instance, named after the variables of Algorithm 1
 * (arXiv:1807.04938). Immutable: `step` returns a new state and never changes the one it got.
 */
import { emptySigningRecord } from './signing.ts'
import type { ConsensusMessage, Lock, PeerRef, SignedVote, SigningRecord, Validator } from './types.ts'
import { indexOf, validatorSet, type ValidatorSet } from './validators.ts'
import type { RoundLog } from './votes.ts'

/**
 * `idle` until the driver sends `start-height`; the three steps of the paper; `decided` from the
 * commit until the driver starts the next height.
 */
export type Step = 'idle' | 'propose' | 'prevote' | 'precommit' | 'decided'

/** Upon-rules that fire only "for the first time" in a round (paper lines 34, 36, 47). */
export interface RoundFlags {
  /** Line 34: prevote timeout scheduled. */
  readonly prevoteTimeoutScheduled: boolean
  /** Line 47: precommit timeout scheduled. */
  readonly precommitTimeoutScheduled: boolean
  /** Line 36: a value with a proposal and >2/3 prevotes was seen in this round. */
  readonly polSeen: boolean
}

/** Flags at the start of a round: nothing has fired yet. */
export const freshRoundFlags: RoundFlags = { prevoteTimeoutScheduled: false, precommitTimeoutScheduled: false, polSeen: false }

/** The precommits that decided the previous height, gossiped to validators still at it. */
export interface LastCommit {
  readonly height: number
  readonly round: number
  readonly hash: Uint8Array
  readonly certificate: readonly SignedVote[]
}

/** A message for height + 1, kept until that height starts. */
export interface BufferedMessage {
  /** Hex public key of the signer, for the per-signer bound. */
  readonly signer: string
  readonly message: ConsensusMessage
  readonly from?: PeerRef
}

/** Everything one validator knows about consensus at its current height. */
export interface ConsensusState {
  /** `h_p` */
  readonly height: number
  /** `round_p` */
  readonly round: number
  /** `step_p`, plus `idle` and `decided` */
  readonly step: Step
  readonly validators: ValidatorSet
  /** Own public key; null for a node that follows consensus without voting. */
  readonly self: Uint8Array | null
  /** Own index in `validators`, -1 when not a validator at this height. */
  readonly selfIndex: number
  /** `lockedValue_p` and `lockedRound_p` (-1 when unlocked), with the POL behind them. */
  readonly lockedRound: number
  readonly lock: Lock | null
  /** `validRound_p`, -1 when none. */
  readonly validRound: number
  /** `validValue_p` */
  readonly validValue: Uint8Array | null
  /** The message log of this height by round, bounded (constants.ts). */
  readonly log: ReadonlyMap<number, RoundLog>
  /** First-time rules already fired in `round`. */
  readonly flags: RoundFlags
  /** A `need-value` for (height, round) is outstanding. */
  readonly awaitingValue: boolean
  /** Validator index → highest round it has signed a message for at this height (line 55). */
  readonly maxRoundSeen: ReadonlyMap<number, number>
  /** Hex public key → highest height above ours it has signed a message for (`behind`). */
  readonly aheadHeights: ReadonlyMap<string, number>
  /** Messages for height + 1. */
  readonly future: readonly BufferedMessage[]
  /** What this validator has signed; mirrors the last `persist-signing` action. */
  readonly signing: SigningRecord
  /** `decision_p[h_p]` once decided. */
  readonly decision: { readonly round: number, readonly value: Uint8Array, readonly hash: Uint8Array } | null
  readonly lastCommit: LastCommit | null
  /** Highest height a `behind` action was emitted for. */
  readonly behindReported: number
}

/**
 * The state of a node about to run `height`. Nothing happens until the driver sends
 * `{ type: 'start-height', height, validators }`; messages that arrive before are kept.
 *
 * After a restart pass the persisted `signingRecord`: if it is for this height the node resumes in
 * the recorded round and step with its lock, re-broadcasts its recorded votes and signs nothing
 * that conflicts with them.
 */
export function initialState (params: { height: number, validators: readonly Validator[], self?: Uint8Array, signingRecord?: SigningRecord }): ConsensusState {
  const validators = validatorSet(params.validators)
  const self = params.self ?? null
  return {
    height: params.height,
    round: 0,
    step: 'idle',
    validators,
    self,
    selfIndex: self === null ? -1 : indexOf(validators, self),
    lockedRound: -1,
    lock: null,
    validRound: -1,
    validValue: null,
    log: new Map(),
    flags: freshRoundFlags,
    awaitingValue: false,
    maxRoundSeen: new Map(),
    aheadHeights: new Map(),
    future: [],
    signing: params.signingRecord ?? emptySigningRecord,
    decision: null,
    lastCommit: null,
    behindReported: 0
  }
}
