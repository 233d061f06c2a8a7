/**
 * Fetches the blocks of one piece of content from several storage providers at once, choosing
 * each block's provider with the routing core every kind of resource uses (`src/core/routing`,
 * `docs/protocol/routing.md`): power of two choices on peak-EWMA latency × requests in flight ×
 * region × recent failures, ejection with back-off and probation, and hedging after the pool's
 * p95 within its hedge budget. Every block is checked against its CID before it is returned.
 *
 * A provider that announces an HTTP block endpoint (`/ip4/…/tcp/…/http` among its addresses) is
 * asked over plain keep-alive HTTP (storage/block-http.ts), the others over libp2p
 * (`/keynet/blocks/get/2`). Either way the gets made for one provider in the same turn of the event
 * loop travel as one batch request (batched-gets.ts), each block settling as it arrives. A provider
 * whose HTTP endpoint has not answered this fetcher and cannot be connected to at all (refused, no
 * route) is asked over libp2p from then on, starting with the block that found it out: a wrong or
 * closed endpoint is not the provider failing, and it is not blamed for it. Once an endpoint has
 * answered, a refusal means the node went down, and its blocks go to the others at once.
 *
 * How each answer counts in the pool:
 * - a verified block: `success` (its latency is measured);
 * - a wrong block: `wrong` — ejects the provider at once; this fetcher also never asks it again
 *   (it lied), and reports the fault;
 * - no answer within the stall timeout: `timeout`;
 * - unreachable, a broken stream or message, a failed handler: `error`;
 * - "not held": `fatal` — the request could not succeed there, so the provider is neither blamed
 *   nor credited and no latency is measured (a partial holder is not a bad provider);
 * - a hedge loser, or the caller giving up: `cancelled`.
 * A provider that stalls or cannot be reached is no longer dropped for good: the pool ejects it
 * after consecutive failures and lets it back in on probation.
 *
 * A block is asked of each provider at most once, and of every provider (an ejected one as a
 * last resort) before the get fails with `ContentUnavailableError` naming what each did. Retries
 * are not held to the pool's retry budget: blocks are small, every answer is verified, and the
 * providers are bounded (`maxFetchProviders`).
 *
 * @example
 * ```ts
 * const pool = client.pools.pool(`content:${root}`, holders.map(h => ({ id: h.peerId, region: h.region })))
 * const fetcher = new BlockFetcher({ host, providers: holders.map(h => ({ peerId: h.peerId, addrs: h.addrs })), pool, onFault: (f) => { faults.append(f) } })
 * for await (const chunk of readFile(root, fetcher.get, { concurrency: 16 })) write(chunk)
 * console.table(fetcher.stats())
 * ```
 */
import assert from 'node:assert/strict'
import { MalformedMessageError, PayloadTooLargeError, TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import {
  callStarted, choose, finished, hedgeDelayMs, started, takeHedgeToken, typicalLatencyMs, type Attempt, type OutcomeKind, type ProviderStatus
} from '../../core/routing/index.ts'
import { AbortedError, HostNotStartedError, ProtocolViolationError, RemoteHandlerError, type P2PHost } from '../p2p/index.ts'
import { createRoutingPool, type RoutingPool } from '../routing/index.ts'
import { BlockClient } from '../storage/block-client.ts'
import { HttpBlockClient } from '../storage/block-http-client.ts'
import {
  defaultBlockRequestTimeoutMs, defaultMaxInFlightPerProvider, defaultStallTimeoutMs, maxFetchProviders, maxHttpCidsPerRequest, maxQueuedGets,
  maxRawGetCidsPerRequest, providerConnectTimeoutMs
} from '../storage/constants.ts'
import { BatchedGets } from './batched-gets.ts'
import { ContentUnavailableError, HttpEndpointUnreachableError } from '../storage/errors.ts'
import type { Fault, FaultKind } from './fault-log.ts'

/** A provider to fetch from: its peer id and the addresses to dial it at. */
export interface ProviderAddress {
  peerId: string
  /** Multiaddrs, with or without the trailing `/p2p/<peerId>`; empty when the host already knows how to reach it. */
  addrs: string[]
  /** Base URL of its HTTP block endpoint (`http://ip:port`); without one it is asked over libp2p. */
  httpUrl?: string
  /** The region it runs in, when known (used only when the fetcher makes its own pool). */
  region?: string
}

/** How a fetcher is set up. */
export interface BlockFetcherInit {
  host: P2PHost
  /** Providers holding the content (at most `maxFetchProviders`, each once). */
  providers: ProviderAddress[]
  /**
   * The routing pool of this content, members keyed by peer id (e.g. `pools.pool('content:<root>', …)`),
   * so its measurements outlive the fetcher and show in `keynet top` and `/metrics`. Default: a pool of
   * this fetcher's own. Members that later leave the pool are no longer asked.
   */
  pool?: RoutingPool
  /** The client's region, for the fetcher's own pool (a given `pool` has its region already). */
  region?: string
  /** Called the first time a provider shows each kind of fault to this fetcher. */
  onFault?: (fault: Fault) => void
  /** A block request unanswered for this long is a stall (default `defaultStallTimeoutMs`). */
  stallTimeoutMs?: number
  /** Block requests in flight to one provider at a time (default `defaultMaxInFlightPerProvider`). */
  maxInFlightPerProvider?: number
  /** Send a second request to another provider once a get is slower than the pool's p95, within the pool's hedge budget (default true). */
  hedge?: boolean
}

/** What one provider has done for this fetcher. */
export interface ProviderStats {
  peerId: string
  /** Blocks it delivered (verified). */
  blocks: number
  /** Bytes of those blocks. */
  bytes: number
  /** Requests that failed (faults and remote errors; "not held" answers and cancelled hedges are not failures). */
  failures: number
  /** How it is asked now: over its HTTP block endpoint, or over libp2p (it has none, or it could not be reached). */
  transport: 'http' | 'libp2p'
  /** Set when this fetcher no longer asks it at all: only for a wrong block (it lied). */
  dropped?: FaultKind
  /** The last fault it showed, if any. */
  fault?: FaultKind
  /** Where the routing pool has it now; undefined once it left the pool. */
  state?: ProviderStatus
  /** Requests in flight now. */
  inFlight: number
  /** Mean time of its answered requests, in ms; undefined before the first answer. */
  avgLatencyMs?: number
}

interface Provider {
  readonly peerId: string
  readonly addrs: string[]
  /** Its HTTP block endpoint, when it has one; else it is asked over libp2p. */
  readonly http?: { client: HttpBlockClient, gets: BatchedGets }
  /** Gets to it over libp2p, batched per turn of the event loop. */
  readonly libp2pGets: BatchedGets
  /** Asked over HTTP (while its endpoint can be connected to), else over libp2p. */
  overHttp: boolean
  /** This fetcher's requests to it now, dial included: the in-flight cap. */
  inFlight: number
  blocks: number
  bytes: number
  failures: number
  answered: number
  latencyTotalMs: number
  /** It sent a wrong block: never asked again by this fetcher. */
  lied: boolean
  lastFault?: FaultKind
  /** Fault kinds already reported, so a flapping provider is reported once per kind. */
  readonly reported: Set<FaultKind>
  /** A dial under way, shared by the gets waiting for it. */
  dialing?: Promise<void>
}

/** What asking one provider for one block gave: the verified bytes, or what it did instead. */
type Answer = { bytes: Uint8Array } | { outcome: string }

/** One request for one block to one provider, from its slot to its end. */
interface Run {
  readonly provider: Provider
  /** Aborted when another provider answered first or the get ended. */
  readonly cancel: AbortController
  /** The request as the pool counts it, once it is sent (after the dial). */
  readonly sent: { attempt?: Attempt }
  /** Frees its slot on the provider (once; when it ends, or when the get stops waiting for it). */
  readonly release: () => void
  /** Settles, never rejects: the answer, or the error the get must throw (the caller's abort, our host stopped). */
  readonly ended: Promise<Answer | { error: unknown }>
}

/** The counters of a provider new to a fetcher. */
function fresh (): Pick<Provider, 'inFlight' | 'blocks' | 'bytes' | 'failures' | 'answered' | 'latencyTotalMs' | 'lied' | 'reported'> {
  return { inFlight: 0, blocks: 0, bytes: 0, failures: 0, answered: 0, latencyTotalMs: 0, lied: false, reported: new Set<FaultKind>() }
}

/** A request is a stall once it takes this many times the pool's typical latency (and the stall timeout). */
const stallLatencyMultiple = 8

/** What a get hears next: one of its requests ended, or its hedge delay passed. */
type Next = { run: Run, end: Answer | { error: unknown } } | { hedge: true }

/** Spreads the gets of one piece of content over its providers, verified, with failover. */
export class BlockFetcher {
  /** Fetches one verified block; throws `ContentUnavailableError` once every provider failed it. */
  readonly get: BlockGetter
  readonly #host: P2PHost
  readonly #pool: RoutingPool
  readonly #providers: Provider[]
  readonly #byId: Map<string, Provider>
  readonly #onFault: (fault: Fault) => void
  readonly #stallTimeoutMs: number
  readonly #maxInFlight: number
  readonly #hedge: boolean
  /** Gets waiting for a free slot; each is woken when a request ends. */
  readonly #waiters = new Set<() => void>()

  constructor (init: BlockFetcherInit) {
    assert.ok(init.providers.length <= maxFetchProviders, `at most ${maxFetchProviders} providers per fetcher`)
    assert.equal(new Set(init.providers.map(p => p.peerId)).size, init.providers.length, 'each provider once')
    this.#host = init.host
    this.#onFault = init.onFault ?? (() => {})
    this.#stallTimeoutMs = init.stallTimeoutMs ?? defaultStallTimeoutMs
    this.#maxInFlight = init.maxInFlightPerProvider ?? defaultMaxInFlightPerProvider
    this.#hedge = init.hedge ?? true
    assert.ok(this.#stallTimeoutMs > 0 && this.#maxInFlight >= 1)
    this.#pool = init.pool ?? createRoutingPool({
      name: 'content',
      providers: init.providers.map(p => (p.region === undefined ? { id: p.peerId } : { id: p.peerId, region: p.region })),
      ...(init.region === undefined ? {} : { region: init.region })
    })
    for (const p of init.providers) assert.ok(this.#pool.state.providers.has(p.peerId), `provider ${p.peerId} is not in pool ${this.#pool.name}: its members must be the providers' peer ids`)
    this.#providers = init.providers.map(p => {
      const client = p.httpUrl === undefined ? undefined : new HttpBlockClient({ url: p.httpUrl })
      const http = client === undefined ? undefined : { client, gets: new BatchedGets(async (cids, signal, onBlock) => { await client.getBatch(cids, signal, onBlock) }, maxHttpCidsPerRequest) }
      // The fetcher's own stall timer ends a request first; the client's deadline is a backstop.
      const libp2p = new BlockClient({ host: init.host, peerId: p.peerId, timeoutMs: Math.max(defaultBlockRequestTimeoutMs, 2 * this.#stallTimeoutMs) })
      const libp2pGets = new BatchedGets(async (cids, signal, onBlock) => { await libp2p.getBatch(cids, signal, onBlock) }, maxRawGetCidsPerRequest)
      return { peerId: p.peerId, addrs: [...p.addrs], ...(http === undefined ? {} : { http }), libp2pGets, overHttp: http !== undefined, ...fresh() }
    })
    this.#byId = new Map(this.#providers.map(p => [p.peerId, p]))
    this.get = async (cid, signal) => this.#get(cid, signal)
  }

  /** Closes the HTTP connections kept alive to providers (gets still running fail). */
  close (): void {
    for (const p of this.#providers) p.http?.client.close()
  }

  /** The routing pool this fetcher chooses by (its own, or the one it was given). */
  get pool (): RoutingPool {
    return this.#pool
  }
  /** Per provider: blocks and bytes delivered, failures, its last fault, its routing state, mean latency. */
  stats (): ProviderStats[] {
    return this.#providers.map(p => {
      const s: ProviderStats = { peerId: p.peerId, blocks: p.blocks, bytes: p.bytes, failures: p.failures, transport: p.overHttp ? 'http' : 'libp2p', inFlight: p.inFlight }
      if (p.lied) s.dropped = 'wrong-block'
      if (p.lastFault !== undefined) s.fault = p.lastFault
      const member = this.#pool.state.providers.get(p.peerId)
      if (member !== undefined) s.state = member.status === 'ejected' && this.#pool.timers.now() >= member.ejectedUntilMs ? 'probation' : member.status
      if (p.answered > 0) s.avgLatencyMs = p.latencyTotalMs / p.answered
      return s
    })
  }

  async #get (cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted === true) throw aborted(cid)
    const { state, timers } = this.#pool
    callStarted(state, timers.now())
    /** What each provider asked did with this block ('asked' while its request runs). */
    const asked = new Map<string, string>()
    const runs = new Set<Run>()
    let hedgeTimer: { fired: Promise<Next>, cancel: () => void } | undefined
    try {
      for (;;) {
        if (runs.size === 0) {
          runs.add(this.#launch(await this.#acquire(cid, asked, signal), cid, asked, signal))
          const delayMs = this.#hedge && hedgeTimer === undefined ? hedgeDelayMs(state) : undefined
          if (delayMs !== undefined) hedgeTimer = this.#timer(delayMs)
        }
        const waits: Array<Promise<Next>> = [...runs].map(async run => ({ run, end: await run.ended }))
        if (hedgeTimer !== undefined) waits.push(hedgeTimer.fired)
        const next = await Promise.race(waits)
        if ('hedge' in next) {
          hedgeTimer = { fired: new Promise(() => {}), cancel: () => {} } // once per get
          const p = this.#select(asked, false)
          if (typeof p === 'object' && takeHedgeToken(state, timers.now())) {
            this.#pool.events.hedged(this.#pool.name)
            p.inFlight += 1
            runs.add(this.#launch(p, cid, asked, signal))
          }
          continue
        }
        runs.delete(next.run)
        if ('error' in next.end) throw next.end.error
        if ('bytes' in next.end) return next.end.bytes
        asked.set(next.run.provider.peerId, next.end.outcome)
      }
    } finally {
      hedgeTimer?.cancel()
      // Requests still running lost (or the get failed): cancelled in the pool now, aborted on the wire.
      for (const run of runs) {
        this.#end(run.sent.attempt, 'cancelled')
        run.cancel.abort(new AbortedError('another provider answered first'))
        run.release()
      }
    }
  }

  /**
   * Takes a slot on the provider the pool chooses among those not yet asked for this block,
   * waiting while all of them are at their in-flight cap. Throws `ContentUnavailableError` when
   * none is left.
   */
  async #acquire (cid: CID, asked: Map<string, string>, signal?: AbortSignal): Promise<Provider> {
    for (;;) {
      if (signal?.aborted === true) throw aborted(cid)
      const chosen = this.#select(asked, true)
      if (chosen === 'none') throw this.#unavailable(cid, asked)
      if (chosen !== 'wait') {
        chosen.inFlight += 1 // in the same tick as the choice, so concurrent gets see the slot taken
        return chosen
      }
      await this.#waitForSlot(cid, signal)
    }
  }

  /**
   * The provider for the next request for a block, by the pool's choice among the candidates (not
   * asked for it yet, not lying, still in the pool, not ejected) that have a free slot. When every
   * candidate is ejected and `lastResort` allows, the one back soonest: a block must be asked
   * everywhere before it is unavailable. 'wait' when the candidates are all at their cap (or all
   * ejected and no last resort is wanted), 'none' when there are none.
   */
  #select (asked: ReadonlyMap<string, string>, lastResort: boolean): Provider | 'wait' | 'none' {
    const { state, timers, random } = this.#pool
    const now = timers.now()
    const candidates = this.#providers.filter(p => !p.lied && !asked.has(p.peerId) && state.providers.has(p.peerId))
    if (candidates.length === 0) return 'none'
    const backAtMs = (p: Provider): number => {
      const m = state.providers.get(p.peerId)
      return m !== undefined && m.status === 'ejected' ? m.ejectedUntilMs : -Infinity
    }
    const selectable = candidates.filter(p => backAtMs(p) <= now)
    if (selectable.length === 0 && !lastResort) return 'wait'
    const free = (selectable.length > 0 ? selectable : candidates).filter(p => p.inFlight < this.#maxInFlight)
    if (free.length === 0) return 'wait'
    if (selectable.length === 0) return free.reduce((a, b) => (backAtMs(b) < backAtMs(a) ? b : a))
    const freeIds = new Set(free.map(p => p.peerId))
    const exclude = new Set([...state.providers.keys()].filter(id => !freeIds.has(id)))
    const id = choose(state, now, random, exclude)
    const chosen = id === undefined ? undefined : this.#byId.get(id)
    assert.ok(chosen !== undefined, 'the pool chooses among free, selectable members')
    return chosen
  }

  /** Starts asking `p` for `cid` on a slot the caller took; the slot is freed when the request ends. */
  #launch (p: Provider, cid: CID, asked: Map<string, string>, signal?: AbortSignal): Run {
    asked.set(p.peerId, 'asked')
    const cancel = new AbortController()
    const sent: Run['sent'] = {}
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      p.inFlight -= 1
      this.#wake()
    }
    const ended = this.#ask(p, cid, sent, cancel.signal, signal)
      .catch((error: unknown) => ({ error }))
      .finally(release)
    return { provider: p, cancel, sent, release, ended }
  }

  /**
   * Asks one provider for one block and reports how it went to the pool. Throws only on the
   * caller's abort or when our own host is down; `cancel` (a hedge lost) ends it quietly.
   */
  async #ask (p: Provider, cid: CID, sent: Run['sent'], cancel: AbortSignal, signal?: AbortSignal): Promise<Answer> {
    const { timers } = this.#pool
    const dialFromMs = timers.now()
    const overHttp = p.overHttp
    try {
      if (!overHttp) await this.#connect(p, signal === undefined ? cancel : AbortSignal.any([signal, cancel]))
    } catch (err) {
      if (signal?.aborted === true) throw aborted(cid)
      if (cancel.aborted) return { outcome: 'cancelled' }
      if (isOwnHostDown(err)) throw err
      p.failures += 1
      this.#end(this.#start(p, dialFromMs), 'error')
      this.#fault(p, cid, 'unreachable', err)
      return { outcome: `unreachable (${message(err)})` }
    }
    // The dial is not part of the latency: it is paid once per provider, not per block.
    const startedMs = timers.now()
    const attempt = this.#start(p, startedMs)
    sent.attempt = attempt
    const stallMs = this.#stallAfterMs()
    const stall = new AbortController()
    const clearStall = timers.setTimer(() => { stall.abort(new TimeoutError(`no answer within ${stallMs} ms`)) }, stallMs)
    let bytes: Uint8Array | undefined
    try {
      const gets = overHttp && p.http !== undefined ? p.http.gets : p.libp2pGets
      bytes = await gets.get(cid, AbortSignal.any(signal === undefined ? [cancel, stall.signal] : [signal, cancel, stall.signal]))
    } catch (err) {
      if (overHttp && p.answered === 0 && err instanceof HttpEndpointUnreachableError && signal?.aborted !== true && !cancel.aborted && !stall.signal.aborted) {
        // Its HTTP endpoint never answered and cannot be connected to: wrong or closed, no verdict
        // on the provider; ask it over libp2p. (One that answered before and now refuses has gone
        // down: failing over to the others at once beats loading libp2p to find that out again.)
        clearStall()
        this.#end(attempt, 'cancelled')
        p.overHttp = false
        return await this.#ask(p, cid, sent, cancel, signal)
      }
      if (signal?.aborted === true || cancel.aborted || (isOwnHostDown(err) && !stall.signal.aborted)) {
        this.#end(attempt, 'cancelled')
        if (signal?.aborted === true) throw aborted(cid)
        if (cancel.aborted) return { outcome: 'cancelled' }
        throw err
      }
      p.failures += 1
      const kind = faultKind(err, stall.signal)
      this.#end(attempt, kind === 'stall' ? 'timeout' : kind === 'wrong-block' ? 'wrong' : 'error')
      if (kind === undefined) return { outcome: `failed (${message(err)})` }
      if (kind === 'wrong-block') p.lied = true
      this.#fault(p, cid, kind, err)
      return { outcome: kind === 'stall' ? `stalled past ${stallMs} ms` : `${kind} (${message(err)})` }
    } finally {
      clearStall()
    }
    p.answered += 1
    p.latencyTotalMs += timers.now() - startedMs
    if (bytes === undefined) {
      this.#end(attempt, 'fatal')
      return { outcome: 'not held' }
    }
    this.#end(attempt, 'success')
    p.blocks += 1
    p.bytes += bytes.byteLength
    return { bytes }
  }

  /** Records a request to `p` in the pool, unless it left the pool meanwhile. */
  #start (p: Provider, atMs: number): Attempt | undefined {
    const { state } = this.#pool
    return state.providers.has(p.peerId) ? started(state, p.peerId, atMs) : undefined
  }

  /** Reports how a request ended to the pool and its events (metrics), once. */
  #end (attempt: Attempt | undefined, kind: OutcomeKind): void {
    if (attempt === undefined || attempt.done) return
    const { state, timers, events, name } = this.#pool
    const now = timers.now()
    const ejected = finished(state, attempt, kind, now)
    events.request(name, attempt.providerId, kind === 'success' ? 'ok' : kind, Math.max(0, now - attempt.startedAtMs) / 1000)
    if (ejected) events.ejected(name, attempt.providerId)
  }

  /**
   * How long a request may go unanswered: the configured stall timeout, stretched to a multiple
   * of the pool's typical latency, so a machine that is slow for everyone (a loaded host, a long
   * link) does not fail honest providers one after another.
   */
  #stallAfterMs (): number {
    const { state } = this.#pool
    if (state.latencies.size === 0) return this.#stallTimeoutMs
    return Math.max(this.#stallTimeoutMs, Math.ceil(stallLatencyMultiple * typicalLatencyMs(state)))
  }

  /** Makes sure the host is connected to `p`, dialling once for all the gets that need it now. */
  async #connect (p: Provider, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    if (p.addrs.length === 0 || this.#host.peers().includes(p.peerId)) return
    p.dialing ??= this.#dial(p).finally(() => { p.dialing = undefined })
    let onAbort = (): void => {}
    const abort = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      await Promise.race([p.dialing, abort])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  async #dial (p: Provider): Promise<void> {
    let last: unknown
    for (const addr of p.addrs) {
      try {
        const full = addr.includes('/p2p/') ? addr : `${addr}/p2p/${p.peerId}`
        await this.#host.connect(full, AbortSignal.timeout(providerConnectTimeoutMs))
        return
      } catch (err) {
        last = err
      }
    }
    throw last
  }

  /** Reports a fault the first time `p` shows its kind; nothing after it lied (what follows, e.g. its connection cut, is the consequence). */
  #fault (p: Provider, cid: CID, kind: FaultKind, err: unknown): void {
    if (p.lied && kind !== 'wrong-block') return
    p.lastFault = kind
    if (p.reported.has(kind)) return
    p.reported.add(kind)
    this.#onFault({ provider: p.peerId, cid, kind, detail: message(err) })
  }

  /** A one-shot timer on the pool's clock, as a promise that a get can race. */
  #timer (ms: number): { fired: Promise<Next>, cancel: () => void } {
    let cancel = (): void => {}
    const fired = new Promise<Next>((resolve) => { cancel = this.#pool.timers.setTimer(() => { resolve({ hedge: true }) }, ms) })
    return { fired, cancel }
  }

  async #waitForSlot (cid: CID, signal?: AbortSignal): Promise<void> {
    if (this.#waiters.size >= maxQueuedGets) throw new UnavailableError(`${maxQueuedGets} gets are already waiting for a provider; fetch fewer blocks at once`)
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#waiters.delete(done)
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => {
        this.#waiters.delete(done)
        reject(aborted(cid))
      }
      this.#waiters.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #wake (): void {
    for (const w of [...this.#waiters]) w()
  }

  #unavailable (cid: CID, asked: ReadonlyMap<string, string>): ContentUnavailableError {
    const what = this.#providers.map(p => `${p.peerId}: ${asked.get(p.peerId) ?? (p.lied ? 'dropped earlier (wrong-block)' : `left the routing pool ${this.#pool.name}`)}`)
    return new ContentUnavailableError(`block ${cid.toString()} is not available from any of the ${this.#providers.length} providers: ${what.join('; ') || 'none given'}; add providers that hold it or try again later`)
  }
}

/** The fault a failed request shows, or undefined when the provider is not at fault (its handler failed). */
function faultKind (err: unknown, stall: AbortSignal): FaultKind | undefined {
  if (stall.aborted || err instanceof TimeoutError) return 'stall'
  if (err instanceof BlockMismatchError) return 'wrong-block'
  if (err instanceof MalformedMessageError || err instanceof ProtocolViolationError || err instanceof PayloadTooLargeError) return 'malformed'
  if (err instanceof RemoteHandlerError) return undefined
  return 'unreachable'
}

/** Our own host is stopped: no provider is at fault, and no other will do better. */
function isOwnHostDown (err: unknown): boolean {
  return err instanceof HostNotStartedError || err instanceof AbortedError
}

function aborted (cid: CID): AbortedError {
  return new AbortedError(`the fetch of ${cid.toString()} was aborted`)
}

function message (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
