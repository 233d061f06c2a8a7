/**
 * Streaming a byte range of a UnixFS file: walks the file DAG in order, visiting only the nodes
 * that overlap the range, and keeps up to `concurrency` leaf fetches in flight ahead of what it
 * yields, so a getter that spreads requests over several providers keeps them all busy.
 */
import assert from 'node:assert/strict'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { rawCode } from './cid.ts'
import type { BlockGetter, CID } from './cid.ts'
import { defaultFetchConcurrency, maxDagDepth, maxFetchConcurrency } from './constants.ts'
import { DagTooLargeError, InvalidDagError } from './errors.ts'
import { decodeUnixfsNode } from './unixfs-node.ts'
import type { UnixfsNode } from './unixfs-node.ts'

/** Options of `readFile`. */
export interface ReadFileOptions {
  /** First byte to read (default 0). */
  start?: number
  /** Byte after the last one to read (exclusive; default and cap: the file's size). */
  end?: number
  /** Leaves fetched ahead at once (default 16, at most `maxFetchConcurrency`). */
  concurrency?: number
  /** Stops reading and aborts the fetches in flight. */
  signal?: AbortSignal
}

/** A piece of the output: bytes already at hand, or a slice of a raw leaf still to fetch. */
type Piece = { bytes: Uint8Array } | { leaf: CID, leafBytes: number, from: number, to: number }

const ignore = (): void => {}

/**
 * Streams bytes `[start, end)` of the file `cid`, in order; an empty range yields nothing. Fetches
 * intermediate nodes as it reaches them and leaves up to `concurrency` ahead (asked half a window
 * at a time), only those that overlap the range. Throws `MalformedMessageError` for a bad range or a directory,
 * `InvalidDagError` when the DAG contradicts its own sizes.
 */
export function readFile (cid: CID, get: BlockGetter, opts: ReadFileOptions = {}): AsyncIterable<Uint8Array> {
  const concurrency = opts.concurrency ?? defaultFetchConcurrency
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > maxFetchConcurrency) {
    throw new MalformedMessageError(`concurrency must be an integer from 1 to ${maxFetchConcurrency}`)
  }
  for (const [name, value] of [['start', opts.start], ['end', opts.end]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new MalformedMessageError(`${name} must be a non-negative integer, not ${value}`)
  }
  return read(cid, get, opts.start ?? 0, opts.end, concurrency, opts.signal)
}

async function * read (cid: CID, get: BlockGetter, start: number, requestedEnd: number | undefined, concurrency: number, outer: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  const stop = new AbortController() // aborts fetches still in flight when the reader stops early
  const signal = outer === undefined ? stop.signal : AbortSignal.any([outer, stop.signal])
  let whole = false
  try {
    signal.throwIfAborted()
    const root = decodeUnixfsNode(cid, await get(cid, signal))
    if (root.kind === 'directory') throw new MalformedMessageError(`${cid} is a directory, not a file`)
    const end = Math.min(requestedEnd ?? root.fileBytes, root.fileBytes)
    if (start >= end) return

    const ahead: Array<Promise<Uint8Array>> = []
    for await (const piece of pieces(cid, root, 0, start, end, get, signal, 0)) {
      signal.throwIfAborted()
      const bytes = 'bytes' in piece ? Promise.resolve(piece.bytes) : fetchLeaf(piece, get, signal)
      bytes.catch(ignore) // a failure is raised when its turn comes, not as an unhandled rejection
      ahead.push(bytes)
      // Full: yield down to half, then fetch the next half at once. Gets asked together travel
      // together (a batch request per provider), not one request per leaf as each is consumed.
      if (ahead.length >= concurrency) while (ahead.length > concurrency >> 1) yield await (ahead.shift() as Promise<Uint8Array>)
    }
    while (ahead.length > 0) yield await (ahead.shift() as Promise<Uint8Array>)
    whole = true
  } finally {
    // Read to the end, nothing is in flight: no abort (it costs an exception object per file).
    if (!whole) stop.abort()
  }
}

async function fetchLeaf (piece: { leaf: CID, leafBytes: number, from: number, to: number }, get: BlockGetter, signal: AbortSignal): Promise<Uint8Array> {
  const bytes = await get(piece.leaf, signal)
  if (bytes.byteLength !== piece.leafBytes) {
    throw new InvalidDagError(`leaf ${piece.leaf} is ${bytes.byteLength} bytes but its parent says ${piece.leafBytes}`)
  }
  return bytes.subarray(piece.from, piece.to)
}

/**
 * The pieces of `node` (whose first byte is at `offset` in the file) overlapping `[start, end)`,
 * in order. dag-pb children are fetched here, as they are reached; raw leaves are left to the caller.
 */
async function * pieces (cid: CID, node: UnixfsNode, offset: number, start: number, end: number, get: BlockGetter, signal: AbortSignal, depth: number): AsyncGenerator<Piece> {
  if (depth > maxDagDepth) throw new DagTooLargeError(`file DAG under ${cid} is deeper than ${maxDagDepth} levels`)
  if (node.kind === 'directory') throw new InvalidDagError(`${cid} is a directory inside a file DAG`)
  const own = node.data
  if (own.byteLength > 0 && offset < end && offset + own.byteLength > start) {
    yield { bytes: own.subarray(Math.max(start - offset, 0), Math.min(end - offset, own.byteLength)) }
  }
  if (node.kind === 'raw') return
  let childStart = offset + own.byteLength
  for (const [i, child] of node.children.entries()) {
    if (childStart >= end) return
    const childBytes = node.childSizes[i]
    assert.ok(childBytes !== undefined)
    const childEnd = childStart + childBytes
    if (childEnd > start && childBytes > 0) {
      if (child.code === rawCode) {
        yield { leaf: child, leafBytes: childBytes, from: Math.max(start - childStart, 0), to: Math.min(end, childEnd) - childStart }
      } else {
        const sub = decodeUnixfsNode(child, await get(child, signal))
        if (sub.kind === 'directory' || sub.fileBytes !== childBytes) {
          throw new InvalidDagError(`child ${child} of ${cid} does not hold the ${childBytes} file bytes its parent says`)
        }
        yield * pieces(child, sub, childStart, start, end, get, signal, depth + 1)
      }
    }
    childStart = childEnd
  }
}
