/**
 * A token bucket for the hedge and retry budgets (Finagle's RetryBudget shape): each call
 * deposits a fraction of a token, time adds `refillPerSecond`, the balance is capped, and a hedge
 * or retry may happen only by taking a whole token. So extra requests stay a bounded share of
 * the calls, plus a small floor per second.
 */
import assert from 'node:assert/strict'

/** A budget's balance as of `atMs`. */
export interface TokenBucket {
  tokens: number
  readonly capacity: number
  readonly refillPerSecond: number
  atMs: number
}

/** A bucket holding `initial` tokens. */
export function createTokenBucket (capacity: number, refillPerSecond: number, initial: number, now: number): TokenBucket {
  assert.ok(capacity >= 1 && refillPerSecond >= 0 && initial >= 0 && initial <= capacity)
  return { tokens: initial, capacity, refillPerSecond, atMs: now }
}

/** The balance at `now`, with the time-based refill applied. */
export function tokensAt (b: TokenBucket, now: number): number {
  return Math.min(b.capacity, b.tokens + Math.max(0, now - b.atMs) / 1000 * b.refillPerSecond)
}

/** Adds `amount` tokens (a call's share). */
export function deposit (b: TokenBucket, amount: number, now: number): void {
  b.tokens = Math.min(b.capacity, tokensAt(b, now) + amount)
  b.atMs = Math.max(b.atMs, now)
}

/** Takes one token if there is one; says whether it did. */
export function tryTake (b: TokenBucket, now: number): boolean {
  const tokens = tokensAt(b, now)
  b.atMs = Math.max(b.atMs, now)
  if (tokens < 1) {
    b.tokens = tokens
    return false
  }
  b.tokens = tokens - 1
  return true
}
