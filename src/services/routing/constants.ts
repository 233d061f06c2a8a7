/**
 * Bounds and defaults of the routed-call executor and the pool registry, each with its reason.
 * The selection, ejection and budget tunings are in `src/core/routing/constants.ts`.
 */
import assert from 'node:assert/strict'

/** Retries of one call by default (each on another provider, each also paid from the pool's retry budget). */
export const defaultRetries = 2
/** Retries one call may ask for: beyond this a caller should fix its providers, not retry. */
export const maxRetriesPerCall = 8
/** An attempt silent this long is a timeout (and the call moves on): long enough for a slow backend's first byte. */
export const defaultAttemptTimeoutMs = 10_000
/** Pools one registry keeps (least recently used dropped first): a client's working set of resources, at 2 KiB plus 1 KiB per provider each. */
export const maxRoutingPools = 1024
/** Characters of one provider's error quoted in a failed call's message: the message stays readable and bounded. */
export const maxOutcomeDetailChars = 200

assert.ok(defaultRetries <= maxRetriesPerCall && defaultAttemptTimeoutMs > 0 && maxRoutingPools >= 1 && maxOutcomeDetailChars >= 40)
