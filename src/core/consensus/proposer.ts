/**
 * Proposer rotation: a deterministic weighted round-robin over (height, round).
 *
 * The power line [0, total) is cut into one segment per validator (in canonical key order, each as
 * long as its power). Slot `k = (height + round) mod total` is spread over the line by a stride
 * coprime with the total, `(k * stride) mod total`, and the validator whose segment holds that point
 * proposes. Over any `total` consecutive slots every validator proposes exactly `power` times, and
 * with equal powers consecutive rounds always have different proposers, so a crashed proposer
 * costs one round, not several. It is stateless: any node computes it from the set alone.
 */
import type { Validator } from './types.ts'
import { validatorSet, type ValidatorSet } from './validators.ts'

/** Index (in the canonical set) of the proposer of (height, round). */
export function proposerIndex (set: ValidatorSet, height: number, round: number): number {
  const total = BigInt(set.totalPower)
  const slot = (BigInt(height) + BigInt(round)) % total
  const point = Number((slot * BigInt(set.stride)) % total)
  // Last validator whose segment starts at or before `point`.
  let lo = 0
  let hi = set.prefixPower.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((set.prefixPower[mid] ?? 0) <= point) lo = mid
    else hi = mid - 1
  }
  return lo
}

/**
 * The validator that proposes at (height, round). The order of `validators` does not matter.
 * @example proposerFor(validators, 7, 0).publicKey
 */
export function proposerFor (validators: readonly Validator[], height: number, round: number): Validator {
  const set = validatorSet(validators)
  const v = set.validators[proposerIndex(set, height, round)]
  if (v === undefined) throw new Error('unreachable: proposer index within the set')
  return v
}
