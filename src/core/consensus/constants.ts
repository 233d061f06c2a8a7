/**
 * Bounds of the consensus core, each with its reason. Together they cap the memory one height can
 * hold regardless of what peers send: at most `maxRetainedRounds + maxRoundsAhead` rounds (plus the
 * few pinned ones), each with `maxVotesPerValidator` votes per validator and type and
 * `maxProposalsPerRound` proposals, and `maxFutureMessagesPerSigner` messages per validator for
 * the next height.
 */
import assert from 'node:assert/strict'
import { hashBytes } from '../../foundations/hash.ts'
import { maxBlockBytes } from '../../foundations/limits.ts'

/** Validators in one set: bounds per-message work (proposer lookup, certificate checks). */
export const maxValidators = 1000

/** Sum of all voting power: keeps `3 * power` and `2 * total` exact in float64 arithmetic. */
export const maxTotalPower = 2 ** 50

/** Length of a value hash (`ctx.hashValue` output); votes carry it. */
export const valueHashBytes = hashBytes

/** ed25519 public keys. */
export const publicKeyBytes = 32

/** Longest signature accepted on the wire (ed25519 signatures are 64 bytes). */
export const maxSignatureBytes = 64

/** A proposal carries one block. */
export const maxValueBytes = maxBlockBytes

/** A whole encoded message: one block plus the proposal envelope. */
export const maxMessageBytes = maxValueBytes + 1024

/** Chain ids are short labels. */
export const maxChainIdChars = 64

/**
 * Rounds of the current height whose messages are kept (the current one and those below it);
 * older ones are dropped unless pinned by a lock, a valid value or a proposal's POL round. A
 * decision or POL from further back reaches a node through block sync instead.
 */
export const maxRetainedRounds = 16

/**
 * Rounds above the current one whose messages are stored for later. Messages further ahead only
 * count toward the round-skip rule (paper line 55); gossip re-sends them when the node gets there.
 */
export const maxRoundsAhead = 4

/**
 * Different proposals kept per round. An honest proposer sends one; a Byzantine one may send
 * several, and keeping a second lets a node hold the one a quorum may form on. More are dropped.
 */
export const maxProposalsPerRound = 2

/**
 * Votes kept per validator, round and type: its first, plus one for each value that can matter in
 * a round: nil, the round's proposals and current re-proposals naming the round as POL round
 * (votes.ts explains why an equivocator's votes all count per value).
 */
export const maxVotesPerValidator = 2 + 2 * maxProposalsPerRound

/**
 * Messages buffered for the next height, per signer: a proposal, prevote and precommit for two
 * rounds. Only height + 1 is buffered; anything further counts toward `behind` and is dropped.
 */
export const maxFutureMessagesPerSigner = 6

/**
 * Longest timeout the core schedules, whatever the round: stays below the 2^31 - 1 ms a Node
 * timer can hold, and ten minutes is already far past any useful round length.
 */
export const maxTimeoutMs = 600_000

/** Rule evaluations after one event; each firing advances the state, so this is never reached. */
export const maxRuleFirings = 10_000

assert.ok(maxValidators * maxFutureMessagesPerSigner <= 10_000, 'the next-height buffer stays small')
assert.ok(maxRetainedRounds >= 2, 'a round and its predecessor are needed for POL and commit rules')
assert.ok(maxProposalsPerRound >= 1)
assert.ok(maxMessageBytes > maxValueBytes)
