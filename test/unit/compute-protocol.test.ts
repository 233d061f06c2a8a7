// Providers and a client on real libp2p hosts over loopback: a task on 2 replicas is accepted and
// both are named for payment; a provider that returns a made-up result is outvoted by a third and
// named for slashing; a provider that is gone is replaced.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import type { ComputeOffer } from '../../src/core/compute/index.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { ComputeClient, ComputeHost, computeRunProtocol } from '../../src/services/compute/index.ts'
import { decodeRunRequest, encodeRunResponse } from '../../src/services/compute/compute-protocol.ts'
import { buildExamples } from '../../scripts/build-examples.ts'

const MiB = 1024 * 1024

describe('compute over libp2p', () => {
  const hosts: P2PHost[] = []
  const providers: ComputeHost[] = []
  let client: ComputeClient
  let honest: P2PHost[]
  let cheat: P2PHost
  let gone: P2PHost
  let module: Uint8Array
  const offer = (host: P2PHost, operator: string, price: number): ComputeOffer =>
    ({ provider: host.peerId, operator, region: 'eu', cores: 2, freeCores: 2, memoryBytes: 256 * MiB, price, score: 1 })
  const spec = { replicas: 2, spotCheckBps: 0, memoryBytes: 64 * MiB, maxPrice: 100, region: undefined, timeoutMs: 5000, maxOutputBytes: 1024 }

  before(async () => {
    module = readFileSync((await buildExamples()).hash)
    const start = async (bootstrap: string[] = []): Promise<P2PHost> => {
      const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap })
      await host.start()
      hosts.push(host)
      return host
    }
    const first = await start()
    const boot = first.multiaddrs()
    honest = [first, await start(boot), await start(boot)]
    for (const host of honest) {
      const provider = new ComputeHost({ host, cores: 2, memoryBytes: 256 * MiB })
      await provider.start()
      providers.push(provider)
    }
    // A provider that answers every task with a made-up result without running it.
    cheat = await start(boot)
    await cheat.handle(computeRunProtocol, async (request) => {
      decodeRunRequest(request)
      return encodeRunResponse({ status: 'ok', exitCode: 0, output: new TextEncoder().encode('0'.repeat(64) + '\n'), stderr: '', message: undefined, fuelUsed: 1, checkpoint: undefined })
    }, { maxRequestBytes: 64 * MiB })
    gone = await start(boot)
    const clientHost = await start([...honest, cheat, gone].flatMap(h => h.multiaddrs()))
    client = new ComputeClient({ host: clientHost })
    const live = [...honest, cheat].map(h => h.peerId)
    const deadline = Date.now() + 20_000
    while (!live.every(p => clientHost.peers().includes(p))) {
      if (Date.now() > deadline) throw new Error('the client did not connect to the providers')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    await gone.stop()
  })
  after(async () => {
    for (const p of providers) await p.stop()
    await Promise.all(hosts.filter(h => h !== gone).map(async h => { await h.stop() }))
  })

  it('accepts matching results of 2 replicas under distinct operators and pays both', async () => {
    const input = new TextEncoder().encode('two replicas')
    const result = await client.runVerified({ taskId: 't-ok', spec, offers: [offer(honest[0]!, 'A', 10), offer(honest[1]!, 'B', 10), offer(honest[2]!, 'A', 1)], module, input, secretSeed: new Uint8Array(32) })
    assert.equal(result.outcome.kind, 'accepted', JSON.stringify([...result.reports].map(([p, r]) => [p.slice(-6), r.error ?? r.response?.status ?? r.digest])))
    assert.equal(new TextDecoder().decode(result.output), `${createHash('sha256').update(input).digest('hex')}\n`)
    if (result.outcome.kind !== 'accepted') return
    assert.equal(result.outcome.paid.length, 2)
    assert.deepEqual(result.outcome.slashed, [])
    assert.ok(result.outcome.paid.includes(honest[2]!.peerId), 'the cheapest of operator A')
    assert.ok(!result.outcome.paid.includes(honest[0]!.peerId), 'one provider per operator')
  })

  it('catches a provider that returns a made-up result: not paid, named for slashing', async () => {
    const input = new TextEncoder().encode('catch the cheat')
    const offers = [offer(cheat, 'C', 1), offer(honest[0]!, 'A', 5), offer(honest[1]!, 'B', 10)]
    const result = await client.runVerified({ taskId: 't-cheat', spec, offers, module, input, secretSeed: new Uint8Array(32) })
    assert.equal(result.outcome.kind, 'accepted', JSON.stringify([...result.reports].map(([p, r]) => [p.slice(-6), r.error ?? r.response?.status ?? r.digest])))
    if (result.outcome.kind !== 'accepted') return
    assert.deepEqual(result.outcome.slashed, [cheat.peerId])
    assert.deepEqual(new Set(result.outcome.paid), new Set([honest[0]!.peerId, honest[1]!.peerId]))
    assert.equal(new TextDecoder().decode(result.output), `${createHash('sha256').update(input).digest('hex')}\n`)
  })

  it('replaces a provider that is gone, without paying or slashing it', async () => {
    const input = new TextEncoder().encode('one is gone')
    const offers = [offer(gone, 'G', 1), offer(honest[0]!, 'A', 5), offer(honest[1]!, 'B', 10)]
    const result = await client.runVerified({ taskId: 't-gone', spec, offers, module, input, secretSeed: new Uint8Array(32) })
    assert.equal(result.outcome.kind, 'accepted', JSON.stringify([...result.reports].map(([p, r]) => [p.slice(-6), r.error ?? r.response?.status ?? r.digest])))
    if (result.outcome.kind !== 'accepted') return
    assert.deepEqual(result.outcome.slashed, [])
    assert.deepEqual(new Set(result.outcome.paid), new Set([honest[0]!.peerId, honest[1]!.peerId]))
    assert.ok(result.reports.get(gone.peerId)?.error !== undefined)
  })
})
