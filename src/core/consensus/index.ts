/**
 * Keynet's BFT consensus: Tendermint (Buchman, Kwon, Milosevic, "The latest gossip on BFT
 * consensus", arXiv:1807.04938, Algorithm 1) as a pure, deterministic state machine.
 *
 * ```ts
 * import { initialState, step } from './core/consensus/index.ts'
 * let state = initialState({ height: 1, validators, self: myPublicKey, signingRecord })
 * let { state: next, actions } = step(state, { type: 'start-height', height: 1, validators }, ctx)
 * // execute `actions` in order: persist-signing (durably!), broadcast, schedule-timeout, need-value, commit, ...
 * ```
 *
 * No timers, sockets, disk or randomness inside: the driver (node process or simulator) turns
 * actions into effects and effects back into events. Protocol spec: docs/protocol/consensus.md.
 */
export { step } from './step.ts'
export { initialState, type ConsensusState, type Step } from './state.ts'
export { encodeMessage, decodeMessage, messageHeight, voteSignBytes, proposalSignBytes } from './messages.ts'
export { verifyCommitCertificate, encodeCertificate, decodeCertificate } from './certificate.ts'
export { encodeEvidence, decodeEvidence, evidenceId, maxEvidenceBytes } from './evidence.ts'
export { proposerFor } from './proposer.ts'
export { gossipMessages } from './gossip.ts'
export { canSign, emptySigningRecord, encodeSigningRecord, decodeSigningRecord } from './signing.ts'
export { isQuorum, isOneThird } from './validators.ts'
export * from './constants.ts'
export type * from './types.ts'
