/** Bounds and timings of a node's market agent and audit protocol, each with its reason. */
import assert from 'node:assert/strict'
import { challengesPerPeriod } from '../../core/market/constants.ts'

/** The audit protocol: an auditor asks a holder for challenged segments with their Merkle paths. */
export const auditProtocol = '/keynet/audit/1'
/** A request names a deal, a period and the challenged indices: small. */
export const maxAuditRequestBytes = 4096
/** An answer: every challenged segment (≤ 512 B) with a path of ≤ 40 hashes, plus framing. */
export const maxAuditResponseBytes = challengesPerPeriod * (512 + 40 * 34 + 64) + 1024
/** An auditor waits at most this long for a holder's answer (less when the period is shorter). */
export const auditTimeoutMs = 5000
/** How often the agent looks at the ledger, at most (it looks 8 times per period when periods are short). */
export const agentTickMs = 1000
/** A transaction the agent sent is not sent again for this share of a period (it commits in well under one). */
export const resendAfterPeriods = 1
/** Share of a period (bp) after which a holder without a passing quorum answers its challenge on the ledger itself. */
export const answerAfterBps = 5_000
/** Share of a period (bp) after which every node, not only the designated one, fixes a missing beacon or settles a late deal. */
export const fallbackAfterBps = 2_500
/** Deals the agent follows (open deals found at start and since): bounded, like everything that grows. */
export const maxFollowedDeals = 10_000
/** Commitment trees of held content kept in memory (one per pinned DAG being audited). */
export const maxCachedCommitments = 64
/**
 * Audit segments of all cached commitment trees together (2²¹ segments: 1 GiB of content, 128 MiB
 * of tree in memory); past it the oldest trees are dropped, and read back from disk when audited again.
 */
export const maxCachedCommitmentSegments = 2 ** 21
/** Tries at building the commitment tree of a new pin whose blocks are still arriving (a repair's pull). */
export const prepareTries = 20
/** Wait between those tries: a pull of a few GiB fits in the tries together. */
export const prepareRetryMs = 15_000
/** A commitment tree file outlives its unpin this long, in case the content is pinned again (a pin made before the ledger records it may be dropped meanwhile). */
export const unpinGraceMs = 60_000
/** Stake each storage node puts up for its operator when the operator has too little (the devnet's nodes fund it themselves). */
export const defaultNodeStake = 100_000
/** Price per GiB per period a storage node offers when not told otherwise. */
export const defaultStoragePrice = 10
/** Signed compute reports a provider keeps to claim with (one per task it ran with escrow; the oldest go first). */
export const maxHeldReports = 1024
/** Price per core-second a compute node offers when not told otherwise. */
export const defaultComputePrice = 2

assert.ok(answerAfterBps < 10_000 && fallbackAfterBps < 10_000)
