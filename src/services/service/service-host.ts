/**
 * `ServiceHost`, the service role of a node: it fronts owners' HTTP backends over libp2p. It
 * holds bindings (name + path prefix → backend URL, persisted in the data directory), accepts
 * binding changes signed by the name's current owner (`/keynet/service/bind/1`), forwards each
 * `/keynet/http/1` exchange to the matching backend with limits on concurrency, head size, body
 * size and backend progress, and measures every binding for `list` and for metrics.
 *
 * @example
 * ```ts
 * const service = new ServiceHost({ host, dataDir, ownerOf: async (name) => ledger.name(name)?.owner })
 * await service.start()
 * // the owner binds a backend (see ServiceClient.bind); callers then reach it with ServiceClient.forward
 * console.log(service.stats().bindings)
 * await service.stop()
 * ```
 */
import { join } from 'node:path'
import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { systemClock, type Clock } from '../../foundations/clock.ts'
import { addressOf } from '../../foundations/crypto.ts'
import {
  InvalidSignatureError, MalformedMessageError, NameNotFoundError, NotOwnerError, UnavailableError
} from '../../foundations/errors.ts'
import { ProtocolViolationError, type DuplexLike, type P2PHost } from '../p2p/index.ts'
import { linkSignals } from '../p2p/request-response.ts'
import {
  decodeBindRequest, encodeBindResponse, encodeListResponse, encodeUnbindResponse, verifyChange, bindProtocol,
  type BindingStatus, type SignedChange
} from './bind-messages.ts'
import { checkBackendUrl, matchBinding, type Binding } from './binding.ts'
import { BindingMeter, type BindingStats } from './binding-meter.ts'
import { BindingTable, bindingsFileName } from './binding-table.ts'
import {
  bindHandlerTimeoutMs, defaultBodyIdleTimeoutMs, defaultHeadTimeoutMs, defaultMaxConcurrentRequests, defaultMaxHeaderBytes,
  defaultMaxRequestBodyBytes, defaultRequestTimeoutMs, maxBindClockSkewMs, maxBindRequestBytes, maxExchangeMs, maxHeadBytesCap,
  maxHttpStreamsPerConnection, probeStaleMs, probeTimeoutMs
} from './constants.ts'
import {
  BackendNotAllowedError, MethodNotAllowedError, ServiceBusyError, ServiceNotBoundError, StaleRequestError
} from './errors.ts'
import { callBackend, createBackendAgents, type BackendAgents } from './backend-request.ts'
import { answerError, forwardExchange, readRequestHead, type ExchangeLimits } from './http-forward.ts'
import { FrameReader, httpProtocol } from './http-wire.ts'

/** The limits a service node enforces; each has a default in `constants.ts`. */
export interface ServiceLimits extends ExchangeLimits {
  /** Requests forwarded at once; more get 503. */
  maxConcurrentRequests: number
}

/** What a `ServiceHost` needs. */
export interface ServiceHostInit {
  host: P2PHost
  /** The node's data directory; bindings live in `service-bindings.json` there. */
  dataDir: string
  /**
   * The current owner address (20 bytes) of a name by the node's ledger, or `undefined` for a
   * name that is not registered or has expired. Consulted for every binding change and request.
   */
  ownerOf: (name: string) => Promise<Uint8Array | undefined> | Uint8Array | undefined
  /**
   * The operator's say on backend URLs (default: any http/https URL), checked at bind time and
   * for every request. A node on a network it shares with other services should refuse private,
   * loopback and link-local addresses here.
   */
  allowBackend?: (url: URL) => boolean
  limits?: Partial<ServiceLimits>
  clock?: Clock
  logger?: (line: string) => void
}

/** A service node's measurements: per binding, and the requests refused before reaching one. */
export interface ServiceStats {
  bindings: BindingStats[]
  /** Requests being forwarded now. */
  inFlight: number
  /** Requests for a name and path no binding serves. */
  unmatched: number
  /** Requests refused because `maxConcurrentRequests` were in flight. */
  busy: number
}

const forbiddenMethods: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK'])

/** Serves bindings and forwards requests to their backends. */
export class ServiceHost {
  readonly #init: ServiceHostInit
  readonly #limits: ServiceLimits
  readonly #clock: Clock
  readonly #log: (line: string) => void
  readonly #meters = new Map<string, BindingMeter>()
  readonly #probes = new Map<string, Promise<void>>()
  #table: BindingTable | undefined
  #lifetime: AbortController | undefined
  #agents: BackendAgents | undefined
  #inFlight = 0
  #unmatched = 0
  #busy = 0

  constructor (init: ServiceHostInit) {
    this.#init = init
    this.#clock = init.clock ?? systemClock
    const logger = init.logger
    this.#log = logger === undefined ? () => {} : (line) => { logger(`service: ${line}`) }
    this.#limits = {
      maxHeaderBytes: Math.min(init.limits?.maxHeaderBytes ?? defaultMaxHeaderBytes, maxHeadBytesCap),
      headTimeoutMs: init.limits?.headTimeoutMs ?? defaultHeadTimeoutMs,
      requestTimeoutMs: init.limits?.requestTimeoutMs ?? defaultRequestTimeoutMs,
      bodyIdleTimeoutMs: init.limits?.bodyIdleTimeoutMs ?? defaultBodyIdleTimeoutMs,
      maxRequestBodyBytes: init.limits?.maxRequestBodyBytes ?? defaultMaxRequestBodyBytes,
      maxConcurrentRequests: init.limits?.maxConcurrentRequests ?? defaultMaxConcurrentRequests
    }
  }

  /** Loads the bindings and starts serving `/keynet/http/1` and `/keynet/service/bind/1`. */
  async start (): Promise<void> {
    if (this.#lifetime !== undefined) return
    this.#table ??= await BindingTable.open(join(this.#init.dataDir, bindingsFileName), this.#clock)
    for (const b of this.#table.all()) this.#meter(b)
    this.#lifetime = new AbortController()
    this.#agents = createBackendAgents(this.#limits.maxConcurrentRequests)
    const host = this.#init.host
    await host.handleStream(httpProtocol, async (stream, from, signal) => {
      const lifetime = this.#lifetime
      if (lifetime === undefined) return
      // Linked by listeners, not AbortSignal.any: see linkSignals.
      const linked = linkSignals([signal, lifetime.signal])
      try {
        await this.#serveHttp(stream, from, linked.signal)
      } finally {
        linked.dispose()
      }
    }, {
      maxInboundStreams: maxHttpStreamsPerConnection,
      timeoutMs: maxExchangeMs
    })
    await host.handle(bindProtocol, async (request, from, signal) => await this.#onBindRequest(request, from, signal), {
      maxRequestBytes: maxBindRequestBytes,
      timeoutMs: bindHandlerTimeoutMs
    })
    this.#log(`serving ${this.#table.size} bindings`)
  }

  /** Stops serving; exchanges in flight are aborted. */
  async stop (): Promise<void> {
    const lifetime = this.#lifetime
    if (lifetime === undefined) return
    this.#lifetime = undefined
    await this.#init.host.unhandle(httpProtocol)
    await this.#init.host.unhandle(bindProtocol)
    lifetime.abort(new UnavailableError('the service node stopped'))
    this.#agents?.http.destroy()
    this.#agents?.https.destroy()
    this.#agents = undefined
  }

  /** The bindings held (of one name, or all), with their live state. */
  bindings (name?: string): BindingStatus[] {
    const table = this.#table
    if (table === undefined) return []
    return (name === undefined ? table.all() : table.forName(name)).map(b => this.#status(b))
  }

  /** Measurements of every binding, and of requests refused before reaching one. */
  stats (): ServiceStats {
    const bindings = this.#table?.all().map(b => this.#meter(b).snapshot(b)) ?? []
    return { bindings, inFlight: this.#inFlight, unmatched: this.#unmatched, busy: this.#busy }
  }

  // ---------------------------------------------------------------- HTTP exchanges

  async #serveHttp (stream: DuplexLike, from: string, hostSignal: AbortSignal): Promise<void> {
    const table = this.#table
    const lifetime = this.#lifetime
    const agents = this.#agents
    if (table === undefined || lifetime === undefined || agents === undefined) throw new UnavailableError('the service node is stopped')
    const signal = hostSignal
    const penalise = (reason: string): void => { this.#init.host.penalise(from, `${httpProtocol}: ${reason}`) }
    const reader = new FrameReader(stream)
    const head = await readRequestHead(stream, reader, this.#limits, signal, penalise)
    if (head === undefined) return
    if (forbiddenMethods.has(head.method.toUpperCase())) {
      await answerError(stream, new MethodNotAllowedError(`${head.method} cannot be forwarded to a service backend`), signal)
      return
    }
    const binding = matchBinding(table.forName(head.name), head.target)
    if (binding === undefined) {
      this.#unmatched++
      const path = head.target.split('?')[0] ?? head.target
      await answerError(stream, new ServiceNotBoundError(`no backend serves ${head.name}${path} on this service node (bind one with \`keynet service add\`)`), signal)
      return
    }
    let owner: Uint8Array | undefined
    try {
      owner = await this.#init.ownerOf(head.name)
    } catch (err) {
      this.#log(`ownerOf(${head.name}) failed: ${String(err)}`)
      await answerError(stream, new UnavailableError(`this node cannot read the owner of ${head.name} now; retry`), signal)
      return
    }
    if (owner === undefined || !equalBytes(owner, binding.owner)) {
      this.#unmatched++
      await answerError(stream, new ServiceNotBoundError(`the binding of ${head.name}${binding.pathPrefix} on this node was made by a key that does not own the name now`), signal)
      return
    }
    if (this.#init.allowBackend !== undefined && !this.#init.allowBackend(new URL(binding.backend))) {
      // The operator's policy may have tightened since the bind.
      await answerError(stream, new BackendNotAllowedError(`this node's operator no longer allows the backend of ${head.name}${binding.pathPrefix}`), signal)
      return
    }
    if (this.#inFlight >= this.#limits.maxConcurrentRequests) {
      this.#busy++
      await answerError(stream, new ServiceBusyError(`this service node is forwarding ${this.#limits.maxConcurrentRequests} requests, its limit; retry or use another node`), signal)
      return
    }
    const meter = this.#meter(binding)
    this.#inFlight++
    meter.begin()
    try {
      await forwardExchange({ stream, reader, head, from, binding, meter, limits: this.#limits, agents, signal, clock: this.#clock })
    } catch (err) {
      if (err instanceof MalformedMessageError || err instanceof ProtocolViolationError) penalise(err.message)
      throw err
    } finally {
      this.#inFlight--
      meter.end()
    }
  }

  // ---------------------------------------------------------------- binding changes

  async #onBindRequest (bytes: Uint8Array, from: string, signal: AbortSignal): Promise<Uint8Array> {
    let request
    try {
      request = decodeBindRequest(bytes)
    } catch (err) {
      if (err instanceof MalformedMessageError) this.#init.host.penalise(from, `${bindProtocol}: ${err.message}`)
      throw err
    }
    if (request.op === 'list') return encodeListResponse(await this.#list(request.name, signal))
    return await this.#change(request)
  }

  async #change (change: SignedChange): Promise<Uint8Array> {
    const table = this.#table
    if (table === undefined) throw new UnavailableError('the service node is stopped')
    const now = this.#clock.now()
    if (Math.abs(now - change.time) > maxBindClockSkewMs) {
      throw new StaleRequestError(`the ${change.op} was signed for ${new Date(change.time).toISOString()}, more than ${maxBindClockSkewMs / 60_000} minutes from this node's clock (${new Date(now).toISOString()}); check your clock and sign again`)
    }
    const node = this.#init.host.peerId
    if (!verifyChange(change, node)) throw new InvalidSignatureError(`the ${change.op} signature does not verify; sign it with the owner key for node ${node}`)
    const signer = addressOf(change.ownerKey)
    const owner = await this.#init.ownerOf(change.name)
    if (owner === undefined) throw new NameNotFoundError(`${change.name} is not registered (or has expired); register it before binding a backend`)
    if (!equalBytes(owner, signer)) throw new NotOwnerError(`${change.name} is owned by ${toHex(owner)}, not by the signing key (${toHex(signer)})`)
    // Checked after the last wait, so two changes of one binding are ordered by their signed times.
    const last = table.lastChangeAt(change.name, change.pathPrefix)
    if (last !== undefined && change.time <= last) {
      throw new StaleRequestError(`a change of ${change.name}${change.pathPrefix} signed for ${new Date(last).toISOString()} was already made; sign a newer one`)
    }
    if (change.op === 'unbind') {
      const removed = await table.remove(change.name, change.pathPrefix, change.time)
      this.#meters.delete(meterKey(change))
      this.#log(`unbound ${change.name}${change.pathPrefix}`)
      return encodeUnbindResponse(removed)
    }
    const url = checkBackendUrl(change.backend)
    if (this.#init.allowBackend !== undefined && !this.#init.allowBackend(url)) {
      throw new BackendNotAllowedError(`this node's operator does not allow the backend ${url.origin}; use another backend or service node`)
    }
    const binding: Binding = { name: change.name, pathPrefix: change.pathPrefix, backend: change.backend, owner: signer, time: change.time }
    const previous = table.get(binding.name, binding.pathPrefix)
    await table.put(binding)
    if (previous !== undefined && previous.backend !== binding.backend) this.#meters.delete(meterKey(binding))
    this.#log(`bound ${binding.name}${binding.pathPrefix} to ${binding.backend}`)
    return encodeBindResponse(this.#status(binding))
  }

  async #list (name: string, signal: AbortSignal): Promise<BindingStatus[]> {
    const bindings = this.#table?.forName(name) ?? []
    await Promise.all(bindings.map(async b => { await this.#probeIfStale(b, signal) }))
    return bindings.map(b => this.#status(b))
  }

  /** Learns whether a backend answers, when nothing was learned lately; one probe per binding at a time. */
  async #probeIfStale (binding: Binding, signal: AbortSignal): Promise<void> {
    const meter = this.#meter(binding)
    const at = meter.stateAt
    if (meter.inFlight > 0 || (at !== undefined && this.#clock.now() - at < probeStaleMs)) return
    const k = meterKey(binding)
    let probe = this.#probes.get(k)
    if (probe === undefined) {
      probe = (async () => {
        const agents = this.#agents
        if (agents === undefined) return
        try {
          // Any answer at all means the backend is there; its status does not matter.
          const call = callBackend(new URL(binding.backend), 'HEAD', [], agents, AbortSignal.timeout(probeTimeoutMs))
          call.request.end()
          ;(await call.response).resume()
          meter.seen(this.#clock.now())
        } catch (err) {
          const e = err as { code?: string, message?: string }
          meter.failed(`probe failed: ${e.code ?? e.message ?? String(err)}`, this.#clock.now(), { unreachable: true, counts: false })
        }
      })().finally(() => { this.#probes.delete(k) })
      this.#probes.set(k, probe)
    }
    await Promise.race([probe, new Promise<void>(resolve => {
      if (signal.aborted) resolve()
      signal.addEventListener('abort', () => { resolve() }, { once: true })
    })])
  }

  #meter (spec: { name: string, pathPrefix: string }): BindingMeter {
    const k = meterKey(spec)
    let meter = this.#meters.get(k)
    if (meter === undefined) {
      meter = new BindingMeter()
      this.#meters.set(k, meter)
    }
    return meter
  }

  #status (b: Binding): BindingStatus {
    const m = this.#meter(b)
    return {
      name: b.name,
      pathPrefix: b.pathPrefix,
      backend: b.backend,
      owner: b.owner,
      boundAt: b.time,
      ...(m.reachable === undefined ? {} : { reachable: m.reachable }),
      ...(m.lastError === undefined ? {} : { lastError: m.lastError, lastErrorAt: m.lastErrorAt }),
      ...(m.lastOkAt === undefined ? {} : { lastOkAt: m.lastOkAt }),
      requests: m.requests,
      errors: m.errors,
      inFlight: m.inFlight
    }
  }
}

function meterKey (spec: { name: string, pathPrefix: string }): string {
  return `${spec.name} ${spec.pathPrefix}`
}
