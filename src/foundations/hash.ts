import { createHash } from 'node:crypto'

/** SHA-256, the one hash of the protocol (block ids, tx ids, state map, owner ids). */
export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

export const hashBytes = 32
