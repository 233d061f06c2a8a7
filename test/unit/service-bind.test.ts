import { test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { MalformedMessageError, NameNotFoundError, NotOwnerError } from '../../src/foundations/errors.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import {
  BackendNotAllowedError, ServiceClient, ServiceHost, StaleRequestError, bindProtocol, bindingsFileName, signBind, signUnbind
} from '../../src/services/service/index.ts'
import { encodeBindRequest } from '../../src/services/service/bind-messages.ts'

interface Net {
  node: P2PHost
  caller: P2PHost
  service: ServiceHost
  client: ServiceClient
  owner: KeyPair
  owners: Map<string, Uint8Array>
  dataDir: string
  backend: string
}

async function setup (t: { after: (fn: () => Promise<void>) => void }, init: { clockSkewMs?: number, allowBackend?: (url: URL) => boolean } = {}): Promise<Net> {
  const dataDir = await mkdtemp(join(tmpdir(), 'keynet-bind-'))
  const owner = generateKeyPair()
  const owners = new Map<string, Uint8Array>([['mysite.key', addressOf(owner.publicKey)]])
  const nodeKey = generateKeyPair().secretKey
  const node = await createP2PHost({ secretKey: nodeKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  const caller = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  const server = http.createServer((req, res) => { res.end(`backend ${req.url}`) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const service = new ServiceHost({ host: node, dataDir, ownerOf: (name) => owners.get(name), allowBackend: init.allowBackend })
  t.after(async () => {
    await service.stop()
    await Promise.all([node.stop(), caller.stop()])
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
    await rm(dataDir, { recursive: true, force: true })
  })
  await node.start()
  await caller.start()
  await service.start()
  await caller.connect(node.multiaddrs()[0] as string)
  const skew = init.clockSkewMs ?? 0
  const client = new ServiceClient({ host: caller, clock: { now: () => Date.now() + skew } })
  return { node, caller, service, client, owner, owners, dataDir, backend: `http://127.0.0.1:${(server.address() as { port: number }).port}` }
}

test('the owner binds, lists and unbinds; requests follow the bindings', async (t) => {
  const { node, client, owner, backend } = await setup(t)
  const bound = await client.bind(node.peerId, { name: 'MySite.key', pathPrefix: '/api', backend }, owner)
  assert.equal(bound.name, 'mysite.key', 'names are canonical')
  assert.deepEqual(bound.owner, addressOf(owner.publicKey))

  const res = await client.forward(node.peerId, new Request('key://mysite.key/api/hello'))
  assert.equal(await res.text(), 'backend /api/hello')

  const listed = await client.list(node.peerId, 'mysite.key')
  assert.equal(listed.length, 1)
  assert.equal(listed[0]?.backend, backend)
  assert.equal(listed[0]?.reachable, true)
  assert.equal(listed[0]?.requests, 1)
  assert.deepEqual(await client.list(node.peerId, 'other.key'), [])

  assert.equal(await client.unbind(node.peerId, { name: 'mysite.key', pathPrefix: '/api' }, owner), true)
  assert.equal(await client.unbind(node.peerId, { name: 'mysite.key', pathPrefix: '/api' }, owner), false)
  assert.equal((await client.forward(node.peerId, new Request('key://mysite.key/api/hello'))).status, 404)
})

test('a key that does not own the name is refused, and so is an unregistered name', async (t) => {
  const { node, client, backend } = await setup(t)
  const stranger = generateKeyPair()
  await assert.rejects(client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/api', backend }, stranger), NotOwnerError)
  await assert.rejects(client.bind(node.peerId, { name: 'unknown.key', pathPrefix: '/', backend }, stranger), NameNotFoundError)
  assert.deepEqual(await client.list(node.peerId, 'mysite.key'), [])
})

test('a bind signed too far from the node clock is refused, either way', async (t) => {
  const past = await setup(t, { clockSkewMs: -6 * 60_000 })
  await assert.rejects(past.client.bind(past.node.peerId, { name: 'mysite.key', pathPrefix: '/', backend: past.backend }, past.owner), StaleRequestError)
  const future = await setup(t, { clockSkewMs: 6 * 60_000 })
  await assert.rejects(future.client.bind(future.node.peerId, { name: 'mysite.key', pathPrefix: '/', backend: future.backend }, future.owner), StaleRequestError)
  // Within the skew: accepted.
  const near = await setup(t, { clockSkewMs: -4 * 60_000 })
  await near.client.bind(near.node.peerId, { name: 'mysite.key', pathPrefix: '/', backend: near.backend }, near.owner)
})

test('signed changes cannot be replayed: not after a newer change, not to another node, not as another operation', async (t) => {
  const { node, caller, owner, backend } = await setup(t)
  const spec = { name: 'mysite.key', pathPrefix: '/api', backend }
  const now = Date.now()
  const bind = signBind(spec, node.peerId, owner, now - 1000)
  const unbind = signUnbind(spec, node.peerId, owner, now)
  const send = async (body: Uint8Array): Promise<Uint8Array> => await caller.request(node.peerId, bindProtocol, body)
  await send(encodeBindRequest(bind))
  await send(encodeBindRequest(unbind))
  await assert.rejects(send(encodeBindRequest(bind)), /StaleRequestError/, 'the bind signed before the unbind')
  await assert.rejects(send(encodeBindRequest(unbind)), /StaleRequestError/, 'the same unbind again')

  const forOther = signBind(spec, caller.peerId, owner, now + 1000)
  await assert.rejects(send(encodeBindRequest(forOther)), /InvalidSignatureError/, 'signed for another node')
  const swapped = { ...signUnbind(spec, node.peerId, owner, now + 2000), op: 'bind' as const, backend }
  await assert.rejects(send(encodeBindRequest(swapped)), /InvalidSignatureError/, 'an unbind signature on a bind')
  const otherBackend = { ...signBind(spec, node.peerId, owner, now + 3000), backend: 'http://127.0.0.1:1' }
  await assert.rejects(send(encodeBindRequest(otherBackend)), /InvalidSignatureError/, 'the backend changed after signing')
})

test('bad signatures and malformed requests are refused with their reason', async (t) => {
  const { node, caller, client, owner, backend } = await setup(t)
  const change = signBind({ name: 'mysite.key', pathPrefix: '/', backend }, node.peerId, owner, Date.now())
  change.signature = new Uint8Array(64)
  await assert.rejects(caller.request(node.peerId, bindProtocol, encodeBindRequest(change)), /InvalidSignatureError/)
  await assert.rejects(client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/api/', backend }, owner), MalformedMessageError)
  await assert.rejects(client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/api', backend: 'ftp://x' }, owner), MalformedMessageError)
  await assert.rejects(client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/api', backend: 'http://u:p@127.0.0.1:1' }, owner), MalformedMessageError)
  // The node checks for itself what a client would have checked.
  await assert.rejects(caller.request(node.peerId, bindProtocol, encode({ op: 'bind', name: 'mysite.key' })), /MalformedMessageError/)
  await assert.rejects(caller.request(node.peerId, bindProtocol, encodeBindRequest({ ...change, pathPrefix: '/a/../b' })), /MalformedMessageError: pathPrefix/)
  // Each malformed request counts against the sender's standing (a third would ban it).
  assert.equal(node.isBanned(caller.peerId), false)
})

test('list probes a backend it knows nothing about', async (t) => {
  const { node, client, owner } = await setup(t)
  const probe = http.createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as { port: number }).port
  await new Promise(resolve => probe.close(resolve))
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/', backend: `http://127.0.0.1:${port}` }, owner)
  const [listed] = await client.list(node.peerId, 'mysite.key')
  assert.equal(listed?.reachable, false)
  assert.match(listed?.lastError ?? '', /ECONNREFUSED/)
  assert.equal(listed?.errors, 0, 'a probe is not a failed request')
})

test("the operator's backend policy is enforced at bind time and for every request", async (t) => {
  let allowLoopback = false
  const { node, client, owner, backend } = await setup(t, { allowBackend: (url) => allowLoopback || url.hostname !== '127.0.0.1' })
  await assert.rejects(client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/', backend }, owner), BackendNotAllowedError)
  allowLoopback = true
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/', backend }, owner)
  assert.equal((await client.forward(node.peerId, new Request('key://mysite.key/x'))).status, 200)
  allowLoopback = false
  const refused = await client.forward(node.peerId, new Request('key://mysite.key/x'))
  assert.equal(refused.status, 403)
  assert.equal(((await refused.json()) as { error: { name: string } }).error.name, 'BackendNotAllowedError')
})

test('bindings survive a restart; a binding whose key no longer owns the name serves nothing', async (t) => {
  const { node, client, service, owner, owners, dataDir, backend } = await setup(t)
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/', backend }, owner)
  await client.bind(node.peerId, { name: 'mysite.key', pathPrefix: '/v2', backend: `${backend}/v2` }, owner)
  const file = JSON.parse(await readFile(join(dataDir, bindingsFileName), 'utf8')) as { bindings: unknown[] }
  assert.equal(file.bindings.length, 2)

  await service.stop()
  const again = new ServiceHost({ host: node, dataDir, ownerOf: (name) => owners.get(name) })
  t.after(async () => { await again.stop() })
  await again.start()
  assert.deepEqual(again.bindings('mysite.key').map(b => b.pathPrefix).sort(), ['/', '/v2'])
  // The longest prefix wins, and the backend's own path comes first.
  assert.equal(await (await client.forward(node.peerId, new Request('key://mysite.key/v2/x?a=1'))).text(), 'backend /v2/v2/x?a=1')
  assert.equal(await (await client.forward(node.peerId, new Request('key://mysite.key/other'))).text(), 'backend /other')

  owners.set('mysite.key', addressOf(generateKeyPair().publicKey))
  const res = await client.forward(node.peerId, new Request('key://mysite.key/other'))
  assert.equal(res.status, 404)
  assert.match(((await res.json()) as { error: { message: string } }).error.message, /does not own the name now/)
})
