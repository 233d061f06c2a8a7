/**
 * A deal's escrow. Funds enter once (and on top-ups) and leave only as payments to providers or
 * refunds to the client; what is in neither is held. `checkEscrow` asserts the one invariant
 * every rule keeps: in = paid + refunded + held.
 */
import assert from 'node:assert/strict'

export interface Escrow {
  /** Everything the client put in. */
  deposited: number
  paid: number
  refunded: number
  /** Still in escrow. */
  held: number
}

export function openEscrow (amount: number): Escrow {
  assert.ok(Number.isSafeInteger(amount) && amount >= 0)
  return { deposited: amount, paid: 0, refunded: 0, held: amount }
}

/** Moves `amount` from held to paid. */
export function pay (e: Escrow, amount: number): Escrow {
  assert.ok(Number.isSafeInteger(amount) && amount >= 0 && amount <= e.held, `escrow pays ${amount} but holds ${e.held}`)
  return checkEscrow({ ...e, paid: e.paid + amount, held: e.held - amount })
}

/** Moves `amount` from held back to the client. */
export function refund (e: Escrow, amount: number): Escrow {
  assert.ok(Number.isSafeInteger(amount) && amount >= 0 && amount <= e.held, `escrow refunds ${amount} but holds ${e.held}`)
  return checkEscrow({ ...e, refunded: e.refunded + amount, held: e.held - amount })
}

/** Asserts in = paid + refunded + held and returns the escrow. */
export function checkEscrow (e: Escrow): Escrow {
  assert.equal(e.deposited, e.paid + e.refunded + e.held, 'escrow in = paid + refunded + held')
  assert.ok(e.paid >= 0 && e.refunded >= 0 && e.held >= 0)
  return e
}
