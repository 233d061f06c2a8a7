/**
 * Placement receipts: a storage node's signed statement that it holds the whole DAG under a root
 * and has pinned it — `{ root, node, blocks, bytes, time }`, signed with the node's ed25519 key
 * over a domain tag and the canonical CBOR of those fields. Anyone can check one offline with
 * the node's public key; the ledger's `content-pin` can carry them as evidence of placement.
 */
import { concatBytes, equalBytes, utf8 } from '../../foundations/bytes.ts'
import { signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import * as shape from '../../foundations/shape.ts'
import type { CID } from '../../core/content/cid.ts'
import { cidFromWire } from './wire-cid.ts'

/** A signed placement receipt. */
export interface PlacementReceipt {
  /** Root CID of the pinned DAG. */
  root: CID
  /** Raw 32-byte ed25519 public key of the storage node that signed. */
  node: Uint8Array
  /** Blocks of the DAG the node holds (all of them). */
  blocks: number
  /** Bytes of those blocks. */
  bytes: number
  /** When the node pinned it, in milliseconds since the Unix epoch (the node's clock). */
  time: number
  /** 64-byte ed25519 signature over `receiptSigningBytes` of the fields above. */
  signature: Uint8Array
}

/** The fields a receipt signs. */
export type ReceiptBody = Omit<PlacementReceipt, 'signature'>

/** Domain tag in front of every signed receipt: a receipt signature is never valid as anything else. */
const receiptDomain = utf8.encode('keynet/placement-receipt/1\n')
const wireKeys = ['root', 'node', 'blocks', 'bytes', 'time', 'signature'] as const

/** The bytes a receipt's signature covers. */
export function receiptSigningBytes (body: ReceiptBody): Uint8Array {
  return concatBytes(receiptDomain, encode({ root: body.root.bytes, node: body.node, blocks: body.blocks, bytes: body.bytes, time: body.time }))
}

/** Signs a receipt with the node's 32-byte ed25519 secret key (whose public key is `body.node`). */
export function signReceipt (body: ReceiptBody, secretKey: Uint8Array): PlacementReceipt {
  return { ...body, signature: signBytes(secretKey, receiptSigningBytes(body)) }
}

/**
 * Whether the receipt's signature is valid for its `node` key and, when given, that `node` is
 * the expected provider's key. Never throws.
 */
export function verifyReceipt (receipt: PlacementReceipt, expectedNode?: Uint8Array): boolean {
  if (expectedNode !== undefined && !equalBytes(receipt.node, expectedNode)) return false
  try {
    return verifyBytes(receipt.node, receiptSigningBytes(receipt), receipt.signature)
  } catch {
    return false
  }
}

/** The receipt as a plain CBOR-encodable map (the root in binary CID form). */
export function receiptToWire (receipt: PlacementReceipt): Record<string, unknown> {
  return { root: receipt.root.bytes, node: receipt.node, blocks: receipt.blocks, bytes: receipt.bytes, time: receipt.time, signature: receipt.signature }
}

/** Checks the shape of a decoded wire receipt; throws `MalformedMessageError` naming the field. Does not verify the signature. */
export function receiptFromWire (v: unknown, field = 'receipt'): PlacementReceipt {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, wireKeys)
  return {
    root: cidFromWire(r.root, `${field}.root`),
    node: shape.bytes(r.node, `${field}.node`, 32),
    blocks: shape.uint(r.blocks, `${field}.blocks`),
    bytes: shape.uint(r.bytes, `${field}.bytes`),
    time: shape.uint(r.time, `${field}.time`),
    signature: shape.bytes(r.signature, `${field}.signature`, 64)
  }
}

/** Canonical CBOR of a receipt, for storing or sending it on. */
export function encodeReceipt (receipt: PlacementReceipt): Uint8Array {
  return encode(receiptToWire(receipt))
}

/** Decodes and shape-checks a receipt; throws `MalformedMessageError`. Does not verify the signature. */
export function decodeReceipt (bytes: Uint8Array): PlacementReceipt {
  return receiptFromWire(decode(bytes))
}
