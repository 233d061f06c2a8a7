/**
 * The wire format of `/keynet/http/1`: HTTP carried over one raw p2p stream. Each direction is a
 * sequence of frames `varint(length) ‖ payload`:
 *
 * - first a head, canonical CBOR — a request head `{ method, name, target, headers }`, a
 *   response head `{ status, headers }`, where `headers` is a list of `[name, value]` pairs with
 *   lower-case names, repeated names allowed, hop-by-hop headers absent;
 * - then body frames of 1 … `maxBodyFrameBytes` payload bytes;
 * - then one empty frame that ends the body, after which the sender closes its write side.
 *
 * A stream that ends or is reset before the empty frame is an aborted exchange: the body is
 * incomplete and must not be used. No I/O here beyond reading and writing a given stream.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { ProtocolViolationError, StreamFailedError, type DuplexLike } from '../p2p/index.ts'
import { encodeVarint } from '../p2p/frame.ts'
import {
  coalesceFrameBytes, maxBodyFrameBytes, maxHeadBytesCap, maxHeaderCount, maxMethodChars, maxTargetChars
} from './constants.ts'

/** The protocol id of HTTP over a p2p stream. */
export const httpProtocol = '/keynet/http/1'

/** Header lines in order, names in lower case; a name may repeat. */
export type HeaderList = Array<[string, string]>

/** What a client sends first: the request line, the name it addresses, and the headers. */
export interface RequestHead {
  method: string
  /** The `.key` name the request is for, canonical (`mysite.key`). */
  name: string
  /** Path and query, origin-form: starts with `/`. */
  target: string
  headers: HeaderList
}

/** What a service node answers first. */
export interface ResponseHead {
  /** 200 … 599. */
  status: number
  headers: HeaderList
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/
const methodPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Field values: visible ASCII, obs-text, space and tab; never CR, LF or NUL.
const valuePattern = /^[\t\x20-\x7e\x80-\xff]*$/
const targetPattern = /^\/[\x21-\x7e]*$/

/** A request head as canonical CBOR. */
export function encodeRequestHead (head: RequestHead): Uint8Array {
  return encode({ method: head.method, name: head.name, target: head.target, headers: head.headers })
}

/** Decodes and checks a request head; throws `MalformedMessageError` naming the field. */
export function decodeRequestHead (bytes: Uint8Array): RequestHead {
  const r = shape.record(decode(bytes), 'request head')
  shape.onlyKeys(r, 'request head', ['method', 'name', 'target', 'headers'])
  const method = shape.str(r.method, 'request head.method', maxMethodChars)
  if (!methodPattern.test(method)) throw new MalformedMessageError('request head.method must be an HTTP token')
  const name = shape.str(r.name, 'request head.name', 1024)
  let canonical: string
  try {
    canonical = canonicalName(name)
  } catch (err) {
    throw new MalformedMessageError(`request head.name: ${(err as Error).message}`)
  }
  if (canonical !== name) throw new MalformedMessageError(`request head.name must be canonical (${canonical})`)
  const target = shape.str(r.target, 'request head.target', maxTargetChars)
  if (!targetPattern.test(target)) throw new MalformedMessageError('request head.target must be a path (and query) starting with / without spaces')
  if (target.includes('#')) throw new MalformedMessageError('request head.target must not hold a fragment')
  return { method, name, target, headers: headersFromWire(r.headers, 'request head.headers') }
}

/** A response head as canonical CBOR. */
export function encodeResponseHead (head: ResponseHead): Uint8Array {
  return encode({ status: head.status, headers: head.headers })
}

/** Decodes and checks a response head; throws `MalformedMessageError` naming the field. */
export function decodeResponseHead (bytes: Uint8Array): ResponseHead {
  const r = shape.record(decode(bytes), 'response head')
  shape.onlyKeys(r, 'response head', ['status', 'headers'])
  const status = shape.uint(r.status, 'response head.status')
  if (status < 200 || status > 599) throw new MalformedMessageError('response head.status must be within 200…599')
  return { status, headers: headersFromWire(r.headers, 'response head.headers') }
}

function headersFromWire (v: unknown, field: string): HeaderList {
  return shape.list(v, field, maxHeaderCount).map((pair, i) => {
    const p = shape.list(pair, `${field}[${i}]`, 2)
    if (p.length !== 2) throw new MalformedMessageError(`${field}[${i}] must be [name, value]`)
    const name = shape.str(p[0], `${field}[${i}] name`, maxHeadBytesCap)
    const value = shape.str(p[1], `${field}[${i}] value`, maxHeadBytesCap)
    if (!tokenPattern.test(name)) throw new MalformedMessageError(`${field}[${i}] name must be a lower-case HTTP token`)
    if (!valuePattern.test(value)) throw new MalformedMessageError(`${field}[${i}] value holds a forbidden character`)
    return [name, value]
  })
}

/** One frame, as the parts to write (the payload is not copied unless it is small). */
export function frameParts (payload: Uint8Array): Uint8Array[] {
  const prefix = encodeVarint(payload.byteLength)
  if (payload.byteLength > coalesceFrameBytes) return [prefix, payload]
  const out = new Uint8Array(prefix.byteLength + payload.byteLength)
  out.set(prefix)
  out.set(payload, prefix.byteLength)
  return [out]
}

/** The empty frame that ends a body. */
export const endOfBody: Uint8Array = Uint8Array.of(0)

/** Writes one frame, waiting while the stream asks to. */
export async function writeFrame (stream: DuplexLike, payload: Uint8Array, signal?: AbortSignal): Promise<void> {
  for (const part of frameParts(payload)) await stream.write(part, signal)
}

/**
 * Writes a whole body: each chunk of `source` in frames of at most `maxBodyFrameBytes`, then the
 * end frame. `onProgress` is called with the bytes of each frame written. Waits while the
 * stream asks to, so a slow reader at the other end slows the source down.
 */
export async function writeBody (stream: DuplexLike, source: AsyncIterable<Uint8Array>, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<void> {
  for await (const chunk of source) {
    for (let at = 0; at < chunk.byteLength; at += maxBodyFrameBytes) {
      const part = chunk.subarray(at, at + maxBodyFrameBytes)
      await writeFrame(stream, part, signal)
      onProgress?.(part.byteLength)
    }
  }
  await stream.write(endOfBody, signal)
}

/**
 * Reads frames from a stream's chunks, holding at most one frame (a head or one body frame) at a
 * time. Malformed framing throws `ProtocolViolationError`, an oversized head
 * `PayloadTooLargeError` (as soon as its length is read), an early end `StreamFailedError`.
 */
export class FrameReader {
  readonly #chunks: AsyncIterator<Uint8Array>
  #current: Uint8Array = new Uint8Array(0)
  #offset = 0
  #bodyDone = false

  constructor (source: AsyncIterable<Uint8Array>) {
    this.#chunks = source[Symbol.asyncIterator]()
  }

  /** The head frame: 1 … `maxBytes` bytes. */
  async readHead (maxBytes: number): Promise<Uint8Array> {
    const length = await this.#readLength(maxHeadBytesCap, true)
    if (length > maxBytes) throw new PayloadTooLargeError(`the head is ${length} bytes; at most ${maxBytes} are accepted`)
    if (length === 0) throw new ProtocolViolationError('an empty head frame')
    return await this.#readExact(length)
  }

  /** The next body chunk, or `undefined` once the end frame has been read. */
  async readBodyChunk (): Promise<Uint8Array | undefined> {
    if (this.#bodyDone) return undefined
    const length = await this.#readLength(maxBodyFrameBytes, false)
    if (length === 0) {
      this.#bodyDone = true
      return undefined
    }
    return await this.#readExact(length)
  }

  /** The body chunks up to the end frame. */
  async * body (): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.readBodyChunk()
      if (chunk === undefined) return
      yield chunk
    }
  }

  /** True once the end frame has been read. */
  get bodyDone (): boolean {
    return this.#bodyDone
  }

  /** Resolves once the stream ends with nothing after the last frame; throws `ProtocolViolationError` otherwise. */
  async expectEnd (): Promise<void> {
    if (this.#offset < this.#current.byteLength) throw new ProtocolViolationError('bytes after the end of the body')
    for (;;) {
      const next = await this.#chunks.next()
      if (next.done === true) return
      if (next.value.byteLength > 0) throw new ProtocolViolationError('bytes after the end of the body')
    }
  }

  async #fill (atStart: boolean): Promise<void> {
    while (this.#offset >= this.#current.byteLength) {
      const next = await this.#chunks.next()
      if (next.done === true) throw new StreamFailedError(atStart ? 'the stream ended before a head arrived' : 'the stream ended in the middle of a frame or before the end of the body')
      this.#current = next.value
      this.#offset = 0
    }
  }

  async #readLength (max: number, atStart: boolean): Promise<number> {
    let value = 0
    for (let i = 0; ; i++) {
      await this.#fill(atStart && i === 0)
      const b = this.#current[this.#offset++] as number
      value += (b & 0x7f) * 2 ** (7 * i)
      if (value > max) {
        if (atStart) throw new PayloadTooLargeError(`the head is at least ${value} bytes; at most ${max} are accepted`)
        throw new ProtocolViolationError(`a body frame of ${value} bytes exceeds ${max}`)
      }
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw new ProtocolViolationError('non-minimal length prefix')
        return value
      }
      if (i >= 3) throw new ProtocolViolationError('length prefix too long')
    }
  }

  async #readExact (length: number): Promise<Uint8Array> {
    await this.#fill(false)
    const available = this.#current.byteLength - this.#offset
    if (available >= length) {
      const out = this.#current.subarray(this.#offset, this.#offset + length)
      this.#offset += length
      return out
    }
    const out = new Uint8Array(length)
    let filled = 0
    while (filled < length) {
      await this.#fill(false)
      const take = Math.min(length - filled, this.#current.byteLength - this.#offset)
      out.set(this.#current.subarray(this.#offset, this.#offset + take), filled)
      this.#offset += take
      filled += take
    }
    return out
  }
}
