/**
 * The client side of the block protocols, for one remote storage node: get (every block checked
 * against its CID), put (split into bounded batches), pin (the receipt verified against the
 * provider's key) and has. A provider that answers with wrong bytes or a malformed message is
 * penalised on the host and the call fails with `BlockMismatchError` / `MalformedMessageError`.
 *
 * @example
 * ```ts
 * const client = new BlockClient({ host, peerId: provider })
 * await client.put(blocks)
 * const result = await client.pin(root)
 * if (result.pinned) saveReceipt(result.receipt)
 * else await client.put(await blocksFor(result.missing))   // then pin again
 * ```
 */
import assert from 'node:assert/strict'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { blockMatches, type Block, type CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import { ProtocolUnsupportedError, publicKeyFromPeerId, type P2PHost } from '../p2p/index.ts'
import {
  decodeGetResponse, decodeHasResponse, decodePinResponse, decodePutResponse, encodeCidList, encodePinRequest,
  encodePutRequest, getProtocol, getRawProtocol, hasProtocol, pinProtocol, putProtocol
} from './block-messages.ts'
import { BlockFrameReader } from './block-frames.ts'
import {
  defaultBlockRequestTimeoutMs, maxBatchMessageBytes, maxGetCidsPerRequest, maxHasCidsPerRequest, maxPinResponseBytes,
  maxPutBlocksPerRequest, maxRawGetCidsPerRequest, maxTransferBatchBytes, pinHandlerTimeoutMs
} from './constants.ts'
import { ReceiptInvalidError } from './errors.ts'
import { verifyReceipt, type PlacementReceipt } from './placement-receipt.ts'

/** How a client reaches its provider. */
export interface BlockClientInit {
  host: P2PHost
  /** Peer id of the storage node; the host must be able to reach it (connected, or addresses known). */
  peerId: string
  /** The node's ed25519 public key that must sign its receipts (default: the key inside `peerId`). */
  publicKey?: Uint8Array
  /** Deadline of one get, put or has request (default `defaultBlockRequestTimeoutMs`). */
  timeoutMs?: number
}

/** What became of one block sent with `put`. */
export type PutOutcome = { cid: CID, ok: true } | { cid: CID, ok: false, error: string }

/** What a pin request achieved: a verified receipt, or the blocks the node still lacks (at most `maxMissingListed` at a time). */
export type PinResult = { pinned: true, receipt: PlacementReceipt } | { pinned: false, missing: CID[] }

/** Requests to one storage node over the block protocols. */
export class BlockClient {
  /** The storage node's peer id. */
  readonly peerId: string
  /** The key that must sign its receipts. */
  readonly publicKey: Uint8Array
  readonly #host: P2PHost
  readonly #timeoutMs: number
  /** The node answered that it does not serve get/2. */
  #noRawGet = false

  constructor (init: BlockClientInit) {
    const publicKey = init.publicKey ?? publicKeyFromPeerId(init.peerId)
    assert.ok(publicKey !== undefined, `${init.peerId} is not an ed25519 peer id; pass the provider's publicKey`)
    this.peerId = init.peerId
    this.publicKey = publicKey
    this.#host = init.host
    this.#timeoutMs = init.timeoutMs ?? defaultBlockRequestTimeoutMs
  }

  /**
   * The blocks' bytes in the order asked, `undefined` for those the node does not hold. Every
   * block is checked against its CID: wrong bytes throw `BlockMismatchError` (and penalise the
   * node), never reach the caller.
   */
  async get (cids: readonly CID[], signal?: AbortSignal): Promise<Array<Uint8Array | undefined>> {
    const out: Array<Uint8Array | undefined> = []
    while (out.length < cids.length) {
      const asked = cids.slice(out.length, out.length + maxGetCidsPerRequest)
      const response = await this.#host.request(this.peerId, getProtocol, encodeCidList(asked), { signal, timeoutMs: this.#timeoutMs, maxResponseBytes: maxBatchMessageBytes })
      const blocks = this.#checked(() => decodeGetResponse(response, asked.length))
      if (blocks.length === 0) throw this.#fault(new MalformedMessageError(`${this.peerId} answered a get of ${asked.length} blocks with none`))
      for (const [i, bytes] of blocks.entries()) {
        const cid = asked[i]
        assert.ok(cid !== undefined)
        if (bytes !== undefined && !blockMatches(cid, bytes)) {
          throw this.#fault(new BlockMismatchError(`${this.peerId} sent bytes for ${cid.toString()} that do not hash to it`))
        }
        out.push(bytes)
      }
    }
    return out
  }

  /**
   * Asks for `cids` over `/keynet/blocks/get/2` (raw framing, blocks sliced out of the answer
   * without copies) and calls `onBlock` for each, in order, once it matched its CID (`undefined`:
   * not held). Asks again for what an answer left out. Throws at the first failure; wrong bytes
   * throw `BlockMismatchError` and penalise the node. A node that does not serve get/2 (an older
   * version) is asked over get/1 from then on.
   */
  async getBatch (cids: readonly CID[], signal: AbortSignal, onBlock: (index: number, bytes: Uint8Array | undefined) => void): Promise<void> {
    if (this.#noRawGet) {
      for (const [i, bytes] of (await this.get(cids, signal)).entries()) onBlock(i, bytes)
      return
    }
    let done = 0
    while (done < cids.length) {
      const asked = cids.slice(done, done + maxRawGetCidsPerRequest)
      let response: Uint8Array
      try {
        response = await this.#host.request(this.peerId, getRawProtocol, encodeCidList(asked), { signal, timeoutMs: this.#timeoutMs, maxResponseBytes: maxBatchMessageBytes })
      } catch (err) {
        if (!(err instanceof ProtocolUnsupportedError) || done > 0) throw err
        this.#noRawGet = true
        return await this.getBatch(cids, signal, onBlock)
      }
      const reader = new BlockFrameReader(asked.length)
      const blocks = this.#checked(() => reader.push(response))
      if (blocks.length === 0 || !reader.atBoundary) throw this.#fault(new MalformedMessageError(`${this.peerId} answered a get of ${asked.length} blocks with ${blocks.length === 0 ? 'none' : 'a cut frame'}`))
      for (const bytes of blocks) {
        const cid = cids[done] as CID
        if (bytes !== undefined && !blockMatches(cid, bytes)) {
          throw this.#fault(new BlockMismatchError(`${this.peerId} sent bytes for ${cid.toString()} that do not hash to it`))
        }
        onBlock(done, bytes)
        done += 1
      }
    }
  }

  /** Sends blocks in batches of at most `maxTransferBatchBytes`; resolves what became of each. */
  async put (blocks: readonly Block[], signal?: AbortSignal): Promise<PutOutcome[]> {
    const outcomes: PutOutcome[] = []
    for (const batch of batches(blocks)) {
      const response = await this.#host.request(this.peerId, putProtocol, encodePutRequest(batch), { signal, timeoutMs: this.#timeoutMs, maxResponseBytes: maxBatchMessageBytes })
      const results = this.#checked(() => decodePutResponse(response, batch.length))
      for (const [i, block] of batch.entries()) {
        const error = results[i]
        outcomes.push(error === undefined ? { cid: block.cid, ok: true } : { cid: block.cid, ok: false, error })
      }
    }
    return outcomes
  }

  /**
   * Asks the node to pin `root`. Resolves a receipt checked against the node's key and root,
   * or the blocks it still lacks. Throws `ReceiptInvalidError` for a receipt that does not verify.
   */
  async pin (root: CID, signal?: AbortSignal): Promise<PinResult> {
    const response = await this.#host.request(this.peerId, pinProtocol, encodePinRequest(root), { signal, timeoutMs: pinHandlerTimeoutMs, maxResponseBytes: maxPinResponseBytes })
    const answer = this.#checked(() => decodePinResponse(response))
    if (answer.receipt === undefined) return { pinned: false, missing: answer.missing }
    const { receipt } = answer
    if (!receipt.root.equals(root) || !verifyReceipt(receipt, this.publicKey)) {
      throw this.#fault(new ReceiptInvalidError(`${this.peerId} answered the pin of ${root.toString()} with a receipt that does not verify against its key and that root`))
    }
    return { pinned: true, receipt }
  }

  /** Whether the node holds each block, in the order asked. */
  async has (cids: readonly CID[], signal?: AbortSignal): Promise<boolean[]> {
    const out: boolean[] = []
    for (let i = 0; i < cids.length; i += maxHasCidsPerRequest) {
      const asked = cids.slice(i, i + maxHasCidsPerRequest)
      const response = await this.#host.request(this.peerId, hasProtocol, encodeCidList(asked), { signal, timeoutMs: this.#timeoutMs })
      out.push(...this.#checked(() => decodeHasResponse(response, asked.length)))
    }
    return out
  }

  /** Runs a decoder; a malformed answer penalises the node. */
  #checked<T> (decodeAnswer: () => T): T {
    try {
      return decodeAnswer()
    } catch (err) {
      if (err instanceof MalformedMessageError) throw this.#fault(err)
      throw err
    }
  }

  #fault<E extends Error> (err: E): E {
    this.#host.penalise(this.peerId, err.message)
    return err
  }
}

/** Splits blocks into put batches bounded in count and payload bytes. */
function * batches (blocks: readonly Block[]): Generator<Block[]> {
  let batch: Block[] = []
  let bytes = 0
  for (const block of blocks) {
    if (batch.length > 0 && (batch.length >= maxPutBlocksPerRequest || bytes + block.bytes.byteLength > maxTransferBatchBytes)) {
      yield batch
      batch = []
      bytes = 0
    }
    batch.push(block)
    bytes += block.bytes.byteLength
  }
  if (batch.length > 0) yield batch
}
