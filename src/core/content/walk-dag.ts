/**
 * Walking a whole DAG: every block reachable from a root, each once, parents before children
 * (breadth-first), with up to `concurrency` fetches in flight. Replication and CAR export use it.
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import type { Block, BlockGetter, CID } from './cid.ts'
import { defaultFetchConcurrency, maxFetchConcurrency, maxWalkBlocks } from './constants.ts'
import { DagTooLargeError } from './errors.ts'
import { blockLinks } from './unixfs-node.ts'

/** Options of `walkDag`. */
export interface WalkOptions {
  /** Blocks fetched at once (default 16, at most `maxFetchConcurrency`). */
  concurrency?: number
  /** Stops the walk and aborts the fetches in flight. */
  signal?: AbortSignal
}

const ignore = (): void => {}

/**
 * Yields every block of the DAG under `root` exactly once, a parent always before its children.
 * Throws `DagTooLargeError` past `maxWalkBlocks` distinct blocks, `UnsupportedDagError` for a
 * codec other than raw and dag-pb.
 */
export function walkDag (root: CID, get: BlockGetter, opts: WalkOptions = {}): AsyncIterable<Block> {
  const concurrency = opts.concurrency ?? defaultFetchConcurrency
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > maxFetchConcurrency) {
    throw new MalformedMessageError(`concurrency must be an integer from 1 to ${maxFetchConcurrency}`)
  }
  return walk(root, get, concurrency, opts.signal)
}

async function * walk (root: CID, get: BlockGetter, concurrency: number, outer: AbortSignal | undefined): AsyncGenerator<Block> {
  const stop = new AbortController() // aborts fetches still in flight when the walker stops early
  const signal = outer === undefined ? stop.signal : AbortSignal.any([outer, stop.signal])
  const seen = new Set<string>([root.toString()])
  let waiting: CID[] = [root] // found, not yet requested; `next` is the first not requested
  let next = 0
  const inFlight: Array<Promise<Block>> = []
  const refill = (): void => {
    while (inFlight.length < concurrency && next < waiting.length) {
      const cid = waiting[next++] as CID
      const block = get(cid, signal).then(bytes => ({ cid, bytes }))
      block.catch(ignore) // raised when its turn comes
      inFlight.push(block)
    }
    if (next > 4096 && next * 2 > waiting.length) {
      waiting = waiting.slice(next)
      next = 0
    }
  }
  try {
    signal.throwIfAborted()
    refill()
    while (inFlight.length > 0) {
      const block = await (inFlight.shift() as Promise<Block>)
      signal.throwIfAborted()
      for (const child of blockLinks(block.cid, block.bytes)) {
        const key = child.toString()
        if (seen.has(key)) continue
        if (seen.size >= maxWalkBlocks) throw new DagTooLargeError(`the DAG under ${root} has more than ${maxWalkBlocks} blocks`)
        seen.add(key)
        waiting.push(child)
      }
      refill()
      yield block
    }
  } finally {
    stop.abort()
  }
}
