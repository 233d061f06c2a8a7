/**
 * Operating errors of key-value records. A write by a key that may not write uses the
 * foundation's `NotOwnerError`, a bad signature `InvalidSignatureError`, an oversized value
 * `PayloadTooLargeError`; these are the KV-specific ones.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/**
 * A write whose version is not above the stored one (or equal to it with other content).
 * `current` is the version the replica holds; write `current + 1` or higher.
 */
export class StaleVersionError extends errorWithStatus(409) {
  /** The version the replica holds for that key. */
  readonly current: number
  constructor (message: string, current: number) {
    super(message)
    this.current = current
  }
}

/** A key that is empty, longer than `maxKvKeyBytes`, holds NUL, or is not well-formed Unicode. */
export class InvalidKvKeyError extends errorWithStatus(400) {}
