import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { AbortedError, createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { ServiceClient, ServiceHost, type ServiceLimits } from '../../src/services/service/index.ts'

// ------------------------------------------------------------------ a real backend on 127.0.0.1

/** Byte `i` of every test body: deterministic, so both ends can hash or compare it. */
function pattern (from: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    const x = from + i
    out[i] = (x * 31 + (x >>> 11)) & 0xff
  }
  return out
}

function patternHash (length: number): string {
  const h = createHash('sha256')
  for (let at = 0; at < length; at += 1 << 20) h.update(pattern(at, Math.min(1 << 20, length - at)))
  return h.digest('hex')
}

interface Seen { headers: http.IncomingHttpHeaders, url: string, aborted: Promise<void>, answered: boolean }

const seen = new Map<string, Seen>()
/** Bytes a `/big` answer has handed to its socket, by request id (only as fast as the socket drains). */
const written = new Map<string, number>()
/** Bytes a `/slow-sink` has taken so far, by request id. */
const taken = new Map<string, number>()
let backend: http.Server
let backendUrl: string

async function writeAll (res: http.ServerResponse, chunk: Uint8Array): Promise<void> {
  if (!res.write(chunk)) await new Promise<void>((resolve) => { res.once('drain', resolve); res.once('close', resolve) })
}

before(async () => {
  backend = http.createServer((req, res) => {
    const id = String(req.headers['x-test-id'] ?? '')
    let closed!: () => void
    const entry: Seen = { headers: req.headers, url: req.url ?? '', aborted: new Promise(resolve => { closed = resolve }), answered: false }
    seen.set(id, entry)
    res.on('close', () => { if (!res.writableFinished) closed() })
    res.on('finish', () => { entry.answered = true })
    const url = new URL(req.url ?? '/', 'http://x')
    const route = url.pathname.replace(/^\/api/, '')
    if (route === '/echo') {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' })
      req.pipe(res)
    } else if (route === '/big') {
      const n = Number(url.searchParams.get('n'))
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) })
      void (async () => {
        written.set(id, 0)
        for (let at = 0; at < n && !res.destroyed; at += 64 * 1024) {
          const chunk = pattern(at, Math.min(64 * 1024, n - at))
          await writeAll(res, chunk)
          written.set(id, at + chunk.byteLength)
        }
        res.end()
      })().catch(() => { res.destroy() })
    } else if (route === '/slow-sink') {
      taken.set(id, 0)
      req.pause()
      void (async () => {
        // Take one MiB, then nothing for 2.5 s, then the rest.
        for await (const chunk of req) {
          const n = (taken.get(id) ?? 0) + (chunk as Buffer).byteLength
          taken.set(id, n)
          if (n >= 1 << 20 && n - (chunk as Buffer).byteLength < 1 << 20) await new Promise(resolve => setTimeout(resolve, 2500))
        }
        res.writeHead(200, { 'x-taken': String(taken.get(id)) })
        res.end()
      })().catch(() => { res.destroy() })
    } else if (route === '/fail') {
      res.writeHead(500, { 'content-type': 'text/plain', 'x-reason': 'db down' })
      res.end('backend says no')
    } else if (route === '/headers') {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'x-secret-hop, keep-alive',
        'x-secret-hop': 'must not pass',
        'keep-alive': 'timeout=5',
        'x-end-to-end': 'passes',
        'set-cookie': ['a=1', 'b=2']
      })
      res.end(JSON.stringify(req.headers))
    } else if (route === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
      res.end(gzipSync('hello, decoded'))
    } else if (route === '/hang') {
      // Never answers.
    } else if (route === '/trickle') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      const timer = setInterval(() => { res.write(pattern(0, 1024)) }, 20)
      res.on('close', () => { clearInterval(timer) })
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>(resolve => backend.listen(0, '127.0.0.1', resolve))
  backendUrl = `http://127.0.0.1:${(backend.address() as { port: number }).port}`
})

after(async () => {
  backend.closeAllConnections()
  await new Promise(resolve => backend.close(resolve))
})

// ------------------------------------------------------------------ a service node and a caller

interface Net { node: P2PHost, caller: P2PHost, service: ServiceHost, client: ServiceClient, owner: KeyPair }

async function setup (t: { after: (fn: () => Promise<void>) => void }, limits: Partial<ServiceLimits> = {}, clientInit: { headTimeoutMs?: number } = {}): Promise<Net> {
  const dataDir = await mkdtemp(join(tmpdir(), 'keynet-service-'))
  const owner = generateKeyPair()
  const node = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  const caller = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  const service = new ServiceHost({ host: node, dataDir, ownerOf: (name) => name === 'mysite.key' ? addressOf(owner.publicKey) : undefined, limits })
  t.after(async () => {
    await service.stop()
    await Promise.all([node.stop(), caller.stop()])
    await rm(dataDir, { recursive: true, force: true })
  })
  await node.start()
  await caller.start()
  await service.start()
  await caller.connect(node.multiaddrs()[0] as string)
  const client = new ServiceClient({ host: caller, ...clientInit })
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/api', backend: backendUrl }, owner)
  return { node, caller, service, client, owner }
}

let ids = 0
function request (path: string, init: RequestInit = {}): { req: Request, id: string } {
  const id = `t${++ids}`
  const headers = new Headers(init.headers)
  headers.set('x-test-id', id)
  return { id, req: new Request(`key://mysite.key${path}`, { ...init, headers, ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit) }
}

async function hashBody (res: Response, onChunk?: (total: number) => Promise<void>): Promise<{ bytes: number, hash: string }> {
  assert.ok(res.body !== null)
  const h = createHash('sha256')
  let bytes = 0
  for await (const chunk of res.body) {
    h.update(chunk)
    bytes += chunk.byteLength
    await onChunk?.(bytes)
  }
  return { bytes, hash: h.digest('hex') }
}

/** A request body of `length` pattern bytes, made only as fast as it is read; `pulled` says how far. */
function patternStream (length: number, chunkBytes = 64 * 1024): { body: ReadableStream<Uint8Array>, pulled: () => number } {
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull (controller) {
      if (at >= length) {
        controller.close()
        return
      }
      const n = Math.min(chunkBytes, length - at)
      controller.enqueue(pattern(at, n))
      at += n
    }
  }, { highWaterMark: 0 })
  return { body, pulled: () => at }
}

async function json (res: Response): Promise<{ error: { name: string, message: string } }> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/)
  return await res.json() as { error: { name: string, message: string } }
}

const MiB = 1 << 20

// ------------------------------------------------------------------ streaming both ways

test('GET a 20 MiB body and POST 20 MiB through an echo: every byte arrives, in order', async (t) => {
  const { node, client } = await setup(t)
  const size = 20 * MiB
  const expected = patternHash(size)

  const get = await client.forward(node.peerId, request(`/api/big?n=${size}`).req)
  assert.equal(get.status, 200)
  assert.equal(get.headers.get('content-length'), String(size))
  assert.deepEqual(await hashBody(get), { bytes: size, hash: expected })

  const { body } = patternStream(size)
  const post = await client.forward(node.peerId, request('/api/echo', { method: 'POST', body, headers: { 'content-type': 'application/x-test' } }).req)
  assert.equal(post.status, 200)
  assert.equal(post.headers.get('content-type'), 'application/x-test')
  assert.deepEqual(await hashBody(post), { bytes: size, hash: expected })
})

test('a slow reader holds the backend back: the download is paced, not buffered whole', async (t) => {
  const { node, client } = await setup(t)
  const size = 96 * MiB
  const { req, id } = request(`/api/big?n=${size}`)
  const res = await client.forward(node.peerId, req)
  let aheadWhilePaused = -1
  const got = await hashBody(res, async (read) => {
    if (aheadWhilePaused >= 0 || read < MiB) return
    // Stop reading for a while: whatever the backend managed to write meanwhile is buffered somewhere.
    await new Promise(resolve => setTimeout(resolve, 1500))
    aheadWhilePaused = (written.get(id) ?? 0) - read
  })
  assert.deepEqual(got, { bytes: size, hash: patternHash(size) })
  // Windows and socket buffers on the way hold some MiB; the rest waited for the reader.
  assert.ok(aheadWhilePaused >= 0 && aheadWhilePaused < 48 * MiB, `the backend got ${(aheadWhilePaused / MiB).toFixed(1)} MiB ahead of a paused reader`)
})

test('a slow backend holds the uploader back: the upload is paced, not buffered whole', async (t) => {
  const { node, client } = await setup(t)
  const size = 96 * MiB
  const { body, pulled } = patternStream(size)
  const { req, id } = request('/api/slow-sink', { method: 'POST', body })
  const pending = client.forward(node.peerId, req)
  // The sink takes one MiB, then nothing for 2.5 s: an uploader that does not wait would be done by then.
  while ((taken.get(id) ?? 0) < MiB) await new Promise(resolve => setTimeout(resolve, 20))
  await new Promise(resolve => setTimeout(resolve, 2000))
  const ahead = pulled() - (taken.get(id) ?? 0)
  const res = await pending
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-taken'), String(size))
  // Windows and socket buffers on the way hold some MiB; the rest waited for the backend.
  assert.ok(ahead < 56 * MiB, `the uploader got ${(ahead / MiB).toFixed(1)} MiB ahead of a paused backend`)
})

// ------------------------------------------------------------------ what passes, what does not

test('headers: end-to-end ones pass both ways, hop-by-hop ones are dropped, Forwarded and X-Keynet-* are set', async (t) => {
  const { node, caller, client } = await setup(t)
  const { req } = request('/api/headers?q=1', {
    headers: {
      'x-app': 'one',
      connection: 'x-private',
      'x-private': 'hop only',
      'proxy-authorization': 'Basic abc',
      te: 'trailers',
      'x-keynet-name': 'spoofed.key',
      forwarded: 'for=192.0.2.1'
    }
  })
  const res = await client.forward(node.peerId, req)
  assert.equal(res.status, 200)
  const got = await res.json() as Record<string, string>
  assert.equal(got['x-app'], 'one')
  for (const dropped of ['x-private', 'proxy-authorization', 'te']) assert.equal(got[dropped], undefined, `${dropped} must not reach the backend`)
  assert.equal(got['x-keynet-name'], 'mysite.key', 'the node sets the name, whatever the caller said')
  assert.equal(got['x-keynet-peer'], caller.peerId)
  assert.equal(got.forwarded, `for=192.0.2.1, for=_${caller.peerId};host="mysite.key";proto=keynet`)
  assert.match(got.host ?? '', /^127\.0\.0\.1:\d+$/, 'the backend sees its own host')

  assert.equal(res.headers.get('x-end-to-end'), 'passes')
  assert.equal(res.headers.get('x-secret-hop'), null)
  assert.equal(res.headers.get('keep-alive'), null)
  assert.equal(res.headers.get('connection'), null)
  assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2'])
})

test('bodies pass through undecoded; a caller without Accept-Encoding asks for identity', async (t) => {
  const { node, client } = await setup(t)
  const gz = await client.forward(node.peerId, request('/api/gzip', { headers: { 'accept-encoding': 'gzip' } }).req)
  assert.equal(gz.headers.get('content-encoding'), 'gzip')
  assert.equal(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString(), 'hello, decoded')
  const { req, id } = request('/api/headers')
  await (await client.forward(node.peerId, req)).arrayBuffer()
  assert.equal(seen.get(id)?.headers['accept-encoding'], 'identity')
})

test('a backend 500 passes through as it is', async (t) => {
  const { node, service, client } = await setup(t)
  const res = await client.forward(node.peerId, request('/api/fail').req)
  assert.equal(res.status, 500)
  assert.equal(res.headers.get('x-reason'), 'db down')
  assert.equal(await res.text(), 'backend says no')
  const stats = service.stats().bindings[0]
  assert.equal(stats?.responses['5xx'], 1)
  assert.equal(stats?.errors, 0, 'an answer from the backend is not a failure of the node')
})

test('a backend that hangs gets 504 within the deadline, and its request is aborted; a stalled upload gets 408', async (t) => {
  const { node, service, client } = await setup(t, { requestTimeoutMs: 600 })
  const { req, id } = request('/api/hang')
  const started = Date.now()
  const res = await client.forward(node.peerId, req)
  const elapsed = Date.now() - started
  assert.equal(res.status, 504)
  assert.equal((await json(res)).error.name, 'BackendTimeoutError')
  assert.ok(elapsed >= 550 && elapsed < 3_000, `504 after ${elapsed} ms`)
  await seen.get(id)?.aborted
  assert.equal(service.stats().bindings[0]?.errors, 1)

  // A caller whose body stalls is told so, and the backend is not blamed.
  const stalled = new ReadableStream<Uint8Array>({
    start (controller) { controller.enqueue(new Uint8Array(1000)) },
    async pull () { await new Promise(() => {}) }
  })
  const res408 = await client.forward(node.peerId, request('/api/slow-sink', { method: 'POST', body: stalled }).req)
  assert.equal(res408.status, 408)
  assert.equal((await json(res408)).error.name, 'RequestTimeoutError')
})

test('an unreachable backend gives 502 with a JSON reason', async (t) => {
  const { node, client, owner } = await setup(t)
  // A port that was free a moment ago: nothing listens there.
  const probe = http.createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise(resolve => probe.close(resolve))
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/gone', backend: `http://127.0.0.1:${port}` }, owner)
  const res = await client.forward(node.peerId, request('/gone/x').req)
  assert.equal(res.status, 502)
  const body = await json(res)
  assert.equal(body.error.name, 'BackendUnreachableError')
  assert.match(body.error.message, /ECONNREFUSED/)
  const listed = (await client.list(node.peerId, 'mysite.key')).find(b => b.pathPrefix === '/gone')
  assert.equal(listed?.reachable, false)
  assert.match(listed?.lastError ?? '', /ECONNREFUSED/)
})

test('the caller aborting while the backend works aborts the backend request', async (t) => {
  const { node, client } = await setup(t)
  const controller = new AbortController()
  const { req, id } = request('/api/hang')
  const pending = client.forward(node.peerId, req, controller.signal)
  while (!seen.has(id)) await new Promise(resolve => setTimeout(resolve, 10))
  controller.abort()
  await assert.rejects(pending, AbortedError)
  await seen.get(id)?.aborted
  assert.equal(seen.get(id)?.answered, false)
})

test('the caller aborting mid-body aborts the backend response', async (t) => {
  const { node, client } = await setup(t)
  const controller = new AbortController()
  const { req, id } = request('/api/trickle')
  const res = await client.forward(node.peerId, req, controller.signal)
  assert.equal(res.status, 200)
  const reader = res.body?.getReader()
  assert.ok(reader !== undefined)
  assert.equal((await reader.read()).done, false)
  controller.abort()
  await assert.rejects(async () => { for (;;) if ((await reader.read()).done) break }, AbortedError)
  await seen.get(id)?.aborted
})

test('a request body that breaks off aborts the backend request; it is never forwarded as a short body', async (t) => {
  const { node, client } = await setup(t)
  let sent = 0
  const broken = new ReadableStream<Uint8Array>({
    pull (controller) {
      if (sent >= 300_000) {
        controller.error(new Error('the disk went away'))
        return
      }
      controller.enqueue(pattern(sent, 100_000))
      sent += 100_000
    }
  })
  const { req, id } = request('/api/slow-sink', { method: 'POST', body: broken })
  await assert.rejects(client.forward(node.peerId, req), /the disk went away/)
  while (!seen.has(id)) await new Promise(resolve => setTimeout(resolve, 10))
  await seen.get(id)?.aborted
  assert.equal(seen.get(id)?.answered, false)
})

test('no binding for the name or path: 404 with a JSON reason', async (t) => {
  const { node, client } = await setup(t)
  const other = await client.forward(node.peerId, new Request('key://othersite.key/api/x'))
  assert.equal(other.status, 404)
  assert.equal((await json(other)).error.name, 'ServiceNotBoundError')
  const path = await client.forward(node.peerId, new Request('key://mysite.key/apix'))
  assert.equal(path.status, 404)
  assert.match((await json(path)).error.message, /mysite\.key\/apix/)
  // `..` cannot climb out of the bound prefix.
  const climbed = await client.forward(node.peerId, new Request('key://mysite.key/api/../admin'))
  assert.equal(climbed.status, 404)
})

test('an oversized head gets 431, an oversized body 413', async (t) => {
  const { node, client } = await setup(t, { maxHeaderBytes: 8 * 1024, maxRequestBodyBytes: 2 * MiB })
  const big = await client.forward(node.peerId, request('/api/echo', { headers: { 'x-big': 'x'.repeat(10_000) } }).req)
  assert.equal(big.status, 431)
  assert.equal((await json(big)).error.name, 'HeadersTooLargeError')
  // Past what the wire carries at all, the client answers by itself.
  const huge = await client.forward(node.peerId, request('/api/echo', { headers: { 'x-big': 'x'.repeat(70_000) } }).req)
  assert.equal(huge.status, 431)

  const declared = await client.forward(node.peerId, request('/api/echo', { method: 'POST', body: new Uint8Array(3 * MiB), headers: { 'content-length': String(3 * MiB) } }).req)
  assert.equal(declared.status, 413)
  assert.equal((await json(declared)).error.name, 'PayloadTooLargeError')
  // Without a Content-Length the body is counted as it flows.
  const streamed = await client.forward(node.peerId, request('/api/slow-sink', { method: 'POST', body: patternStream(3 * MiB).body }).req)
  assert.equal(streamed.status, 413)
  // A backend that answered before the limit was passed: its body breaks off, it is never cut short silently.
  const echoed = await client.forward(node.peerId, request('/api/echo', { method: 'POST', body: patternStream(3 * MiB).body }).req)
  assert.equal(echoed.status, 200)
  await assert.rejects(hashBody(echoed))
})

test('past the concurrency limit: 503 at once, then served again', async (t) => {
  const { node, client } = await setup(t, { maxConcurrentRequests: 1, requestTimeoutMs: 1_000 })
  const { req, id } = request('/api/hang')
  const first = client.forward(node.peerId, req)
  while (!seen.has(id)) await new Promise(resolve => setTimeout(resolve, 10))
  const second = await client.forward(node.peerId, request('/api/fail').req)
  assert.equal(second.status, 503)
  assert.equal((await json(second)).error.name, 'ServiceBusyError')
  assert.equal((await first).status, 504)
  assert.equal((await client.forward(node.peerId, request('/api/fail').req)).status, 500)
})

test('a service node that never answers: the client gives up after its head deadline', async (t) => {
  const { node, client } = await setup(t, { requestTimeoutMs: 5_000 }, { headTimeoutMs: 500 })
  const started = Date.now()
  await assert.rejects(client.forward(node.peerId, request('/api/hang').req), { name: 'TimeoutError' })
  assert.ok(Date.now() - started < 3_000)
})
