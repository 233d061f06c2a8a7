/**
 * The key-value record and its owner-signed delegation: their fields, the checks on keys and
 * names, the bytes each signature covers (a domain tag, then the canonical CBOR of the fields),
 * and the wire form (a CBOR map, every field shape-checked on the way in).
 */
import { concatBytes, utf8 } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { InvalidNameError, MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { maxNameChars } from '../../foundations/limits.ts'
import { canonicalName } from '../names/grammar.ts'
import { maxKvKeyBytes, maxKvPrefixBytes, maxKvRecordBytes, maxKvValueBytes } from './constants.ts'
import { InvalidKvKeyError } from './errors.ts'

/**
 * The owner's signed statement "`delegate` may write the keys of `name` that start with
 * `prefix`, until `expiresAt`". It travels inside every record the delegate writes.
 */
export interface KvDelegation {
  /** The name (canonical) whose data the delegate may write. */
  name: string
  /** The owner's raw 32-byte ed25519 public key; its address must own the name on the ledger. */
  owner: Uint8Array
  /** The raw 32-byte ed25519 public key allowed to write (an app's key). */
  delegate: Uint8Array
  /** Keys the delegate may write start with this ('' = every key). */
  prefix: string
  /** Milliseconds since the Unix epoch after which replicas refuse new writes under it. */
  expiresAt: number
  /** 64-byte ed25519 signature by `owner` over `kvDelegationSigningBytes`. */
  signature: Uint8Array
}

/** The fields a delegation signs. */
export type KvDelegationBody = Omit<KvDelegation, 'signature'>

/** One signed, versioned entry of a name's key-value store; `value: null` is a tombstone (deleted). */
export interface KvRecord {
  /** The name (canonical `.key` form) that owns the store. */
  name: string
  /** The key: UTF-8, 1 to `maxKvKeyBytes` bytes, no NUL. */
  key: string
  /** The value (at most `maxKvValueBytes`), or `null` when the key was deleted. */
  value: Uint8Array | null
  /** Strictly increasing per key: a replica keeps the highest. */
  version: number
  /** Raw 32-byte ed25519 public key that signed: the owner's, or a delegate's. */
  writer: Uint8Array
  /** Present when `writer` is not the owner: the owner's permission for it. */
  delegation?: KvDelegation
  /** 64-byte ed25519 signature by `writer` over `kvRecordSigningBytes`. */
  signature: Uint8Array
}

/** The fields a record signs. */
export type KvRecordBody = Omit<KvRecord, 'signature'>

/** Domain tags: a signature over one kind of statement is never valid as another. */
const recordDomain = utf8.encode('keynet/kv-record/1\n')
const delegationDomain = utf8.encode('keynet/kv-delegation/1\n')
const recordKeys = ['name', 'key', 'value', 'version', 'writer', 'delegation', 'signature'] as const
const delegationKeys = ['name', 'owner', 'delegate', 'prefix', 'expiresAt', 'signature'] as const

/** Throws `InvalidKvKeyError` unless `key` is a valid key (see `KvRecord.key`). */
export function checkKvKey (key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKvKeyError('a key is required: 1 to 256 bytes of UTF-8')
  checkKeyText(key, 'key', maxKvKeyBytes)
}

/** Throws `InvalidKvKeyError` unless `prefix` could start a key ('' is allowed: every key). */
export function checkKvPrefix (prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidKvKeyError('a delegation prefix must be a string')
  checkKeyText(prefix, 'delegation prefix', maxKvPrefixBytes)
}

function checkKeyText (text: string, what: string, maxBytes: number): void {
  const bytes = utf8.encode(text)
  if (bytes.byteLength > maxBytes) throw new InvalidKvKeyError(`a ${what} is at most ${maxBytes} bytes of UTF-8, got ${bytes.byteLength}; shorten it`)
  if (text.includes('\0')) throw new InvalidKvKeyError(`a ${what} may not hold NUL (it separates the name from the key in the shard hash)`)
  if (utf8.decode(bytes) !== text) throw new InvalidKvKeyError(`a ${what} must be well-formed Unicode (it holds a lone surrogate)`)
}

/** Throws `InvalidNameError` unless `name` is a name in canonical form (`canonicalName(name) === name`). */
export function checkKvName (name: string): void {
  if (typeof name !== 'string' || canonicalName(name) !== name) {
    throw new InvalidNameError(`"${String(name).slice(0, 80)}" is not a name in canonical form; pass canonicalName(input)`)
  }
}

/** Throws `PayloadTooLargeError` when a value is above `maxKvValueBytes`. */
export function checkKvValue (value: Uint8Array | null): void {
  if (value !== null && value.byteLength > maxKvValueBytes) {
    throw new PayloadTooLargeError(`a value is at most ${maxKvValueBytes} bytes, got ${value.byteLength}; store larger data as content and put its CID here`)
  }
}

/** The bytes a delegation's signature covers. */
export function kvDelegationSigningBytes (body: KvDelegationBody): Uint8Array {
  return concatBytes(delegationDomain, encode(delegationBodyToWire(body)))
}

/** The bytes a record's signature covers (the delegation, with its signature, is part of them). */
export function kvRecordSigningBytes (body: KvRecordBody): Uint8Array {
  return concatBytes(recordDomain, encode(recordBodyToWire(body)))
}

function delegationBodyToWire (d: KvDelegationBody): Record<string, unknown> {
  return { name: d.name, owner: d.owner, delegate: d.delegate, prefix: d.prefix, expiresAt: d.expiresAt }
}

function delegationToWire (d: KvDelegation): Record<string, unknown> {
  return { ...delegationBodyToWire(d), signature: d.signature }
}

function recordBodyToWire (r: KvRecordBody): Record<string, unknown> {
  const wire: Record<string, unknown> = { name: r.name, key: r.key, value: r.value, version: r.version, writer: r.writer }
  if (r.delegation !== undefined) wire.delegation = delegationToWire(r.delegation)
  return wire
}

/** A record as a plain CBOR-encodable map (`value: null` for a tombstone; no `delegation` key without one). */
export function kvRecordToWire (record: KvRecord): Record<string, unknown> {
  return { ...recordBodyToWire(record), signature: record.signature }
}

/**
 * A record from decoded wire data. Throws `MalformedMessageError` naming the field,
 * `PayloadTooLargeError` for a value above `maxKvValueBytes`, `InvalidKvKeyError` for a bad key.
 * Checks shape only: the signature and the writer's right are `verifyKvRecord`'s job.
 */
export function kvRecordFromWire (v: unknown, field = 'record'): KvRecord {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, recordKeys)
  const name = wireName(r.name, `${field}.name`)
  const key = shape.str(r.key, `${field}.key`, maxKvKeyBytes)
  checkKvKey(key)
  let value: Uint8Array | null = null
  if (r.value !== null) {
    if (r.value instanceof Uint8Array) checkKvValue(r.value)
    value = shape.bytes(r.value, `${field}.value`, undefined, maxKvValueBytes)
  }
  const record: KvRecord = {
    name,
    key,
    value,
    version: shape.uint(r.version, `${field}.version`),
    writer: shape.bytes(r.writer, `${field}.writer`, 32),
    signature: shape.bytes(r.signature, `${field}.signature`, 64)
  }
  if (r.delegation !== undefined) record.delegation = delegationFromWire(r.delegation, `${field}.delegation`)
  return record
}

function delegationFromWire (v: unknown, field: string): KvDelegation {
  const d = shape.record(v, field)
  shape.onlyKeys(d, field, delegationKeys)
  const prefix = shape.str(d.prefix, `${field}.prefix`, maxKvPrefixBytes)
  checkKvPrefix(prefix)
  return {
    name: wireName(d.name, `${field}.name`),
    owner: shape.bytes(d.owner, `${field}.owner`, 32),
    delegate: shape.bytes(d.delegate, `${field}.delegate`, 32),
    prefix,
    expiresAt: shape.uint(d.expiresAt, `${field}.expiresAt`),
    signature: shape.bytes(d.signature, `${field}.signature`, 64)
  }
}

/** A name field from the wire: a canonical `.key` name, else `MalformedMessageError`. */
export function wireName (v: unknown, field: string): string {
  const name = shape.str(v, field, maxNameChars)
  try {
    checkKvName(name)
  } catch {
    throw new MalformedMessageError(`${field} must be a .key name in canonical form`)
  }
  return name
}

/** Canonical CBOR of a record, for storing or sending it. */
export function encodeKvRecord (record: KvRecord): Uint8Array {
  return encode(kvRecordToWire(record))
}

/** Decodes and shape-checks a record (see `kvRecordFromWire`); the signature is not verified. */
export function decodeKvRecord (bytes: Uint8Array): KvRecord {
  if (bytes.byteLength > maxKvRecordBytes) throw new PayloadTooLargeError(`an encoded record is at most ${maxKvRecordBytes} bytes, got ${bytes.byteLength}`)
  return kvRecordFromWire(decode(bytes))
}
