// Providers and a client on real libp2p hosts over loopback: a task on 2 replicas is accepted and
// both are named for payment; a provider that returns a made-up result is outvoted by a third and
// named for slashing; a provider that is gone is replaced; a running task's checkpoints are
// watched by the client that asked for the run (and by nobody else), and resume it elsewhere.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import type { ComputeOffer } from '../../src/core/compute/index.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { ComputeClient, ComputeHost, computeRunProtocol } from '../../src/services/compute/index.ts'
import { decodeRunRequest, encodeRunResponse } from '../../src/services/compute/compute-protocol.ts'
import { randomBytes } from 'node:crypto'
import { buildExamples, irisLikeCsv } from '../../scripts/build-examples.ts'
import { runIdBytes } from '../../src/services/compute/compute-protocol.ts'

const MiB = 1024 * 1024

describe('compute over libp2p', () => {
  const hosts: P2PHost[] = []
  const providers: ComputeHost[] = []
  let client: ComputeClient
  let honest: P2PHost[]
  let cheat: P2PHost
  let gone: P2PHost
  let module: Uint8Array
  let train: Uint8Array
  const offer = (host: P2PHost, operator: string, price: number): ComputeOffer =>
    ({ provider: host.peerId, operator, region: 'eu', cores: 2, freeCores: 2, memoryBytes: 256 * MiB, price, score: 1 })
  const spec = { replicas: 2, spotCheckBps: 0, memoryBytes: 64 * MiB, maxPrice: 100, region: undefined, timeoutMs: 5000, maxOutputBytes: 1024 }

  before(async () => {
    const built = await buildExamples()
    module = readFileSync(built.hash)
    train = readFileSync(built.train)
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

  it('hands a running task\'s checkpoints to the client that asked for it, and the run resumes from one elsewhere', async () => {
    // 20,000 steps use about 2.2 × 10¹⁰ fuel: two checkpoints at 1 s of the task's (fuel) clock.
    const input = new TextEncoder().encode(irisLikeCsv({ options: { steps: 20_000 } }))
    const runId = new Uint8Array(randomBytes(runIdBytes))
    const request = { module: train, input, memoryBytes: 64 * MiB, timeoutMs: 60_000, maxOutputBytes: 4096, checkpointEveryMs: 1000, runId }
    const running = client.run(honest[0]!.peerId, request)
    const first = await client.watchCheckpoint(honest[0]!.peerId, runId, 0)
    assert.equal(first.seq, 1)
    assert.equal(first.checkpoint?.byteLength, 12 + 3 * 5 * 8, 'step and weights of 3 classes × (4 features + bias)')
    const stranger = new ComputeClient({ host: honest[1]! })
    await assert.rejects(stranger.watchCheckpoint(honest[0]!.peerId, runId, 0), /NotFound|no run of yours/)
    const whole = await running
    assert.equal(whole.status, 'ok')
    const unknown = await client.watchCheckpoint(honest[0]!.peerId, runId, 2)
    assert.deepEqual(unknown, { seq: 2, checkpoint: undefined, ended: false }, 'a run that is over is unknown')

    const { runId: _, ...rest } = request
    const resumed = await client.run(honest[1]!.peerId, { ...rest, checkpoint: first.checkpoint as Uint8Array })
    assert.match(resumed.stderr, /^resumed at step \d+/)
    assert.deepEqual(resumed.output, whole.output)
    assert.ok((resumed.fuelUsed ?? 0) < (whole.fuelUsed ?? 0), 'the resumed run did only the rest of the work')
  })
})
