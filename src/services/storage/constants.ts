/**
 * Every bound and timing of block storage and block transfer (the `/keynet/blocks/*` protocols,
 * the block fetcher and the fault log), each with its reason. Relationships between them are
 * asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxBlockBytes } from '../../core/content/constants.ts'
import { maxMessageBytesCap } from '../p2p/index.ts'

/** Bytes of one CID in binary form: a CIDv1 with a sha2-256 multihash is 36; room for other hashes. */
export const maxCidBytes = 128

/** Block payload bytes in one get response or put request: a handful of 1 MiB chunks per frame. */
export const maxTransferBatchBytes = 8 * 1024 * 1024
/** Framing bytes on top of a batch's payload: CBOR headers and CIDs of every entry fit. */
export const transferBatchSlackBytes = 64 * 1024
/** CIDs asked for in one get request: 8 MiB of small blocks, and a request frame of ~36 KiB. */
export const maxGetCidsPerRequest = 256
/** Blocks sent in one put request. */
export const maxPutBlocksPerRequest = 256
/** CIDs asked about in one has request: the request stays under ~600 KiB. */
export const maxHasCidsPerRequest = 4096
/** CIDs listed as missing in one pin answer: the client sends them, then asks again. */
export const maxMissingListed = 1024
/** Characters of a per-block error in a put answer: an error name and a short reason. */
export const maxPutErrorChars = 256
/** Bytes of a get request: a full list of the longest CIDs with their CBOR headers. */
export const maxGetRequestBytes = maxGetCidsPerRequest * (maxCidBytes + 8)
/** Bytes of a has request: a full list of the longest CIDs with their CBOR headers. */
export const maxHasRequestBytes = maxHasCidsPerRequest * (maxCidBytes + 8)
/** Bytes of a put request or a get response: a full batch and its framing. */
export const maxBatchMessageBytes = maxTransferBatchBytes + transferBatchSlackBytes
/** Bytes of a pin response: a full missing list, or a receipt, with room to spare. */
export const maxPinResponseBytes = maxMissingListed * (maxCidBytes + 8) + 1024
/** Deadline of a block handler on the serving node: a batch is read from disk well within it. */
export const blockHandlerTimeoutMs = 30_000
/** Deadline of a pin handler: it hashes the whole DAG from disk before signing. */
export const pinHandlerTimeoutMs = 120_000
/** Default deadline of one block request made by a `BlockClient`. */
export const defaultBlockRequestTimeoutMs = 20_000

/** CIDs asked for in one `/keynet/blocks/get/2` request: the answer may stop early at `maxTransferBatchBytes` (the client asks again for the rest). */
export const maxRawGetCidsPerRequest = 64

/** CIDs asked for in one HTTP block request: the URL stays under ~4 KiB (a base32 CIDv1 is 59 characters). */
export const maxHttpCidsPerRequest = 64
/** Characters of an HTTP block request's URL: a full list of CIDs and the path. */
export const maxHttpBlockUrlChars = maxHttpCidsPerRequest * 130 + 64
/** HTTP block requests a storage node answers at once; past it, 503 with Retry-After. */
export const maxConcurrentHttpBlockRequests = 64
/** Bytes of an HTTP block request's headers (the URL included): a full CID list fits. */
export const maxHttpBlockHeaderBytes = 16 * 1024
/** Block buffers a node's HTTP endpoint keeps for reuse (~16 MiB): serving then allocates nothing per block. */
export const pooledHttpBlockBuffers = 16
/**
 * A block served within this long of being stored or checked against its CID is not hashed again
 * (`BlockStore.readInto`): a client verifies every block itself, and a disk that corrupts a block
 * is still found out within this window, or by the client, which refuses the block and reports it.
 */
export const reverifyAfterMs = 10 * 60_000
/** Blocks whose last check the store remembers (64 GiB of 1 MiB blocks; about 8 MB of memory). */
export const maxRecentlyVerified = 65_536
/** Buffers for received raw blocks kept for reuse in a process (`block-buffers.ts`): a fetch's read-ahead window and a batch in flight, 64 MiB at most. */
export const pooledReceivedBlockBuffers = 64
/** Open connections to a storage node's HTTP block endpoint; past it, new ones are closed. */
export const maxHttpBlockConnections = 256
/** A client must send its request headers within this (slowloris). */
export const httpBlockHeadersTimeoutMs = 10_000
/** A connection idle (no bytes either way) this long is closed, by the node and by clients. */
export const httpBlockIdleTimeoutMs = 30_000
/** Connections a client keeps to one provider's HTTP block endpoint. */
export const maxHttpSocketsPerProvider = 8
/** Bytes of an HTTP error body a client reads. */
export const maxHttpErrorBodyBytes = 4096

/** Roots a store keeps pinned: the pin list is rewritten whole, so it stays a few MiB. */
export const maxPins = 65_536

/**
 * A block request unanswered this long is a stall: the block is asked of another provider and the
 * routing pool counts a timeout against this one (stretched to 8× the typical latency once known).
 */
export const defaultStallTimeoutMs = 2_000
/** Blocks the fetcher keeps asked of one provider at a time: with 1 MiB blocks, 8 keep three providers streaming back to back (4 measured ~8 % slower). */
export const defaultMaxInFlightPerProvider = 8
/** Deadline of dialling one address of a provider; its other addresses are tried after. */
export const providerConnectTimeoutMs = 5_000
/** Providers one fetcher spreads over: more only adds connections, not speed. */
export const maxFetchProviders = 64
/** Gets waiting for a free provider slot: past it a get fails at once instead of queueing. */
export const maxQueuedGets = 4096

/** Bytes of a fault log file; past it the oldest half of the entries is dropped. */
export const maxFaultLogBytes = 1024 * 1024
/** Characters of a fault's free-text detail in the log. */
export const maxFaultDetailChars = 200

assert.ok(maxBlockBytes <= maxTransferBatchBytes, 'one block (core/content maxBlockBytes) must fit in a batch')
assert.ok(maxBatchMessageBytes <= maxMessageBytesCap, 'a full batch must fit in one p2p message')
assert.ok(maxGetCidsPerRequest * (maxCidBytes + 16) <= transferBatchSlackBytes, 'the framing of a full get response fits the slack')
assert.ok(maxPutBlocksPerRequest * (maxCidBytes + 16) <= transferBatchSlackBytes, 'the framing of a full put request fits the slack')
assert.ok(maxGetRequestBytes <= maxMessageBytesCap && maxHasRequestBytes <= maxMessageBytesCap && maxPinResponseBytes <= maxMessageBytesCap)
assert.ok(defaultStallTimeoutMs < defaultBlockRequestTimeoutMs)
assert.ok(maxRawGetCidsPerRequest <= maxGetCidsPerRequest, 'a get/2 request decodes with the get/1 request bound')
assert.ok(httpBlockHeadersTimeoutMs < httpBlockIdleTimeoutMs)
assert.ok(maxHttpBlockUrlChars < maxHttpBlockHeaderBytes, 'a full CID list fits the header bound')
