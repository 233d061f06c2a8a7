/**
 * The node's libp2p identity comes from its ed25519 secret (the 32-byte seed of
 * `foundations/crypto.ts`), so the peer id is stable across restarts and another node can map a
 * peer id back to the public key that signs its ledger messages.
 *
 * An ed25519 peer id is the public key itself, inlined: base58btc of the identity multihash of
 * the protobuf `PublicKey { Type: Ed25519, Data: key }`. It is built and read here with
 * multiformats alone, so a client that only needs peer ids (the CLI fetching over HTTP) does not
 * load libp2p's key and peer-id packages (a tenth of a second of start-up); the libp2p key objects
 * are in `libp2p-identity.ts`.
 */
import assert from 'node:assert/strict'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import { keyPairFromSecret } from '../../foundations/crypto.ts'

/** Multihash code of the identity "hash" (the bytes themselves). */
const identityMultihash = 0x00
/** CID codec of a libp2p public key (the CID form of a peer id). */
const libp2pKeyCodec = 0x72
/**
 * The bytes of an ed25519 peer id's multihash before the key: identity multihash of 36 bytes,
 * then the protobuf `PublicKey`: field 1 (Type) = 1 (Ed25519), field 2 (Data) of 32 bytes.
 */
const ed25519PeerIdPrefix = Uint8Array.of(identityMultihash, 36, 0x08, 0x01, 0x12, 32)
const ed25519KeyBytes = 32

/** The peer id (base58btc string, `12D3KooW…`) of the node whose 32-byte secret key this is. */
export function peerIdOf (secretKey: Uint8Array): string {
  return peerIdOfPublicKey(keyPairFromSecret(secretKey).publicKey)
}

/** The peer id of the node whose raw 32-byte ed25519 public key this is. */
export function peerIdOfPublicKey (publicKey: Uint8Array): string {
  assert.ok(publicKey instanceof Uint8Array && publicKey.byteLength === ed25519KeyBytes, 'an ed25519 public key is 32 bytes')
  const multihash = new Uint8Array(ed25519PeerIdPrefix.byteLength + ed25519KeyBytes)
  multihash.set(ed25519PeerIdPrefix)
  multihash.set(publicKey, ed25519PeerIdPrefix.byteLength)
  // libp2p writes peer ids in base58btc without the multibase prefix ('z').
  return base58btc.encode(multihash).slice(1)
}

/**
 * The raw 32-byte ed25519 public key inside a peer id (base58btc, or the CIDv1 form), or
 * `undefined` when the string is not an ed25519 peer id. Never throws: peer ids arrive from the network.
 */
export function publicKeyFromPeerId (peer: string): Uint8Array | undefined {
  if (typeof peer !== 'string' || peer.length === 0 || peer.length > 128) return undefined
  let multihash: Uint8Array
  try {
    if (peer.startsWith('1') || peer.startsWith('Q')) multihash = base58btc.decode(`z${peer}`)
    else {
      const cid = CID.parse(peer)
      if (cid.version !== 1 || cid.code !== libp2pKeyCodec) return undefined
      multihash = cid.multihash.bytes
    }
  } catch {
    return undefined
  }
  if (multihash.byteLength !== ed25519PeerIdPrefix.byteLength + ed25519KeyBytes) return undefined
  for (let i = 0; i < ed25519PeerIdPrefix.byteLength; i++) if (multihash[i] !== ed25519PeerIdPrefix[i]) return undefined
  return multihash.slice(ed25519PeerIdPrefix.byteLength)
}
