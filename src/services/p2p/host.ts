/**
 * `Libp2pHost`, the `P2PHost` on js-libp2p. Settings that matter on a small network where many
 * nodes may share one IP: loopback exempt from inbound rate limits, no gossipsub IP-colocation
 * penalty, flood publish, unsigned gossip with a content-hash message id, bounded gossip frames
 * and queues, bootstrap dialling with retry, and a watchdog that recycles a connection whose
 * gossip stream died (gossipsub never reopens it).
 */
import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import './yamux-window.ts'
import { gossipsub, StrictNoSign, type GossipSub, type GossipsubMessage, type TopicValidatorResult } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { TypedEventEmitter } from '@libp2p/interface'
import type { Connection, Ed25519PrivateKey, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { utf8 } from '../../foundations/bytes.ts'
import { systemClock, seededRandom } from '../../foundations/clock.ts'
import { PayloadTooLargeError } from '../../foundations/errors.ts'
import { sha256 } from '../../foundations/hash.ts'
import {
  defaultHandlerTimeoutMs, defaultMaxRequestBytes, defaultMaxResponseBytes, defaultRequestTimeoutMs, defaultTargetPeers,
  dialTimeoutMs, gossipHeartbeatMs, gossipMesh, gossipQueueHighWaterBytes, gossipSeenTtlMs, gossipStreamGraceMs, maintenanceIntervalMs,
  maxExchangeResponseBytes, maxGossipFrameBytes, maxGossipMessageBytes, maxGossipQueueBytes, maxInboundRequestsPerConnection,
  maxMessageBytesCap, maxOutboundRequestsPerConnection, peerExchangeInitialMs, peerExchangeMaxMs, publishBackpressureMs
} from './constants.ts'
import { Redialer } from './dialer.ts'
import {
  AbortedError, HostNotStartedError, InvalidAddressError, PeerBannedError, PeerUnreachableError, ProtocolUnsupportedError,
  StreamFailedError
} from './errors.ts'
import { isPeerId, privateKeyFromSecret } from './libp2p-identity.ts'
import { decodePeerList, encodePeerList, peerExchangeProtocol, type ExchangedPeer } from './peer-exchange.ts'
import { PeerStanding } from './standing.ts'
import { abortError, exchange, operationSignal, respond } from './request-response.ts'
import { defaultStreamHandlerTimeoutMs, StreamDuplex, streamSettleTimeoutMs, type DuplexLike } from './streams.ts'
import type {
  GossipHandler, GossipValidator, HandleOptions, HandleStreamOptions, OpenStreamOptions, P2PHost, P2PHostEvents, P2PHostInit,
  RequestHandler, RequestOptions, StreamHandler, SubscribeOptions
} from './index.ts'

type Services = { identify: Identify, ping: Ping, pubsub: GossipSub }

const gossipProtocolPrefix = '/meshsub/'
/** Loopback never counts against the inbound connection rate limit (many local nodes share it). */
const loopbackNets = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']
/** Learned peers get this many dial attempts before they are forgotten until learned again. */
const maxLearnedDialAttempts = 3
/** How often `waitForTopicPeers` looks again. */
const topicCheckIntervalMs = 10
/** Dial targets (bootstrap plus learned) kept at once. */
const maxDialTargets = 256

export async function createP2PHost (init: P2PHostInit): Promise<P2PHost> {
  assert.ok(init.listen.length > 0, 'listen on at least one address')
  const bootstrap = (init.bootstrap ?? []).map(parseBootstrap)
  const privateKey = await privateKeyFromSecret(init.secretKey)
  const host = new Libp2pHost(init, privateKey, bootstrap)
  await host.init()
  return host
}

function parseBootstrap (addr: string): { peer: string, addr: string } {
  let ma: Multiaddr
  try {
    ma = multiaddr(addr)
  } catch (err) {
    throw new InvalidAddressError(`bootstrap address ${addr} does not parse: ${(err as Error).message}`)
  }
  const peer = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (peer === undefined || !isPeerId(peer)) throw new InvalidAddressError(`bootstrap address ${addr} lacks /p2p/<peer id>`)
  return { peer, addr }
}

interface Subscription { handler: GossipHandler, validate: GossipValidator | undefined }

interface ExchangeState { nextAt: number, intervalMs: number, inFlight: boolean, unsupported: boolean }

class Libp2pHost extends TypedEventEmitter<P2PHostEvents> implements P2PHost {
  readonly peerId: string
  readonly #init: P2PHostInit
  readonly #privateKey: Ed25519PrivateKey
  readonly #bootstrap: Array<{ peer: string, addr: string }>
  readonly #log: (line: string) => void
  readonly #standing: PeerStanding
  readonly #subscriptions = new Map<string, Set<Subscription>>()
  readonly #exchange = new Map<string, ExchangeState>()
  /** Connected peers without an open outbound gossip stream, since when (bounded by connections). */
  readonly #gossipMissingSince = new Map<string, number>()
  readonly #redialer: Redialer
  #node: Libp2p<Services> | undefined
  #lifetime: AbortController | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  #maintaining = false
  #starting: Promise<void> | undefined

  constructor (init: P2PHostInit, privateKey: Ed25519PrivateKey, bootstrap: Array<{ peer: string, addr: string }>) {
    super()
    this.#init = init
    this.#privateKey = privateKey
    this.peerId = privateKey.publicKey.toString()
    this.#bootstrap = bootstrap.filter(b => b.peer !== this.peerId)
    const logger = init.logger
    this.#log = logger === undefined ? () => {} : (line) => { logger(`p2p ${this.peerId.slice(-6)}: ${line}`) }
    this.#standing = new PeerStanding({ clock: systemClock, banThreshold: init.banThreshold, banMs: init.banMs })
    this.#redialer = new Redialer({
      dial: async (peer, addrs, signal) => { await this.#dial(peer, addrs, signal) },
      isConnected: (peer) => this.#connected(peer),
      isBanned: (peer) => this.#standing.isBanned(peer),
      log: this.#log,
      random: seededRandom(randomInt(2 ** 31)),
      now: () => systemClock.now(),
      maxTargets: maxDialTargets,
      maxLearnedAttempts: maxLearnedDialAttempts
    })
  }

  async init (): Promise<void> {
    const standing = this.#standing
    const isBanned = (peer: PeerId): boolean => standing.isBanned(peer.toString())
    this.#node = await createLibp2p<Services>({
      start: false,
      privateKey: this.#privateKey,
      nodeInfo: { name: 'keynet', version: '0.1.0' },
      addresses: { listen: this.#init.listen, announce: this.#init.announce ?? [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: {
        allow: [...loopbackNets, ...(this.#init.allow ?? [])],
        dialTimeout: dialTimeoutMs
      },
      connectionGater: {
        denyDialPeer: isBanned,
        denyInboundEncryptedConnection: isBanned,
        denyOutboundEncryptedConnection: isBanned
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          // Topic is part of the id: the same bytes on two topics are two messages.
          msgIdFn: (msg) => sha256(utf8.encode(msg.topic), new Uint8Array([0]), msg.data),
          fallbackToFloodsub: false,
          floodPublish: true,
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          emitSelf: false,
          doPX: false,
          heartbeatInterval: gossipHeartbeatMs,
          ...gossipMesh,
          seenTTL: gossipSeenTtlMs,
          maxInboundDataLength: maxGossipFrameBytes,
          maxOutboundBufferSize: maxGossipQueueBytes,
          scoreParams: {
            // Many nodes share one IP on a local network; the colocation penalty would silence them.
            IPColocationFactorWeight: 0,
            // Our standing feeds the score: each offence costs 10 points (gossip threshold -10,
            // publish threshold -50, graylist -80).
            appSpecificScore: (peer) => -standing.offences(peer),
            appSpecificWeight: 10
          }
        })
      }
    })
    const node = this.#node
    node.addEventListener('peer:connect', (evt) => { this.#onConnect(evt.detail.toString()) })
    node.addEventListener('peer:disconnect', (evt) => { this.#onDisconnect(evt.detail.toString()) })
    node.services.pubsub.addEventListener('gossipsub:message', (evt) => { this.#onGossip(evt) })
    if (this.#init.peerExchange !== false) {
      await this.handle(peerExchangeProtocol, async (_request, from) => encodePeerList(await this.#peerList(from)), { maxRequestBytes: 0, timeoutMs: 5_000 })
    }
  }

  // ---------------------------------------------------------------- lifecycle

  async start (): Promise<void> {
    this.#starting ??= this.#start().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async #start (): Promise<void> {
    const node = this.#nodeOrThrow()
    if (this.#lifetime !== undefined) return
    const signal = this.#init.signal
    if (signal?.aborted === true) throw new AbortedError('the host signal is already aborted')
    await node.start()
    this.#lifetime = new AbortController()
    // Connections accepted while libp2p was starting fired their events before we listened.
    for (const peer of node.getPeers()) this.#onConnect(peer.toString())
    for (const topic of this.#subscriptions.keys()) this.#subscribeTopic(topic)
    for (const { peer, addr } of this.#bootstrap) this.#redialer.add(peer, [addr], { persistent: true })
    this.#redialer.start()
    this.#timer = setInterval(() => { this.#maintain() }, maintenanceIntervalMs)
    this.#timer.unref?.()
    signal?.addEventListener('abort', this.#onAbort, { once: true })
    this.#log(`started, listening on ${this.multiaddrs().join(' ')}`)
  }

  async stop (): Promise<void> {
    const lifetime = this.#lifetime
    if (lifetime === undefined) return
    this.#lifetime = undefined
    this.#init.signal?.removeEventListener('abort', this.#onAbort)
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#redialer.stop()
    lifetime.abort(new AbortedError('the host stopped'))
    this.#exchange.clear()
    this.#gossipMissingSince.clear()
    await this.#nodeOrThrow().stop()
    this.#log('stopped')
  }

  readonly #onAbort = (): void => {
    this.stop().catch(err => { this.#log(`stop failed: ${String(err)}`) })
  }

  multiaddrs (): string[] {
    const node = this.#nodeOrThrow()
    return node.getMultiaddrs().map(ma => {
      const s = ma.toString()
      return s.includes('/p2p/') ? s : `${s}/p2p/${this.peerId}`
    })
  }

  peers (): string[] {
    return this.#node?.getPeers().map(p => p.toString()) ?? []
  }

  // ---------------------------------------------------------------- gossip

  async publish (topic: string, data: Uint8Array): Promise<void> {
    const node = this.#startedNode()
    assert.ok(typeof topic === 'string' && topic.length > 0, 'a topic is a non-empty string')
    if (data.byteLength > maxGossipMessageBytes) {
      throw new PayloadTooLargeError(`gossip message of ${data.byteLength} bytes exceeds ${maxGossipMessageBytes}`)
    }
    await this.#gossipBackpressure(node)
    this.#startedNode() // may have stopped while waiting
    await node.services.pubsub.publish(topic, data)
  }

  subscribe (topic: string, handler: GossipHandler, opts: SubscribeOptions = {}): () => void {
    assert.ok(typeof topic === 'string' && topic.length > 0, 'a topic is a non-empty string')
    const entry: Subscription = { handler, validate: opts.validate }
    let set = this.#subscriptions.get(topic)
    if (set === undefined) {
      set = new Set()
      this.#subscriptions.set(topic, set)
      if (this.#lifetime !== undefined) this.#subscribeTopic(topic)
    }
    set.add(entry)
    return () => {
      const current = this.#subscriptions.get(topic)
      if (current === undefined || !current.delete(entry)) return
      if (current.size === 0) {
        this.#subscriptions.delete(topic)
        const pubsub = this.#node?.services.pubsub
        pubsub?.topicValidators.delete(topic)
        if (this.#lifetime !== undefined) pubsub?.unsubscribe(topic)
      }
    }
  }

  topicPeers (topic: string): string[] {
    if (this.#lifetime === undefined) return []
    const node = this.#nodeOrThrow()
    return node.services.pubsub.getSubscribers(topic).filter(p => hasGossipStream(node, p)).map(p => p.toString())
  }

  async waitForTopicPeers (topic: string, n: number, signal?: AbortSignal): Promise<void> {
    this.#startedNode()
    const lifetime = this.#lifetime
    assert.ok(lifetime !== undefined)
    // A peer counts once its subscription has arrived and our gossip stream to it is open (a
    // message published before that is dropped for that peer). Neither has an event, so poll.
    while (this.topicPeers(topic).length < n) {
      if (signal?.aborted === true) throw abortError(signal.reason)
      if (lifetime.signal.aborted) throw new AbortedError('the host stopped')
      await new Promise(resolve => setTimeout(resolve, topicCheckIntervalMs))
    }
  }

  #subscribeTopic (topic: string): void {
    const pubsub = this.#nodeOrThrow().services.pubsub
    pubsub.topicValidators.set(topic, (peer, msg) => this.#validate(topic, peer.toString(), msg.data))
    pubsub.subscribe(topic)
  }

  #validate (topic: string, from: string, data: Uint8Array): TopicValidatorResult {
    let verdict: 'accept' | 'ignore' | 'reject' = 'accept'
    for (const { validate } of this.#subscriptions.get(topic) ?? []) {
      if (validate === undefined) continue
      let v: string
      try {
        v = validate(data, from)
      } catch (err) {
        this.#log(`validator of ${topic} threw: ${String(err)}`)
        v = 'ignore'
      }
      if (v === 'reject') { verdict = 'reject'; break }
      if (v === 'ignore') verdict = 'ignore'
      else if (v !== 'accept') verdict = 'ignore'
    }
    if (verdict === 'reject') this.penalise(from, `invalid gossip on ${topic}`)
    // TopicValidatorResult is a string enum with exactly these values.
    return verdict as TopicValidatorResult
  }

  #onGossip (evt: CustomEvent<GossipsubMessage>): void {
    const { msg, propagationSource } = evt.detail
    const subs = this.#subscriptions.get(msg.topic)
    if (subs === undefined) return
    const from = propagationSource.toString()
    for (const { handler } of subs) {
      try {
        const result: unknown = handler(msg.data, from)
        if (result instanceof Promise) result.catch(err => { this.#log(`gossip handler of ${msg.topic} failed: ${String(err)}`) })
      } catch (err) {
        this.#log(`gossip handler of ${msg.topic} threw: ${String(err)}`)
      }
    }
  }

  /** Waits (bounded) while any peer's gossip queue is above the high-water mark. */
  async #gossipBackpressure (node: Libp2p<Services>): Promise<void> {
    const deadline = Date.now() + publishBackpressureMs
    while (maxGossipQueued(node) > gossipQueueHighWaterBytes && Date.now() < deadline && this.#lifetime !== undefined) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }

  // ---------------------------------------------------------------- request/response

  async handle (protocol: string, handler: RequestHandler, opts: HandleOptions = {}): Promise<void> {
    const node = this.#nodeOrThrow()
    const maxRequestBytes = opts.maxRequestBytes ?? defaultMaxRequestBytes
    const timeoutMs = opts.timeoutMs ?? defaultHandlerTimeoutMs
    assert.ok(maxRequestBytes >= 0 && maxRequestBytes <= maxMessageBytesCap, `maxRequestBytes must be within 0..${maxMessageBytesCap}`)
    assert.ok(timeoutMs > 0)
    await node.handle(protocol, async (stream: Stream, connection: Connection) => {
      const from = connection.remotePeer.toString()
      const lifetime = this.#lifetime
      if (lifetime === undefined || this.#standing.isBanned(from)) {
        stream.abort(new PeerBannedError(lifetime === undefined ? 'not started' : 'banned'))
        return
      }
      // The handler's signal also aborts when the requester resets the stream (gave up).
      const gone = new AbortController()
      const onClose = (): void => { gone.abort(new StreamFailedError('the requester went away')) }
      stream.addEventListener('close', onClose, { once: true })
      const op = operationSignal({ timeoutMs, lifetime: lifetime.signal, also: gone.signal })
      try {
        await respond(stream, {
          maxRequestBytes,
          signal: op.signal,
          handler: async (request, signal) => handler(request, from, signal),
          onViolation: (reason) => { this.penalise(from, `${protocol}: ${reason}`) },
          log: this.#log
        })
      } finally {
        op.dispose()
        stream.removeEventListener('close', onClose)
      }
    }, { maxInboundStreams: maxInboundRequestsPerConnection, maxOutboundStreams: maxOutboundRequestsPerConnection })
  }

  async unhandle (protocol: string): Promise<void> {
    await this.#nodeOrThrow().unhandle(protocol)
  }

  async request (peer: string, protocol: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    const node = this.#startedNode()
    const lifetime = this.#lifetime
    assert.ok(lifetime !== undefined)
    const maxResponseBytes = opts.maxResponseBytes ?? defaultMaxResponseBytes
    assert.ok(maxResponseBytes >= 0 && maxResponseBytes <= maxMessageBytesCap, `maxResponseBytes must be within 0..${maxMessageBytesCap}`)
    if (data.byteLength > maxMessageBytesCap) throw new PayloadTooLargeError(`request of ${data.byteLength} bytes exceeds ${maxMessageBytesCap}`)
    const id = this.#dialablePeer(peer)
    const op = operationSignal({ signal: opts.signal, timeoutMs: opts.timeoutMs ?? defaultRequestTimeoutMs, lifetime: lifetime.signal })
    try {
      if (op.signal.aborted) throw op.reason()
      let stream: Stream
      try {
        stream = await node.dialProtocol(id, protocol, { signal: op.signal })
      } catch (err) {
        if (op.signal.aborted) throw op.reason()
        throw mapDialError(err, peer, protocol)
      }
      try {
        return await exchange(stream, data, { maxResponseBytes, signal: op.signal })
      } catch (err) {
        if (op.signal.aborted) throw op.reason()
        throw err
      }
    } finally {
      op.dispose()
    }
  }

  // ---------------------------------------------------------------- raw streams

  async handleStream (protocol: string, handler: StreamHandler, opts: HandleStreamOptions = {}): Promise<void> {
    const node = this.#nodeOrThrow()
    const timeoutMs = opts.timeoutMs ?? defaultStreamHandlerTimeoutMs
    assert.ok(timeoutMs > 0)
    await node.handle(protocol, async (stream: Stream, connection: Connection) => {
      const from = connection.remotePeer.toString()
      const lifetime = this.#lifetime
      if (lifetime === undefined || this.#standing.isBanned(from)) {
        stream.abort(new PeerBannedError(lifetime === undefined ? 'not started' : 'banned'))
        return
      }
      const duplex = new StreamDuplex(stream, from)
      // The handler's signal aborts when the stream fails, the deadline passes or the host stops;
      // the stream is aborted with it, so a handler that ignores its signal still ends.
      const op = operationSignal({ timeoutMs, lifetime: lifetime.signal, also: duplex.signal })
      const onAbort = (): void => { duplex.abort(op.reason()) }
      op.signal.addEventListener('abort', onAbort, { once: true })
      try {
        await handler(duplex, from, op.signal)
        await duplex.settle(AbortSignal.any([op.signal, AbortSignal.timeout(streamSettleTimeoutMs)]))
      } catch (err) {
        if (!op.signal.aborted) this.#log(`stream handler of ${protocol} failed: ${err instanceof Error ? err.message : String(err)}`)
        duplex.abort(err instanceof Error ? err : new Error(String(err)))
      } finally {
        op.signal.removeEventListener('abort', onAbort)
        op.dispose()
      }
    }, {
      maxInboundStreams: opts.maxInboundStreams ?? maxInboundRequestsPerConnection,
      maxOutboundStreams: opts.maxOutboundStreams ?? maxOutboundRequestsPerConnection
    })
  }

  /** The peer id to dial; throws for a banned peer or a string that is not a peer id. */
  #dialablePeer (peer: string): PeerId {
    if (this.#standing.isBanned(peer)) throw new PeerBannedError(`peer ${peer} is banned`)
    try {
      return peerIdFromString(peer)
    } catch {
      throw new PeerUnreachableError(`not a peer id: ${peer.slice(0, 80)}`)
    }
  }

  async openStream (peer: string, protocol: string, opts: OpenStreamOptions = {}): Promise<DuplexLike> {
    const node = this.#startedNode()
    const lifetime = this.#lifetime
    assert.ok(lifetime !== undefined)
    const id = this.#dialablePeer(peer)
    const op = operationSignal({ signal: opts.signal, timeoutMs: opts.timeoutMs ?? defaultRequestTimeoutMs, lifetime: lifetime.signal })
    let stream: Stream
    try {
      if (op.signal.aborted) throw op.reason()
      stream = await node.dialProtocol(id, protocol, {
        signal: op.signal,
        maxOutboundStreams: opts.maxOutboundStreams ?? maxOutboundRequestsPerConnection
      })
    } catch (err) {
      if (op.signal.aborted) throw op.reason()
      throw mapDialError(err, peer, protocol)
    } finally {
      op.dispose()
    }
    const duplex = new StreamDuplex(stream, peer)
    const signal = opts.signal
    if (signal !== undefined) {
      // After opening, the caller's signal still ends the stream.
      const onAbort = (): void => { duplex.abort(abortError(signal.reason)) }
      if (signal.aborted) onAbort()
      signal.addEventListener('abort', onAbort, { once: true })
      stream.addEventListener('close', () => { signal.removeEventListener('abort', onAbort) }, { once: true })
    }
    return duplex
  }

  // ---------------------------------------------------------------- peers

  async connect (addr: string, signal?: AbortSignal): Promise<void> {
    const node = this.#startedNode()
    const { peer } = parseBootstrap(addr)
    if (this.#standing.isBanned(peer)) throw new PeerBannedError(`peer ${peer} is banned`)
    try {
      await node.dial(multiaddr(addr), { signal: signal ?? AbortSignal.timeout(dialTimeoutMs) })
    } catch (err) {
      if (signal?.aborted === true) throw abortError(signal.reason)
      throw mapDialError(err, peer)
    }
  }

  penalise (peer: string, reason: string, weight = 1): void {
    if (peer === this.peerId || !isPeerId(peer)) return
    const result = this.#standing.offend(peer, weight)
    this.#log(`penalised ${peer} (${reason}); standing ${(-result.offences).toFixed(2)}`)
    if (!result.newlyBanned) return
    this.#log(`banned ${peer} after repeated offences`)
    this.safeDispatchEvent('peer:banned', { detail: { peer, reason } })
    const node = this.#node
    if (node !== undefined && this.#lifetime !== undefined) {
      node.hangUp(peerIdFromString(peer)).catch(err => { this.#log(`hang up ${peer} failed: ${String(err)}`) })
    }
  }

  isBanned (peer: string): boolean {
    return this.#standing.isBanned(peer)
  }

  #onConnect (peer: string): void {
    if (this.#lifetime === undefined) return
    this.#redialer.onConnect(peer)
    if (this.#init.peerExchange !== false) {
      this.#exchange.set(peer, { nextAt: 0, intervalMs: peerExchangeInitialMs, inFlight: false, unsupported: false })
      this.#exchangeWith(peer)
    }
    this.safeDispatchEvent('peer:connect', { detail: peer })
  }

  #onDisconnect (peer: string): void {
    this.#exchange.delete(peer)
    this.#gossipMissingSince.delete(peer)
    if (this.#lifetime === undefined) return
    this.#redialer.onDisconnect(peer)
    this.safeDispatchEvent('peer:disconnect', { detail: peer })
  }

  #connected (peer: string): boolean {
    const node = this.#node
    if (node === undefined) return false
    try {
      return node.getConnections(peerIdFromString(peer)).some(c => c.status === 'open')
    } catch {
      return false
    }
  }

  async #dial (peer: string, addrs: string[], signal: AbortSignal): Promise<void> {
    const node = this.#startedNode()
    const targets = addrs.map(a => {
      const ma = multiaddr(a)
      return ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peer}`)
    })
    await node.dial(targets, { signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)]) })
  }

  /** Peers we are connected to, with the addresses they listen on (from identify). */
  async #peerList (exclude: string): Promise<ExchangedPeer[]> {
    const node = this.#startedNode()
    const out: ExchangedPeer[] = []
    for (const id of node.getPeers()) {
      const peer = id.toString()
      if (peer === exclude || this.#standing.isBanned(peer)) continue
      try {
        const record = await node.peerStore.get(id)
        const addrs = record.addresses.map(a => a.multiaddr)
          .filter(ma => ma.getComponents().every(c => c.name !== 'p2p-circuit'))
          .map(ma => ma.decapsulateCode(421).toString())
        if (addrs.length > 0) out.push({ peer, addrs })
      } catch {
        // Not in the peer store yet (identify pending): offered next time.
      }
    }
    return out
  }

  #exchangeWith (peer: string): void {
    const state = this.#exchange.get(peer)
    if (state === undefined || state.inFlight || state.unsupported || this.#lifetime === undefined) return
    state.inFlight = true
    state.nextAt = Date.now() + state.intervalMs
    state.intervalMs = Math.min(peerExchangeMaxMs, state.intervalMs * 2)
    this.request(peer, peerExchangeProtocol, new Uint8Array(0), { timeoutMs: 5_000, maxResponseBytes: maxExchangeResponseBytes })
      .then(bytes => {
        let list: ExchangedPeer[]
        try {
          list = decodePeerList(bytes)
        } catch (err) {
          this.penalise(peer, `bad peer list: ${(err as Error).message}`)
          return
        }
        this.#learn(list)
      })
      .catch(err => {
        if (err instanceof ProtocolUnsupportedError) state.unsupported = true
      })
      .finally(() => { state.inFlight = false })
  }

  #learn (list: ExchangedPeer[]): void {
    const target = this.#init.targetPeers ?? defaultTargetPeers
    for (const { peer, addrs } of list) {
      if (this.peers().length >= target) return
      if (peer === this.peerId || this.#connected(peer) || this.#standing.isBanned(peer) || this.#redialer.has(peer)) continue
      this.#redialer.add(peer, addrs, { persistent: false })
    }
  }

  // ---------------------------------------------------------------- maintenance

  #maintain (): void {
    if (this.#maintaining || this.#lifetime === undefined) return
    this.#maintaining = true
    this.#maintainOnce()
      .catch(err => { this.#log(`maintenance failed: ${String(err)}`) })
      .finally(() => { this.#maintaining = false })
  }

  async #maintainOnce (): Promise<void> {
    const node = this.#startedNode()
    this.#standing.prune()
    const now = Date.now()
    for (const [peer, state] of this.#exchange) {
      if (state.nextAt <= now) this.#exchangeWith(peer)
    }
    // Gossip stream watchdog: gossipsub opens one outbound stream per peer and never reopens it
    // if it dies (reset, queue overflow) while the connection lives; recycle such a connection.
    for (const id of node.getPeers()) {
      const peer = id.toString()
      if (this.#standing.isBanned(peer)) {
        await node.hangUp(id).catch(() => {})
        continue
      }
      if (hasGossipStream(node, id)) {
        this.#gossipMissingSince.delete(peer)
        continue
      }
      const since = this.#gossipMissingSince.get(peer)
      if (since === undefined) {
        this.#gossipMissingSince.set(peer, now)
        continue
      }
      if (now - since < gossipStreamGraceMs) continue
      let speaksGossip = false
      try {
        speaksGossip = (await node.peerStore.get(id)).protocols.some(p => p.startsWith(gossipProtocolPrefix))
      } catch {}
      if (!speaksGossip) continue
      this.#log(`no gossip stream to ${peer} for ${now - since} ms; recycling the connection`)
      this.#gossipMissingSince.delete(peer)
      await node.hangUp(id).catch(() => {})
    }
  }

  // ---------------------------------------------------------------- helpers

  #nodeOrThrow (): Libp2p<Services> {
    assert.ok(this.#node !== undefined, 'createP2PHost initialises the node')
    return this.#node
  }

  #startedNode (): Libp2p<Services> {
    if (this.#lifetime === undefined) throw new HostNotStartedError('the p2p host is not started')
    return this.#nodeOrThrow()
  }
}

function hasGossipStream (node: Libp2p<Services>, peer: PeerId): boolean {
  return node.getConnections(peer).some(c => c.status === 'open' && c.streams.some(isGossipOutbound))
}

function isGossipOutbound (s: Stream): boolean {
  return s.direction === 'outbound' && s.protocol.startsWith(gossipProtocolPrefix) && s.status === 'open' && s.writeStatus === 'writable'
}

function maxGossipQueued (node: Libp2p<Services>): number {
  let max = 0
  for (const conn of node.getConnections()) {
    for (const s of conn.streams) {
      if (s.direction === 'outbound' && s.protocol.startsWith(gossipProtocolPrefix) && s.writeBufferLength > max) max = s.writeBufferLength
    }
  }
  return max
}

function mapDialError (err: unknown, peer: string, protocol?: string): Error {
  const name = err instanceof Error ? err.name : ''
  const message = err instanceof Error ? err.message : String(err)
  if (name === 'UnsupportedProtocolError' || name === 'ProtocolError') {
    return new ProtocolUnsupportedError(`peer ${peer} does not serve ${protocol ?? 'the protocol'}`)
  }
  if (name === 'TooManyOutboundProtocolStreamsError' || name === 'TooManyInboundProtocolStreamsError' || name === 'StreamResetError') {
    return new StreamFailedError(`stream to ${peer} refused: ${message}`)
  }
  return new PeerUnreachableError(`cannot reach ${peer}: ${name !== '' ? `${name}: ` : ''}${message}`)
}
