import { equalBytes } from '../../foundations/bytes.ts'
import { InsufficientFundsError, InvalidTransactionError, NameExpiredError, NameNotFoundError, NotOwnerError } from '../../foundations/errors.ts'
import { maxTermsPerTx } from '../../foundations/limits.ts'
import { parseName, type ParsedName } from '../names/grammar.ts'
import type { StateView } from './state.ts'
import type { ChainParams, NameEntry } from './types.ts'

/** Where a name stands at a given ledger time. */
export type NameStatus = 'active' | 'grace' | 'expired'

/** Expiry of a name: a sub-name lives as long as its root name. */
export function effectiveExpiry (state: Pick<StateView, 'name'>, parsed: ParsedName, entry: NameEntry): number {
  if (parsed.parent === undefined) return entry.expiresAt
  return subNameExpiry(entry, state.name(parsed.root))
}

/**
 * A sub-name follows its root's expiry, and dies with the registration it was made under: once
 * the root expires and is registered anew (by anyone), the old sub-names are expired.
 */
export function subNameExpiry (entry: NameEntry, root: NameEntry | undefined): number {
  if (root === undefined || root.registeredAt > entry.registeredAt) return 0
  return root.expiresAt
}

export function nameStatus (expiresAt: number, time: number, params: ChainParams): NameStatus {
  if (time < expiresAt) return 'active'
  if (time < expiresAt + params.graceMs) return 'grace'
  return 'expired'
}

/** Price of `terms` terms for a root name, by label length (short labels cost more). */
export function registrationPrice (parsed: ParsedName, terms: number, params: ChainParams): number {
  if (parsed.parent !== undefined) return params.subNamePrice * terms
  const label = parsed.labels[0] ?? ''
  const prices = params.namePrices
  const perTerm = prices[Math.min(label.length, prices.length) - 1] ?? prices[prices.length - 1] ?? 0
  return perTerm * terms
}

export function checkTerms (terms: number): void {
  if (terms < 1 || terms > maxTermsPerTx) throw new InvalidTransactionError(`terms must be 1..${maxTermsPerTx}`)
}

/** Takes `amount` from the sender; the price of names is burnt (it pays for scarcity, not a party). */
export function charge (state: StateView, address: Uint8Array, amount: number): void {
  const account = state.account(address)
  if (account.balance < amount) throw new InsufficientFundsError(`the price is ${amount} but the balance is ${account.balance}`)
  state.setAccount(address, { ...account, balance: account.balance - amount })
}

/**
 * The entry of a live name that `sender` may change: the name's owner, or for a sub-name also the
 * owner of its root name. Throws the matching error otherwise.
 */
export function controlledName (state: StateView, input: string, sender: Uint8Array, time: number, params: ChainParams, allowGrace = false): { parsed: ParsedName, entry: NameEntry } {
  const parsed = parseName(input)
  const entry = state.name(parsed.name)
  if (entry === undefined) throw new NameNotFoundError(`${parsed.name} is not registered`)
  const status = nameStatus(effectiveExpiry(state, parsed, entry), time, params)
  if (status === 'expired' || (status === 'grace' && !allowGrace)) {
    throw new NameExpiredError(`${parsed.name} expired${status === 'grace' ? '; renew it within the grace period' : ''}`)
  }
  if (equalBytes(entry.owner, sender)) return { parsed, entry }
  if (parsed.parent !== undefined) {
    const root = state.name(parsed.root)
    if (root !== undefined && equalBytes(root.owner, sender)) return { parsed, entry }
  }
  throw new NotOwnerError(`${parsed.name} is owned by another key`)
}
