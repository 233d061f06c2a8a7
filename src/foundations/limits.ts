/**
 * Every bound of the protocol and node in one place, each with its reason. `docs/LIMITS.md`
 * lists them for operators; relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'

/** A signed transaction on the wire: a name record (4 KiB) plus envelope and signature fits. */
export const maxTxBytes = 6 * 1024
/** Records of one name, encoded: keeps a name's state proof small and state growth bounded. */
export const maxRecordBytes = 4096
/** Transactions in one block: bounds execution time of one proposal (~1 s of signature checks). */
export const maxBlockTxs = 8000
/** A proposed block on the wire (gossip message limit is above it). */
export const maxBlockBytes = 8 * 1024 * 1024
/** Pending transactions a node holds; past it new submissions get MempoolFullError (503). */
export const maxMempoolTxs = 50_000
/** Pending transactions of one sender: one account cannot fill the mempool alone. */
export const maxMempoolTxsPerSender = 10_000
/**
 * Transactions whose signature check a node remembers, so admission and block execution check
 * each one once: a few blocks' worth, ~10 s of transactions at the target rate (~0.5 KiB each).
 */
export const maxVerifiedTxs = 20_000
/** A pending transaction not included within this time (say, stuck behind a nonce gap) is dropped. */
export const maxPendingAgeMs = 10 * 60_000
/** How far ahead of the account's nonce a pending transaction may be. */
export const maxNonceGap = 10_000
/** Body of an HTTP API request. */
export const maxApiBodyBytes = 2 * 1024 * 1024
/** Transactions in one API batch submission. */
export const maxApiBatchTxs = 2000
/** Blocks served per block-sync request: a response stays well under the stream limit. */
export const maxSyncBlocksPerRequest = 64
/** Bytes of one block-sync response. */
export const maxSyncResponseBytes = 32 * 1024 * 1024
/** Evidence items in one block. */
export const maxBlockEvidence = 64
/** A block's time may run ahead of its parent's by at most this, so a Byzantine proposer can move ledger time only slowly. */
export const maxBlockTimeStepMs = 60_000
/** Characters of one label of a name (RFC 1035 / UTS-46 shape). */
export const maxLabelChars = 63
/** Characters of a whole name, as in DNS. */
export const maxNameChars = 253
/** Sub-name depth under a registered `label.key` (blog.mysite.key is depth 1). */
export const maxSubNameDepth = 4
/** Text records per name. */
export const maxTextRecords = 32
/** Characters of a text record's key. */
export const maxTextKeyChars = 64
/** Service endpoints per name. */
export const maxServiceEndpoints = 32
/** Data shards per name. */
export const maxShards = 256
/** Terms paid in advance by one register/renew. */
export const maxTermsPerTx = 10
/** Registered storage providers: the registry index is one state entry. */
export const maxProviders = 2000
/** libp2p addresses a provider may list. */
export const maxProviderAddrs = 8
/** Characters of a provider address or region name. */
export const maxProviderAddrChars = 256
/** Holders of one pin: enough for any replica policy, small enough for one transaction. */
export const maxPinHolders = 16

assert.ok(maxRecordBytes + 1024 < maxTxBytes, 'a full record must fit in a transaction')
assert.ok(maxBlockTxs * 1024 <= maxBlockBytes, 'a block of typical (≤ 1 KiB) transactions must fit the byte limit')
assert.ok(maxApiBatchTxs * maxTxBytes <= maxApiBodyBytes * 8, 'API body limit must fit a useful batch')
assert.ok(maxMempoolTxsPerSender <= maxMempoolTxs)
assert.ok(maxVerifiedTxs >= 2 * maxBlockTxs, 'the verified-transaction memory must cover a block being decided and the next')
