/**
 * Unsigned LEB128 varints, as CAR files frame their header and sections (multiformats
 * unsigned-varint: at most 9 bytes, minimal encoding).
 */
import assert from 'node:assert/strict'

/** Bytes of the longest varint read: 9 × 7 bits covers every safe integer. */
export const maxVarintBytes = 9

/** Encodes a non-negative safe integer. */
export function encodeVarint (n: number): Uint8Array {
  assert.ok(Number.isSafeInteger(n) && n >= 0, 'a varint encodes a non-negative safe integer')
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
