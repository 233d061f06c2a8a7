/**
 * @packageDocumentation
 *
 * The p2p host every Keynet node runs: libp2p over TCP + Noise + Yamux, with identify, ping and
 * gossipsub, plus bounded request/response, bootstrap dialling with retry, peer exchange (so a
 * small validator set ends up fully connected from one bootstrap address) and peer standing.
 *
 * @example
 * ```ts
 * import { createP2PHost } from './src/services/p2p/index.ts'
 * import { generateKeyPair } from './src/foundations/crypto.ts'
 *
 * const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
 * await host.start()
 * host.subscribe('keynet/votes', (data, from) => { console.log(from, data.byteLength) })
 * await host.handle('/keynet/echo/1', async (request) => request)
 * console.log(host.peerId, host.multiaddrs())
 * await host.stop()
 * ```
 *
 * Gossip delivery: publishing sends the message straight to every connected peer subscribed to
 * the topic (flood publish), and receivers forward it along the gossipsub mesh; duplicates are
 * dropped by message id (SHA-256 of topic and data), so publishing the same bytes twice within
 * two minutes sends them once. Messages are not signed by gossipsub (our own layer signs
 * content); `from` is the peer that delivered the message, not necessarily its author.
 *
 * Raw streams (`handleStream` / `openStream`) carry protocols that stream both ways, such as
 * HTTP to a service backend; reads are paced by the reader, writes by `send()` / `onDrain()`.
 */
import type { TypedEventTarget } from '@libp2p/interface'
import type { DuplexLike } from './streams.ts'

export interface P2PHostInit {
  /** The node's 32-byte ed25519 seed (`foundations/crypto.ts`); the peer id derives from it. */
  secretKey: Uint8Array
  /** Listen multiaddrs, e.g. `['/ip4/127.0.0.1/tcp/0']`. */
  listen: string[]
  /** Addresses to announce instead of the listen addresses (e.g. behind NAT). */
  announce?: string[]
  /** Multiaddrs with `/p2p/<id>`: dialled with retry and backoff until connected, and again when dropped. */
  bootstrap?: string[]
  /** Aborting it stops the host. */
  signal?: AbortSignal
  logger?: (line: string) => void
  /** Ask connected peers for their peers and dial them (default true). */
  peerExchange?: boolean
  /** Stop dialling learned peers once this many are connected (default 32). */
  targetPeers?: number
  /** Networks (multiaddr with `/ipcidr/`) exempt from inbound rate limits; loopback is always included. */
  allow?: string[]
  /** Weighted offences before a peer is disconnected and refused (default 3). */
  banThreshold?: number
  /** How long a banned peer is refused (default 10 min). */
  banMs?: number
}

export interface P2PHostEvents {
  /** First connection to a peer opened; detail is the peer id. */
  'peer:connect': CustomEvent<string>
  /** Last connection to a peer closed; detail is the peer id. */
  'peer:disconnect': CustomEvent<string>
  /** A peer was banned by `penalise`. */
  'peer:banned': CustomEvent<{ peer: string, reason: string }>
}

/** What a gossip validator decides: deliver and forward, drop silently, or drop and penalise the sender. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject'

export type GossipHandler = (data: Uint8Array, from: string) => void
export type GossipValidator = (data: Uint8Array, from: string) => GossipVerdict

export interface SubscribeOptions {
  /**
   * Runs before the message is delivered or forwarded (keep it fast and synchronous: it sits on
   * the forwarding path). 'reject' also counts an offence against the delivering peer.
   */
  validate?: GossipValidator
}

export type RequestHandler = (request: Uint8Array, from: string, signal: AbortSignal) => Promise<Uint8Array>

export interface HandleOptions {
  /** Larger requests are answered with a "too large" status (default 1 MiB, at most 64 MiB). */
  maxRequestBytes?: number
  /** The handler's signal aborts after this (default 30 s). */
  timeoutMs?: number
}

export interface RequestOptions {
  signal?: AbortSignal
  /** Deadline of the whole request, dial included (default 10 s). */
  timeoutMs?: number
  /** Larger responses fail with `PayloadTooLargeError` (default 4 MiB, at most 64 MiB). */
  maxResponseBytes?: number
}

/**
 * Serves one inbound raw stream. The handler owns the stream: when it returns, a write side
 * still open is closed and a peer still writing is reset; when it throws, the stream is reset.
 * `signal` aborts (and the stream with it) when the stream fails, the deadline passes or the
 * host stops.
 */
export type StreamHandler = (stream: DuplexLike, from: string, signal: AbortSignal) => Promise<void>

export interface HandleStreamOptions {
  /** Concurrent inbound streams of the protocol on one connection; more are reset (default 32). */
  maxInboundStreams?: number
  /** Concurrent outbound streams of the protocol on one connection (default 64). */
  maxOutboundStreams?: number
  /** The handler's signal aborts after this (default `defaultStreamHandlerTimeoutMs`, 10 min). */
  timeoutMs?: number
}

export interface OpenStreamOptions {
  /** Aborts opening the stream and, once it is open, the stream itself. */
  signal?: AbortSignal
  /** Deadline of opening the stream, dial and protocol negotiation included (default 10 s). */
  timeoutMs?: number
  /** Concurrent outbound streams of the protocol on one connection (default 64). */
  maxOutboundStreams?: number
}

export interface P2PHost extends TypedEventTarget<P2PHostEvents> {
  /** Base58 peer id (`12D3KooW…`). */
  readonly peerId: string
  /** Listening (or announced) addresses, each ending in `/p2p/<peerId>`. */
  multiaddrs: () => string[]
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * Broadcast to every peer subscribed to the topic. Resolves once the message is queued to
   * every subscribed peer; with none subscribed yet it is dropped (not an error: see
   * `waitForTopicPeers`). Waits briefly while a peer's queue is above its high-water mark.
   * Throws `PayloadTooLargeError` above `maxGossipMessageBytes`, `HostNotStartedError` when not
   * started.
   */
  publish: (topic: string, data: Uint8Array) => Promise<void>
  /** Delivers each message of the topic once; returns the function that unsubscribes this handler. */
  subscribe: (topic: string, handler: GossipHandler, opts?: SubscribeOptions) => () => void
  /** Peers known to be subscribed to the topic (that we are connected to). */
  topicPeers: (topic: string) => string[]
  /**
   * Resolves once at least `n` connected peers are subscribed to the topic. Publishing reaches a
   * peer only after its subscription has arrived (milliseconds after connecting), so call this
   * before the first message that must not be lost.
   */
  waitForTopicPeers: (topic: string, n: number, signal?: AbortSignal) => Promise<void>
  /** Serves a request/response protocol, length-prefixed, with size limits and a deadline. */
  handle: (protocol: string, handler: RequestHandler, opts?: HandleOptions) => Promise<void>
  /** Stops serving a protocol (request/response or raw stream). */
  unhandle: (protocol: string) => Promise<void>
  /**
   * Sends one request and waits for its response. Throws `TimeoutError`, `AbortedError`,
   * `PeerUnreachableError`, `ProtocolUnsupportedError`, `PayloadTooLargeError`,
   * `RemoteHandlerError`, `ProtocolViolationError`, `StreamFailedError` or `PeerBannedError`.
   */
  request: (peer: string, protocol: string, data: Uint8Array, opts?: RequestOptions) => Promise<Uint8Array>
  /**
   * Serves a raw stream protocol: each inbound stream goes to `handler` (banned peers and a
   * stopped host are refused), with a per-connection stream limit and a deadline.
   */
  handleStream: (protocol: string, handler: StreamHandler, opts?: HandleStreamOptions) => Promise<void>
  /**
   * Opens a raw stream to a peer. Throws `TimeoutError`, `AbortedError`, `PeerUnreachableError`,
   * `ProtocolUnsupportedError`, `StreamFailedError`, `PeerBannedError` or `HostNotStartedError`.
   */
  openStream: (peer: string, protocol: string, opts?: OpenStreamOptions) => Promise<DuplexLike>
  /** Connected peer ids. */
  peers: () => string[]
  /** Dials a multiaddr with `/p2p/<id>` once (no retry); resolves when connected. */
  connect: (addr: string, signal?: AbortSignal) => Promise<void>
  /**
   * Lowers a misbehaving peer's standing by `weight` offences (default 1). At the ban threshold
   * the peer is disconnected and refused for `banMs`; its gossip score drops before that.
   */
  penalise: (peer: string, reason: string, weight?: number) => void
  /** Whether the peer is currently banned. */
  isBanned: (peer: string) => boolean
}

/**
 * Creates a host (not started). libp2p is loaded on the first call, not with this module, so a
 * process that never needs a host (a client fetching over HTTP) does not pay for loading it.
 */
export async function createP2PHost (init: P2PHostInit): Promise<P2PHost> {
  const { createP2PHost: create } = await import('./host.ts')
  return await create(init)
}
export { lazyP2PHost } from './lazy-host.ts'
export { peerIdOf, peerIdOfPublicKey, publicKeyFromPeerId } from './identity.ts'
export {
  HostNotStartedError, PeerUnreachableError, ProtocolUnsupportedError, PeerBannedError, RemoteHandlerError,
  ProtocolViolationError, StreamFailedError, AbortedError, InvalidAddressError
} from './errors.ts'
export {
  type DuplexLike, defaultStreamHandlerTimeoutMs, streamReadHighWaterBytes, streamReadLowWaterBytes, streamPausedBufferBytes,
  streamMaxWriteBufferBytes, streamSettleTimeoutMs
} from './streams.ts'
export { maxGossipMessageBytes, defaultMaxRequestBytes, defaultMaxResponseBytes, maxMessageBytesCap } from './constants.ts'
