/**
 * Every bound and timing of the p2p host, each with its reason. Relationships between them are
 * asserted when this module loads.
 */
import assert from 'node:assert/strict'
import { maxBlockBytes, maxSyncResponseBytes } from '../../foundations/limits.ts'

/** Data of one gossip message: a full block fits, with room for its envelope and signatures. */
export const maxGossipMessageBytes = maxBlockBytes + 256 * 1024
/** One gossipsub RPC frame on the wire: one full message plus piggybacked control messages. */
export const maxGossipFrameBytes = maxGossipMessageBytes + 256 * 1024
/**
 * Bytes queued to one peer's gossip stream before the stream is reset (and the connection
 * recycled by the watchdog): a peer that stops reading cannot hold our memory hostage.
 */
export const maxGossipQueueBytes = 64 * 1024 * 1024
/**
 * Above this many queued bytes to any peer, `publish` waits (up to `publishBackpressureMs`) for
 * the queue to drain, so a fast publisher slows down instead of overrunning `maxGossipQueueBytes`.
 */
export const gossipQueueHighWaterBytes = 16 * 1024 * 1024
/** Longest `publish` waits for a slow peer's queue; after it, the message is queued anyway. */
export const publishBackpressureMs = 2_000

/** Default bound of one request body (a handler may raise it with `maxRequestBytes`). */
export const defaultMaxRequestBytes = 1024 * 1024
/** Default bound of one response body (a caller may raise it with `maxResponseBytes`). */
export const defaultMaxResponseBytes = 4 * 1024 * 1024
/** No request or response may exceed this, whatever the options say: it bounds a stream's buffer. */
export const maxMessageBytesCap = 64 * 1024 * 1024
/** Default deadline of a request, dial included. */
export const defaultRequestTimeoutMs = 10_000
/** Default deadline of a handler; the requester usually gives up first. */
export const defaultHandlerTimeoutMs = 30_000
/** Bytes of the error text a handler failure sends back: enough for a name and a reason. */
export const maxErrorTextBytes = 512
/** Concurrent inbound requests of one protocol on one connection (libp2p stream limit). */
export const maxInboundRequestsPerConnection = 32
/** Concurrent outbound requests of one protocol on one connection (libp2p stream limit). */
export const maxOutboundRequestsPerConnection = 64

/** First retry delay when dialling a bootstrap peer; doubles per failure. */
export const dialRetryInitialMs = 250
/** Longest delay between two dials of a bootstrap peer. */
export const dialRetryMaxMs = 10_000
/** Deadline of one dial attempt. */
export const dialTimeoutMs = 5_000

/** How often the host checks bootstrap connections, gossip streams, bans and peer exchange. */
export const maintenanceIntervalMs = 500
/**
 * A connected peer without an open outbound gossip stream for this long is disconnected (and
 * redialled): gossipsub never reopens a dead stream. Opening one takes milliseconds after identify,
 * but seconds when a dozen nodes start at once on two cores.
 */
export const gossipStreamGraceMs = 8_000

/** Peer exchange: first and longest interval between two exchanges with one peer. */
export const peerExchangeInitialMs = 500
export const peerExchangeMaxMs = 30_000
/** Peers listed in one exchange response, and addresses per peer. */
export const maxExchangePeers = 64
export const maxExchangeAddrsPerPeer = 4
/** Characters of one exchanged multiaddr. */
export const maxExchangeAddrChars = 256
/** Characters of a peer id string (an ed25519 id is 52). */
export const maxPeerIdChars = 128
/** Bytes of one exchange response: the worst-case list fits. */
export const maxExchangeResponseBytes = 128 * 1024
/** Connections the host opens by itself (bootstrap and exchanged peers) before it stops dialling. */
export const defaultTargetPeers = 32

/** Offences (weighted) before a peer is disconnected and refused. */
export const defaultBanThreshold = 3
/** How long a banned peer is refused. */
export const defaultBanMs = 10 * 60_000
/** Offences halve every this long, so rare mistakes never add up to a ban. */
export const offenceHalfLifeMs = 10 * 60_000
/** Peers whose standing the host remembers; past it the oldest record is forgotten. */
export const maxTrackedPeers = 4096

/** gossipsub heartbeat: mesh repair and gossip emission. Shorter than the default 1 s. */
export const gossipHeartbeatMs = 700
/**
 * gossipsub mesh degree. Publishing floods to every subscribed peer, so in the small, fully
 * connected networks of a validator set the mesh only adds redundancy; every mesh peer costs one
 * more copy of every message (8 MiB blocks included). D=4 measured 1.5–2.5× the throughput of
 * the default D=6 with 10 nodes, and keeps a random mesh connected.
 */
export const gossipMesh = { D: 4, Dlo: 3, Dhi: 8, Dout: 2, Dscore: 2 } as const
/** How long gossip message ids are remembered for deduplication. */
export const gossipSeenTtlMs = 120_000

assert.ok(maxGossipMessageBytes > maxBlockBytes, 'a full block must fit in one gossip message')
assert.ok(maxGossipFrameBytes > maxGossipMessageBytes)
assert.ok(gossipQueueHighWaterBytes + maxGossipFrameBytes <= maxGossipQueueBytes, 'one message above the high-water mark must not reset the stream')
assert.ok(defaultMaxRequestBytes <= maxMessageBytesCap && defaultMaxResponseBytes <= maxMessageBytesCap)
assert.ok(maxSyncResponseBytes <= maxMessageBytesCap, 'a block-sync response must fit in a response')
assert.ok(maxExchangePeers * (maxPeerIdChars + 8 + maxExchangeAddrsPerPeer * (maxExchangeAddrChars + 8)) <= maxExchangeResponseBytes, 'a full exchange list must fit in a response')
assert.ok(dialRetryInitialMs < dialRetryMaxMs)
assert.ok(peerExchangeInitialMs < peerExchangeMaxMs)
assert.ok(gossipMesh.Dlo <= gossipMesh.D && gossipMesh.D <= gossipMesh.Dhi && gossipMesh.Dout < gossipMesh.Dlo && gossipMesh.Dout <= gossipMesh.D / 2 && gossipMesh.Dscore <= gossipMesh.D)
