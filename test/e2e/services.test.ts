import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fromHex, toHex } from '../../src/foundations/bytes.ts'
import { addressOf, keyPairFromSecret } from '../../src/foundations/crypto.ts'
import { encodeSignedTx, signTx, txId } from '../../src/core/ledger/tx.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { connect, type KeynetClient } from '../../src/sdk/index.ts'
import { ServiceClient } from '../../src/services/service/index.ts'
import { eventually, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'

/** One copy of the backend, fronted by one service node; the test sets how it behaves. */
interface Backend { server: Server, url: string, hits: number, mode: 'ok' | 'slow' | 'error' | 'hang', slowMs: number }

async function startBackend (id: number): Promise<Backend> {
  const b: Backend = { server: createServer(), url: '', hits: 0, mode: 'ok', slowMs: 0 }
  b.server.on('request', (req, res) => {
    b.hits++
    req.resume()
    if (b.mode === 'hang') return
    if (b.mode === 'error') { res.writeHead(500, { 'content-type': 'text/plain' }).end('broken'); return }
    const answer = (): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ backend: id, path: req.url })) }
    if (b.mode === 'slow') setTimeout(answer, b.slowMs)
    else setTimeout(answer, 5)
  })
  await new Promise<void>(resolve => b.server.listen(0, '127.0.0.1', resolve))
  b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`
  return b
}

describe('services behind a name: quality-based routing over five real service nodes', { timeout: 420_000 }, () => {
  const home = tempHome('services')
  const dir = join(home, 'devnet')
  const backends: Backend[] = []
  let net: KeynetClient
  let nodes: Array<{ name: string, pid: number, address: string, peerId: string, p2p: string }>

  /** Sends `n` requests, `parallel` at a time; returns how many failed. */
  async function load (n: number, parallel = 4): Promise<{ failed: number, statuses: number[] }> {
    const statuses: number[] = []
    let firstError: string | undefined
    let next = 0
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < n) {
        next++
        const res = await net.fetch('key://svc.key/api/item', { signal: AbortSignal.timeout(30_000) })
        const text = await res.text()
        statuses.push(res.status)
        if (res.status !== 200 && firstError === undefined) firstError = text.slice(0, 300)
      }
    }))
    if (firstError !== undefined) process.stderr.write(`first failure: ${firstError}\n`)
    return { failed: statuses.filter(s => s !== 200).length, statuses }
  }

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '5', '--compute', '0', '--no-gateway', '--timeout', '150000'])
    assert.equal(up.code, 0, up.stderr)
    const file = readDevnetFile(dir)
    nodes = file.nodes.filter(n => n.roles.includes('service')).map(n => ({
      name: n.name, pid: n.pid, p2p: n.p2p, peerId: n.id, address: (JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }).address
    }))
    assert.equal(nodes.length, 5)
    await keynetJson(home, ['name', 'register', 'svc.key'])
    // A service node checks bindings against its own ledger: wait until each has the name.
    const serviceApis = file.nodes.filter(n => n.roles.includes('service')).map(n => new ApiClient(n.api))
    await eventually('every service node knows svc.key', async () => (await Promise.all(serviceApis.map(async a => a.name('svc.key').then(() => true, () => false)))).every(Boolean) ? true : undefined)
    // Each service node fronts its own copy of the backend, so the test can break one copy.
    const owner = keyPairFromSecret(fromHex((JSON.parse(readFileSync(join(dir, 'dev-account.json'), 'utf8')) as { secretKey: string }).secretKey))
    net = await connect({ api: file.nodes[0]!.api })
    const services = new ServiceClient({ host: net.host })
    for (const [i, n] of nodes.entries()) {
      const b = await startBackend(i)
      backends.push(b)
      await net.host.connect(n.p2p)
      await services.bind(n.peerId, { name: 'svc.key', pathPrefix: '/api', backend: b.url }, owner)
    }
    const api = new ApiClient(file.nodes[0]!.api)
    const account = await api.account(toHex(addressOf(owner.publicKey)))
    const records = { ...(await api.name('svc.key')).records, service: [{ path: '/api', protocol: 'http' as const, providers: nodes.map(n => n.address) }] }
    const tx = encodeSignedTx(signTx({ chainId: file.chainId, from: owner.publicKey, nonce: account.pendingNonce, fee: 10, body: { type: 'name-update', name: 'svc.key', records } }, owner.secretKey))
    await api.submitTx(tx)
    const status = await api.tx(toHex(txId(tx)), 10_000)
    assert.equal(status.error, undefined)
  })

  after(async () => {
    await net?.close()
    for (const b of backends) b.server.closeAllConnections()
    for (const b of backends) b.server.close()
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('spreads load over all five healthy copies', async () => {
    const { failed } = await load(100)
    assert.equal(failed, 0)
    assert.ok(backends.every(b => b.hits > 0), `every copy served some: ${backends.map(b => b.hits).join(', ')}`)
  })

  it('a copy that answers 500 fast is ejected and never costs a user request', async () => {
    backends[0]!.mode = 'error'
    const { failed } = await load(150)
    assert.equal(failed, 0)
    const pool = net.pools.snapshot().find(p => p.name === 'service:svc.key/api')!
    const bad = pool.providers.find(p => p.id === nodes[0]!.address)!
    assert.ok(bad.ejections >= 1, 'the failing copy was ejected')
    backends[0]!.mode = 'ok'
  })

  it('a copy ten times slower gets a small share of the traffic', async () => {
    for (const b of backends) b.hits = 0
    backends[1]!.mode = 'slow'
    backends[1]!.slowMs = 200
    await load(100)
    for (const b of backends) b.hits = 0
    const { failed } = await load(200)
    assert.equal(failed, 0)
    const total = backends.reduce((n, b) => n + b.hits, 0)
    // A fair share would be 20%; the router starves the slow copy (the bench measures how fast).
    assert.ok(backends[1]!.hits / total < 0.12, `the slow copy served ${backends[1]!.hits} of ${total}`)
    backends[1]!.mode = 'ok'
  })

  it('a copy that hangs and a service node killed with -9 cost no failed requests', async () => {
    backends[2]!.mode = 'hang'
    process.kill(nodes[3]!.pid, 'SIGKILL')
    const { failed, statuses } = await load(120)
    assert.equal(failed, 0, `statuses: ${statuses.filter(s => s !== 200).join(',')}`)
    const pool = net.pools.snapshot().find(p => p.name === 'service:svc.key/api')!
    assert.notEqual(pool.providers.find(p => p.id === nodes[3]!.address)?.state, 'active')
  })
})
