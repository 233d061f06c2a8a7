/**
 * A response body that breaks off part-way, through the client's service access over real
 * service nodes (libp2p on loopback) and real HTTP backends: a small answer of declared length is
 * read whole before the caller sees it, so a cut-off one is retried on another node and the
 * caller gets the whole answer; an unsized (streamed) answer that breaks off fails the caller's
 * read with a `ResponseCutOffError` that says so, never passing as a short whole body.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seededRandom } from '../../src/foundations/clock.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { toHex } from '../../src/foundations/bytes.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { RoutingPools } from '../../src/services/routing/index.ts'
import { ResponseCutOffError, ServiceClient, ServiceHost } from '../../src/services/service/index.ts'
import type { ProviderInfo } from '../../src/services/content/directory.ts'
import { callService, type ServiceCallContext } from '../../src/sdk/service-access.ts'

const itemBytes = 1000
const item = new Uint8Array(itemBytes).map((_, i) => i % 251)

/** A backend copy; a `cutting` one breaks every body off part-way. */
function backend (cutting: boolean): http.Server {
  return http.createServer((req, res) => {
    req.resume()
    if (req.url === '/api/item') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(itemBytes) })
      if (!cutting) {
        res.end(item)
        return
      }
      res.write(item.subarray(0, 400), () => { setTimeout(() => { res.destroy() }, 20) })
    } else if (req.url === '/api/stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      res.write(new Uint8Array(64 * 1024), () => { setTimeout(() => { res.destroy() }, 20) })
    } else {
      res.writeHead(404).end()
    }
  })
}

interface Node { host: P2PHost, service: ServiceHost, backend: http.Server, info: ProviderInfo, dataDir: string }

const owner: KeyPair = generateKeyPair()
const nodes: Node[] = []
let caller: P2PHost
let services: ServiceClient

before(async () => {
  caller = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  await caller.start()
  services = new ServiceClient({ host: caller })
  for (const cutting of [true, false]) {
    const b = backend(cutting)
    await new Promise<void>(resolve => b.listen(0, '127.0.0.1', resolve))
    const dataDir = await mkdtemp(join(tmpdir(), 'keynet-cutoff-'))
    const keys = generateKeyPair()
    const host = await createP2PHost({ secretKey: keys.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    const service = new ServiceHost({ host, dataDir, ownerOf: (name) => name === 'mysite.key' ? addressOf(owner.publicKey) : undefined })
    await host.start()
    await service.start()
    await caller.connect(host.multiaddrs()[0] as string)
    await services.bind(host.peerId, { name: 'mysite.key', pathPrefix: '/api', backend: `http://127.0.0.1:${(b.address() as { port: number }).port}` }, owner)
    const info: ProviderInfo = {
      address: toHex(addressOf(keys.publicKey)), peerId: host.peerId, publicKey: toHex(keys.publicKey), kinds: ['service'], operator: 'op', region: 'local', addrs: host.multiaddrs()
    }
    nodes.push({ host, service, backend: b, info, dataDir })
  }
})

after(async () => {
  for (const n of nodes) {
    await n.service.stop()
    await n.host.stop()
    n.backend.closeAllConnections()
    await new Promise(resolve => n.backend.close(resolve))
    await rm(n.dataDir, { recursive: true, force: true })
  }
  await caller.stop()
})

function context (pools: RoutingPools, providers: ProviderInfo[]): ServiceCallContext {
  return {
    host: caller,
    pools,
    services,
    name: { name: 'mysite.key', owner: toHex(addressOf(owner.publicKey)), version: 1, records: {} },
    endpoint: { path: '/api', protocol: 'http', providers: providers.map(p => p.address) },
    providers
  }
}

const get = { method: 'GET', headers: new Headers(), body: undefined, signal: undefined }

test('a small answer cut off part-way is retried on another node: the caller gets the whole answer, and the cutting node is counted as failing', async () => {
  const pools = new RoutingPools({ random: seededRandom(7) })
  const ctx = context(pools, nodes.map(n => n.info))
  const cutter = nodes[0]!.info.address
  let cutterFailures = 0
  for (let i = 0; i < 40 && cutterFailures === 0; i++) {
    const res = await callService(ctx, 'key://mysite.key/api/item', get)
    assert.equal(res.status, 200)
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), item, 'never a short body')
    const pool = pools.snapshot().find(p => p.name === 'service:mysite.key/api')!
    cutterFailures = pool.providers.find(p => p.id === cutter)!.errors
  }
  assert.ok(cutterFailures >= 1, 'the cutting node was asked, failed, and the call went on to the other')
})

test('a streamed answer that breaks off fails the caller\'s read with a clear ResponseCutOffError', async () => {
  const pools = new RoutingPools({ random: seededRandom(7) })
  const ctx = context(pools, [nodes[1]!.info])
  const res = await callService(ctx, 'key://mysite.key/api/stream', get)
  assert.equal(res.status, 200, 'the head came before the body broke off')
  await assert.rejects(res.arrayBuffer(), (err: unknown) => {
    assert.ok(err instanceof ResponseCutOffError, `got ${String(err)}`)
    assert.match(err.message, /broke the response body off after \d+ bytes/)
    return true
  })
})
