/**
 * Raw streams on the p2p host. `StreamDuplex` wraps one libp2p stream in a small Keynet shape:
 * chunks are read by async iteration with backpressure (while too many unread bytes are queued
 * the stream is paused, so the sender's yamux window closes and it stops), written with
 * `send()` / `onDrain()`, and ended with `close()` (our write side) or `abort()` (both sides).
 * Its `signal` aborts when the stream fails: reset by the peer, aborted here, or its connection
 * lost.
 */
import assert from 'node:assert/strict'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { AbortedError, StreamFailedError } from './errors.ts'
import { abortError } from './request-response.ts'

/** Unread bytes queued above which the stream is paused, so one slow reader holds little memory. */
export const streamReadHighWaterBytes = 1024 * 1024
/** Queued bytes at or below which a paused stream resumes: a few chunks stay ready for the reader. */
export const streamReadLowWaterBytes = 256 * 1024
/**
 * libp2p's read buffer of a paused stream: a yamux sender may still send what its window allows
 * after we pause (at most 16 MiB, yamux's largest window), and a stream whose buffer overflows is
 * reset, so the buffer holds a full window.
 */
export const streamPausedBufferBytes = 17 * 1024 * 1024
/**
 * Bytes a writer may queue on a stream that asked it to wait (`send()` returned false) before
 * the stream is reset: a writer that ignores backpressure cannot hold unbounded memory.
 */
export const streamMaxWriteBufferBytes = 8 * 1024 * 1024
/** Default deadline of a stream handler; protocols with long transfers pass their own. */
export const defaultStreamHandlerTimeoutMs = 10 * 60_000
/** How long a finished handler's stream may take to hand over its last bytes and see the peer's end. */
export const streamSettleTimeoutMs = 5_000

/** Both directions of one raw p2p stream, in the shape Keynet code uses. */
export interface DuplexLike extends AsyncIterable<Uint8Array> {
  /** The protocol negotiated for the stream. */
  readonly protocol: string
  /** Peer id of the other end. */
  readonly remotePeer: string
  /** Aborts (with a `StreamFailedError` or `AbortedError`) once the stream has failed or been aborted. */
  readonly signal: AbortSignal
  /**
   * Queues a chunk. Returns false when the caller should `await onDrain()` before the next one.
   * Throws `StreamFailedError` when the write side is closed or the stream failed.
   */
  send: (chunk: Uint8Array) => boolean
  /** Resolves once more may be sent; rejects when the stream fails or `signal` aborts. */
  onDrain: (signal?: AbortSignal) => Promise<void>
  /** `send` then, if asked, `onDrain`. */
  write: (chunk: Uint8Array, signal?: AbortSignal) => Promise<void>
  /** Closes our write side once everything queued is handed to the connection; the peer can still write. */
  close: (signal?: AbortSignal) => Promise<void>
  /** Resets the stream both ways at once; queued data in either direction is dropped. */
  abort: (reason?: Error) => void
}

/**
 * The `DuplexLike` over a libp2p stream. Chunks are read by one reader at a time; data already
 * received is delivered before a failure is thrown, so a complete answer followed by a reset is
 * still read whole.
 */
export class StreamDuplex implements DuplexLike {
  readonly protocol: string
  readonly remotePeer: string
  readonly #stream: Stream
  readonly #failed = new AbortController()
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #ended = false
  #wake: (() => void) | undefined
  #reading = false
  #pausePending = false
  #discarding = false

  constructor (stream: Stream, remotePeer: string) {
    this.#stream = stream
    this.protocol = stream.protocol
    this.remotePeer = remotePeer
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, streamPausedBufferBytes)
    stream.maxWriteBufferLength = streamMaxWriteBufferBytes
    stream.addEventListener('message', this.#onMessage)
    stream.addEventListener('end', this.#onEnd)
    stream.addEventListener('close', this.#onClose)
    if (stream.status === 'aborted' || stream.status === 'reset') this.#fail(new StreamFailedError(`stream to ${remotePeer} is ${stream.status}`))
    else if (stream.readableEnded) this.#ended = true
  }

  get signal (): AbortSignal {
    return this.#failed.signal
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<Uint8Array, void, undefined> {
    assert.ok(!this.#reading, 'a stream has one reader at a time')
    this.#reading = true
    try {
      for (;;) {
        const chunk = this.#queue.shift()
        if (chunk !== undefined) {
          this.#queuedBytes -= chunk.byteLength
          this.#maybeResume()
          yield chunk
          continue
        }
        if (this.#failed.signal.aborted) throw this.#failed.signal.reason
        if (this.#ended) return
        await new Promise<void>(resolve => { this.#wake = resolve })
      }
    } finally {
      this.#reading = false
    }
  }

  send (chunk: Uint8Array): boolean {
    if (this.#failed.signal.aborted) throw this.#failed.signal.reason
    try {
      // libp2p answers true when it queued the chunk without sending it (a send already running).
      return this.#stream.send(chunk) && this.#stream.writeBufferLength === 0
    } catch (err) {
      throw this.#writeError(err)
    }
  }

  async onDrain (signal?: AbortSignal): Promise<void> {
    // Waits for libp2p's own queue to empty ('idle'): its `onDrain()` keeps one promise that,
    // once resolved by a first drain, resolves every later wait at once.
    const stream = this.#stream
    for (;;) {
      if (signal?.aborted === true) throw abortError(signal.reason)
      if (this.#failed.signal.aborted) throw this.#failed.signal.reason
      if (stream.writeBufferLength === 0) return
      if (stream.writeStatus === 'closed') throw this.#writeError(new Error('the write side is closed'))
      await new Promise<void>(resolve => {
        const done = (): void => {
          stream.removeEventListener('idle', done)
          stream.removeEventListener('close', done)
          signal?.removeEventListener('abort', done)
          resolve()
        }
        stream.addEventListener('idle', done)
        stream.addEventListener('close', done)
        signal?.addEventListener('abort', done)
      })
    }
  }

  async write (chunk: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (!this.send(chunk)) await this.onDrain(signal)
  }

  async close (signal?: AbortSignal): Promise<void> {
    try {
      await this.#stream.close({ signal })
    } catch (err) {
      if (signal?.aborted === true) throw abortError(signal.reason)
      throw this.#writeError(err)
    }
  }

  abort (reason?: Error): void {
    // Already failed: data received before the failure stays readable.
    if (this.#failed.signal.aborted) return
    const err = reason ?? new AbortedError('the stream was aborted locally')
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.#fail(err)
    this.#stream.abort(err)
  }

  /**
   * Ends the stream after its handler returned: nothing reads it any more, so what is queued or
   * still arrives is dropped; our write side is closed if still open; then the peer has until
   * `signal` aborts to end its side, after which the stream is reset.
   */
  async settle (signal: AbortSignal): Promise<void> {
    if (this.#failed.signal.aborted) return
    this.#discarding = true
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.#maybeResume()
    try {
      if (this.#stream.writeStatus === 'writable') await this.close(signal)
      const stream = this.#stream
      await new Promise<void>(resolve => {
        const done = (): void => {
          stream.removeEventListener('end', done)
          stream.removeEventListener('close', done)
          signal.removeEventListener('abort', done)
          resolve()
        }
        stream.addEventListener('end', done)
        stream.addEventListener('close', done)
        signal.addEventListener('abort', done)
        if (this.#ended || this.#failed.signal.aborted || signal.aborted) done()
      })
    } catch {
      // Closing failed or timed out: the reset below ends it.
    }
    if (!this.#ended) this.abort(new AbortedError('the handler finished and the peer did not end its side in time'))
  }

  readonly #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (this.#discarding) return
    if (data instanceof Uint8Array) this.#push(data)
    else for (const buf of data) this.#push(buf)
    // Pausing inside a dispatch that `resume()` started would be undone by that same `resume()`
    // (it re-opens the yamux window after dispatching), so pause once the dispatch is over.
    if (this.#queuedBytes >= streamReadHighWaterBytes && !this.#pausePending) {
      this.#pausePending = true
      queueMicrotask(() => {
        this.#pausePending = false
        if (this.#queuedBytes >= streamReadHighWaterBytes && this.#stream.readStatus === 'readable') this.#stream.pause()
      })
    }
    this.#wakeReader()
  }

  readonly #onEnd = (): void => {
    this.#ended = true
    this.#wakeReader()
  }

  readonly #onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) {
      this.#fail(evt.error instanceof AbortedError || evt.error instanceof StreamFailedError
        ? evt.error
        : new StreamFailedError(`stream ${evt.local === true ? 'aborted' : 'reset by'} ${this.remotePeer}: ${evt.error.message}`))
    } else if (this.#stream.readBufferLength === 0) {
      this.#ended = true
    }
    this.#wakeReader()
  }

  #push (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.#queue.push(chunk)
    this.#queuedBytes += chunk.byteLength
  }

  #maybeResume (): void {
    if (this.#queuedBytes > streamReadLowWaterBytes || this.#stream.readStatus !== 'paused') return
    try {
      this.#stream.resume()
    } catch {
      // Closing already: nothing more will arrive, the end or close event says so.
    }
  }

  #fail (err: Error): void {
    if (!this.#failed.signal.aborted) this.#failed.abort(err)
    this.#wakeReader()
  }

  #wakeReader (): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #writeError (err: unknown): Error {
    if (this.#failed.signal.aborted) return this.#failed.signal.reason as Error
    return new StreamFailedError(`cannot write to the stream to ${this.remotePeer}: ${err instanceof Error ? err.message : String(err)}`)
  }
}
