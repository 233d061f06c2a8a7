/**
 * Every bound and timing of the DNS answers for `.key` (docs/protocol/dns-bridge.md), each with its
 * reason. Relationships between them are asserted when this module loads.
 */
import assert from 'node:assert/strict'

/** TTL of a name's answers when its records set no `ttl` text record: the gateway's own name max-age. */
export const defaultTtlSeconds = 60
/** Lowest TTL an owner's `ttl` text record may ask for: below it, resolvers would ask the gateway for every lookup. */
export const minTtlSeconds = 5
/** Highest TTL an owner's `ttl` text record may ask for: a record update reaches every resolver within the hour. */
export const maxTtlSeconds = 3600
/** TTL of NXDOMAIN/NODATA answers (the SOA minimum): a name registered just now resolves within seconds. */
export const negativeTtlSeconds = 5
/** TTL of a verified answer served past its TTL because the ledger cannot be reached (RFC 8767 recommends 30 s). */
export const staleTtlSeconds = 30
/** Largest query accepted on any transport: a question plus EDNS options needs a few hundred bytes. */
export const maxQueryBytes = 4096
/** UDP answer size without EDNS (RFC 1035 §4.2.1); longer answers are truncated (TC) and retried over TCP. */
export const classicUdpBytes = 512
/** UDP payload size this server advertises and honours at most (the DNS Flag Day 2020 value: no IP fragmentation). */
export const ednsUdpBytes = 1232
/** Queries with more questions than this are FORMERR: every resolver in use sends exactly one. */
export const maxQuestions = 1

assert.ok(minTtlSeconds <= defaultTtlSeconds && defaultTtlSeconds <= maxTtlSeconds, 'the default TTL lies within the allowed range')
assert.ok(negativeTtlSeconds <= minTtlSeconds, 'a new registration is seen no later than a record update')
assert.ok(classicUdpBytes <= ednsUdpBytes && ednsUdpBytes <= maxQueryBytes, 'UDP sizes are ordered')
