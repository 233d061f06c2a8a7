/**
 * Fetches the blocks of one piece of content from several storage providers at once. Each get
 * goes to the provider with the fewest requests in flight (ties: the lowest measured latency),
 * so the exporter's parallel reads spread over all of them. Every block is checked against its
 * CID. A provider that sends a wrong block, stalls past `stallTimeoutMs`, breaks the wire format
 * or cannot be reached is reported through `onFault` and dropped for this fetcher; the block is
 * asked of another provider and nothing else is restarted. A provider answering "not held" is
 * not at fault but is not asked for that block again.
 *
 * @example
 * ```ts
 * const fetcher = new BlockFetcher({ host, providers: [{ peerId, addrs }, …], onFault: (f) => { faults.append(f) } })
 * for await (const chunk of readFile(root, fetcher.get, { concurrency: 16 })) write(chunk)
 * console.table(fetcher.stats())
 * ```
 */
import assert from 'node:assert/strict'
import { MalformedMessageError, PayloadTooLargeError, TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import { AbortedError, HostNotStartedError, ProtocolViolationError, RemoteHandlerError, type P2PHost } from '../p2p/index.ts'
import { BlockClient } from '../storage/block-client.ts'
import {
  defaultBlockRequestTimeoutMs, defaultMaxInFlightPerProvider, defaultStallTimeoutMs, latencySmoothing, maxFetchProviders, maxQueuedGets,
  providerConnectTimeoutMs
} from '../storage/constants.ts'
import { ContentUnavailableError } from '../storage/errors.ts'
import type { Fault, FaultKind } from './fault-log.ts'

/** A provider to fetch from: its peer id and the addresses to dial it at. */
export interface ProviderAddress {
  peerId: string
  /** Multiaddrs, with or without the trailing `/p2p/<peerId>`; empty when the host already knows how to reach it. */
  addrs: string[]
}

/** How a fetcher is set up. */
export interface BlockFetcherInit {
  host: P2PHost
  /** Providers holding the content (at most `maxFetchProviders`, each once). */
  providers: ProviderAddress[]
  /** Called once per provider, when it is dropped for a fault. */
  onFault?: (fault: Fault) => void
  /** A block request unanswered for this long is a stall (default `defaultStallTimeoutMs`). */
  stallTimeoutMs?: number
  /** Block requests in flight to one provider at a time (default `defaultMaxInFlightPerProvider`). */
  maxInFlightPerProvider?: number
}

/** What one provider has done for this fetcher. */
export interface ProviderStats {
  peerId: string
  /** Blocks it delivered (verified). */
  blocks: number
  /** Bytes of those blocks. */
  bytes: number
  /** Requests that failed (faults and remote errors; "not held" answers are not failures). */
  failures: number
  /** Why it was dropped, when it was. */
  dropped?: FaultKind
  /** Requests in flight now. */
  inFlight: number
  /** Mean time of its answered requests, in ms; undefined before the first answer. */
  avgLatencyMs?: number
}

interface Provider {
  readonly peerId: string
  readonly addrs: string[]
  readonly client: BlockClient
  inFlight: number
  blocks: number
  bytes: number
  failures: number
  answered: number
  latencyTotalMs: number
  /** Smoothed latency used to break ties; undefined until measured. */
  latencyMs?: number
  dropped?: FaultKind
  connected?: Promise<void>
}

/** What asking one provider for one block gave. */
type Answer = { bytes: Uint8Array } | { outcome: string }

/** A request is a stall once it takes this many times the typical latency (and the stall timeout). */
const stallLatencyMultiple = 8

/** Spreads the gets of one piece of content over its providers, verified, with failover. */
export class BlockFetcher {
  /** Fetches one verified block; throws `ContentUnavailableError` once every provider failed it. */
  readonly get: BlockGetter
  readonly #host: P2PHost
  readonly #providers: Provider[]
  readonly #onFault: (fault: Fault) => void
  readonly #stallTimeoutMs: number
  readonly #maxInFlight: number
  /** Gets waiting for a free slot; each is woken when a slot frees or a provider is dropped. */
  readonly #waiters = new Set<() => void>()

  constructor (init: BlockFetcherInit) {
    assert.ok(init.providers.length <= maxFetchProviders, `at most ${maxFetchProviders} providers per fetcher`)
    assert.equal(new Set(init.providers.map(p => p.peerId)).size, init.providers.length, 'each provider once')
    this.#host = init.host
    this.#onFault = init.onFault ?? (() => {})
    this.#stallTimeoutMs = init.stallTimeoutMs ?? defaultStallTimeoutMs
    this.#maxInFlight = init.maxInFlightPerProvider ?? defaultMaxInFlightPerProvider
    assert.ok(this.#stallTimeoutMs > 0 && this.#maxInFlight >= 1)
    this.#providers = init.providers.map(p => ({
      peerId: p.peerId,
      addrs: [...p.addrs],
      // The fetcher's own stall signal ends a request first; the client's deadline is a backstop.
      client: new BlockClient({ host: init.host, peerId: p.peerId, timeoutMs: Math.max(defaultBlockRequestTimeoutMs, 2 * this.#stallTimeoutMs) }),
      inFlight: 0,
      blocks: 0,
      bytes: 0,
      failures: 0,
      answered: 0,
      latencyTotalMs: 0
    }))
    this.get = async (cid, signal) => this.#get(cid, signal)
  }

  /** Per provider: blocks and bytes delivered, failures, whether dropped, mean latency. */
  stats (): ProviderStats[] {
    return this.#providers.map(p => {
      const s: ProviderStats = { peerId: p.peerId, blocks: p.blocks, bytes: p.bytes, failures: p.failures, inFlight: p.inFlight }
      if (p.dropped !== undefined) s.dropped = p.dropped
      if (p.answered > 0) s.avgLatencyMs = p.latencyTotalMs / p.answered
      return s
    })
  }

  async #get (cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
    /** What each provider asked did with this block. */
    const outcomes = new Map<string, string>()
    for (;;) {
      const provider = await this.#acquire(cid, outcomes, signal)
      let answer: Answer
      try {
        answer = await this.#ask(provider, cid, signal)
      } finally {
        provider.inFlight -= 1
        this.#wake()
      }
      if ('bytes' in answer) return answer.bytes
      outcomes.set(provider.peerId, answer.outcome)
    }
  }

  /**
   * Takes a slot on the best provider not yet asked for this block, waiting while all of them
   * are at their in-flight cap. Throws `ContentUnavailableError` when none is left.
   */
  async #acquire (cid: CID, outcomes: Map<string, string>, signal?: AbortSignal): Promise<Provider> {
    for (;;) {
      if (signal?.aborted === true) throw new AbortedError(`the fetch of ${cid.toString()} was aborted`)
      const candidates = this.#providers.filter(p => p.dropped === undefined && !outcomes.has(p.peerId))
      if (candidates.length === 0) throw this.#unavailable(cid, outcomes)
      let best: Provider | undefined
      for (const p of candidates) {
        if (p.inFlight >= this.#maxInFlight) continue
        if (best === undefined || p.inFlight < best.inFlight || (p.inFlight === best.inFlight && (p.latencyMs ?? 0) < (best.latencyMs ?? 0))) best = p
      }
      if (best !== undefined) {
        best.inFlight += 1
        return best
      }
      await this.#waitForSlot(cid, signal)
    }
  }

  /** Asks one provider for one block; a fault drops the provider. Throws only on the caller's abort. */
  async #ask (p: Provider, cid: CID, signal?: AbortSignal): Promise<Answer> {
    try {
      await this.#connect(p, signal)
    } catch (err) {
      if (signal?.aborted === true) throw new AbortedError(`the fetch of ${cid.toString()} was aborted`)
      if (isOwnHostDown(err)) throw err
      p.failures += 1
      this.#fault(p, cid, 'unreachable', err)
      return { outcome: `unreachable (${message(err)})` }
    }
    const stall = AbortSignal.timeout(this.#stallAfterMs())
    const started = performance.now()
    let bytes: Uint8Array | undefined
    try {
      [bytes] = await p.client.get([cid], signal === undefined ? stall : AbortSignal.any([signal, stall]))
    } catch (err) {
      if (signal?.aborted === true) throw new AbortedError(`the fetch of ${cid.toString()} was aborted`)
      if (isOwnHostDown(err)) throw err
      p.failures += 1
      const kind = faultKind(err, stall)
      if (kind === undefined) return { outcome: `failed (${message(err)})` }
      this.#fault(p, cid, kind, err)
      return { outcome: kind === 'stall' ? `stalled past ${this.#stallAfterMs()} ms` : `${kind} (${message(err)})` }
    }
    const ms = performance.now() - started
    p.answered += 1
    p.latencyTotalMs += ms
    p.latencyMs = p.latencyMs === undefined ? ms : p.latencyMs * (1 - latencySmoothing) + ms * latencySmoothing
    if (bytes === undefined) return { outcome: 'not held' }
    p.blocks += 1
    p.bytes += bytes.byteLength
    return { bytes }
  }

  /**
   * How long a request may go unanswered: the configured stall timeout, stretched to a multiple
   * of the typical latency seen so far, so a machine that is slow for everyone (a loaded host, a
   * long link) does not drop honest providers one after another.
   */
  #stallAfterMs (): number {
    const seen = this.#providers.flatMap(p => p.latencyMs === undefined ? [] : [p.latencyMs]).sort((a, b) => a - b)
    const typical = seen[Math.floor(seen.length / 2)]
    return typical === undefined ? this.#stallTimeoutMs : Math.max(this.#stallTimeoutMs, Math.ceil(stallLatencyMultiple * typical))
  }

  /** Dials the provider once (shared by every get); a failed dial is kept, so it fails fast after. */
  async #connect (p: Provider, signal?: AbortSignal): Promise<void> {
    p.connected ??= this.#dial(p)
    if (signal === undefined) return p.connected
    signal.throwIfAborted()
    let onAbort = (): void => {}
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      await Promise.race([p.connected, aborted])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  async #dial (p: Provider): Promise<void> {
    if (p.addrs.length === 0 || this.#host.peers().includes(p.peerId)) return
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

  #fault (p: Provider, cid: CID, kind: FaultKind, err: unknown): void {
    if (p.dropped !== undefined) return
    p.dropped = kind
    this.#wake()
    this.#onFault({ provider: p.peerId, cid, kind, detail: message(err) })
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
        reject(new AbortedError(`the fetch of ${cid.toString()} was aborted`))
      }
      this.#waiters.add(done)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  #wake (): void {
    for (const w of [...this.#waiters]) w()
  }

  #unavailable (cid: CID, outcomes: Map<string, string>): ContentUnavailableError {
    const what = this.#providers.map(p => `${p.peerId}: ${outcomes.get(p.peerId) ?? `dropped earlier (${p.dropped ?? 'unknown'})`}`)
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

function message (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
