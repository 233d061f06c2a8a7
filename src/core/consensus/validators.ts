/**
 * A validator set in canonical form (sorted by public key) with the arithmetic of quorums.
 *
 * Thresholds are exact integer comparisons on voting power: a quorum is more than two thirds of
 * the total (the paper's 2f + 1 when total = 3f + 1), "one third" is more than one third (f + 1).
 */
import assert from 'node:assert/strict'
import { compareBytes, toHex } from '../../foundations/bytes.ts'
import { maxTotalPower, maxValidators, publicKeyBytes } from './constants.ts'
import type { PlantedBug, Validator } from './types.ts'

/** A validator set in canonical order with what quorum checks and proposer selection need. */
export interface ValidatorSet {
  /** Sorted by public key; indices into this list identify validators inside the core. */
  readonly validators: readonly Validator[]
  readonly totalPower: number
  /** `prefixPower[i]` = power of validators 0..i-1; used by proposer selection. */
  readonly prefixPower: readonly number[]
  /** Hex public key → index. */
  readonly indexByKey: ReadonlyMap<string, number>
  /** Multiplier coprime with `totalPower` that spreads consecutive proposer slots (proposer.ts). */
  readonly stride: number
}

/**
 * Builds the canonical set. Invalid sets (empty, duplicate keys, non-positive power) are a
 * programmer error of the driver: the ledger defines the set, peers never do.
 */
export function validatorSet (validators: readonly Validator[]): ValidatorSet {
  assert.ok(validators.length > 0 && validators.length <= maxValidators, `a validator set has 1..${maxValidators} members`)
  const sorted = [...validators].sort((a, b) => compareBytes(a.publicKey, b.publicKey))
  const indexByKey = new Map<string, number>()
  const prefixPower: number[] = []
  let total = 0
  for (const [i, v] of sorted.entries()) {
    assert.equal(v.publicKey.byteLength, publicKeyBytes, 'validator keys are 32 bytes')
    assert.ok(Number.isSafeInteger(v.power) && v.power > 0, 'validator power is a positive integer')
    const key = toHex(v.publicKey)
    assert.ok(!indexByKey.has(key), 'validator keys are distinct')
    indexByKey.set(key, i)
    prefixPower.push(total)
    total += v.power
  }
  assert.ok(total <= maxTotalPower, 'total power exceeds maxTotalPower')
  return { validators: sorted, totalPower: total, prefixPower, indexByKey, stride: strideFor(total) }
}

/** Index of the validator with `publicKey`, or -1. */
export function indexOf (set: ValidatorSet, publicKey: Uint8Array): number {
  return set.indexByKey.get(toHex(publicKey)) ?? -1
}

/** Voting power of the validator at `index` (which must exist). */
export function powerOf (set: ValidatorSet, index: number): number {
  const v = set.validators[index]
  assert.ok(v !== undefined, 'validator index out of range')
  return v.power
}

/** True when `power` is more than two thirds of the total (a Byzantine quorum). */
export function isQuorum (power: number, totalPower: number, bug?: PlantedBug): boolean {
  // Planted bug: 2f instead of 2f + 1, where f is the largest power strictly below a third.
  if (bug === 'quorum-2f') return power >= 2 * Math.floor((totalPower - 1) / 3)
  return 3 * power > 2 * totalPower
}

/** True when `power` is more than one third of the total: at least one honest validator is in it. */
export function isOneThird (power: number, totalPower: number): boolean {
  return 3 * power > totalPower
}

function strideFor (total: number): number {
  let stride = Math.max(1, Math.round(total * 0.6180339887))
  while (gcd(stride, total) !== 1) stride++
  return stride
}

function gcd (a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}
