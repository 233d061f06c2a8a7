/**
 * Bounds and tunings of the provider market, each with its reason. `docs/protocol/market.md`
 * explains the rules they tune; relationships between them are asserted when this module loads.
 * Shares and rates are in basis points (1 bp = 0.01 %) so every rule stays integer arithmetic
 * where money moves.
 */
import assert from 'node:assert/strict'

/** Length of one settlement period on the devnet: short, so failures cost little and replacement is quick. */
export const settlementPeriodMs = 30_000
/** Smallest stake an operator needs before its nodes may offer: a slash must hurt more than a period's pay. */
export const minOperatorStake = 10_000
/** Highest price per unit per period any offer may name: far above any sane price, below integer overflow of price × units × periods. */
export const maxUnitPrice = 1_000_000
/** Units (GiB, core-s, …) of one offer or deal: keeps price × units × periods a safe integer. */
export const maxUnits = 1_000_000
/** Settlement periods of one deal: a long deal renews rather than locking escrow for ever. */
export const maxDealPeriods = 100_000
/** An offer may ask at most this multiple of the kind's reference price in its region: above it is gouging. */
export const maxOfferPriceMultiple = 4
/** The reference price moves by at most this share per period (bp), so a squeezed market cannot spike prices. */
export const maxPriceStepBps = 500
/** Utilisation of offered capacity (bp) the reference price steers toward: spare room for repairs and newcomers. */
export const targetUtilisationBps = 6_000
/** Price change per unit of utilisation above or below target (bp of price per bp of utilisation × 1/10,000). */
export const priceResponseBps = 2_000
/** Lowest reference price: a price never falls to zero, where offers would stop meaning anything. */
export const minReferencePrice = 1
/** Providers one deal may name: enough for any replica policy, small enough for one transaction. */
export const maxDealProviders = 16
/** Segments challenged per provider per period: one holding half the data passes a period with chance 2⁻¹⁶. */
export const challengesPerPeriod = 16
/** Bytes of one leaf of a deal's data commitment: small, so an on-ledger answer (segment + path) fits a transaction. */
export const auditSegmentBytes = 512
/** Proven segments in one audit-answer transaction (a full answer takes challengesPerPeriod ÷ this). */
export const maxAnswersPerTx = 4
/** Independent auditors assigned to each provider each period. */
export const auditorsPerChallenge = 5
/** Auditor passes that make a period's evidence pass: a majority, so a tenth of auditors colluding hides a bad period < 1 % of the time. */
export const auditQuorum = 3
/** Periods after a period's end during which a provider may answer a failed audit on the ledger. */
export const answerDeadlinePeriods = 1
/**
 * Failed periods within the replacement window that drop a provider from a deal. One: a failed
 * period is already proven (no valid answer on the ledger by the deadline, which absorbs blips
 * and lying auditors), and replacing at once keeps going-bad-to-replaced at 2 periods.
 */
export const failuresToReplace = 1
/** Periods over which failures count toward replacement: catches providers that fail only some of the time. */
export const replacementWindowPeriods = 16
/** Share of the slashed amount that goes to the wronged client (bp); the rest is burnt. */
export const slashToClientBps = 5_000
/** Stake slashed for one provably missed or wrong audit answer (bp of the operator's stake). */
export const slashPerFaultBps = 1_000
/** Largest share of a market's active placements one operator group may hold (bp). */
export const operatorShareCapBps = 2_000
/** Placements an operator group may hold however small the market is: a young market can still open deals. */
export const operatorCapFloor = 8
/** Share of new placements reserved for providers still in their vetting window (bp). */
export const newcomerShareBps = 500
/** Periods over which the newcomer share is kept (the tally decays with this time constant), so an old surplus or deficit does not steer today's placements. */
export const newcomerTallyPeriods = 10
/** Share of each offer's capacity new deals may not use (bp): kept for replacements, so repair finds room in a full market. */
export const repairHeadroomBps = 1_500
/** Periods a provider counts as a newcomer after it first offered. */
export const vettingWindowPeriods = 20
/** Reputation half-life in periods: a record earned long ago fades, so a provider must keep earning it. */
export const reputationHalfLifePeriods = 50
/** Weight of a failed period against a passed one: a provider good only part of the time scores low. */
export const failureWeight = 6
/** Weight of a wrong answer (garbage, a bad path): worse than silence, since it costs the checker work. */
export const wrongAnswerWeight = 20
/** Answer latency at which a provider counts as fully slow for its score. */
export const answerBudgetMs = 10_000
/** Stake sources recorded per operator: keeps the entry small; a later funder still links through the earlier ones. */
export const maxStakeSources = 16
/** Share of the score that speed can move (bp): being fast never makes up for being wrong. */
export const speedWeightBps = 1_000
/** Periods after a failure during which a provider gets no new placements: one just back from an outage proves itself on the deals it has first. */
export const probationPeriods = 5
/** Score below which a provider gets no new placements (bp). */
export const minSelectableScoreBps = 4_000
/** Settlement items (deal, period) in one settle transaction: the batching that keeps ledger load small. */
export const maxSettleItems = 256
/** Usage receipts in one receipt transaction: a provider submits the latest receipt of each of its deals in one go. */
export const maxReceiptsPerTx = 64
/** Audit results in one audit-result transaction. */
export const maxAuditResultsPerTx = 256
/** Settled periods kept in a provider's ledger record: enough for its reputation (older ones have decayed to little) at a bounded size. */
export const maxRecordedPeriods = 64
/** Segments in one deal's data commitment (16 TiB of 512-byte segments): a Merkle path stays ≤ 35 hashes. */
export const maxDealSegments = 2 ** 35

/** CPU budget of one compute task in core-seconds (a day: the longest task timeout). */
export const maxTaskCoreSeconds = 86_400
/** A compute task may be closed without its client this many times its budget after opening: the runner's wall-clock backstop is 4× the budget. */
export const computeRunWindowMultiple = 4
/** Added to a compute task's window: time for the client to bring a tie-breaker and post the reports. */
export const computeSettleGraceMs = 120_000
/** Signed reports in one compute-settle transaction: every provider a task may use. */
export const maxComputeReportsPerTx = 16

assert.ok(auditQuorum * 2 > auditorsPerChallenge, 'a quorum is a majority of the assigned auditors')
assert.ok(slashToClientBps <= 10_000 && slashPerFaultBps <= 10_000)
assert.ok(maxUnitPrice * maxUnits * maxDealProviders <= Number.MAX_SAFE_INTEGER, 'one period of a deal is a safe integer; whole-deal sums are checked when it opens')
assert.ok(failuresToReplace <= replacementWindowPeriods)
assert.ok(challengesPerPeriod % maxAnswersPerTx === 0, 'a full answer is a whole number of transactions')
assert.ok(newcomerShareBps < operatorShareCapBps)
assert.ok(Number.isSafeInteger(maxUnitPrice * maxTaskCoreSeconds * (maxComputeReportsPerTx + 1)), 'a compute task\'s escrow is a safe integer')
