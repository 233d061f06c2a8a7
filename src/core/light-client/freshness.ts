/**
 * How recent the signed header must be. A valid proof against an old header is still a valid
 * proof: without this, a node could answer with the state from before a transfer or an update.
 * Blocks come at least every second on a running chain, so a header minutes old means the node
 * is behind, cut off, or withholding newer blocks.
 */
export interface Freshness {
  /** The verifier's clock (ms). */
  now: number
  /** Oldest acceptable header, as an age in ms. */
  maxAgeMs: number
}

/** The header age a client accepts unless told otherwise. */
export const defaultMaxAnswerAgeMs = 120_000
