import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { PayloadTooLargeError, TimeoutError } from '../../src/foundations/errors.ts'
import { decode, encode } from '../../src/foundations/encoding.ts'
import {
  AbortedError, PeerBannedError, ProtocolUnsupportedError, ProtocolViolationError, RemoteHandlerError, createP2PHost,
  peerIdOf, peerIdOfPublicKey, publicKeyFromPeerId, type P2PHost, type P2PHostInit
} from '../../src/services/p2p/index.ts'
import { isPeerId } from '../../src/services/p2p/libp2p-identity.ts'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { generateKeyPair as generateLibp2pKeyPair } from '@libp2p/crypto/keys'
import { FrameDecoder, ResponseStatus, encodeRequest, encodeResponse, encodeVarint } from '../../src/services/p2p/frame.ts'
import { PeerStanding } from '../../src/services/p2p/standing.ts'
import { decodePeerList, encodePeerList } from '../../src/services/p2p/peer-exchange.ts'

const local = ['/ip4/127.0.0.1/tcp/0']

async function startHost (hosts: P2PHost[], init: Partial<P2PHostInit> = {}): Promise<P2PHost> {
  const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: local, ...init })
  await host.start()
  hosts.push(host)
  return host
}

async function stopAll (hosts: P2PHost[]): Promise<void> {
  await Promise.all(hosts.map(async h => { await h.stop() }))
}

async function waitFor (what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

// ------------------------------------------------------------------ pure parts

test('frames: round trip, byte by byte, and bounded', () => {
  const body = new Uint8Array(300).map((_, i) => i & 0xff)
  const req = Buffer.concat(encodeRequest(body))
  const dec = new FrameDecoder({ maxBodyBytes: 300, withStatus: false })
  let frame
  for (let i = 0; i < req.byteLength; i++) frame = dec.push(req.subarray(i, i + 1)) ?? frame
  assert.deepEqual(frame?.body, body)
  assert.throws(() => dec.push(new Uint8Array([1])), ProtocolViolationError)

  const res = Buffer.concat(encodeResponse(ResponseStatus.handlerError, new Uint8Array([7])))
  assert.deepEqual(new FrameDecoder({ maxBodyBytes: 1, withStatus: true }).push(res), { status: ResponseStatus.handlerError, body: new Uint8Array([7]) })

  // The declared length alone is enough to refuse: nothing is buffered.
  assert.throws(() => new FrameDecoder({ maxBodyBytes: 299, withStatus: false }).push(encodeVarint(300)), PayloadTooLargeError)
  assert.throws(() => new FrameDecoder({ maxBodyBytes: 1 << 20, withStatus: false }).push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), /length prefix too long/)
  assert.throws(() => new FrameDecoder({ maxBodyBytes: 10, withStatus: false }).push(new Uint8Array([0x81, 0x00])), /non-minimal/)
  assert.throws(() => new FrameDecoder({ maxBodyBytes: 10, withStatus: true }).push(new Uint8Array([9, 0])), /unknown response status/)
  assert.throws(() => new FrameDecoder({ maxBodyBytes: 10, withStatus: false }).push(new Uint8Array([1, 5, 6])), /after the end/)
})

test('standing: offences add up to a ban, decay, and a served ban wipes the slate', () => {
  let now = 0
  const s = new PeerStanding({ clock: { now: () => now }, banThreshold: 3, banMs: 1000, halfLifeMs: 100 })
  assert.equal(s.offend('a').banned, false)
  assert.equal(s.offend('a').banned, false)
  now += 1000 // ten half-lives: almost nothing left
  assert.ok(s.offences('a') < 0.01)
  s.offend('a'); s.offend('a')
  const third = s.offend('a')
  assert.equal(third.banned, true)
  assert.equal(third.newlyBanned, true)
  assert.equal(s.offend('a').newlyBanned, false)
  assert.deepEqual(s.banned(), ['a'])
  now += 1001
  assert.equal(s.isBanned('a'), false)
  assert.equal(s.offences('a'), 0)
  assert.equal(s.offend('b', 5).banned, true, 'a heavy offence bans at once')
})

test('peer lists: bounded, malformed input refused, bad entries dropped', () => {
  const peer = peerIdOf(generateKeyPair().secretKey)
  const list = decodePeerList(encodePeerList([
    { peer, addrs: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/udp/1/quic-v1', 'garbage'] },
    { peer: 'not-a-peer', addrs: ['/ip4/127.0.0.1/tcp/1'] }
  ]))
  assert.deepEqual(list, [{ peer, addrs: ['/ip4/127.0.0.1/tcp/4001'] }])
  assert.throws(() => decodePeerList(encode({ a: 1 })), /bounded array/)
  assert.throws(() => decodePeerList(encode([[peer, 'x']])), /addresses/)
  assert.throws(() => decodePeerList(encode(Array.from({ length: 65 }, () => [peer, []]))), /bounded array/)
  assert.throws(() => decodePeerList(new Uint8Array([0xff, 0x00])), /CBOR/)
  assert.equal(decode<unknown[]>(encodePeerList(Array.from({ length: 100 }, () => ({ peer, addrs: ['/ip4/1.2.3.4/tcp/1'] })))).length, 64)
})

test('identity: the peer id derives from the ed25519 secret and maps back to its public key', () => {
  const keys = generateKeyPair()
  const id = peerIdOf(keys.secretKey)
  assert.ok(isPeerId(id))
  assert.equal(peerIdOfPublicKey(keys.publicKey), id)
  assert.deepEqual(publicKeyFromPeerId(id), keys.publicKey)
  assert.equal(publicKeyFromPeerId('garbage'), undefined)
  assert.equal(isPeerId(''), false)
})

test('identity: peer ids built without libp2p match libp2p\'s, in both string forms; other key types are not ed25519', async () => {
  for (let i = 0; i < 20; i++) {
    const keys = generateKeyPair()
    const id = peerIdOfPublicKey(keys.publicKey)
    const parsed = peerIdFromString(id)
    assert.equal(parsed.type, 'Ed25519')
    assert.deepEqual(parsed.publicKey?.raw, keys.publicKey)
    assert.equal(parsed.toString(), id)
    assert.deepEqual(publicKeyFromPeerId(parsed.toCID().toString()), keys.publicKey)
  }
  const secp = peerIdFromPrivateKey(await generateLibp2pKeyPair('secp256k1')).toString()
  assert.ok(isPeerId(secp))
  assert.equal(publicKeyFromPeerId(secp), undefined)
  const id = peerIdOf(generateKeyPair().secretKey)
  assert.equal(publicKeyFromPeerId(id.slice(0, -1)), undefined)
  assert.equal(publicKeyFromPeerId(`${id}1`), undefined)
  assert.equal(publicKeyFromPeerId('bafybeigthdcbhrcno2miewutqmve53kidaqoufqtglufumgrvnymlhnxue'), undefined)
})

// ------------------------------------------------------------------ real TCP on 127.0.0.1

test('bootstrap: retries until the bootstrap peer starts, identity survives restart, redials after a drop', async (t) => {
  const hosts: P2PHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const secret = generateKeyPair().secretKey
  // Learn a free port, then free it again: the bootstrap peer is not up when A starts.
  const probe = await createP2PHost({ secretKey: secret, listen: local })
  await probe.start()
  const addr = probe.multiaddrs()[0]
  assert.ok(addr !== undefined)
  const port = /\/tcp\/(\d+)\//.exec(addr)?.[1]
  await probe.stop()
  assert.equal(probe.peerId, peerIdOf(secret))

  const a = await startHost(hosts, { bootstrap: [addr] })
  await sleep(800)
  assert.deepEqual(a.peers(), [])

  const b = await startHost(hosts, { secretKey: secret, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
  assert.equal(b.peerId, probe.peerId, 'same secret, same peer id')
  await waitFor('a to reach b', () => a.peers().includes(b.peerId), 10_000)

  // Drop the connection from b's side (b stops); a dials again once b is back.
  const dropped = new Promise<string>(resolve => { a.addEventListener('peer:disconnect', (e) => { resolve(e.detail) }, { once: true }) })
  await b.stop()
  assert.equal(await dropped, b.peerId)
  await b.start()
  await waitFor('a to reach b again', () => a.peers().includes(b.peerId), 10_000)
})

test('gossip: 4 nodes from one bootstrap address; every message reaches every other node once', async (t) => {
  const hosts: P2PHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const first = await startHost(hosts)
  for (let i = 0; i < 3; i++) await startHost(hosts, { bootstrap: first.multiaddrs() })
  const got = new Map<string, string[]>()
  for (const h of hosts) {
    got.set(h.peerId, [])
    h.subscribe('votes', (data) => { got.get(h.peerId)?.push(Buffer.from(data).toString()) })
  }
  // Peer exchange makes the network fully connected.
  await waitFor('full mesh', () => hosts.every(h => h.peers().length === 3))
  await Promise.all(hosts.map(async h => { await h.waitForTopicPeers('votes', 3, AbortSignal.timeout(5_000)) }))
  for (const [i, h] of hosts.entries()) {
    await h.publish('votes', Buffer.from(`m${i}`))
    await h.publish('votes', Buffer.from(`m${i}`)) // deduplicated
  }
  await waitFor('delivery', () => hosts.every(h => (got.get(h.peerId)?.length ?? 0) >= 3))
  await sleep(100)
  for (const [i, h] of hosts.entries()) {
    const expected = hosts.map((_, j) => `m${j}`).filter(m => m !== `m${i}`)
    assert.deepEqual(got.get(h.peerId)?.slice().sort(), expected)
  }

  // A validator that rejects drops the message before delivery and forwarding, and penalises the sender.
  const bad = hosts[3]!
  const seen: string[] = []
  hosts[0]!.subscribe('checked', (data) => { seen.push(Buffer.from(data).toString()) }, {
    validate: (data) => data[0] === 0x21 ? 'reject' : 'accept'
  })
  bad.subscribe('checked', () => {})
  await bad.waitForTopicPeers('checked', 1, AbortSignal.timeout(5_000))
  await hosts[0]!.waitForTopicPeers('checked', 1, AbortSignal.timeout(5_000))
  await bad.publish('checked', Buffer.from('!bad'))
  await bad.publish('checked', Buffer.from('good'))
  await waitFor('the good message', () => seen.length === 1)
  assert.deepEqual(seen, ['good'])
  assert.equal(hosts[0]!.isBanned(bad.peerId), false, 'one offence is not a ban')

  await assert.rejects(first.publish('votes', new Uint8Array(9 * 1024 * 1024)), PayloadTooLargeError)
  await assert.rejects(first.waitForTopicPeers('nobody', 1, AbortSignal.timeout(50)), TimeoutError)
})

test('request/response: echo, limits both ways, handler errors, timeouts, malformed input', async (t) => {
  const hosts: P2PHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const server = await startHost(hosts)
  const client = await startHost(hosts, { bootstrap: server.multiaddrs() })
  let handlerAborted = false
  await server.handle('/test/echo/1', async (request, from) => {
    assert.equal(from, client.peerId)
    return request
  }, { maxRequestBytes: 1024 })
  await server.handle('/test/fail/1', async () => { throw new TypeError('no such thing') })
  await server.handle('/test/slow/1', async (_request, _from, signal) => {
    await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }) })
    handlerAborted = true
    return new Uint8Array(0)
  })
  await waitFor('connection', () => client.peers().includes(server.peerId))

  const payload = new Uint8Array(1024).fill(7)
  assert.deepEqual(await client.request(server.peerId, '/test/echo/1', payload), payload)
  assert.deepEqual(await client.request(server.peerId, '/test/echo/1', new Uint8Array(0)), new Uint8Array(0))
  // Oversized requests are refused from the length prefix, small or large.
  await assert.rejects(client.request(server.peerId, '/test/echo/1', new Uint8Array(1025)), PayloadTooLargeError)
  await assert.rejects(client.request(server.peerId, '/test/echo/1', new Uint8Array(8 * 1024 * 1024)), PayloadTooLargeError)
  await assert.rejects(client.request(server.peerId, '/test/echo/1', payload, { maxResponseBytes: 1023 }), PayloadTooLargeError)
  await assert.rejects(client.request(server.peerId, '/test/fail/1', payload), (err: unknown) => {
    assert.ok(err instanceof RemoteHandlerError)
    assert.equal(err.remoteName, 'TypeError')
    assert.match(err.message, /no such thing/)
    return true
  })
  await assert.rejects(client.request(server.peerId, '/test/none/1', payload), ProtocolUnsupportedError)

  const started = Date.now()
  await assert.rejects(client.request(server.peerId, '/test/slow/1', payload, { timeoutMs: 200 }), TimeoutError)
  assert.ok(Date.now() - started < 1000)
  await waitFor('the handler to see the requester leave', () => handlerAborted, 2_000)
  const controller = new AbortController()
  setTimeout(() => { controller.abort() }, 50)
  await assert.rejects(client.request(server.peerId, '/test/slow/1', payload, { signal: controller.signal }), AbortedError)

  // A raw libp2p node sends garbage: the host answers "bad request" and keeps serving.
  const raw = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
  t.after(async () => { await raw.stop() })
  const serverAddr = server.multiaddrs()[0]
  assert.ok(serverAddr !== undefined)
  const stream = await raw.dialProtocol(multiaddr(serverAddr), '/test/echo/1')
  const reply: number[] = []
  stream.addEventListener('message', (e) => { reply.push(...e.data.subarray()) })
  stream.send(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))
  await waitFor('a reply to garbage', () => reply.length >= 2)
  assert.deepEqual(reply, [ResponseStatus.badRequest, 0])
  assert.deepEqual(await client.request(server.peerId, '/test/echo/1', payload), payload)
})

test('penalise: repeated offences disconnect and refuse the peer', async (t) => {
  const hosts: P2PHost[] = []
  t.after(async () => { await stopAll(hosts) })
  const judge = await startHost(hosts)
  const culprit = await startHost(hosts, { bootstrap: judge.multiaddrs() })
  await judge.handle('/test/echo/1', async (r) => r)
  await waitFor('connection', () => judge.peers().includes(culprit.peerId))
  const banned = new Promise<string>(resolve => { judge.addEventListener('peer:banned', (e) => { resolve(e.detail.peer) }, { once: true }) })
  judge.penalise(culprit.peerId, 'bad block')
  judge.penalise(culprit.peerId, 'bad vote')
  assert.deepEqual(judge.peers(), [culprit.peerId], 'two offences are tolerated')
  judge.penalise(culprit.peerId, 'bad vote')
  assert.equal(await banned, culprit.peerId)
  await waitFor('disconnect', () => judge.peers().length === 0 && culprit.peers().length === 0)
  // The culprit keeps redialling its bootstrap peer; the judge keeps refusing.
  await sleep(1_000)
  assert.deepEqual(judge.peers(), [])
  assert.equal(judge.isBanned(culprit.peerId), true)
  await assert.rejects(judge.request(culprit.peerId, '/test/echo/1', new Uint8Array(1)), PeerBannedError)
  await assert.rejects(culprit.request(judge.peerId, '/test/echo/1', new Uint8Array(1), { timeoutMs: 2_000 }), (err: unknown) => {
    assert.ok(err instanceof Error && ['PeerUnreachableError', 'StreamFailedError', 'TimeoutError'].includes(err.name), String(err))
    return true
  })
})
