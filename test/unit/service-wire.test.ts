import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../src/foundations/errors.ts'
import { ProtocolViolationError, StreamFailedError, type DuplexLike } from '../../src/services/p2p/index.ts'
import { encodeVarint } from '../../src/services/p2p/frame.ts'
import {
  decodeBindRequest, decodeListResponse, encodeBindRequest, encodeListResponse, signBind, signUnbind, verifyChange,
  type BindingStatus
} from '../../src/services/service/bind-messages.ts'
import { backendUrl, checkBackendUrl, checkPathPrefix, matchBinding } from '../../src/services/service/binding.ts'
import { BindingMeter } from '../../src/services/service/binding-meter.ts'
import { BindingTable } from '../../src/services/service/binding-table.ts'
import { maxBindClockSkewMs, maxBindingsPerName, maxBodyFrameBytes, maxHeaderCount } from '../../src/services/service/constants.ts'
import { TooManyBindingsError } from '../../src/services/service/errors.ts'
import { endToEndHeaders, forwardedElement } from '../../src/services/service/headers.ts'
import {
  FrameReader, decodeRequestHead, decodeResponseHead, encodeRequestHead, encodeResponseHead, frameParts, writeBody
} from '../../src/services/service/http-wire.ts'

/** Chunks delivered one by one, as a stream would. */
async function * chunksOf (parts: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

function chunks (...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  return chunksOf(parts)
}

function bytesOf (parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

/** An in-memory write side: records what is written. */
function collector (): { stream: DuplexLike, written: Uint8Array[] } {
  const written: Uint8Array[] = []
  const stream: DuplexLike = {
    protocol: '/test',
    remotePeer: 'peer',
    signal: new AbortController().signal,
    send: (chunk) => { written.push(chunk.slice()); return true },
    onDrain: async () => {},
    write: async (chunk) => { written.push(chunk.slice()) },
    close: async () => {},
    abort: () => {},
    [Symbol.asyncIterator]: async function * () {}
  }
  return { stream, written }
}

// ------------------------------------------------------------------ heads

test('request and response heads: round trip, and every field checked', () => {
  const head = { method: 'POST', name: 'mysite.key', target: '/api/x?y=1', headers: [['content-type', 'text/plain'], ['x-a', '1'], ['x-a', '2']] as Array<[string, string]> }
  assert.deepEqual(decodeRequestHead(encodeRequestHead(head)), head)
  const bad = (patch: Record<string, unknown>): Uint8Array => encode({ ...head, ...patch })
  assert.throws(() => decodeRequestHead(bad({ method: 'GE T' })), MalformedMessageError)
  assert.throws(() => decodeRequestHead(bad({ name: 'MySite.key' })), /canonical/)
  assert.throws(() => decodeRequestHead(bad({ name: 'mysite.com' })), MalformedMessageError)
  assert.throws(() => decodeRequestHead(bad({ target: 'api/x' })), /starting with \//)
  assert.throws(() => decodeRequestHead(bad({ target: '/a b' })), MalformedMessageError)
  assert.throws(() => decodeRequestHead(bad({ target: '/a#frag' })), /fragment/)
  assert.throws(() => decodeRequestHead(bad({ headers: [['Content-Type', 'x']] })), /lower-case/)
  assert.throws(() => decodeRequestHead(bad({ headers: [['x-a', 'one\r\nx-b: two']] })), /forbidden character/)
  assert.throws(() => decodeRequestHead(bad({ headers: Array.from({ length: maxHeaderCount + 1 }, () => ['x', 'y']) })), MalformedMessageError)
  assert.throws(() => decodeRequestHead(bad({ extra: 1 })), /unexpected field/)

  const response = { status: 404, headers: [['content-type', 'application/json']] as Array<[string, string]> }
  assert.deepEqual(decodeResponseHead(encodeResponseHead(response)), response)
  assert.throws(() => decodeResponseHead(encode({ status: 101, headers: [] })), /200…599/)
  assert.throws(() => decodeResponseHead(encode({ status: 600, headers: [] })), /200…599/)
})

// ------------------------------------------------------------------ frames

test('frames: a head and a body read back across any chunking; bodies are split into bounded frames', async () => {
  const head = encodeRequestHead({ method: 'GET', name: 'a.key', target: '/', headers: [] })
  const { stream, written } = collector()
  const body = new Uint8Array(maxBodyFrameBytes * 2 + 10).map((_, i) => i & 0xff)
  for (const part of frameParts(head)) await stream.write(part)
  await writeBody(stream, chunks(body.subarray(0, 5), body.subarray(5)))
  const wire = bytesOf(written)
  // The first 2000 bytes one by one, the rest in odd slices: frames straddle every boundary.
  const slices: Uint8Array[] = []
  for (let at = 0; at < wire.byteLength; at += at < 2000 ? 1 : 997) slices.push(wire.subarray(at, at + (at < 2000 ? 1 : 997)))
  const reader = new FrameReader(chunksOf(slices))
  assert.deepEqual(await reader.readHead(1024), head)
  const got: Uint8Array[] = []
  for await (const chunk of reader.body()) {
    assert.ok(chunk.byteLength <= maxBodyFrameBytes)
    got.push(chunk.slice())
  }
  assert.deepEqual(bytesOf(got), body)
  assert.equal(reader.bodyDone, true)
  await reader.expectEnd()
})

test('frames: oversized, malformed and truncated input is refused early', async () => {
  // The declared length alone refuses a head: nothing more is read.
  await assert.rejects(new FrameReader(chunks(encodeVarint(2000))).readHead(1000), PayloadTooLargeError)
  await assert.rejects(new FrameReader(chunks(encodeVarint(1 << 20))).readHead(1000), PayloadTooLargeError)
  await assert.rejects(new FrameReader(chunks(Uint8Array.of(0))).readHead(1000), ProtocolViolationError)
  await assert.rejects(new FrameReader(chunks()).readHead(1000), StreamFailedError)
  await assert.rejects(new FrameReader(chunks(Uint8Array.of(5, 1, 2))).readHead(1000), StreamFailedError)

  const afterHead = (...rest: Uint8Array[]): FrameReader => new FrameReader(chunks(...frameParts(Uint8Array.of(1)), ...rest))
  const tooBig = afterHead(encodeVarint(maxBodyFrameBytes + 1))
  await tooBig.readHead(10)
  await assert.rejects(tooBig.readBodyChunk(), ProtocolViolationError)
  const nonMinimal = afterHead(Uint8Array.of(0x81, 0x00))
  await nonMinimal.readHead(10)
  await assert.rejects(nonMinimal.readBodyChunk(), /non-minimal/)
  const cut = afterHead(Uint8Array.of(3, 1))
  await cut.readHead(10)
  await assert.rejects(cut.readBodyChunk(), StreamFailedError)
  const noEnd = afterHead(Uint8Array.of(1, 9))
  await noEnd.readHead(10)
  assert.deepEqual(await noEnd.readBodyChunk(), Uint8Array.of(9))
  await assert.rejects(noEnd.readBodyChunk(), StreamFailedError, 'a body without its end frame is incomplete')
  const trailing = afterHead(Uint8Array.of(0, 7))
  await trailing.readHead(10)
  assert.equal(await trailing.readBodyChunk(), undefined)
  await assert.rejects(trailing.expectEnd(), /after the end/)
})

// ------------------------------------------------------------------ headers

test('headers: hop-by-hop and Connection-listed ones dropped, request-only ones dropped on requests', () => {
  const pairs: Array<[string, string]> = [
    ['Connection', 'X-Private, close'], ['x-private', '1'], ['Keep-Alive', 'timeout=5'], ['Transfer-Encoding', 'chunked'],
    ['Upgrade', 'websocket'], ['TE', 'trailers'], ['Proxy-Authorization', 'x'], ['Host', 'evil'], ['X-Keynet-Name', 'spoof.key'],
    ['Expect', '100-continue'], ['X-App', 'kept'], ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2']
  ]
  assert.deepEqual(endToEndHeaders(pairs, { request: true }), [['x-app', 'kept'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']])
  assert.deepEqual(endToEndHeaders(pairs, { request: false }).map(([n]) => n), ['host', 'x-keynet-name', 'expect', 'x-app', 'set-cookie', 'set-cookie'])
  assert.equal(forwardedElement('12D3KooWabc', 'mysite.key'), 'for=_12D3KooWabc;host="mysite.key";proto=keynet')
})

// ------------------------------------------------------------------ bindings

test('binding rules: prefixes, backends, matching by whole segments, backend URLs', () => {
  assert.equal(checkPathPrefix('/'), '/')
  assert.equal(checkPathPrefix('/api/v1'), '/api/v1')
  for (const bad of ['api', '/api/', '/a b', '/a?x', '/a/../b', '/a/./b', `/${'x'.repeat(300)}`]) assert.throws(() => checkPathPrefix(bad), MalformedMessageError, bad)
  assert.equal(checkBackendUrl('https://10.0.0.1:8443/base').port, '8443')
  for (const bad of ['ftp://x', 'not a url', 'http://u:p@x', 'http://x/?q=1', 'http://x/#f']) assert.throws(() => checkBackendUrl(bad), MalformedMessageError, bad)

  const bindings = [{ name: 'a.key', pathPrefix: '/', backend: 'root' }, { name: 'a.key', pathPrefix: '/api', backend: 'api' }, { name: 'a.key', pathPrefix: '/api/v2', backend: 'v2' }]
  const match = (target: string): string | undefined => matchBinding(bindings, target)?.backend
  assert.equal(match('/api'), 'api')
  assert.equal(match('/api/'), 'api')
  assert.equal(match('/api/v2/x?y'), 'v2')
  assert.equal(match('/apix'), 'root')
  assert.equal(match('/api/../admin'), 'root', 'dot segments are resolved before matching')
  assert.equal(match('/api/v2/%2e%2e/x'), 'api', 'encoded dot segments too')
  assert.equal(matchBinding(bindings.slice(1), '/other'), undefined)
  assert.equal(matchBinding(bindings.slice(1), '//api.evil/x'), undefined, 'a target stays a path')

  assert.equal(backendUrl('http://127.0.0.1:3000', '/api/x?y=1').href, 'http://127.0.0.1:3000/api/x?y=1')
  assert.equal(backendUrl('http://127.0.0.1:3000/base/', '/api/../x').href, 'http://127.0.0.1:3000/base/x')
  assert.equal(backendUrl('http://127.0.0.1:3000', '//evil.example/x').host, '127.0.0.1:3000')
})

test('bind messages: signed for one node and one operation, checked on decode', () => {
  const owner = generateKeyPair()
  const spec = { name: 'mysite.key', pathPrefix: '/api', backend: 'http://127.0.0.1:3000' }
  const bind = signBind(spec, 'node-a', owner, 1_000)
  assert.deepEqual(decodeBindRequest(encodeBindRequest(bind)), bind)
  assert.equal(verifyChange(bind, 'node-a'), true)
  assert.equal(verifyChange(bind, 'node-b'), false)
  assert.equal(verifyChange({ ...bind, time: 1_001 }, 'node-a'), false)
  assert.equal(verifyChange({ ...bind, pathPrefix: '/' }, 'node-a'), false)
  const unbind = signUnbind(spec, 'node-a', owner, 2_000)
  assert.equal(verifyChange(unbind, 'node-a'), true)
  assert.equal(verifyChange({ ...unbind, op: 'bind', backend: spec.backend }, 'node-a'), false)

  assert.throws(() => decodeBindRequest(encode({ op: 'delete', name: 'mysite.key' })), /bind, unbind or list/)
  assert.throws(() => decodeBindRequest(encode({ ...bind, extra: 1 })), /unexpected field/)
  assert.throws(() => decodeBindRequest(encode({ ...bind, ownerKey: new Uint8Array(31) })), /32 bytes/)
  assert.throws(() => decodeBindRequest(encode({ ...bind, backend: 'gopher://x' })), /http/)

  const status: BindingStatus = { ...spec, owner: addressOf(owner.publicKey), boundAt: 1_000, reachable: false, lastError: 'x'.repeat(1000), lastErrorAt: 5, requests: 3, errors: 1, inFlight: 0 }
  const [round] = decodeListResponse(encodeListResponse([status]))
  assert.equal(round?.lastError?.length, 300, 'error texts are cut to their bound')
  assert.deepEqual({ ...round, lastError: undefined }, { ...status, lastError: undefined })
})

test('binding table: persisted, bounded per name, unbinds remembered for the clock skew only', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keynet-table-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  let now = 1_000_000
  const clock = { now: () => now }
  const file = join(dir, 'bindings.json')
  const owner = addressOf(generateKeyPair().publicKey)
  const table = await BindingTable.open(file, clock)
  for (let i = 0; i < maxBindingsPerName; i++) await table.put({ name: 'a.key', pathPrefix: `/p${i}`, backend: 'http://127.0.0.1:1', owner, time: now })
  await assert.rejects(table.put({ name: 'a.key', pathPrefix: '/one-more', backend: 'http://127.0.0.1:1', owner, time: now }), TooManyBindingsError)
  await table.put({ name: 'a.key', pathPrefix: '/p0', backend: 'http://127.0.0.1:2', owner, time: now + 1 })
  await table.put({ name: 'b.key', pathPrefix: '/', backend: 'http://127.0.0.1:3', owner, time: now })
  assert.equal(await table.remove('a.key', '/p1', now + 5), true)
  assert.equal(table.lastChangeAt('a.key', '/p1'), now + 5)

  const reopened = await BindingTable.open(file, clock)
  assert.equal(reopened.size, maxBindingsPerName)
  assert.equal(reopened.get('a.key', '/p0')?.backend, 'http://127.0.0.1:2')
  assert.deepEqual(reopened.get('a.key', '/p0')?.owner, owner)
  assert.equal(reopened.lastChangeAt('a.key', '/p1'), now + 5, 'the unbind is remembered across a restart')
  now += maxBindClockSkewMs + 10
  assert.equal(reopened.lastChangeAt('a.key', '/p1'), undefined, 'past the skew, a replay is refused by its time anyway')

  await writeFile(file, '{"version":1,"bindings":[{"name":"a.key"}]}')
  await assert.rejects(BindingTable.open(file, clock), /not a valid bindings file/)
})

test('binding meter: counts and a cumulative latency histogram', () => {
  const meter = new BindingMeter()
  meter.begin()
  meter.answered(200, 3, 10)
  meter.end()
  meter.begin()
  meter.answered(503, 700, 20)
  meter.end()
  meter.begin()
  meter.failed('ECONNREFUSED', 30, { unreachable: true, counts: true })
  meter.end()
  const s = meter.snapshot({ name: 'a.key', pathPrefix: '/', backend: 'http://x' })
  assert.equal(s.requests, 3)
  assert.equal(s.errors, 1)
  assert.equal(s.inFlight, 0)
  assert.deepEqual(s.responses, { '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 1 })
  assert.equal(s.latency.count, 2)
  assert.equal(s.latency.counts[0], 1, '3 ms ≤ 5 ms')
  assert.equal(s.latency.counts[s.latency.counts.length - 1], 2)
  assert.ok(Math.abs(s.latency.sumSeconds - 0.703) < 1e-9)
  assert.equal(s.reachable, false)
  assert.equal(s.lastError, 'ECONNREFUSED')
  assert.equal(s.lastOkAt, 20)
})
