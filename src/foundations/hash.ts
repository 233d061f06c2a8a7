import { createHash, hash } from 'node:crypto'

/** SHA-256, the one hash of the protocol (block ids, tx ids, state map, owner ids). */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

export const hashBytes = 32

/**
 * SHA-256 of one byte array by the one-shot call, for hot loops (the commitment tree hashes
 * millions of segments). The result may be a view into a shared pool: `set()` it into your own
 * array or copy it; do not keep it or use its `.buffer`.
 */
export function sha256Transient (bytes: Uint8Array): Uint8Array {
  return hash('sha256', bytes, 'buffer')
}
