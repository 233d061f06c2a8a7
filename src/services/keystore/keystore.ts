import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fromHex, toHex } from '../../foundations/bytes.ts'
import { addressOf, generateKeyPair, keyPairFromSecret, type KeyPair } from '../../foundations/crypto.ts'
import { KeystoreError } from '../../foundations/errors.ts'

/** scrypt cost: ~100 ms per unlock on this class of machine, the usual wallet trade-off. */
const scryptParams = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
const identityPattern = /^[a-z0-9][a-z0-9_-]{0,31}$/

/** An identity file: the ed25519 secret encrypted with AES-256-GCM under a scrypt-derived key. */
interface IdentityFile {
  version: 1
  name: string
  publicKey: string
  address: string
  kdf: { name: 'scrypt', salt: string, N: number, r: number, p: number }
  cipher: { name: 'aes-256-gcm', iv: string, tag: string, ciphertext: string }
}

export interface Identity { name: string, keyPair: KeyPair, address: Uint8Array }

/** Where the CLI keeps its state: `KEYNET_HOME`, default `~/.keynet`. */
export function keynetHome (env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYNET_HOME ?? join(homedir(), '.keynet')
}

/**
 * The user's identities, each in its own encrypted file under `<home>/keystore/`. The
 * passphrase never touches disk; a wrong one fails the GCM tag check with a clear error.
 */
export class Keystore {
  readonly dir: string

  constructor (home: string) {
    this.dir = join(home, 'keystore')
  }

  list (): string[] {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir).filter(f => f.endsWith('.json')).map(f => f.slice(0, -5)).sort()
  }

  has (name: string): boolean {
    return existsSync(this.path(name))
  }

  /** Creates a new identity (or imports `secretKey`); refuses to overwrite one. */
  create (name: string, passphrase: string, secretKey?: Uint8Array): Identity {
    if (!identityPattern.test(name)) throw new KeystoreError(`identity name "${name}" must be 1-32 of a-z 0-9 _ -`)
    if (passphrase.length < 8) throw new KeystoreError('the passphrase must have at least 8 characters')
    if (this.has(name)) throw new KeystoreError(`identity "${name}" already exists in ${this.dir}`)
    const keyPair = secretKey === undefined ? generateKeyPair() : keyPairFromSecret(secretKey)
    const salt = randomBytes(16)
    const iv = randomBytes(12)
    const key = scryptSync(passphrase, salt, 32, scryptParams)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const ciphertext = Buffer.concat([cipher.update(keyPair.secretKey), cipher.final()])
    const file: IdentityFile = {
      version: 1,
      name,
      publicKey: toHex(keyPair.publicKey),
      address: toHex(addressOf(keyPair.publicKey)),
      kdf: { name: 'scrypt', salt: salt.toString('hex'), N: scryptParams.N, r: scryptParams.r, p: scryptParams.p },
      cipher: { name: 'aes-256-gcm', iv: iv.toString('hex'), tag: cipher.getAuthTag().toString('hex'), ciphertext: ciphertext.toString('hex') }
    }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    writeFileSync(this.path(name), JSON.stringify(file, null, 2), { mode: 0o600, flag: 'wx' })
    chmodSync(this.path(name), 0o600)
    return { name, keyPair, address: addressOf(keyPair.publicKey) }
  }

  /** Public part of an identity, readable without the passphrase. */
  describe (name: string): { name: string, publicKey: Uint8Array, address: Uint8Array } {
    const file = this.read(name)
    return { name, publicKey: fromHex(file.publicKey), address: fromHex(file.address) }
  }

  unlock (name: string, passphrase: string): Identity {
    const file = this.read(name)
    const key = scryptSync(passphrase, Buffer.from(file.kdf.salt, 'hex'), 32, { N: file.kdf.N, r: file.kdf.r, p: file.kdf.p, maxmem: scryptParams.maxmem })
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.cipher.iv, 'hex'))
    decipher.setAuthTag(Buffer.from(file.cipher.tag, 'hex'))
    let secret: Buffer
    try {
      secret = Buffer.concat([decipher.update(Buffer.from(file.cipher.ciphertext, 'hex')), decipher.final()])
    } catch {
      throw new KeystoreError(`wrong passphrase for identity "${name}"`)
    }
    const keyPair = keyPairFromSecret(new Uint8Array(secret))
    return { name, keyPair, address: addressOf(keyPair.publicKey) }
  }

  private path (name: string): string {
    return join(this.dir, `${name}.json`)
  }

  private read (name: string): IdentityFile {
    if (!this.has(name)) throw new KeystoreError(`no identity "${name}" in ${this.dir}; create one with \`keynet init\``)
    try {
      return JSON.parse(readFileSync(this.path(name), 'utf8')) as IdentityFile
    } catch (err) {
      throw new KeystoreError(`identity file ${this.path(name)} is unreadable: ${(err as Error).message}`)
    }
  }
}
