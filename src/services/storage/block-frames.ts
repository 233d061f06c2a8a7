/**
 * Raw block framing, the body of a batched block answer (`/keynet/blocks/get/2` over libp2p and
 * the storage node's HTTP block endpoint): for each CID asked, in the order asked, a 4-byte
 * big-endian length followed by that many bytes of the block, or the length `0xffffffff` alone
 * for a block the node does not hold. No CIDs travel back (the order names them) and no bytes are
 * escaped, so a reader slices blocks out of what arrives, copying only a block split over chunks.
 *
 * @example
 * ```ts
 * const reader = new BlockFrameReader(cids.length)
 * for await (const chunk of body) for (const block of reader.push(chunk)) use(block)  // Uint8Array | undefined
 * reader.end()                                                                         // throws when cut short
 * ```
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxBlockBytes } from '../../core/content/constants.ts'

/** Bytes of a frame header. */
export const frameHeaderBytes = 4
/** The length that says "not held". */
const notHeld = 0xffffffff

/** The header of a frame carrying `bytes` bytes, or of a "not held" frame. */
export function frameHeader (bytes: number | undefined): Uint8Array {
  const header = new Uint8Array(frameHeaderBytes)
  new DataView(header.buffer).setUint32(0, bytes ?? notHeld)
  return header
}

/** The frames of `blocks` in one buffer (the libp2p answer is one message). */
export function encodeBlockFrames (blocks: ReadonlyArray<Uint8Array | undefined>): Uint8Array {
  let total = 0
  for (const b of blocks) total += frameHeaderBytes + (b?.byteLength ?? 0)
  const out = new Uint8Array(total)
  const view = new DataView(out.buffer)
  let at = 0
  for (const b of blocks) {
    view.setUint32(at, b?.byteLength ?? notHeld)
    at += frameHeaderBytes
    if (b !== undefined) {
      out.set(b, at)
      at += b.byteLength
    }
  }
  return out
}

/**
 * Reads the frames of an answer to `expected` CIDs from chunks as they arrive. `push` returns the
 * blocks completed by a chunk (`undefined` = not held); `end` throws when fewer came than asked.
 * Throws `MalformedMessageError` for a block longer than `maxBlockBytes` or bytes past the last frame.
 */
export class BlockFrameReader {
  /** Frames read so far. */
  done = 0
  readonly #expected: number
  readonly #header = new Uint8Array(frameHeaderBytes)
  #headerAt = 0
  /** The block being filled, when it spans chunks. */
  #block: Uint8Array | undefined
  #blockAt = 0

  readonly #alloc: ((index: number, bytes: number) => Uint8Array) | undefined

  /** `alloc`: where a block split over chunks is gathered (default: new memory), given the frame's index and size. */
  constructor (expected: number, alloc?: (index: number, bytes: number) => Uint8Array) {
    this.#expected = expected
    this.#alloc = alloc
  }

  /** Whether every frame arrived. */
  get complete (): boolean {
    return this.done === this.#expected
  }

  /** Whether the bytes so far end at a frame boundary. */
  get atBoundary (): boolean {
    return this.#headerAt === 0 && this.#block === undefined
  }

  push (chunk: Uint8Array): Array<Uint8Array | undefined> {
    const out: Array<Uint8Array | undefined> = []
    let at = 0
    while (at < chunk.byteLength) {
      if (this.#block !== undefined) {
        const n = Math.min(this.#block.byteLength - this.#blockAt, chunk.byteLength - at)
        this.#block.set(chunk.subarray(at, at + n), this.#blockAt)
        this.#blockAt += n
        at += n
        if (this.#blockAt === this.#block.byteLength) {
          out.push(this.#block)
          this.#block = undefined
          this.done += 1
        }
        continue
      }
      if (this.done === this.#expected) throw new MalformedMessageError(`block answer carries bytes after its ${this.#expected} frames`)
      const h = Math.min(frameHeaderBytes - this.#headerAt, chunk.byteLength - at)
      this.#header.set(chunk.subarray(at, at + h), this.#headerAt)
      this.#headerAt += h
      at += h
      if (this.#headerAt < frameHeaderBytes) break
      this.#headerAt = 0
      const length = new DataView(this.#header.buffer).getUint32(0)
      if (length === notHeld) {
        out.push(undefined)
        this.done += 1
        continue
      }
      if (length > maxBlockBytes) throw new MalformedMessageError(`block answer frame ${this.done} claims ${length} bytes; a block has at most ${maxBlockBytes}`)
      if (chunk.byteLength - at >= length) {
        // The whole block is in this chunk: a view, no copy.
        out.push(chunk.subarray(at, at + length))
        at += length
        this.done += 1
        continue
      }
      // Not zero-filled: every byte is written from the chunks before the block is handed over.
      if (this.#alloc !== undefined) {
        this.#block = this.#alloc(this.done, length)
      } else {
        const storage = Buffer.allocUnsafe(length)
        this.#block = new Uint8Array(storage.buffer, storage.byteOffset, length)
      }
      this.#blockAt = 0
    }
    return out
  }

  /** Throws `MalformedMessageError` unless every frame arrived whole. */
  end (): void {
    if (!this.complete || !this.atBoundary) {
      throw new MalformedMessageError(`block answer ended after ${this.done} of ${this.#expected} frames`)
    }
  }
}
