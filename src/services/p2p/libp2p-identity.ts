/**
 * The libp2p key objects of a node's identity, and the check that a string is a peer id of any
 * kind. These load libp2p's key and peer-id packages: only the libp2p host uses them (peer ids of
 * our own ed25519 keys are in `identity.ts`, which loads neither).
 */
import assert from 'node:assert/strict'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'

export async function privateKeyFromSecret (secretKey: Uint8Array): Promise<Ed25519PrivateKey> {
  assert.ok(secretKey instanceof Uint8Array && secretKey.byteLength === 32, 'an ed25519 secret key is 32 bytes')
  return generateKeyPairFromSeed('Ed25519', secretKey)
}

/** True when `peer` parses as a peer id (any key type, either string form). Never throws. */
export function isPeerId (peer: string): boolean {
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > 128) return false
  try {
    peerIdFromString(peer)
    return true
  } catch {
    return false
  }
}
