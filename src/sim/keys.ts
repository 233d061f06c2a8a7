/**
 * Validator keys for simulated networks, derived from the run's seed.
 *
 * Two schemes implement the same `sign` / `verify` contract the consensus core is given:
 * - `ed25519`: the real scheme (foundations/crypto.ts), about 50 µs per verification.
 * - `fast`: signature = SHA-256(secret ‖ message), checked by a verifier that knows every
 *   simulated validator's secret. About 1 µs, so hundreds of seeds run in seconds. It keeps
 *   everything consensus relies on: a signature is deterministic, bound to its message and
 *   signer, and in the simulated world only the holder of a secret produces valid signatures
 *   (Byzantine nodes sign only with their own keys; forged ones fail to verify). It is not a
 *   public-key scheme and exists only here; one test runs seeds with real ed25519.
 */
import { equalBytes, toHex } from '../foundations/bytes.ts'
import { keyPairFromSecret, signBytes, verifyBytes } from '../foundations/crypto.ts'
import { encode } from '../foundations/encoding.ts'
import { sha256 } from '../foundations/hash.ts'

/** Which signatures a run uses. */
export type SignatureScheme = 'fast' | 'ed25519'

/** Keys of a simulated validator set and the sign/verify functions over them. */
export interface SimKeys {
  readonly scheme: SignatureScheme
  readonly publicKeys: readonly Uint8Array[]
  /** The signing function of validator `index`. */
  signer: (index: number) => (bytes: Uint8Array) => Uint8Array
  verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
}

/** `count` validator keys derived from `seed` (the same seed gives the same keys). */
export function simKeys (scheme: SignatureScheme, count: number, seed: number): SimKeys {
  const secrets = Array.from({ length: count }, (_, i) => sha256(encode(['keynet-sim-key', seed, i])))
  if (scheme === 'ed25519') {
    const pairs = secrets.map(keyPairFromSecret)
    return {
      scheme,
      publicKeys: pairs.map(p => p.publicKey),
      signer: index => bytes => signBytes(secretAt(secrets, index), bytes),
      verify: verifyBytes
    }
  }
  const publicKeys = secrets.map(s => sha256(s))
  const secretByKey = new Map(publicKeys.map((k, i) => [toHex(k), secretAt(secrets, i)]))
  return {
    scheme,
    publicKeys,
    signer: index => bytes => sha256(secretAt(secrets, index), bytes),
    verify: (publicKey, bytes, signature) => {
      const secret = secretByKey.get(toHex(publicKey))
      return secret !== undefined && signature.byteLength === 32 && equalBytes(sha256(secret, bytes), signature)
    }
  }
}

function secretAt (secrets: readonly Uint8Array[], index: number): Uint8Array {
  const s = secrets[index]
  if (s === undefined) throw new RangeError(`no simulated validator ${index}`)
  return s
}
