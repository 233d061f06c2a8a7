/**
 * The simulated application: a chain of tiny blocks. A block names its height, its parent's hash
 * and its proposer and carries a few random bytes; a Byzantine proposer can mark one invalid,
 * which `isValidBlock` (the `validate` of every node) rejects.
 */
import { equalBytes } from '../foundations/bytes.ts'
import type { Random } from '../foundations/clock.ts'
import { decode, encode } from '../foundations/encoding.ts'
import { sha256 } from '../foundations/hash.ts'

/** A decoded simulated block. */
export interface SimBlock {
  readonly height: number
  readonly parent: Uint8Array
  readonly proposer: number
  readonly payload: Uint8Array
  /** Set only by Byzantine proposers: no honest node may accept or commit such a block. */
  readonly invalid: boolean
}

/** Parent hash of block 1. */
export const genesisHash = new Uint8Array(32)

/** Bytes of random payload: enough that two proposals for one height differ. */
const payloadBytes = 8

/** A new block for `height` on top of `parent`, with a random payload (or marked invalid). */
export function makeBlock (height: number, parent: Uint8Array, proposer: number, random: Random, invalid = false): Uint8Array {
  const payload = new Uint8Array(payloadBytes)
  for (let i = 0; i < payloadBytes; i++) payload[i] = random.int(256)
  return encode({ height, parent, proposer, payload, invalid })
}

/** The block in `value`, or undefined when it is not one. */
export function decodeBlock (value: Uint8Array): SimBlock | undefined {
  try {
    const b = decode<Record<string, unknown>>(value)
    if (typeof b.height !== 'number' || !(b.parent instanceof Uint8Array) || typeof b.proposer !== 'number' ||
      !(b.payload instanceof Uint8Array) || typeof b.invalid !== 'boolean') return undefined
    return { height: b.height, parent: b.parent, proposer: b.proposer, payload: b.payload, invalid: b.invalid }
  } catch {
    return undefined
  }
}

/** Application validity: right height, extends the given parent, not marked invalid. */
export function isValidBlock (value: Uint8Array, height: number, parent: Uint8Array): boolean {
  const b = decodeBlock(value)
  return b !== undefined && b.height === height && equalBytes(b.parent, parent) && !b.invalid && b.payload.byteLength === payloadBytes
}

/** The simulated `hashValue`: SHA-256 of the block bytes. */
export function blockHash (value: Uint8Array): Uint8Array {
  return sha256(value)
}
