/**
 * Every bound and timing of service nodes (HTTP over `/keynet/http/1` to an owner's backend, and
 * the `/keynet/service/bind/1` protocol), each with its reason. Relationships between them are
 * asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxNameChars, maxServiceEndpoints } from '../../foundations/limits.ts'
import { maxMessageBytesCap } from '../p2p/index.ts'

/** A request or response head on the wire, whatever a node allows: bounds the reader's buffer. */
export const maxHeadBytesCap = 64 * 1024
/** Default bound of a request head a service node accepts (Node's HTTP server allows 16 KiB of headers too); larger gets 431. */
export const defaultMaxHeaderBytes = 16 * 1024
/** Header lines in one head, as Node's HTTP server allows by default. */
export const maxHeaderCount = 100
/** Characters of a request target (path and query): longer URLs are refused by most servers anyway. */
export const maxTargetChars = 8 * 1024
/** Characters of a method name: the standard ones are at most 7. */
export const maxMethodChars = 16
/** Payload bytes of one body frame: large enough to cost little framing, small enough to assemble cheaply. */
export const maxBodyFrameBytes = 256 * 1024
/** Bodies up to this size are framed with one copy (header and payload in one write); larger ones are sent in two parts. */
export const coalesceFrameBytes = 16 * 1024

/** Default deadline for a request's head to arrive after the stream opens (a peer that opens and stalls is dropped). */
export const defaultHeadTimeoutMs = 10_000
/**
 * Default deadline of a backend with no progress before it starts its response: the timer
 * restarts whenever the backend takes more of the request body, so a slow upload is not cut.
 * Past it the caller gets 504.
 */
export const defaultRequestTimeoutMs = 30_000
/** Default time a response body may stall (the backend sends nothing) before the exchange is aborted. */
export const defaultBodyIdleTimeoutMs = 60_000
/** Longest one exchange may last, body streaming included: 1 GiB at 1 MiB/s fits. */
export const maxExchangeMs = 60 * 60_000
/** Default requests a service node forwards at once; more get 503. */
export const defaultMaxConcurrentRequests = 256
/** Concurrent HTTP streams from one connection (a gateway multiplexes many users over one). */
export const maxHttpStreamsPerConnection = 256
/** Default largest request body a node forwards; a larger one gets 413. */
export const defaultMaxRequestBodyBytes = 4 * 1024 * 1024 * 1024

/**
 * Default deadline of a `ServiceClient` for the response head, restarted by upload progress;
 * longer than a node's default backend deadline so the node's 504 arrives first.
 */
export const defaultClientHeadTimeoutMs = 60_000
/** Default deadline of opening the stream to a service node (dial and negotiation). */
export const defaultClientConnectTimeoutMs = 10_000

/** Bindings one node holds: the bindings file stays well under a MiB. */
export const maxBindings = 1024
/** Bindings of one name on one node: as many as the name's `service` record may list. */
export const maxBindingsPerName = maxServiceEndpoints
/** Characters of a binding's path prefix. */
export const maxPathPrefixChars = 256
/** Characters of a backend URL. */
export const maxBackendUrlChars = 512
/** A signed bind or unbind is accepted only if its time is within this of the node's clock. */
export const maxBindClockSkewMs = 5 * 60_000
/** Recent unbinds remembered (so a replayed older bind is refused); more within the skew window get 503. */
export const maxRecentUnbinds = 4096
/** Bytes of a bind request: a name, a prefix, a backend URL, a key and a signature. */
export const maxBindRequestBytes = 4 * 1024
/** Bytes of a list response: every binding of a name with its state. */
export const maxListResponseBytes = 256 * 1024
/** Deadline of a bind, unbind or list handler (a list may probe the backends first). */
export const bindHandlerTimeoutMs = 10_000
/** Default deadline of a bind, unbind or list request from a `ServiceClient`. */
export const defaultBindRequestTimeoutMs = 15_000
/** Characters of a last-error text kept and listed per binding. */
export const maxErrorTextChars = 300
/** A binding's live state older than this is refreshed by a probe when the binding is listed. */
export const probeStaleMs = 10_000
/** Deadline of one probe of a backend. */
export const probeTimeoutMs = 2_000

/** Upper bounds (seconds) of the response-latency histogram buckets kept per binding. */
export const latencyBucketsSeconds: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

assert.ok(defaultMaxHeaderBytes <= maxHeadBytesCap, 'the default header limit is within the wire cap')
assert.ok(maxHeadBytesCap <= maxMessageBytesCap && maxBodyFrameBytes <= maxMessageBytesCap, 'frames use the p2p varint')
assert.ok(coalesceFrameBytes < maxBodyFrameBytes)
assert.ok(defaultClientHeadTimeoutMs > defaultRequestTimeoutMs, "a node's 504 must reach the client before the client gives up")
assert.ok(defaultRequestTimeoutMs < maxExchangeMs && defaultBodyIdleTimeoutMs < maxExchangeMs)
assert.ok(probeTimeoutMs < bindHandlerTimeoutMs && bindHandlerTimeoutMs < defaultBindRequestTimeoutMs, 'a list with probes answers before the client gives up')
assert.ok(maxBindRequestBytes > maxNameChars + maxPathPrefixChars + maxBackendUrlChars + 256, 'a full bind request fits')
assert.ok(maxBindingsPerName * (maxNameChars + maxPathPrefixChars + maxBackendUrlChars + maxErrorTextChars + 512) <= maxListResponseBytes, 'a full list fits')
assert.ok(maxBindingsPerName <= maxBindings)
