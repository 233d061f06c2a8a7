/** An operator's stake: what it put up for its nodes, who funded it, and how a fault slashes it. */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxStakeSources, minOperatorStake, slashPerFaultBps, slashToClientBps } from './constants.ts'
import { InsufficientStakeError } from './errors.ts'

export interface Stake {
  /** Operator address (hex). */
  operator: string
  amount: number
  /** Accounts (hex) that funded it, in first-funded order: a shared funder links operators into one group. */
  sources: string[]
  /** Total slashed so far (for the operator's record). */
  slashed: number
}

export function emptyStake (operator: string): Stake {
  return { operator, amount: 0, sources: [], slashed: 0 }
}

/** Adds `amount` funded by `source`. */
export function addStake (stake: Stake, amount: number, source: string): Stake {
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new MalformedMessageError('a stake amount must be a positive integer')
  if (!Number.isSafeInteger(stake.amount + amount)) throw new MalformedMessageError('stake would overflow')
  const sources = stake.sources.includes(source) || stake.sources.length >= maxStakeSources ? stake.sources : [...stake.sources, source]
  return { ...stake, amount: stake.amount + amount, sources }
}

/** Throws unless the operator's stake allows its nodes to offer. */
export function requireOfferStake (stake: Stake | undefined): void {
  const amount = stake?.amount ?? 0
  if (amount < minOperatorStake) throw new InsufficientStakeError(`the operator has staked ${amount}; offering needs at least ${minOperatorStake} (send a stake transaction)`)
}

export interface Slash {
  stake: Stake
  /** Goes to the client the fault wronged. */
  toClient: number
  /** Leaves circulation. */
  burnt: number
}

/**
 * Slashes one fault: `slashPerFaultBps` of the stake (at least 1 while any remains), split
 * between the client and a burn. toClient + burnt always equals what left the stake.
 */
export function slash (stake: Stake, faults = 1): Slash {
  let taken = 0
  let left = stake.amount
  for (let i = 0; i < faults && left > 0; i++) {
    const cut = Math.max(1, Math.floor(left * slashPerFaultBps / 10_000))
    taken += cut
    left -= cut
  }
  const toClient = Math.floor(taken * slashToClientBps / 10_000)
  return { stake: { ...stake, amount: left, slashed: stake.slashed + taken }, toClient, burnt: taken - toClient }
}
