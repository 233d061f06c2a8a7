/**
 * Every bound of the HTTP gateway and its edge cache, each with its reason. Relationships
 * between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'

/** Request line plus headers; past it node:http answers 431. Browsers send a few KiB at most. */
export const maxHeaderBytes = 16 * 1024
/** A client must finish sending its headers within this time (slowloris defence). */
export const headersTimeoutMs = 10_000
/** A client must finish sending its whole request within this time. */
export const requestTimeoutMs = 30_000
/** An idle keep-alive connection is closed after this; browsers reopen cheaply. */
export const keepAliveTimeoutMs = 5_000
/** Requests served at once; past it the gateway answers 503 with Retry-After instead of queueing. */
export const maxConcurrentRequests = 256
/** Open sockets at once; node:http drops connections beyond it. */
export const maxConnections = 1024
/** Blocks (up to 1 MiB each) fetched ahead of the client per file or CAR response: keeps providers busy while capping memory per request. */
export const readAheadBlocks = 4
/** A response that makes no progress (no upstream block, no client drain) for this long is aborted. */
export const stallTimeoutMs = 30_000
/** Seconds a client should wait before retrying a 503 from a busy gateway. */
export const retryAfterSeconds = 1
/** Path segments below a root: bounds the DAG walk one request can cause. */
export const maxPathDepth = 64
/** UTF-8 bytes of one decoded path segment: the longest file name common file systems allow. */
export const maxPathSegmentBytes = 255
/** Cache lifetime of `/ipfs/<cid>` responses: content under a CID never changes (48 weeks). */
export const immutableMaxAgeSeconds = 29_030_400
/** Cache lifetime of name responses: a name may point at new content on its next update. */
export const nameMaxAgeSeconds = 60
/** Entries shown in a generated folder listing; the rest are summarised in one line. */
export const maxListingEntries = 5000

/** Blocks kept in memory in front of the disk cache, by default: warm pages skip the disk. */
export const defaultMemoryCacheBytes = 64 * 1024 * 1024
/** Largest block the edge cache stores: a 1 MiB leaf plus dag-pb framing, with room to spare. */
export const maxCachedBlockBytes = 2 * 1024 * 1024
/** Blocks the edge cache indexes: bounds its in-memory index whatever the block sizes. */
export const maxCacheBlocks = 1_000_000
/** A cached block's file time is refreshed at most this often, so a restart keeps the LRU order without a write per hit. */
export const cacheTouchIntervalMs = 60_000
/** Resolved paths kept in memory (name or CID root plus path → file or folder): warm pages skip folder decoding. */
export const maxResolvedPaths = 4096
/** Folder entries those kept paths may list in all: bounds their memory (~100 bytes per entry). */
export const maxResolvedPathEntries = 200_000
/** Files up to this size are kept whole as ready answers (a site's pages, styles, scripts, icons); larger ones are streamed. */
export const maxWarmPageBytes = 256 * 1024
/** Bytes of those whole answers kept in memory. */
export const warmPagesBytes = 32 * 1024 * 1024
/** Whole answers kept in memory: bounds their index whatever their sizes. */
export const maxWarmPages = 8192

assert.ok(headersTimeoutMs <= requestTimeoutMs, 'headers arrive within the whole-request timeout')
assert.ok(maxConcurrentRequests <= maxConnections, 'every admitted request needs a connection')
assert.ok(maxConcurrentRequests * readAheadBlocks * 1024 * 1024 <= 1024 * 1024 * 1024, 'blocks fetched ahead by all requests together stay within 1 GiB')
assert.ok(maxWarmPageBytes * 16 <= warmPagesBytes, 'the warm pages hold many of the largest page')
assert.ok(maxCachedBlockBytes <= defaultMemoryCacheBytes, 'the default memory tier can hold the largest cached block')
