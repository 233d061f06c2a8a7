/**
 * The node's libp2p identity comes from its ed25519 secret (the 32-byte seed of
 * `foundations/crypto.ts`), so the peer id is stable across restarts and another node can map a
 * peer id back to the public key that signs its ledger messages.
 */
import assert from 'node:assert/strict'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { keyPairFromSecret } from '../../foundations/crypto.ts'

export async function privateKeyFromSecret (secretKey: Uint8Array): Promise<Ed25519PrivateKey> {
  assert.ok(secretKey instanceof Uint8Array && secretKey.byteLength === 32, 'an ed25519 secret key is 32 bytes')
  return generateKeyPairFromSeed('Ed25519', secretKey)
}

/** The peer id (base58btc string, `12D3KooW…`) of the node whose 32-byte secret key this is. */
export function peerIdOf (secretKey: Uint8Array): string {
  return peerIdOfPublicKey(keyPairFromSecret(secretKey).publicKey)
}

/** The peer id of the node whose raw 32-byte ed25519 public key this is. */
export function peerIdOfPublicKey (publicKey: Uint8Array): string {
  assert.ok(publicKey instanceof Uint8Array && publicKey.byteLength === 32, 'an ed25519 public key is 32 bytes')
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

/**
 * The raw 32-byte ed25519 public key inside a peer id, or `undefined` when the string is not an
 * ed25519 peer id. Never throws: peer ids arrive from the network.
 */
export function publicKeyFromPeerId (peer: string): Uint8Array | undefined {
  try {
    const id = peerIdFromString(peer)
    if (id.type !== 'Ed25519') return undefined
    return id.publicKey.raw
  } catch {
    return undefined
  }
}

/** True when `peer` parses as a peer id. Never throws. */
export function isPeerId (peer: string): boolean {
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > 128) return false
  try {
    peerIdFromString(peer)
    return true
  } catch {
    return false
  }
}
