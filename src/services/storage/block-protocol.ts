/**
 * The block protocols a storage node serves over the p2p host — get (CBOR and raw-framed), put, pin and has (wire
 * formats in block-messages.ts). A peer that sends a malformed message or a block whose bytes do
 * not hash to its CID is penalised; nothing it sent in that request is stored.
 *
 * @example
 * ```ts
 * const store = await BlockStore.open({ dir, capacityBytes })
 * const stop = await serveBlocks(host, store, nodeKeyPair)
 * // … other nodes use `new BlockClient({ host, peerId })` against it …
 * await stop()
 * ```
 */
import { systemClock, type Clock } from '../../foundations/clock.ts'
import type { KeyPair } from '../../foundations/crypto.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { blockMatches, type CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import type { P2PHost, RequestHandler } from '../p2p/index.ts'
import {
  decodeGetRequest, decodeHasRequest, decodePinRequest, decodePutRequest, decodeRawGetRequest, encodeGetResponse, encodeHasResponse,
  encodePinResponse, encodePutResponse, getProtocol, getRawProtocol, hasProtocol, pinProtocol, putProtocol
} from './block-messages.ts'
import { encodeBlockFrames } from './block-frames.ts'
import type { BlockStore } from './block-store.ts'
import {
  blockHandlerTimeoutMs, maxBatchMessageBytes, maxGetRequestBytes, maxHasRequestBytes, maxMissingListed,
  maxTransferBatchBytes, pinHandlerTimeoutMs
} from './constants.ts'
import { signReceipt } from './placement-receipt.ts'

export { BlockClient, type BlockClientInit, type PinResult, type PutOutcome } from './block-client.ts'
export { verifyReceipt, type PlacementReceipt } from './placement-receipt.ts'
export { getProtocol, getRawProtocol, hasProtocol, pinProtocol, putProtocol } from './block-messages.ts'

/** The part of a block store the protocols use. */
export type ServedStore = Pick<BlockStore, 'get' | 'put' | 'has' | 'pin' | 'inventory'>

/** Options of `serveBlocks`. */
export interface ServeBlocksOptions {
  /** Time written into receipts (default: the system clock). */
  clock?: Clock
}

/**
 * Serves `/keynet/blocks/{get,put,pin,has}/1` and `/keynet/blocks/get/2` from `store`, signing placement receipts with
 * `nodeKey` (the node's ed25519 key pair; receipts name its public key). Resolves to a function
 * that stops serving them.
 */
export async function serveBlocks (host: P2PHost, store: ServedStore, nodeKey: KeyPair, opts: ServeBlocksOptions = {}): Promise<() => Promise<void>> {
  const clock = opts.clock ?? systemClock
  const penalising = (protocol: string, handler: RequestHandler): RequestHandler => async (request, from, signal) => {
    try {
      return await handler(request, from, signal)
    } catch (err) {
      if (err instanceof MalformedMessageError || err instanceof BlockMismatchError) host.penalise(from, `${protocol}: ${err.message}`)
      throw err
    }
  }

  /** The blocks of a get, stopping before the batch would overflow (the client asks again for the rest); always the first. */
  const readBatch = async (cids: CID[], signal: AbortSignal): Promise<Array<Uint8Array | undefined>> => {
    const blocks: Array<Uint8Array | undefined> = []
    let payloadBytes = 0
    for (const cid of cids) {
      signal.throwIfAborted()
      const bytes = await store.get(cid)
      if (bytes !== undefined && blocks.length > 0 && payloadBytes + bytes.byteLength > maxTransferBatchBytes) break
      blocks.push(bytes)
      payloadBytes += bytes?.byteLength ?? 0
    }
    return blocks
  }
  const get: RequestHandler = async (request, _from, signal) => encodeGetResponse(await readBatch(decodeGetRequest(request), signal))
  const getRaw: RequestHandler = async (request, _from, signal) => encodeBlockFrames(await readBatch(decodeRawGetRequest(request), signal))

  const put: RequestHandler = async (request, _from, signal) => {
    const blocks = decodePutRequest(request)
    let payloadBytes = 0
    for (const [i, block] of blocks.entries()) {
      payloadBytes += block.bytes.byteLength
      if (!blockMatches(block.cid, block.bytes)) {
        throw new BlockMismatchError(`block ${i} of the put request does not hash to its CID ${block.cid.toString()}; nothing was stored`)
      }
    }
    if (payloadBytes > maxTransferBatchBytes) throw new MalformedMessageError(`a put request carries at most ${maxTransferBatchBytes} bytes of blocks, got ${payloadBytes}`)
    const results: Array<string | undefined> = []
    for (const block of blocks) {
      signal.throwIfAborted()
      try {
        await store.put(block)
        results.push(undefined)
      } catch (err) {
        results.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
      }
    }
    return encodePutResponse(results)
  }

  const pin: RequestHandler = async (request, _from, signal) => {
    const root = decodePinRequest(request)
    const inventory = await store.inventory(root, signal)
    if (inventory.missing.length > 0) return encodePinResponse({ missing: inventory.missing.slice(0, maxMissingListed) })
    await store.pin(root)
    const receipt = signReceipt({ root, node: nodeKey.publicKey, blocks: inventory.blocks, bytes: inventory.bytes, time: clock.now() }, nodeKey.secretKey)
    return encodePinResponse({ receipt })
  }

  const has: RequestHandler = async (request) => {
    const cids = decodeHasRequest(request)
    return encodeHasResponse(await Promise.all(cids.map(async cid => store.has(cid))))
  }

  await host.handle(getProtocol, penalising(getProtocol, get), { maxRequestBytes: maxGetRequestBytes, timeoutMs: blockHandlerTimeoutMs })
  await host.handle(getRawProtocol, penalising(getRawProtocol, getRaw), { maxRequestBytes: maxGetRequestBytes, timeoutMs: blockHandlerTimeoutMs })
  await host.handle(putProtocol, penalising(putProtocol, put), { maxRequestBytes: maxBatchMessageBytes, timeoutMs: blockHandlerTimeoutMs })
  await host.handle(pinProtocol, penalising(pinProtocol, pin), { maxRequestBytes: maxGetRequestBytes, timeoutMs: pinHandlerTimeoutMs })
  await host.handle(hasProtocol, penalising(hasProtocol, has), { maxRequestBytes: maxHasRequestBytes, timeoutMs: blockHandlerTimeoutMs })
  return async () => {
    for (const protocol of [getProtocol, getRawProtocol, putProtocol, pinProtocol, hasProtocol]) await host.unhandle(protocol)
  }
}
