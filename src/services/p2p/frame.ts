/**
 * Request/response framing, no I/O. A request is `varint(length) ‖ body`; a response is
 * `status ‖ varint(length) ‖ body`, where a failed handler sends its error as UTF-8
 * `name: message`. The decoder is incremental and never holds more than the declared limit.
 */
import assert from 'node:assert/strict'
import { PayloadTooLargeError } from '../../foundations/errors.ts'
import { utf8 } from '../../foundations/bytes.ts'
import { maxErrorTextBytes, maxMessageBytesCap } from './constants.ts'
import { ProtocolViolationError } from './errors.ts'

/** The status byte of a response. */
export const ResponseStatus = {
  ok: 0,
  /** The handler threw; the body is `name: message`. */
  handlerError: 1,
  /** The request exceeded the handler's `maxRequestBytes`; the body is empty. */
  requestTooLarge: 2,
  /** The request could not be parsed; the body is empty. */
  badRequest: 3
} as const
export type ResponseStatus = typeof ResponseStatus[keyof typeof ResponseStatus]

const maxVarintBytes = 5 // 2^35 > maxMessageBytesCap

export function encodeVarint (value: number): Uint8Array {
  assert.ok(Number.isSafeInteger(value) && value >= 0 && value <= maxMessageBytesCap)
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** `varint(length) ‖ body`, as parts to send one after the other (the body is not copied). */
export function encodeRequest (body: Uint8Array): Uint8Array[] {
  return [encodeVarint(body.byteLength), body]
}

/** `status ‖ varint(length) ‖ body`, as parts (the body is not copied). */
export function encodeResponse (status: ResponseStatus, body: Uint8Array): Uint8Array[] {
  const length = encodeVarint(body.byteLength)
  const head = new Uint8Array(1 + length.byteLength)
  head[0] = status
  head.set(length, 1)
  return [head, body]
}

/** The body of a `handlerError` response, cut to `maxErrorTextBytes`. */
export function encodeErrorText (err: unknown): Uint8Array {
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  const bytes = utf8.encode(`${name}: ${message}`)
  if (bytes.byteLength <= maxErrorTextBytes) return bytes
  // Cutting may split a UTF-8 sequence; the decoder replaces it, which is fine for a message.
  return bytes.subarray(0, maxErrorTextBytes)
}

export function decodeErrorText (body: Uint8Array): { name: string, message: string } {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body.subarray(0, maxErrorTextBytes))
  const colon = text.indexOf(': ')
  if (colon <= 0 || colon > 64) return { name: 'Error', message: text }
  return { name: text.slice(0, colon), message: text.slice(colon + 2) }
}

/** A chunk as streams deliver it: a `Uint8Array` or a `Uint8ArrayList`. */
export type Chunk = Uint8Array | { subarray: () => Uint8Array, byteLength: number }

export interface Frame { status: ResponseStatus, body: Uint8Array }

/**
 * Incremental decoder of one frame. `push` returns the frame once complete, `undefined` while
 * more bytes are needed, and throws `PayloadTooLargeError` as soon as the declared length
 * exceeds `maxBodyBytes` or `ProtocolViolationError` on malformed input (bytes after the frame
 * included).
 */
export class FrameDecoder {
  readonly #maxBodyBytes: number
  readonly #withStatus: boolean
  #status: number | undefined
  #lengthValue = 0
  #lengthBytes = 0
  #body: Uint8Array | undefined
  #filled = 0
  #done = false

  constructor (opts: { maxBodyBytes: number, withStatus: boolean }) {
    assert.ok(opts.maxBodyBytes >= 0 && opts.maxBodyBytes <= maxMessageBytesCap)
    this.#maxBodyBytes = opts.maxBodyBytes
    this.#withStatus = opts.withStatus
  }

  /** True once a frame has been returned. */
  get done (): boolean { return this.#done }

  push (chunk: Chunk): Frame | undefined {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (this.#done) {
      if (bytes.byteLength > 0) throw new ProtocolViolationError('bytes after the end of a frame')
      return undefined
    }
    let i = 0
    if (this.#withStatus && this.#status === undefined && i < bytes.byteLength) {
      const status = bytes[i++] as number
      if (status > ResponseStatus.badRequest) throw new ProtocolViolationError(`unknown response status ${status}`)
      this.#status = status
    }
    while (this.#body === undefined && i < bytes.byteLength) {
      const b = bytes[i++] as number
      this.#lengthValue += (b & 0x7f) * 2 ** (7 * this.#lengthBytes)
      this.#lengthBytes++
      if (this.#lengthValue > this.#maxBodyBytes) {
        throw new PayloadTooLargeError(`frame of at least ${this.#lengthValue} bytes exceeds the limit of ${this.#maxBodyBytes}`)
      }
      if ((b & 0x80) === 0) {
        if (this.#lengthBytes > 1 && b === 0) throw new ProtocolViolationError('non-minimal length prefix')
        this.#body = new Uint8Array(this.#lengthValue)
      } else if (this.#lengthBytes >= maxVarintBytes) {
        throw new ProtocolViolationError('length prefix too long')
      }
    }
    if (this.#body === undefined) return undefined
    const take = Math.min(this.#body.byteLength - this.#filled, bytes.byteLength - i)
    this.#body.set(bytes.subarray(i, i + take), this.#filled)
    this.#filled += take
    i += take
    if (i < bytes.byteLength) throw new ProtocolViolationError('bytes after the end of a frame')
    if (this.#filled < this.#body.byteLength) return undefined
    this.#done = true
    return { status: (this.#status ?? ResponseStatus.ok) as ResponseStatus, body: this.#body }
  }
}
