/**
 * Data types of the consensus core: validators, signed messages, the events the driver feeds to
 * `step` and the actions it gets back. Everything here is plain data.
 */

/** A validator of one height. Sets are static per height and passed when a height starts. */
export interface Validator {
  /** ed25519 public key (32 bytes); also the validator's identity in votes. */
  readonly publicKey: Uint8Array
  /** Voting power, a positive safe integer. */
  readonly power: number
}

/** The two vote kinds of a round. */
export type VoteType = 'prevote' | 'precommit'

/** A prevote or precommit, signed over `voteSignBytes` (see messages.ts). */
export interface SignedVote {
  readonly type: VoteType
  readonly height: number
  readonly round: number
  /** `hashValue(value)` of the value voted for, or null for a nil vote. */
  readonly hash: Uint8Array | null
  /** Public key of the signing validator. */
  readonly validator: Uint8Array
  readonly signature: Uint8Array
}

/**
 * A proposed value, signed by `proposerFor(validators, height, round)` over `proposalSignBytes`
 * (which covers the value's hash, not its bytes).
 */
export interface SignedProposal {
  readonly height: number
  readonly round: number
  /** The paper's `validRound` (POL round): a round < `round` in which the value had >2/3 prevotes, or -1. */
  readonly validRound: number
  /** Opaque block bytes. */
  readonly value: Uint8Array
  readonly signature: Uint8Array
}

/** What travels between validators. */
export type ConsensusMessage =
  | { readonly type: 'proposal', readonly proposal: SignedProposal }
  | { readonly type: 'vote', readonly vote: SignedVote }

/** Opaque identity of the peer a message came from (a peer id string or key bytes). */
export type PeerRef = string | Uint8Array

/** The three timeouts of Algorithm 1. */
export type TimeoutStep = 'propose' | 'prevote' | 'precommit'

/**
 * Inputs of `step`. `from` is the peer a message came from (echoed in `reject` so the driver can
 * score that peer); it is never trusted for anything else.
 */
export type ConsensusEvent =
  /**
   * Start (or jump to) a height: after a commit has been applied, after block sync, or at boot.
   * `lastCommit` is the stored certificate of height - 1, if the driver has it: it is gossiped to
   * validators still at that height (who may need exactly these precommits to decide it).
   */
  | { readonly type: 'start-height', readonly height: number, readonly validators: readonly Validator[], readonly lastCommit?: readonly SignedVote[] }
  | { readonly type: 'proposal', readonly proposal: SignedProposal, readonly from?: PeerRef }
  | { readonly type: 'vote', readonly vote: SignedVote, readonly from?: PeerRef }
  /** Raw wire bytes; decoded and shape-checked inside, malformed input becomes a `reject`. */
  | { readonly type: 'message', readonly bytes: Uint8Array, readonly from?: PeerRef }
  | { readonly type: 'timeout', readonly height: number, readonly round: number, readonly step: TimeoutStep }
  /** The answer to a `need-value` action: the block this validator proposes. */
  | { readonly type: 'value', readonly height: number, readonly round: number, readonly value: Uint8Array }

/** Two different signed votes by one validator for the same height, round and type. */
export interface Equivocation {
  readonly first: SignedVote
  readonly second: SignedVote
}

/**
 * Outputs of `step`, to be executed by the driver in order. A `persist-signing` must be durable
 * before the driver executes the next action (the `broadcast` of what it records).
 */
export type ConsensusAction =
  | { readonly type: 'persist-signing', readonly record: SigningRecord }
  | { readonly type: 'broadcast', readonly message: ConsensusMessage }
  | { readonly type: 'schedule-timeout', readonly height: number, readonly round: number, readonly step: TimeoutStep, readonly delayMs: number }
  /** Build a block for (height, round) and answer with a `value` event. */
  | { readonly type: 'need-value', readonly height: number, readonly round: number }
  /** `value` is decided at `height`; apply it, persist it, then send `start-height` for height + 1. */
  | { readonly type: 'commit', readonly height: number, readonly round: number, readonly value: Uint8Array, readonly hash: Uint8Array, readonly certificate: readonly SignedVote[] }
  | { readonly type: 'evidence', readonly evidence: Equivocation }
  /** Validators with more than 1/3 of the power are at `height` or above: block-sync the heights below it. */
  | { readonly type: 'behind', readonly height: number }
  | { readonly type: 'reject', readonly from?: PeerRef, readonly reason: string, readonly penalise: boolean }

/** Signing steps, in the order they happen within one round. */
export type SignStep = 'propose' | 'prevote' | 'precommit'

/**
 * The paper's lockedValue and lockedRound: the value of this validator's last non-nil precommit at
 * a height, with the >2/3 prevotes (the POL) that justified it. Persisted in full so that after a
 * restart the validator can still re-propose the value and show peers why it is locked; without
 * them a lock that survived alone could block the height forever.
 */
export interface Lock {
  readonly round: number
  readonly hash: Uint8Array
  readonly value: Uint8Array
  /** The prevotes for `hash` in `round` that made it a POL. */
  readonly pol: readonly SignedVote[]
}

/**
 * What a validator has signed, persisted before anything it covers is broadcast. After a restart
 * it is what keeps the validator from signing a second, conflicting message at a (height, round,
 * step) it already signed, and from forgetting its lock.
 */
export interface SigningRecord {
  readonly height: number
  readonly round: number
  /** The last step signed at (height, round); null when nothing was signed yet. */
  readonly step: SignStep | null
  /** This validator's votes signed at `height` in `round` and `round - 1`, re-broadcast after a restart. */
  readonly votes: readonly SignedVote[]
  /** Hash of the value this validator proposed at (height, round), if it proposed. */
  readonly proposalHash: Uint8Array | null
  /** The lock held at `height`, if any. */
  readonly lock: Lock | null
}

/** Timeout lengths; each grows linearly with the round so that rounds eventually last long enough. */
export interface Timeouts {
  readonly proposeMs: number
  readonly prevoteMs: number
  readonly precommitMs: number
  readonly roundIncrementMs: number
}

/**
 * Deliberate faults for the simulator's own tests, proving that its checker catches them. Never
 * set outside tests.
 */
export type PlantedBug = 'quorum-2f' | 'ignore-lock' | 'sign-before-persist'

/** Pure functions injected into `step`; all must be deterministic. */
export interface ConsensusContext {
  readonly chainId: string
  /** Signs with this validator's own key. */
  readonly sign: (bytes: Uint8Array) => Uint8Array
  /** False for any malformed key or signature; never throws. */
  readonly verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
  /** Application validity of a proposed block at `height`. */
  readonly validate: (height: number, value: Uint8Array) => boolean
  /** The id votes refer to; must return 32 bytes. */
  readonly hashValue: (value: Uint8Array) => Uint8Array
  readonly timeouts: Timeouts
  /** Test-only; see `PlantedBug`. */
  readonly plantedBug?: PlantedBug
}
