import { equalBytes } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxBlockBytes, maxBlockEvidence, maxBlockTxs, maxTxBytes } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import type { Block, BlockHeader } from './types.ts'

/** A block's id: SHA-256 of its encoded header (the header commits to the body via `bodyHash`). */
export function blockHash (header: BlockHeader): Uint8Array {
  return sha256(encode(header))
}

export function bodyHash (txs: Uint8Array[], evidence: Uint8Array[]): Uint8Array {
  return sha256(encode([txs, evidence]))
}

export function encodeBlock (block: Block): Uint8Array {
  return encode(block)
}

export function encodeHeader (header: BlockHeader): Uint8Array {
  return encode(header)
}

/** Decodes a block and checks its shape and limits (not its validity against state). */
export function decodeBlock (bytes: Uint8Array): Block {
  if (bytes.byteLength > maxBlockBytes) throw new PayloadTooLargeError(`block is ${bytes.byteLength} bytes; the limit is ${maxBlockBytes}`)
  const raw = shape.record(decode(bytes), 'block')
  shape.onlyKeys(raw, 'block', ['header', 'txs', 'evidence'])
  const txs = shape.list(raw.txs, 'block.txs', maxBlockTxs).map(t => shape.bytes(t, 'block.txs[]', undefined, maxTxBytes))
  const evidence = shape.list(raw.evidence, 'block.evidence', maxBlockEvidence).map(e => shape.bytes(e, 'block.evidence[]', undefined, 4096))
  const header = decodeHeaderValue(raw.header)
  // A block is named by its header's hash, so the header must commit to exactly this body.
  if (!equalBytes(header.bodyHash, bodyHash(txs, evidence))) throw new MalformedMessageError('block body does not match its header')
  return { header, txs, evidence }
}

export function decodeHeader (bytes: Uint8Array): BlockHeader {
  return decodeHeaderValue(decode(bytes))
}

function decodeHeaderValue (v: unknown): BlockHeader {
  const h = shape.record(v, 'header')
  shape.onlyKeys(h, 'header', ['chainId', 'height', 'time', 'parentHash', 'bodyHash', 'stateRoot', 'txCount', 'proposer'])
  const header: BlockHeader = {
    chainId: shape.str(h.chainId, 'header.chainId', 64),
    height: shape.uint(h.height, 'header.height'),
    time: shape.uint(h.time, 'header.time'),
    parentHash: shape.bytes(h.parentHash, 'header.parentHash', 32),
    bodyHash: shape.bytes(h.bodyHash, 'header.bodyHash', 32),
    stateRoot: shape.bytes(h.stateRoot, 'header.stateRoot', 32),
    txCount: shape.uint(h.txCount, 'header.txCount'),
    proposer: shape.bytes(h.proposer, 'header.proposer', 32)
  }
  if (header.height === 0) throw new MalformedMessageError('header.height starts at 1')
  return header
}
