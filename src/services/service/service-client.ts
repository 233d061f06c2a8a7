/**
 * `ServiceClient`, the caller's side of service nodes: `forward` carries a standard `Request` to a
 * service node over `/keynet/http/1` and resolves to a standard `Response` whose body streams as
 * it arrives; `bind`, `unbind` and `list` manage and inspect a name's bindings on a node.
 *
 * A `Response` is what the service node answered — the backend's own answer, or the node's error
 * status with a JSON reason (404 unbound, 408, 413, 431, 502, 503, 504). A thrown error means the
 * node itself failed (unreachable, protocol broken, no answer in time) and another node may be
 * tried. Bodies are passed on as the backend sent them (a `Content-Encoding` is not undone); a
 * request without `Accept-Encoding` asks for `identity`, so its body reads as plain bytes.
 *
 * @example
 * ```ts
 * const client = new ServiceClient({ host })
 * await client.bind(node, { name: 'mysite.key', pathPrefix: '/api', backend: 'http://127.0.0.1:3000' }, ownerKeys)
 * const res = await client.forward(node, new Request('key://mysite.key/api/users?page=2'))
 * console.log(res.status, await res.json())
 * ```
 */
import { systemClock, type Clock } from '../../foundations/clock.ts'
import type { KeyPair } from '../../foundations/crypto.ts'
import {
  InvalidSignatureError, KeynetError, MalformedMessageError, NameNotFoundError, NotOwnerError, TimeoutError, UnavailableError, errorBody
} from '../../foundations/errors.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { AbortedError, ProtocolViolationError, RemoteHandlerError, type DuplexLike, type P2PHost } from '../p2p/index.ts'
import { abortError } from '../p2p/request-response.ts'
import {
  bindProtocol, decodeBindResponse, decodeListResponse, decodeUnbindResponse, encodeBindRequest, signBind, signUnbind,
  type BindingStatus
} from './bind-messages.ts'
import { checkBackendUrl, checkPathPrefix, type BindingSpec } from './binding.ts'
import {
  defaultBindRequestTimeoutMs, defaultClientConnectTimeoutMs, defaultClientHeadTimeoutMs, maxHeadBytesCap,
  maxHttpStreamsPerConnection, maxListResponseBytes, maxTargetChars
} from './constants.ts'
import {
  BackendNotAllowedError, HeadersTooLargeError, ResponseCutOffError, ServiceBusyError, StaleRequestError, TooManyBindingsError
} from './errors.ts'
import { endToEndHeaders } from './headers.ts'
import {
  FrameReader, decodeResponseHead, encodeRequestHead, httpProtocol, writeBody, writeFrame, type HeaderList
} from './http-wire.ts'

/** What a `ServiceClient` needs. */
export interface ServiceClientInit {
  host: P2PHost
  /**
   * Time the node may take to answer with a response head, restarted by upload progress
   * (default `defaultClientHeadTimeoutMs`).
   */
  headTimeoutMs?: number
  /** Deadline of opening the stream to a node (default `defaultClientConnectTimeoutMs`). */
  connectTimeoutMs?: number
  /** Deadline of a bind, unbind or list (default `defaultBindRequestTimeoutMs`). */
  requestTimeoutMs?: number
  /** Signing time of binding changes (default: the system clock). */
  clock?: Clock
}

/** Refusals of binding changes, by the name the node sends, so callers can match them by class. */
const remoteErrors: Record<string, new (message: string) => KeynetError> = {
  NotOwnerError,
  InvalidSignatureError,
  NameNotFoundError,
  MalformedMessageError,
  StaleRequestError,
  TooManyBindingsError,
  BackendNotAllowedError,
  ServiceBusyError,
  UnavailableError
}

const nullBodyStatuses: ReadonlySet<number> = new Set([204, 205, 304])

/** Calls service nodes. */
export class ServiceClient {
  readonly #host: P2PHost
  readonly #headTimeoutMs: number
  readonly #connectTimeoutMs: number
  readonly #requestTimeoutMs: number
  readonly #clock: Clock

  constructor (init: ServiceClientInit) {
    this.#host = init.host
    this.#headTimeoutMs = init.headTimeoutMs ?? defaultClientHeadTimeoutMs
    this.#connectTimeoutMs = init.connectTimeoutMs ?? defaultClientConnectTimeoutMs
    this.#requestTimeoutMs = init.requestTimeoutMs ?? defaultBindRequestTimeoutMs
    this.#clock = init.clock ?? systemClock
  }

  /**
   * Forwards `request` to the service node `peer`. The name is the URL's host
   * (`key://mysite.key/api/x` or `http://mysite.key/api/x`), the target its path and query.
   * Resolves once the response head arrives; the body streams after it (cancelling it, or
   * aborting `signal` or `request.signal`, aborts the exchange and the backend's request).
   * A body that breaks off errors its stream with a `ResponseCutOffError`, so a short body is never
   * mistaken for a whole one.
   *
   * Throws `InvalidNameError` for a URL host that is not a `.key` name, `AbortedError`,
   * `TimeoutError`, `PeerUnreachableError`, `ProtocolUnsupportedError`, `StreamFailedError` or
   * `ProtocolViolationError` when the node fails.
   */
  async forward (peer: string, request: Request, signal?: AbortSignal): Promise<Response> {
    const url = new URL(request.url)
    // A `key:` URL keeps its host as written, percent-encoded (`b%C3%BCcher.key`).
    const name = canonicalName(safeDecode(url.hostname))
    const target = `${url.pathname === '' ? '/' : url.pathname}${url.search}`
    if (target.length > maxTargetChars) return localError(new HeadersTooLargeError(`the URL's path and query are longer than ${maxTargetChars} characters`))
    const headers = endToEndHeaders(request.headers, { request: true })
    // Bodies pass through undecoded: without a stated preference, ask for plain bytes.
    if (!headers.some(([n]) => n === 'accept-encoding')) headers.push(['accept-encoding', 'identity'])
    const head = encodeRequestHead({ method: request.method, name, target, headers })
    if (head.byteLength > maxHeadBytesCap) return localError(new HeadersTooLargeError(`the request head is ${head.byteLength} bytes; at most ${maxHeadBytesCap} can be sent`))
    const caller = signal === undefined ? request.signal : AbortSignal.any([signal, request.signal])
    if (caller.aborted) throw abortError(caller.reason)

    const stream = await this.#host.openStream(peer, httpProtocol, {
      signal: caller,
      timeoutMs: this.#connectTimeoutMs,
      maxOutboundStreams: maxHttpStreamsPerConnection
    })
    const reader = new FrameReader(stream)
    const headWait = new HeadDeadline(stream, this.#headTimeoutMs, peer)
    // The request body goes out while the answer is awaited; a node may answer before it has all.
    const upload = { done: false }
    void (async () => {
      await writeFrame(stream, head, caller)
      let sourceFailed = true
      try {
        const stop = AbortSignal.any([stream.signal, caller])
        await writeBody(stream, bodyChunks(request, stop, () => { sourceFailed = false }), caller, () => { headWait.progress() })
      } catch (err) {
        // The caller's body broke: the node must not take what came so far as the whole body.
        if (sourceFailed && !stream.signal.aborted && !caller.aborted) stream.abort(err instanceof Error ? err : new Error(String(err)))
        throw err
      }
      upload.done = true
      await stream.close(caller)
    })().catch(() => {
      // A write that failed because the stream did is seen by the reader; an answer that came first stands.
    })
    let status: number
    let responseHeaders: HeaderList
    try {
      const answer = decodeResponseHead(await reader.readHead(maxHeadBytesCap))
      status = answer.status
      responseHeaders = answer.headers
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (caller.aborted) throw abortError(caller.reason)
      if (headWait.expired) throw new TimeoutError(`service node ${peer} sent no answer within ${this.#headTimeoutMs} ms`)
      if (err instanceof MalformedMessageError) throw new ProtocolViolationError(`service node ${peer} sent a malformed response head: ${err.message}`)
      throw err
    } finally {
      headWait.clear()
    }
    let out: Headers
    try {
      out = new Headers(responseHeaders)
    } catch (err) {
      stream.abort(new ProtocolViolationError('bad response header'))
      throw new ProtocolViolationError(`service node ${peer} sent a header that is not valid: ${(err as Error).message}`)
    }
    if (request.method === 'HEAD' || nullBodyStatuses.has(status)) {
      try {
        if (await reader.readBodyChunk() !== undefined) throw new ProtocolViolationError(`service node ${peer} sent a body with a ${status} answer to ${request.method}`)
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        throw err
      }
      return new Response(null, { status, headers: out })
    }
    return new Response(responseBody(stream, reader, caller, upload, peer), { status, headers: out })
  }

  /**
   * Binds `spec` on the service node `peer`, signed by the name's owner key. Resolves to the
   * binding as the node now holds it. Throws `NotOwnerError`, `InvalidSignatureError`,
   * `StaleRequestError`, `NameNotFoundError`, `TooManyBindingsError`, `BackendNotAllowedError`,
   * `MalformedMessageError` as the node refuses, or the p2p errors of a failed request.
   */
  async bind (peer: string, spec: BindingSpec, owner: KeyPair, signal?: AbortSignal): Promise<BindingStatus> {
    const checked = { name: canonicalName(spec.name), pathPrefix: checkPathPrefix(spec.pathPrefix), backend: spec.backend }
    checkBackendUrl(checked.backend)
    const change = signBind(checked, peer, owner, this.#clock.now())
    return decodeBindResponse(await this.#request(peer, encodeBindRequest(change), signal))
  }

  /** Removes a binding from the node `peer`; resolves to whether it held one. Throws as `bind` does. */
  async unbind (peer: string, spec: { name: string, pathPrefix: string }, owner: KeyPair, signal?: AbortSignal): Promise<boolean> {
    const change = signUnbind({ name: canonicalName(spec.name), pathPrefix: checkPathPrefix(spec.pathPrefix) }, peer, owner, this.#clock.now())
    return decodeUnbindResponse(await this.#request(peer, encodeBindRequest(change), signal))
  }

  /** The bindings of a name on the node `peer`, with their live state (the node probes stale backends first). */
  async list (peer: string, name: string, signal?: AbortSignal): Promise<BindingStatus[]> {
    return decodeListResponse(await this.#request(peer, encodeBindRequest({ op: 'list', name: canonicalName(name) }), signal))
  }

  async #request (peer: string, body: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
    try {
      return await this.#host.request(peer, bindProtocol, body, { signal, timeoutMs: this.#requestTimeoutMs, maxResponseBytes: maxListResponseBytes })
    } catch (err) {
      if (err instanceof RemoteHandlerError) {
        const Known = remoteErrors[err.remoteName]
        const message = err.message.replace(/^peer handler failed: [^:]+: /, '')
        if (Known !== undefined) throw new Known(message)
      }
      throw err
    }
  }
}

function safeDecode (host: string): string {
  try {
    return decodeURIComponent(host)
  } catch {
    return host
  }
}

/** An answer made here, without a node: the status and JSON reason a node would have sent. */
function localError (err: KeynetError): Response {
  return new Response(JSON.stringify(errorBody(err)), { status: err.status, headers: { 'content-type': 'application/json; charset=utf-8' } })
}

/** The request body's chunks (none for a request without one). */
async function * bodyChunks (request: Request, stop: AbortSignal, onEnd: () => void): AsyncGenerator<Uint8Array, void, undefined> {
  if (request.body === null) {
    onEnd()
    return
  }
  const reader = request.body.getReader()
  // Once the exchange is over or failed, the source is cancelled: a read it never answers ends too.
  const onStop = (): void => { reader.cancel(stop.reason).catch(() => {}) }
  stop.addEventListener('abort', onStop, { once: true })
  try {
    for (;;) {
      const next = await reader.read()
      if (stop.aborted) throw stop.reason
      if (next.done) {
        onEnd()
        return
      }
      yield next.value
    }
  } finally {
    stop.removeEventListener('abort', onStop)
    reader.releaseLock()
  }
}

/**
 * The response body as a pull stream: one frame is read from the node per pull, so the node (and
 * its backend) send no faster than the caller reads.
 */
function responseBody (stream: DuplexLike, reader: FrameReader, caller: AbortSignal, upload: { done: boolean }, peer: string): ReadableStream<Uint8Array> {
  let received = 0
  const onAbort = (): void => { stream.abort(abortError(caller.reason)) }
  caller.addEventListener('abort', onAbort, { once: true })
  const done = (): void => { caller.removeEventListener('abort', onAbort) }
  return new ReadableStream<Uint8Array>({
    pull: async (controller) => {
      try {
        const chunk = await reader.readBodyChunk()
        if (chunk === undefined) {
          done()
          // The answer is whole; a request body still going out is not needed any more.
          if (!upload.done) stream.abort(new AbortedError('the answer is complete'))
          controller.close()
          return
        }
        received += chunk.byteLength
        controller.enqueue(chunk)
      } catch (err) {
        done()
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        controller.error(caller.aborted ? abortError(caller.reason) : new ResponseCutOffError(`service node ${peer} broke the response body off after ${received} bytes (${err instanceof Error ? err.message : String(err)}); what arrived is not the whole answer`))
      }
    },
    cancel: (reason) => {
      done()
      stream.abort(new AbortedError(`the response body was cancelled${reason instanceof Error ? `: ${reason.message}` : ''}`))
    }
  }, { highWaterMark: 0 })
}

/** Aborts the stream when the node stays silent for `ms`; each bit of upload progress restarts the wait. */
class HeadDeadline {
  expired = false
  readonly #stream: DuplexLike
  readonly #ms: number
  readonly #peer: string
  #timer: ReturnType<typeof setTimeout> | undefined
  #cleared = false

  constructor (stream: DuplexLike, ms: number, peer: string) {
    this.#stream = stream
    this.#ms = ms
    this.#peer = peer
    this.progress()
  }

  progress (): void {
    if (this.expired || this.#cleared) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.expired = true
      this.#stream.abort(new TimeoutError(`service node ${this.#peer} sent no answer within ${this.#ms} ms`))
    }, this.#ms)
  }

  /** The answer came: no more waiting. */
  clear (): void {
    this.#cleared = true
    clearTimeout(this.#timer)
  }
}
