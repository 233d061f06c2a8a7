/**
 * Wire messages of the block protocols, canonical CBOR, every field shape-checked on decode:
 *
 * | protocol | request | response |
 * |---|---|---|
 * | `/keynet/blocks/get/1` | `[cid, …]` (≤ `maxGetCidsPerRequest`) | `[bytes \| null, …]` in request order, `null` = not held; may stop early when the next block would pass `maxTransferBatchBytes` (ask again for the rest) |
 * | `/keynet/blocks/get/2` | `[cid, …]` (≤ `maxRawGetCidsPerRequest`) | raw frames (block-frames.ts) for a prefix of the CIDs asked, at least one; stops before `maxTransferBatchBytes` would be passed |
 * | `/keynet/blocks/put/1` | `[[cid, bytes], …]` (≤ `maxPutBlocksPerRequest`, ≤ `maxTransferBatchBytes` of blocks) | `[null \| "ErrorName: reason", …]`, `null` = stored |
 * | `/keynet/blocks/pin/1` | `cid` (the root) | `{ receipt }` (see placement-receipt.ts) or `{ missing: [cid, …] }` (≤ `maxMissingListed`) |
 * | `/keynet/blocks/has/1` | `[cid, …]` (≤ `maxHasCidsPerRequest`) | `[bool, …]` in request order |
 *
 * CIDs travel in binary form. A decoder throws `MalformedMessageError` naming the field.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import type { Block, CID } from '../../core/content/cid.ts'
import { maxBlockBytes } from '../../core/content/constants.ts'
import {
  maxGetCidsPerRequest, maxHasCidsPerRequest, maxMissingListed, maxPutBlocksPerRequest, maxPutErrorChars, maxRawGetCidsPerRequest
} from './constants.ts'
import { receiptFromWire, receiptToWire, type PlacementReceipt } from './placement-receipt.ts'
import { cidFromWire, cidListFromWire } from './wire-cid.ts'

/** Fetch blocks by CID. */
export const getProtocol = '/keynet/blocks/get/1'
/** Fetch blocks by CID, answered raw-framed (block-frames.ts): same request as get/1, no CBOR around the bytes. */
export const getRawProtocol = '/keynet/blocks/get/2'
/** Store blocks on the node. */
export const putProtocol = '/keynet/blocks/put/1'
/** Ask the node to pin a root whose whole DAG it holds, for a signed receipt. */
export const pinProtocol = '/keynet/blocks/pin/1'
/** Ask which blocks the node holds. */
export const hasProtocol = '/keynet/blocks/has/1'

/** What a pin request gets: a receipt, or the blocks still to send. */
export type PinAnswer = { receipt: PlacementReceipt, missing?: undefined } | { missing: CID[], receipt?: undefined }

/** A list of CIDs (get and has requests). */
export function encodeCidList (cids: readonly CID[]): Uint8Array {
  return encode(cids.map(c => c.bytes))
}

/** Decodes a get request. */
export function decodeGetRequest (bytes: Uint8Array): CID[] {
  return cidListFromWire(decode(bytes), 'get request', maxGetCidsPerRequest)
}

/** Decodes a get/2 request. */
export function decodeRawGetRequest (bytes: Uint8Array): CID[] {
  return cidListFromWire(decode(bytes), 'get request', maxRawGetCidsPerRequest)
}

/** Decodes a has request. */
export function decodeHasRequest (bytes: Uint8Array): CID[] {
  return cidListFromWire(decode(bytes), 'has request', maxHasCidsPerRequest)
}

/** A get response: block bytes, or `undefined` for a block not held. */
export function encodeGetResponse (blocks: ReadonlyArray<Uint8Array | undefined>): Uint8Array {
  return encode(blocks.map(b => b ?? null))
}

/** Decodes a get response to a request of `asked` CIDs (it may hold fewer entries, never more). Bytes are not yet checked against CIDs. */
export function decodeGetResponse (bytes: Uint8Array, asked: number): Array<Uint8Array | undefined> {
  return shape.list(decode(bytes), 'get response', asked)
    .map((b, i) => shape.optional(b, v => shape.bytes(v, `get response[${i}]`, undefined, maxBlockBytes)))
}

/** A put request. */
export function encodePutRequest (blocks: readonly Block[]): Uint8Array {
  return encode(blocks.map(b => [b.cid.bytes, b.bytes]))
}

/** Decodes a put request. The blocks are not yet checked against their CIDs. */
export function decodePutRequest (bytes: Uint8Array): Block[] {
  return shape.list(decode(bytes), 'put request', maxPutBlocksPerRequest).map((entry, i) => {
    const pair = shape.list(entry, `put request[${i}]`, 2)
    if (pair.length !== 2) throw new MalformedMessageError(`put request[${i}] must be [cid, bytes]`)
    return { cid: cidFromWire(pair[0], `put request[${i}].cid`), bytes: shape.bytes(pair[1], `put request[${i}].bytes`, undefined, maxBlockBytes) }
  })
}

/** A put response: `undefined` for a stored block, else the reason it was not. */
export function encodePutResponse (results: ReadonlyArray<string | undefined>): Uint8Array {
  return encode(results.map(r => r === undefined ? null : r.slice(0, maxPutErrorChars)))
}

/** Decodes a put response to a request of `sent` blocks. */
export function decodePutResponse (bytes: Uint8Array, sent: number): Array<string | undefined> {
  const list = shape.list(decode(bytes), 'put response', sent)
  if (list.length !== sent) throw new MalformedMessageError(`put response must have one entry per block (${sent}), got ${list.length}`)
  return list.map((r, i) => shape.optional(r, v => shape.str(v, `put response[${i}]`, maxPutErrorChars)))
}

/** A pin request. */
export function encodePinRequest (root: CID): Uint8Array {
  return encode(root.bytes)
}

/** Decodes a pin request. */
export function decodePinRequest (bytes: Uint8Array): CID {
  return cidFromWire(decode(bytes), 'pin request')
}

/** A pin response. */
export function encodePinResponse (answer: PinAnswer): Uint8Array {
  if (answer.receipt !== undefined) return encode({ receipt: receiptToWire(answer.receipt) })
  return encode({ missing: answer.missing.slice(0, maxMissingListed).map(c => c.bytes) })
}

/** Decodes a pin response; the receipt's signature is not yet verified. */
export function decodePinResponse (bytes: Uint8Array): PinAnswer {
  const r = shape.record(decode(bytes), 'pin response')
  shape.onlyKeys(r, 'pin response', ['receipt', 'missing'])
  if (r.receipt !== undefined) {
    if (r.missing !== undefined) throw new MalformedMessageError('pin response must hold a receipt or a missing list, not both')
    return { receipt: receiptFromWire(r.receipt, 'pin response.receipt') }
  }
  const missing = cidListFromWire(r.missing, 'pin response.missing', maxMissingListed)
  if (missing.length === 0) throw new MalformedMessageError('pin response must hold a receipt or a non-empty missing list')
  return { missing }
}

/** A has response. */
export function encodeHasResponse (held: readonly boolean[]): Uint8Array {
  return encode(held)
}

/** Decodes a has response to a request of `asked` CIDs. */
export function decodeHasResponse (bytes: Uint8Array, asked: number): boolean[] {
  const list = shape.list(decode(bytes), 'has response', asked)
  if (list.length !== asked) throw new MalformedMessageError(`has response must have one entry per CID (${asked}), got ${list.length}`)
  return list.map((v, i) => {
    if (typeof v !== 'boolean') throw new MalformedMessageError(`has response[${i}] must be a boolean`)
    return v
  })
}
