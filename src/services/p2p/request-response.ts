/**
 * Request/response over one libp2p stream: the requester writes one request frame and closes its
 * write side; the responder reads it (bounded), runs the handler and writes one response frame.
 * Every read is bounded by the frame decoder, every wait by a signal.
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { PayloadTooLargeError, TimeoutError } from '../../foundations/errors.ts'
import { AbortedError, ProtocolViolationError, RemoteHandlerError, StreamFailedError } from './errors.ts'
import {
  FrameDecoder, ResponseStatus, decodeErrorText, encodeErrorText, encodeRequest, encodeResponse, type Frame
} from './frame.ts'

/** Reads one frame from the stream; rejects on malformed or oversized input, early end, or abort. */
export async function readFrame (stream: Stream, decoder: FrameDecoder, signal: AbortSignal): Promise<Frame> {
  if (signal.aborted) throw signal.reason
  return new Promise<Frame>((resolve, reject) => {
    let settled = false
    const finish = (err: unknown, frame?: Frame): void => {
      if (settled) return
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (frame !== undefined) resolve(frame)
      else reject(err)
    }
    const onMessage = (evt: StreamMessageEvent): void => {
      try {
        const frame = decoder.push(evt.data)
        if (frame !== undefined) finish(undefined, frame)
      } catch (err) {
        finish(err)
      }
    }
    // A peer that gave up (its deadline passed, its connection was recycled) ends the stream
    // early; that is a failure, not a framing offence worth lowering its standing for.
    const onEnd = (): void => { finish(new StreamFailedError('stream ended before the frame was complete')) }
    // A clean close may precede the dispatch of buffered data; only an error ends the read here.
    const onClose = (evt: StreamCloseEvent): void => {
      if (evt.error != null) finish(new StreamFailedError(`stream failed: ${evt.error.message}`))
    }
    const onAbort = (): void => { finish(signal.reason) }
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    signal.addEventListener('abort', onAbort)
    if (stream.status === 'aborted' || stream.status === 'reset') finish(new StreamFailedError(`stream is ${stream.status}`))
    else if (stream.readableEnded) onEnd()
  })
}

/** Writes the parts in order, waiting for drain when the stream asks for it. */
export async function writeAll (stream: Stream, parts: Uint8Array[], signal: AbortSignal): Promise<void> {
  for (const part of parts) {
    if (part.byteLength === 0) continue
    if (!stream.send(part)) await stream.onDrain({ signal })
  }
}

export interface ExchangeOptions {
  maxResponseBytes: number
  signal: AbortSignal
}

/**
 * The requester side on an opened stream. The response is read while the request is still being
 * written, so a responder that rejects an oversized request early is heard.
 */
export async function exchange (stream: Stream, request: Uint8Array, opts: ExchangeOptions): Promise<Uint8Array> {
  const decoder = new FrameDecoder({ maxBodyBytes: opts.maxResponseBytes, withStatus: true })
  const response = readFrame(stream, decoder, opts.signal)
  const written = (async () => {
    await writeAll(stream, encodeRequest(request), opts.signal)
    await stream.close({ signal: opts.signal })
  })().catch(() => {
    // A failed write shows up as a failed read (reset, close or abort) or is moot once answered.
  })
  let frame: Frame
  try {
    frame = await response
  } catch (err) {
    stream.abort(asError(err))
    await written
    if (err instanceof PayloadTooLargeError) throw new PayloadTooLargeError(`response exceeds maxResponseBytes (${opts.maxResponseBytes})`)
    throw err
  }
  // The responder may answer before reading everything (an early rejection); stop writing then.
  if (stream.writeStatus !== 'closed') stream.abort(new Error('response received'))
  await written
  switch (frame.status) {
    case ResponseStatus.ok:
      return frame.body
    case ResponseStatus.handlerError: {
      const { name, message } = decodeErrorText(frame.body)
      throw new RemoteHandlerError(`peer handler failed: ${name}: ${message}`, name)
    }
    case ResponseStatus.requestTooLarge:
      throw new PayloadTooLargeError(`request of ${request.byteLength} bytes exceeds the peer's limit`)
    case ResponseStatus.badRequest:
      throw new ProtocolViolationError('the peer could not parse the request')
  }
}

export interface RespondOptions {
  maxRequestBytes: number
  signal: AbortSignal
  handler: (request: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>
  /** Called with the reason when the requester broke the framing (to lower its standing). */
  onViolation: (reason: string) => void
  log: (line: string) => void
}

/** The responder side: reads one request, runs the handler, writes one response. Never throws. */
export async function respond (stream: Stream, opts: RespondOptions): Promise<void> {
  const { signal } = opts
  const decoder = new FrameDecoder({ maxBodyBytes: opts.maxRequestBytes, withStatus: false })
  try {
    let request: Uint8Array
    try {
      request = (await readFrame(stream, decoder, signal)).body
    } catch (err) {
      if (err instanceof PayloadTooLargeError || err instanceof ProtocolViolationError) {
        if (err instanceof ProtocolViolationError) opts.onViolation(err.message)
        const status = err instanceof PayloadTooLargeError ? ResponseStatus.requestTooLarge : ResponseStatus.badRequest
        await sendAndClose(stream, encodeResponse(status, new Uint8Array(0)), signal)
        // Stop the rest of the request from arriving; the answer is already on the wire.
        stream.abort(err)
      } else {
        stream.abort(asError(err))
      }
      return
    }
    let body: Uint8Array
    let status: ResponseStatus = ResponseStatus.ok
    try {
      body = await opts.handler(request, signal)
      if (!(body instanceof Uint8Array)) throw new TypeError('a request handler must resolve to a Uint8Array')
    } catch (err) {
      if (signal.aborted) {
        stream.abort(asError(signal.reason))
        return
      }
      opts.log(`handler failed on ${stream.protocol}: ${asError(err).message}`)
      status = ResponseStatus.handlerError
      body = encodeErrorText(err)
    }
    await sendAndClose(stream, encodeResponse(status, body), signal)
  } catch (err) {
    stream.abort(asError(err))
  }
}

async function sendAndClose (stream: Stream, parts: Uint8Array[], signal: AbortSignal): Promise<void> {
  if (stream.writeStatus !== 'writable') return
  await writeAll(stream, parts, signal)
  await stream.close({ signal })
}

function asError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/**
 * One signal for an operation: the caller's, a deadline and the host's lifetime. `reason` maps
 * which one fired to the typed error to throw.
 */
/**
 * A signal that aborts when any of `signals` does, linked by listeners that `dispose` removes.
 * Not `AbortSignal.any`: Node keeps every signal combined with a long-lived one (the host's
 * lifetime) as a dependant and walks them all each time one is collected, which under steady
 * request load froze a node for seconds.
 */
export function linkSignals (signals: AbortSignal[]): { signal: AbortSignal, dispose: () => void } {
  const c = new AbortController()
  const offs: Array<() => void> = []
  for (const s of signals) {
    if (s.aborted) { c.abort(s.reason); break }
    const on = (): void => { c.abort(s.reason) }
    s.addEventListener('abort', on, { once: true })
    offs.push(() => { s.removeEventListener('abort', on) })
  }
  return { signal: c.signal, dispose: () => { for (const off of offs) off() } }
}

export function operationSignal (opts: { signal?: AbortSignal, timeoutMs: number, lifetime: AbortSignal, also?: AbortSignal }): { signal: AbortSignal, reason: () => Error, dispose: () => void } {
  const deadline = new AbortController()
  const timer = setTimeout(() => { deadline.abort(new TimeoutError(`timed out after ${opts.timeoutMs} ms`)) }, opts.timeoutMs)
  timer.unref?.()
  const signals = [deadline.signal, opts.lifetime]
  if (opts.signal !== undefined) signals.push(opts.signal)
  if (opts.also !== undefined) signals.push(opts.also)
  const linked = linkSignals(signals)
  return {
    signal: linked.signal,
    reason: () => {
      if (opts.signal?.aborted === true) return abortError(opts.signal.reason)
      if (deadline.signal.aborted) return deadline.signal.reason as Error
      return new AbortedError('the host stopped')
    },
    dispose: () => { clearTimeout(timer); linked.dispose() }
  }
}

/** The typed error for a caller's abort reason: a timeout signal becomes `TimeoutError`. */
export function abortError (reason: unknown): Error {
  if (reason instanceof TimeoutError || reason instanceof AbortedError) return reason
  if (reason instanceof Error && reason.name === 'TimeoutError') return new TimeoutError(reason.message)
  return new AbortedError('aborted by the caller')
}
