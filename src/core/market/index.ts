/**
 * @packageDocumentation
 *
 * The provider market's rules as pure, deterministic functions: operator identity and stake,
 * offers and dynamic prices, deals with escrow, storage audits and their evidence, settlement
 * per period, disputes and slashing, automatic replacement, reputation, and selection under the
 * operator cap and the newcomer share. No I/O, no clocks, no `Math.random`: the ledger handlers,
 * the market simulation and the node's agents run these same functions. See
 * `docs/protocol/market.md`.
 *
 * @example
 * ```ts
 * const deal = openDeal({ id, client, kind: 'storage', units: 10, policy: { replicas: 3, regions: 2 },
 *   startPeriod: 100, periods: 20, holders, escrow: requiredEscrow(holders.map(h => h.price), 10, 20) })
 * const s = settlePeriod(deal, 100, provider => verdict(evidence[provider], 100, now))
 * // s.payments, s.refunded, s.failed (slash these), s.dropped (replace these)
 * ```
 */
export * from './constants.ts'
export * from './errors.ts'
export * from './kinds.ts'
export * from './operators.ts'
export * from './stake.ts'
export * from './offers.ts'
export * from './pricing.ts'
export * from './escrow.ts'
export * from './merkle.ts'
export * from './commitment.ts'
export * from './audit.ts'
export * from './evidence.ts'
export * from './deals.ts'
export * from './settlement.ts'
export * from './receipts.ts'
export * from './disputes.ts'
export * from './replacement.ts'
export * from './reputation.ts'
export * from './selection.ts'
export * from './compute-tasks.ts'
