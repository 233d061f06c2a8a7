import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../foundations/crypto.ts'

/**
 * A node's persistent ed25519 identity: its libp2p peer id and, on a validator, its voting key.
 * Kept in `<data>/node-key.json` with owner-only permissions, like other node software does.
 */
export function loadOrCreateNodeKey (dataDir: string): KeyPair {
  const path = join(dataDir, 'node-key.json')
  if (existsSync(path)) {
    const { secretKey } = JSON.parse(readFileSync(path, 'utf8')) as { secretKey: string }
    return keyPairFromSecret(fromHex(secretKey))
  }
  const key = generateKeyPair()
  writeNodeKey(dataDir, key)
  return key
}

export function writeNodeKey (dataDir: string, key: KeyPair): void {
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(join(dataDir, 'node-key.json'), JSON.stringify({ publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey) }, null, 2), { mode: 0o600 })
}
