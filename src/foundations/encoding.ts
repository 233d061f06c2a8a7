import * as cborg from 'cborg'
import { MalformedMessageError } from './errors.ts'

/**
 * The canonical binary encoding of everything that is hashed, signed or sent between nodes:
 * deterministic CBOR (sorted map keys, shortest integer forms), so one value has one encoding.
 */
export function encode (value: unknown): Uint8Array {
  return cborg.encode(value)
}

/** Decodes canonical CBOR; throws `MalformedMessageError` on anything that is not. */
export function decode<T = unknown> (bytes: Uint8Array): T {
  try {
    return cborg.decode(bytes, { strict: true, rejectDuplicateMapKeys: true, useMaps: false }) as T
  } catch (err) {
    throw new MalformedMessageError(`not canonical CBOR: ${(err as Error).message}`)
  }
}
