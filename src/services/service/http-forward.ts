/**
 * The service node's side of one `/keynet/http/1` exchange: read the request head, then forward
 * the request to the bound backend (`backend-request.ts`) and stream the answer back. Bodies flow
 * chunk by chunk in both directions and each side waits for the other (nothing buffers a whole
 * body). The caller going away aborts the backend request; a backend that makes no progress
 * before its answer gets 504, one that cannot be reached 502 (JSON reason); its own statuses,
 * 5xx included, pass through as they are.
 */
import type { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { utf8 } from '../../foundations/bytes.ts'
import type { Clock } from '../../foundations/clock.ts'
import { KeynetError, MalformedMessageError, PayloadTooLargeError, TimeoutError, errorBody } from '../../foundations/errors.ts'
import { ProtocolViolationError, type DuplexLike } from '../p2p/index.ts'
import { backendUrl, type Binding } from './binding.ts'
import type { BindingMeter } from './binding-meter.ts'
import { maxBodyFrameBytes, maxHeadBytesCap } from './constants.ts'
import { BackendTimeoutError, BackendUnreachableError, HeadersTooLargeError, RequestTimeoutError } from './errors.ts'
import { callBackend, responseHeaders, sendBody, type BackendAgents } from './backend-request.ts'
import { endToEndHeaders, forwardedElement } from './headers.ts'
import {
  FrameReader, decodeRequestHead, encodeResponseHead, endOfBody, writeFrame, type HeaderList, type RequestHead
} from './http-wire.ts'

/** The limits of one exchange. */
export interface ExchangeLimits {
  /** Largest request head accepted; larger gets 431. */
  maxHeaderBytes: number
  /** Time for the head to arrive after the stream opens. */
  headTimeoutMs: number
  /** Time the backend may make no progress before its response head; then 504. */
  requestTimeoutMs: number
  /** Time the backend's response body may stall; then the exchange is aborted. */
  bodyIdleTimeoutMs: number
  /** Largest request body forwarded; larger gets 413. */
  maxRequestBodyBytes: number
}

/**
 * Reads the request head within the head deadline. Answers a head that is too large (431) or
 * malformed (400, and `onViolation` is told) itself and resolves to `undefined` then; an early
 * end or the deadline throws (the stream is then aborted by its handler).
 */
export async function readRequestHead (stream: DuplexLike, reader: FrameReader, limits: ExchangeLimits, signal: AbortSignal, onViolation: (reason: string) => void): Promise<RequestHead | undefined> {
  const timer = setTimeout(() => { stream.abort(new TimeoutError(`no request head within ${limits.headTimeoutMs} ms`)) }, limits.headTimeoutMs)
  try {
    return decodeRequestHead(await reader.readHead(limits.maxHeaderBytes))
  } catch (err) {
    if (err instanceof PayloadTooLargeError) {
      await answerError(stream, new HeadersTooLargeError(`${err.message}: send fewer or smaller headers`), signal)
      return undefined
    }
    if (err instanceof MalformedMessageError || err instanceof ProtocolViolationError) {
      onViolation(err.message)
      await answerError(stream, new MalformedMessageError(`bad request head: ${err.message}`), signal)
      return undefined
    }
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/** Answers the exchange with an error status and its JSON body `{ error: { name, message } }`, then closes our side. */
export async function answerError (stream: DuplexLike, err: KeynetError, signal: AbortSignal): Promise<void> {
  const body = utf8.encode(JSON.stringify(errorBody(err)))
  const headers: HeaderList = [['content-type', 'application/json; charset=utf-8'], ['content-length', String(body.byteLength)]]
  await writeFrame(stream, encodeResponseHead({ status: err.status, headers }), signal)
  await writeFrame(stream, body, signal)
  await stream.write(endOfBody, signal)
  await stream.close(signal)
}

/** What `forwardExchange` needs for one request. */
export interface ForwardInit {
  stream: DuplexLike
  reader: FrameReader
  head: RequestHead
  /** The peer the request came from. */
  from: string
  binding: Binding
  meter: BindingMeter
  limits: ExchangeLimits
  agents: BackendAgents
  /** Aborts when the caller goes away, the exchange deadline passes or the node stops. */
  signal: AbortSignal
  clock: Clock
}

/**
 * Forwards one request to its binding's backend and streams the answer back. Resolves once the
 * exchange is over; throws when it broke off after the response head was sent (the handler then
 * resets the stream, so the caller sees an incomplete body, never a short one).
 */
export async function forwardExchange (init: ForwardInit): Promise<void> {
  const { stream, reader, head, binding, meter, limits, signal } = init
  const declared = head.headers.find(([n]) => n === 'content-length')?.[1]
  if (declared !== undefined && !/^\d{1,15}$/.test(declared)) {
    await answerError(stream, new MalformedMessageError(`content-length "${declared.slice(0, 20)}" is not a byte count`), signal)
    return
  }
  const contentLength = Number(declared ?? '0')
  if (contentLength > limits.maxRequestBodyBytes) {
    await answerError(stream, new PayloadTooLargeError(`the request body of ${contentLength} bytes exceeds this node's limit of ${limits.maxRequestBodyBytes}`), signal)
    return
  }
  const backend = new AbortController()
  const onGone = (): void => { backend.abort(signal.reason) }
  signal.addEventListener('abort', onGone, { once: true })
  let headTimer: ReturnType<typeof setTimeout> | undefined
  let answered = false
  const armHeadTimer = (): void => {
    clearTimeout(headTimer)
    if (answered) return
    headTimer = setTimeout(() => {
      // Waiting for the caller's next body bytes is the caller's stall, not the backend's.
      backend.abort(upload.waitingForCaller
        ? new RequestTimeoutError(`the request body stalled for ${limits.requestTimeoutMs} ms`)
        : new BackendTimeoutError(`the backend made no progress for ${limits.requestTimeoutMs} ms`))
    }, limits.requestTimeoutMs)
  }
  const upload: Upload = new Upload(reader, limits.maxRequestBodyBytes, armHeadTimer)
  const started = performance.now()
  armHeadTimer()
  try {
    let response: IncomingMessage
    try {
      const call = callBackend(backendUrl(binding.backend, head.target), head.method, backendHeaders(head, init.from), init.agents, backend.signal)
      const bodyless = head.method === 'GET' || head.method === 'HEAD'
      sendBody(call.request, bodyless ? upload.empty() : upload.chunks()).catch((err: unknown) => {
        backend.abort(upload.error ?? err)
      })
      response = await call.response
    } catch (err) {
      clearTimeout(headTimer)
      await answerFailure(init, err, backend.signal.reason, upload.error)
      return
    } finally {
      answered = true
      clearTimeout(headTimer)
    }
    const status = response.statusCode ?? 0
    if (status < 200 || status > 599) {
      response.destroy()
      const err = new BackendUnreachableError(`the backend answered with status ${status}, which cannot be passed on`)
      meter.failed(err.message, init.clock.now(), { unreachable: false, counts: true })
      await answerError(stream, err, signal)
      return
    }
    meter.answered(status, performance.now() - started, init.clock.now())
    await sendResponse(init, response, status, backend)
    await stream.close(signal)
    // The backend answered before taking the whole body: stop the rest from coming. Otherwise
    // the caller ends its side (the stream handler gives it a few seconds).
    if (!upload.done) stream.abort(new ProtocolViolationError('the response is complete; the rest of the request body is not needed'))
  } finally {
    signal.removeEventListener('abort', onGone)
    clearTimeout(headTimer)
    if (!backend.signal.aborted) backend.abort(new Error('the exchange is over'))
  }
}

/** The request headers the backend sees: end-to-end ones, plus `Forwarded`, `X-Keynet-Name`, `X-Keynet-Peer`. */
function backendHeaders (head: RequestHead, from: string): HeaderList {
  const headers = endToEndHeaders(head.headers, { request: true })
  const forwarded = headers.filter(([n]) => n === 'forwarded').map(([, v]) => v)
  forwarded.push(forwardedElement(from, head.name))
  return [
    ...headers.filter(([n]) => n !== 'forwarded'),
    ['forwarded', forwarded.join(', ')],
    ['x-keynet-name', head.name],
    ['x-keynet-peer', from]
  ]
}

async function answerFailure (init: ForwardInit, err: unknown, abortReason: unknown, uploadError: Error | undefined): Promise<void> {
  const { stream, signal, meter, binding } = init
  const now = init.clock.now()
  if (signal.aborted) {
    // The caller went away (or the node stopped): the backend request is aborted, nobody to answer.
    meter.failed('the caller went away before the answer', now, { unreachable: false, counts: false })
    throw signal.reason
  }
  if (uploadError !== undefined) {
    if (uploadError instanceof PayloadTooLargeError) {
      meter.failed(uploadError.message, now, { unreachable: false, counts: true })
      await answerError(stream, uploadError, signal)
      return
    }
    // A broken request body: the caller's fault, nothing to answer.
    throw uploadError
  }
  if (abortReason instanceof BackendTimeoutError || abortReason instanceof RequestTimeoutError) {
    meter.failed(abortReason.message, now, { unreachable: false, counts: true })
    await answerError(stream, abortReason, signal)
    return
  }
  if (err instanceof MalformedMessageError) {
    await answerError(stream, err, signal)
    return
  }
  const e = err as { code?: string, message?: string } | undefined
  const reason = e?.code !== undefined ? `${e.code}${e.message !== undefined && !e.message.includes(e.code) ? `: ${e.message}` : ''}` : e?.message ?? String(err)
  const failure = new BackendUnreachableError(`the backend ${binding.backend} of ${binding.name}${binding.pathPrefix === '/' ? '' : binding.pathPrefix} could not be reached (${reason})`)
  meter.failed(failure.message, now, { unreachable: true, counts: true })
  await answerError(stream, failure, signal)
}

/** Writes the response head and streams the body, frame by frame, with stall deadlines both ways. */
async function sendResponse (init: ForwardInit, response: IncomingMessage, status: number, backend: AbortController): Promise<void> {
  const { stream, signal, limits, meter } = init
  const headBytes = encodeResponseHead({ status, headers: endToEndHeaders(responseHeaders(response), { request: false }) })
  if (headBytes.byteLength > maxHeadBytesCap) {
    response.destroy()
    const err = new BackendUnreachableError(`the backend's response head is larger than ${maxHeadBytesCap} bytes`)
    meter.failed(err.message, init.clock.now(), { unreachable: false, counts: true })
    await answerError(stream, err, signal)
    return
  }
  await writeFrame(stream, headBytes, signal)
  const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  try {
    for (;;) {
      const timer = setTimeout(() => {
        backend.abort(new BackendTimeoutError(`the backend's response body stalled for ${limits.bodyIdleTimeoutMs} ms`))
      }, limits.bodyIdleTimeoutMs)
      let next: IteratorResult<Buffer>
      try {
        next = await chunks.next()
      } finally {
        clearTimeout(timer)
      }
      if (next.done === true) break
      const chunk = new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength)
      // A caller that takes nothing for as long as a backend may stall is dropped too.
      const toCaller = AbortSignal.any([signal, AbortSignal.timeout(limits.bodyIdleTimeoutMs)])
      for (let at = 0; at < chunk.byteLength; at += maxBodyFrameBytes) {
        await writeFrame(stream, chunk.subarray(at, at + maxBodyFrameBytes), toCaller)
      }
    }
    if (!response.complete) throw new Error('the backend closed the connection before the end of its body')
  } catch (err) {
    const reason = backend.signal.aborted ? backend.signal.reason : err
    const message = reason instanceof Error ? reason.message : String(reason)
    meter.failed(`the response body broke off: ${message}`, init.clock.now(), { unreachable: false, counts: !signal.aborted })
    response.destroy()
    throw reason instanceof Error ? reason : new Error(message)
  }
  await stream.write(endOfBody, signal)
}

/** The request body as it arrives from the caller, counted against the size limit. */
class Upload {
  done = false
  error: Error | undefined
  /** True while the backend waits for body bytes the caller has not sent yet. */
  waitingForCaller = false
  readonly #reader: FrameReader
  readonly #maxBytes: number
  readonly #onProgress: () => void

  constructor (reader: FrameReader, maxBytes: number, onProgress: () => void) {
    this.#reader = reader
    this.#maxBytes = maxBytes
    this.#onProgress = onProgress
  }

  /** For GET and HEAD: the body must end at once. */
  async * empty (): AsyncGenerator<Uint8Array, void, undefined> {
    const chunk = await this.#next()
    if (chunk !== undefined) throw this.#fail(new ProtocolViolationError('a GET or HEAD request carries no body'))
  }

  async * chunks (): AsyncGenerator<Uint8Array, void, undefined> {
    let bytes = 0
    for (;;) {
      const chunk = await this.#next()
      if (chunk === undefined) return
      bytes += chunk.byteLength
      if (bytes > this.#maxBytes) throw this.#fail(new PayloadTooLargeError(`the request body exceeds this node's limit of ${this.#maxBytes} bytes`))
      this.#onProgress()
      yield chunk
    }
  }

  async #next (): Promise<Uint8Array | undefined> {
    this.waitingForCaller = true
    try {
      const chunk = await this.#reader.readBodyChunk()
      if (chunk === undefined) this.done = true
      return chunk
    } catch (err) {
      throw this.#fail(err)
    } finally {
      this.waitingForCaller = false
    }
  }

  #fail (err: unknown): Error {
    const error = err instanceof Error ? err : new Error(String(err))
    this.error ??= error
    return error
  }
}
