/** Transactions of the provider market, as they travel in signed ledger transactions. */
import type { AuditOutcome } from '../../market/audit.ts'
import type { ResourceKind } from '../../market/kinds.ts'
import type { Offer } from '../../market/offers.ts'

/** One auditor-signed finding, as carried (batched) by an audit-result transaction. */
export interface SignedAuditResult {
  dealId: string
  /** Audited provider's address. */
  provider: Uint8Array
  period: number
  outcome: AuditOutcome
  latencyMs: number
  /** Auditor node's public key; its address must be a registered provider assigned to this audit. */
  auditor: Uint8Array
  sig: Uint8Array
}

/** A client-signed usage receipt, as a provider submits it (batched) in a receipt transaction. */
export interface SignedReceipt {
  dealId: string
  /** The provider served (it must be the submitter). */
  provider: Uint8Array
  /** Bytes (bandwidth) or requests (requests) served in the deal so far. */
  count: number
  /** The client's public key; its address must be the deal's client. */
  client: Uint8Array
  sig: Uint8Array
}

/** A provider-signed compute report (`ComputeReport`), as a compute-settle transaction carries it. */
export interface SignedComputeReport {
  /** The reporting provider's address; its registered node key must have signed. */
  provider: Uint8Array
  /** Result digest (64 hex characters). */
  digest: string
  coreSeconds: number
  sig: Uint8Array
}

export interface AnswerItem { index: number, segment: Uint8Array, path: Uint8Array[] }

export type MarketTxBody =
  /** Moves `amount` from the sender's balance into `operator`'s stake (the sender is recorded as a stake source). */
  | { type: 'stake', operator: Uint8Array, amount: number }
  /** The sending provider node offers `capacity` units of `kind` in its region at `price` per unit per period. */
  | { type: 'offer', kind: ResourceKind, capacity: number, price: number }
  | { type: 'offer-withdraw', kind: ResourceKind }
  /** The client opens a deal with the named providers, moving `escrow` from its balance into the deal; `cid` ties it to the client's pin of that content. */
  | { type: 'deal-open', kind: ResourceKind, units: number, periods: number, replicas: number, regions: number, providers: Uint8Array[], escrow: number, dataRoot?: Uint8Array, segments?: number, cid?: string }
  | { type: 'audit-result', results: SignedAuditResult[] }
  /** A holder answers its own challenge on the ledger (part of it: up to maxAnswersPerTx segments). */
  | { type: 'audit-answer', dealId: string, period: number, answers: AnswerItem[] }
  /** A provider submits the latest client-signed receipt of each of its usage deals (up to maxReceiptsPerTx). */
  | { type: 'receipt', receipts: SignedReceipt[] }
  | { type: 'settle', items: Array<{ dealId: string, period: number }> }
  /** Fills a vacant slot of a deal with a provider's offer. */
  | { type: 'deal-replace', dealId: string, slot: number, provider: Uint8Array }
  /** The client opens a compute task's escrow: the task id (hash of its spec), its CPU budget (core-seconds per provider), replicas, the providers it assigned, and `escrow` from its balance. */
  | { type: 'compute-open', taskId: string, units: number, replicas: number, providers: Uint8Array[], escrow: number }
  /** The client assigns more providers (replacements, tie-breakers) within the task's escrow. */
  | { type: 'compute-assign', taskId: string, providers: Uint8Array[] }
  /** Posts providers' signed reports; the rules pay, slash and refund. `close` ends the task (its client once all reported, anyone of it after the deadline). */
  | { type: 'compute-settle', taskId: string, reports: SignedComputeReport[], close: boolean }
  /** Fixes the randomness beacon of every ended period that has none yet (any market transaction does too). */
  | { type: 'market-tick' }

export type MarketTxType = MarketTxBody['type']

export const marketTxTypes: readonly MarketTxType[] = ['stake', 'offer', 'offer-withdraw', 'deal-open', 'audit-result', 'audit-answer', 'receipt', 'settle', 'deal-replace', 'market-tick', 'compute-open', 'compute-assign', 'compute-settle']

/** An offer as the ledger keeps it (keyed by provider, so without provider and operator). */
export type OfferEntry = Omit<Offer, 'provider' | 'operator'>

/** Active placements of one market, by operator group. */
export interface SharesEntry {
  total: number
  byGroup: Record<string, number>
}

/** Outcome codes of a settled period in a provider's record. */
export type RecordedOutcome = 'pass' | 'fail' | 'wrong'

/**
 * A provider's track record on the ledger: its last `maxRecordedPeriods` settled periods (period,
 * outcome) in settlement order, and everything its deals paid it. Integers only, so every node
 * stores the same bytes; reputation (with its decay) is computed from it when read.
 */
export interface ProviderRecord {
  periods: Array<[number, RecordedOutcome]>
  earned: number
}
