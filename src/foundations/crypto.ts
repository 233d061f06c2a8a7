import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import { sha256 } from './hash.ts'

/** Raw ed25519 keys: a 32-byte seed (secret) and a 32-byte public key. */
export interface KeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

const pkcs8Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex')

export function generateKeyPair (): KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519')
  return keyPairFromSecret(secretOf(privateKey))
}

function secretOf (key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }).subarray(pkcs8Prefix.length))
}

const privateCache = new Map<string, KeyObject>()
function privateKeyObject (secret: Uint8Array): KeyObject {
  const id = Buffer.from(secret).toString('base64')
  let key = privateCache.get(id)
  if (key === undefined) {
    if (secret.byteLength !== 32) throw new TypeError('an ed25519 secret key is 32 bytes')
    key = createPrivateKey({ key: Buffer.concat([pkcs8Prefix, secret]), format: 'der', type: 'pkcs8' })
    if (privateCache.size > 1024) privateCache.clear()
    privateCache.set(id, key)
  }
  return key
}

const publicCache = new Map<string, KeyObject>()
function publicKeyObject (publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.byteLength !== 32) return undefined
  const id = Buffer.from(publicKey).toString('base64')
  let key = publicCache.get(id)
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([spkiPrefix, publicKey]), format: 'der', type: 'spki' })
    } catch {
      return undefined
    }
    // Bounded: a flood of fresh keys costs a re-parse, never unbounded memory.
    if (publicCache.size > 65536) publicCache.clear()
    publicCache.set(id, key)
  }
  return key
}

export function keyPairFromSecret (secretKey: Uint8Array): KeyPair {
  const pub = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' })
  return { secretKey: new Uint8Array(secretKey), publicKey: new Uint8Array(pub.subarray(spkiPrefix.length)) }
}

/** Deterministic ed25519 signature (64 bytes). */
export function signBytes (secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyObject(secretKey)))
}

/** False for any malformed key or signature, never a throw. */
export function verifyBytes (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== 64) return false
  const key = publicKeyObject(publicKey)
  if (key === undefined) return false
  try {
    return verify(null, message, key, signature)
  } catch {
    return false
  }
}

/** An account address: the first 20 bytes of SHA-256 of the public key. Names are owned by one. */
export function addressOf (publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, addressBytes)
}

export const addressBytes = 20
