import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import { maxBlockBytes, maxBlockEvidence, maxBlockTxs, maxTxBytes } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import { txIdHex } from './tx.ts'
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
  const proposed = decodeProposedBlock(bytes)
  if (proposed.txs === undefined) throw new MalformedMessageError('expected a full block, got a compact one')
  return { header: proposed.header, txs: proposed.txs, evidence: proposed.evidence }
}

/**
 * A block as proposed: either full, or compact, naming its transactions by id (SHA-256 of each
 * encoded signed transaction) for validators that already hold them from transaction gossip.
 * Both forms have the same header, so the same block hash, and the header's `bodyHash` commits
 * to the full transaction bytes: a compact block is only usable once every id is resolved to
 * bytes that hash to it, and the rebuilt body matches the header.
 */
export interface ProposedBlock {
  header: BlockHeader
  /** Present in a full block. */
  txs?: Uint8Array[]
  /** Present in a compact block: one 32-byte id per transaction, in execution order. */
  txIds?: Uint8Array[]
  evidence: Uint8Array[]
}

/** The compact form of a block: its header, its transactions' ids and its evidence. */
export function encodeCompactBlock (block: Block, ids: Uint8Array[]): Uint8Array {
  return encode({ header: block.header, txIds: ids, evidence: block.evidence })
}

/**
 * Decodes a full or compact block and checks its shape and limits; a full block's body is
 * checked against its header here, a compact one's by `completeBlock`.
 */
export function decodeProposedBlock (bytes: Uint8Array): ProposedBlock {
  if (bytes.byteLength > maxBlockBytes) throw new PayloadTooLargeError(`block is ${bytes.byteLength} bytes; the limit is ${maxBlockBytes}`)
  const raw = shape.record(decode(bytes), 'block')
  const compact = raw.txIds !== undefined
  shape.onlyKeys(raw, 'block', ['header', compact ? 'txIds' : 'txs', 'evidence'])
  const evidence = shape.list(raw.evidence, 'block.evidence', maxBlockEvidence).map(e => shape.bytes(e, 'block.evidence[]', undefined, 4096))
  const header = decodeHeaderValue(raw.header)
  if (compact) {
    const txIds = shape.list(raw.txIds, 'block.txIds', maxBlockTxs).map(t => shape.bytes(t, 'block.txIds[]', 32))
    if (header.txCount !== txIds.length) throw new MalformedMessageError('compact block: txCount does not match its ids')
    return { header, txIds, evidence }
  }
  const txs = shape.list(raw.txs, 'block.txs', maxBlockTxs).map(t => shape.bytes(t, 'block.txs[]', undefined, maxTxBytes))
  // A block is named by its header's hash, so the header must commit to exactly this body.
  if (!equalBytes(header.bodyHash, bodyHash(txs, evidence))) throw new MalformedMessageError('block body does not match its header')
  return { header, txs, evidence }
}

/**
 * Rebuilds the full block of a proposed one, finding each transaction by its hex id with
 * `lookup`. Returns the block, or the ids `lookup` could not resolve. Throws
 * `MalformedMessageError` when a found transaction does not hash to its id or the rebuilt body
 * does not match the header.
 */
export function completeBlock (proposed: ProposedBlock, lookup: (id: string) => Uint8Array | undefined): { block: Block } | { missing: Uint8Array[] } {
  const { header, evidence } = proposed
  if (proposed.txs !== undefined) return { block: { header, txs: proposed.txs, evidence } }
  const txs: Uint8Array[] = []
  const missing: Uint8Array[] = []
  for (const [i, id] of (proposed.txIds ?? []).entries()) {
    const hex = toHex(id)
    const tx = lookup(hex)
    if (tx === undefined) { missing.push(id); continue }
    // txIdHex is remembered per bytes object, so transactions from the mempool are not hashed again.
    if (txIdHex(tx) !== hex) throw new MalformedMessageError(`compact block: transaction ${i} does not match its id`)
    txs.push(tx)
  }
  if (missing.length > 0) return { missing }
  if (!equalBytes(header.bodyHash, bodyHash(txs, evidence))) throw new MalformedMessageError('block body does not match its header')
  return { block: { header, txs, evidence } }
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
