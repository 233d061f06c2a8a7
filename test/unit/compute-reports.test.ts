// Signed result reports over real libp2p hosts: a provider asked to run a task with escrow signs
// its result (digest and core-seconds) with its node key for the chain and task; a cheating
// provider's made-up result comes signed too, so its report is evidence against it; a run
// request with a malformed task id is refused.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { cidForBlock, rawCode } from '../../src/core/content/index.ts'
import { resultDigest } from '../../src/core/compute/index.ts'
import { verifyComputeReport } from '../../src/core/market/compute-tasks.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { ComputeClient, ComputeHost } from '../../src/services/compute/index.ts'
import { decodeRunRequest, encodeRunRequest, type RunRequest } from '../../src/services/compute/compute-protocol.ts'
import { buildExamples } from '../../scripts/build-examples.ts'

const MiB = 1024 * 1024
const chainId = 'keynet-test'
const taskId = 'ab'.repeat(32)

describe('signed compute reports', () => {
  const hosts: P2PHost[] = []
  const providers: ComputeHost[] = []
  const keys: KeyPair[] = []
  let client: ComputeClient
  let request: RunRequest

  before(async () => {
    const module = readFileSync((await buildExamples()).hash)
    request = { module, input: new TextEncoder().encode('signed'), memoryBytes: 64 * MiB, timeoutMs: 2000, maxOutputBytes: 1024, taskId }
    for (const lie of [false, true]) {
      const key = generateKeyPair()
      const host = await createP2PHost({ secretKey: key.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: hosts.flatMap(h => h.multiaddrs()) })
      await host.start()
      const provider = new ComputeHost({ host, cores: 1, memoryBytes: 256 * MiB, reports: { key, chainId }, lie })
      await provider.start()
      hosts.push(host)
      providers.push(provider)
      keys.push(key)
    }
    const clientHost = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: hosts.flatMap(h => h.multiaddrs()) })
    await clientHost.start()
    hosts.push(clientHost)
    client = new ComputeClient({ host: clientHost })
    const deadline = Date.now() + 20_000
    while (!hosts.slice(0, 2).every(h => clientHost.peers().includes(h.peerId))) {
      if (Date.now() > deadline) throw new Error('the client did not connect')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })
  after(async () => {
    for (const p of providers) await p.stop()
    for (const h of hosts) await h.stop()
  })

  const check = (i: number, response: Awaited<ReturnType<ComputeClient['run']>>): string => {
    assert.ok(response.report !== undefined, 'a run of a task with escrow comes with a signed report')
    const digest = resultDigest({ status: response.status, exitCode: response.exitCode, outputCid: cidForBlock(rawCode, response.output) })
    const statement = { taskId, provider: toHex(addressOf(keys[i]!.publicKey)), digest, coreSeconds: response.report.coreSeconds }
    assert.ok(verifyComputeReport(keys[i]!.publicKey, chainId, statement, response.report.sig), 'signed by the node key over what it returned')
    assert.ok(!verifyComputeReport(keys[i]!.publicKey, 'another-chain', statement, response.report.sig), 'bound to the chain')
    assert.ok(!verifyComputeReport(keys[i]!.publicKey, chainId, { ...statement, taskId: 'cd'.repeat(32) }, response.report.sig), 'bound to the task')
    assert.ok(!verifyComputeReport(keys[i]!.publicKey, chainId, { ...statement, coreSeconds: statement.coreSeconds + 1 }, response.report.sig), 'bound to the core-seconds')
    return digest
  }

  it('an honest provider signs its result; a cheating one signs its made-up result, which is evidence against it', async () => {
    const honest = await client.run(hosts[0]!.peerId, request)
    assert.equal(honest.status, 'ok')
    assert.equal(honest.report?.coreSeconds, 1)
    const cheat = await client.run(hosts[1]!.peerId, request)
    assert.notEqual(check(0, honest), check(1, cheat))
    const untracked = await client.run(hosts[0]!.peerId, { ...request, taskId: undefined } as RunRequest)
    assert.equal(untracked.report, undefined, 'no task id, no report')
  })

  it('a run request with a malformed task id is refused', () => {
    assert.throws(() => decodeRunRequest(encodeRunRequest({ ...request, taskId: 'not-hex' })), /taskId must be 64 lower-case hex/)
  })
})
