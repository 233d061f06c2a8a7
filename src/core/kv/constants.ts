/**
 * Bounds of key-value records, each with its reason. They are part of the protocol: a record
 * outside them is refused by every replica, so changing one is a protocol change.
 */
import assert from 'node:assert/strict'
import { maxNameChars } from '../../foundations/limits.ts'

/** Bytes (UTF-8) of one key: room for a path-like key, small enough that a page of keys stays small. */
export const maxKvKeyBytes = 256
/** Bytes of one value: a document or a small blob; larger data belongs in content (a CID as the value). */
export const maxKvValueBytes = 64 * 1024
/** Bytes (UTF-8) of a delegation's key prefix: a prefix is at most a whole key. */
export const maxKvPrefixBytes = maxKvKeyBytes
/** CBOR headers, field names, keys (3 × 32 bytes) and signatures (2 × 64 bytes) of a record around its strings and value. */
export const kvRecordFramingBytes = 1024
/** Bytes of one encoded record: the largest value, key, name and delegation with their framing. */
export const maxKvRecordBytes = maxKvValueBytes + maxKvKeyBytes + 2 * maxNameChars + maxKvPrefixBytes + kvRecordFramingBytes

assert.ok(maxKvPrefixBytes <= maxKvKeyBytes, 'a delegation prefix is never longer than a key')
assert.ok(maxKvRecordBytes < 128 * 1024, 'a record stays one small message')
