/**
 * Building signed records and delegations. Signing is deterministic (ed25519), so the same
 * fields signed by the same key give the same record, byte for byte.
 */
import assert from 'node:assert/strict'
import { equalBytes } from '../../foundations/bytes.ts'
import { signBytes, type KeyPair } from '../../foundations/crypto.ts'
import {
  checkKvKey, checkKvName, checkKvPrefix, checkKvValue, kvDelegationSigningBytes, kvRecordSigningBytes,
  type KvDelegation, type KvRecord, type KvRecordBody
} from './record.ts'

/** What `signKvRecord` needs: the value to write, or `deleted: true` for a tombstone. */
export interface KvWrite {
  /** The name in canonical form (`canonicalName`). */
  name: string
  key: string
  /** The new value; omit it and set `deleted` to delete the key. */
  value?: Uint8Array
  /** `true` writes a tombstone: the key reads as absent from then on (until a higher version). */
  deleted?: boolean
  /** Above the version every replica holds for the key (`current + 1`, or a millisecond clock). */
  version: number
  /** The owner's key pair, or a delegate's together with its `delegation`. */
  writerKey: KeyPair
  /** The owner's permission, when `writerKey` is a delegate's key. */
  delegation?: KvDelegation
}

/** What `signKvDelegation` needs. */
export interface KvDelegationGrant {
  /** The name in canonical form. */
  name: string
  /** The key pair of the name's owner. */
  ownerKey: KeyPair
  /** The public key that may write. */
  delegate: Uint8Array
  /** Keys it may write start with this ('' = all keys). */
  prefix: string
  /** Milliseconds since the Unix epoch after which its writes are refused. */
  expiresAt: number
}

/**
 * A signed record. Throws `InvalidNameError`, `InvalidKvKeyError` or `PayloadTooLargeError`
 * for fields no replica would accept; does not check that the writer may write (the replica
 * does, against the ledger's owner).
 */
export function signKvRecord (write: KvWrite): KvRecord {
  assert.ok((write.value === undefined) === (write.deleted === true), 'give a value, or deleted: true, not both')
  assert.ok(Number.isSafeInteger(write.version) && write.version >= 0, 'version must be a non-negative safe integer')
  checkKvName(write.name)
  checkKvKey(write.key)
  const value = write.value ?? null
  checkKvValue(value)
  const body: KvRecordBody = { name: write.name, key: write.key, value, version: write.version, writer: write.writerKey.publicKey }
  if (write.delegation !== undefined) {
    assert.ok(equalBytes(write.delegation.delegate, write.writerKey.publicKey), 'the delegation names another key than writerKey')
    body.delegation = write.delegation
  }
  return { ...body, signature: signBytes(write.writerKey.secretKey, kvRecordSigningBytes(body)) }
}

/** The owner's signed permission for `delegate` to write keys under `prefix` until `expiresAt`. */
export function signKvDelegation (grant: KvDelegationGrant): KvDelegation {
  assert.ok(Number.isSafeInteger(grant.expiresAt) && grant.expiresAt >= 0, 'expiresAt must be milliseconds since the Unix epoch')
  assert.ok(grant.delegate.byteLength === 32, 'delegate must be a raw 32-byte ed25519 public key')
  checkKvName(grant.name)
  checkKvPrefix(grant.prefix)
  const body = { name: grant.name, owner: grant.ownerKey.publicKey, delegate: grant.delegate, prefix: grant.prefix, expiresAt: grant.expiresAt }
  return { ...body, signature: signBytes(grant.ownerKey.secretKey, kvDelegationSigningBytes(body)) }
}
