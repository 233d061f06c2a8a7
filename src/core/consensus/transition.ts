/**
 * A transition in progress: the state so far and the actions emitted so far. Helpers replace
 * `t.s` with new state objects; the state `step` was given is never modified.
 */
import type { ConsensusState } from './state.ts'
import type { ConsensusAction, ConsensusContext, ConsensusMessage, PeerRef, SigningRecord } from './types.ts'
import { isOneThird, isQuorum } from './validators.ts'

/** The state so far and the actions so far, threaded through the functions of one `step`. */
export interface Transition {
  s: ConsensusState
  readonly actions: ConsensusAction[]
  readonly ctx: ConsensusContext
}

/** Appends an action. */
export function emit (t: Transition, action: ConsensusAction): void {
  t.actions.push(action)
}

/** Appends a `reject` for input from `from`; `penalise` when the sender is provably at fault. */
export function reject (t: Transition, from: PeerRef | undefined, reason: string, penalise: boolean): void {
  t.actions.push(from === undefined ? { type: 'reject', reason, penalise } : { type: 'reject', from, reason, penalise })
}

/**
 * Emits a newly signed message: the record first, so it is durable before the message leaves
 * (unless the test-only planted bug reverses them).
 */
export function emitSigned (t: Transition, record: SigningRecord, message: ConsensusMessage): void {
  const persist: ConsensusAction = { type: 'persist-signing', record }
  const broadcast: ConsensusAction = { type: 'broadcast', message }
  if (t.ctx.plantedBug === 'sign-before-persist') t.actions.push(broadcast, persist)
  else t.actions.push(persist, broadcast)
}

/** More than 2/3 of this height's power. */
export function quorum (t: Transition, power: number): boolean {
  return isQuorum(power, t.s.validators.totalPower, t.ctx.plantedBug)
}

/** More than 1/3 of this height's power. */
export function oneThird (t: Transition, power: number): boolean {
  return isOneThird(power, t.s.validators.totalPower)
}
