/**
 * Every bound of the DNS server and its cache of verified answers, each with its reason.
 * Relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxQueryBytes } from '../../core/dns/constants.ts'

/** The DNS port of a devnet's gateway: the unprivileged port of mDNS, which `dig -p 5353` users know. */
export const devnetDnsPort = 5353
/** Names whose verified answers are cached: a hot set far larger than any site's, in a few MiB. */
export const maxCachedNames = 10_000
/** How long a verified answer may be served past its TTL when the ledger cannot be reached (RFC 8767 suggests 1 to 3 days). */
export const maxStaleMs = 24 * 60 * 60 * 1000
/** A name lookup that takes longer is given up: the ledger counts as unreachable for that query. */
export const resolveTimeoutMs = 2000
/** Different names being looked up at once; past it new names get SERVFAIL instead of queueing. */
export const maxPendingLookups = 1024
/** The local ledger counts as unreachable when its last committed block is older than this (blocks come every second even when idle). */
export const maxLedgerAgeMs = 30_000
/** An upstream resolver that has not answered a forwarded query within this time: SERVFAIL. */
export const forwardTimeoutMs = 3000
/** Queries forwarded upstream at once; past it foreign queries get SERVFAIL. */
export const maxPendingForwards = 256
/** Largest answer taken from an upstream resolver (the most a TCP-framed DNS message can carry). */
export const maxUpstreamAnswerBytes = 65_535
/** TCP connections open at once; more are refused by the listener. */
export const maxTcpConnections = 256
/** A TCP connection with no complete query for this long is closed (RFC 7766 §6.2.3 suggests seconds). */
export const tcpIdleTimeoutMs = 10_000
/** Queries of one TCP connection answered at once (RFC 7766 pipelining); the socket is paused past it. */
export const maxTcpPipelined = 16
/** Largest query taken over TCP: the same as over UDP and HTTPS. */
export const maxTcpQueryBytes = maxQueryBytes

assert.ok(maxPendingForwards <= maxPendingLookups, 'forwarding never crowds out .key lookups')
assert.ok(resolveTimeoutMs < tcpIdleTimeoutMs, 'a slow lookup is answered before its TCP connection idles out')
assert.ok(forwardTimeoutMs < tcpIdleTimeoutMs, 'a slow upstream is answered before its TCP connection idles out')
