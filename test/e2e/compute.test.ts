// Compute end to end with real processes: a one-validator devnet with four compute nodes (each
// registered on the ledger under its own operator, staked and offering compute), and the CLI.
// On the market: a task on 2 replicas is matched from the ledger's offers, its escrow opened,
// and the two providers are paid by the rules (balances move by exactly that); a cheating
// provider (KEYNET_TEST_COMPUTE_LIE=1, cheapest, so matched first) is outvoted by a tie-breaker,
// not paid, and its operator slashed. With --provider: a task on 2 replicas is accepted with
// the right output; with a provider killed (SIGKILL) among the chosen ones the task still
// completes on the others; `keynet compute status` reports what happened. The training example
// with --checkpoint-every: its provider is killed after its first checkpoint reached the client,
// another provider resumes from that checkpoint, and the model equals an uninterrupted run's.
// Content on the network: two storage nodes hold a data set published as datasets.key; a task's
// input is key://datasets.key/iris.csv (providers fetch it by CID), a large local input is put on
// the network first, the runners store checkpoints there (the replacement fetches the killed
// provider's checkpoint by CID), and `--resume <cid>` goes on from a stored checkpoint.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { buildExamples, irisLikeCsv } from '../../scripts/build-examples.ts'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { endorseProvider } from '../../src/core/ledger/providers.ts'
import type { ComputeTask } from '../../src/core/market/compute-tasks.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { loadOrCreateNodeKey } from '../../src/node/node-key.ts'
import { Sandbox } from '../../src/services/compute/sandbox.ts'
import { cliPath, eventually, keynet, keynetJson, readDevnetFile, tempHome, userEnv } from './harness.ts'

describe('compute e2e', { timeout: 300_000 }, () => {
  const home = tempHome('compute')
  const nodes: Array<{ child: { kill: (signal: NodeJS.Signals) => void }, addr: string, address: string }> = []
  let api: ApiClient
  let liar: ChildProcess | undefined
  const datasets = join(home, 'datasets')
  let hashWasm: string
  let trainWasm: string
  const input = join(home, 'input.bin')

  before(async () => {
    const built = await buildExamples()
    hashWasm = built.hash
    trainWasm = built.train
    writeFileSync(input, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13) & 0xff)))
    // Four compute nodes: the market tests use them from the ledger; the --provider tests after
    // them name three for the first tests (one is killed) and nodes 1–3 for the checkpoint test.
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '2', '--compute', '4', '--no-gateway', '--timeout', '150000'])
    assert.equal(up.code, 0, up.stderr)
    const file = readDevnetFile(join(home, 'devnet'))
    api = new ApiClient(file.nodes[0]!.api)
    for (const n of file.nodes.filter(n => n.roles.includes('compute'))) {
      const info = JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }
      nodes.push({ child: { kill: (signal) => { process.kill(n.pid, signal) } }, addr: n.p2p, address: info.address })
    }
    // The runners of the checkpoint tests pin checkpoints from their own keys: fund them.
    for (const n of nodes.slice(1)) await keynetJson(home, ['account', 'send', n.address, '1000000'])
    mkdirSync(datasets)
    writeFileSync(join(datasets, 'iris.csv'), irisLikeCsv({ options: { steps: 20_000 } }))
    await keynetJson(home, ['name', 'register', 'datasets.key'])
    await keynetJson(home, ['publish', datasets, '--name', 'datasets.key', '--replicas', '2', '--regions', '2', '--no-deal'])
  })
  after(async () => {
    liar?.kill('SIGKILL')
    await keynet(home, ['devnet', 'down'])
  })

  /** An account's balance and the transactions it has sent (each paid the chain's fee), read together. */
  const account = async (address: string): Promise<{ balance: number, nonce: number }> => {
    const a = await api.account(address)
    return { balance: a.balance, nonce: a.nonce }
  }
  const fee = 10
  const devAccount = (): string => readDevnetFile(join(home, 'devnet')).devAccount.address

  it('on the market: providers come from the ledger, the escrow pays the two agreeing providers by the rules and refunds the rest', async () => {
    const offers = await api.computeOffers()
    assert.equal(offers.offers.filter(o => o.live).length, 4)
    assert.equal(new Set(offers.offers.map(o => o.group)).size, 4, 'four operator groups from the ledger')
    const client = devAccount()
    const before = new Map(await Promise.all([client, ...nodes.map(n => n.address)].map(async a => [a, await account(a)] as const)))
    const out = join(home, 'out-market.txt')
    const result = await keynetJson<{ id: string, outcome: { kind: string, paid: string[] }, ledger: ComputeTask }>(home,
      ['compute', 'run', hashWasm, '--input', input, '--replicas', '2', '--timeout', '10s', '-o', out])
    assert.equal(result.outcome.kind, 'accepted')
    assert.equal(readFileSync(out, 'utf8'), expected())
    const task = await api.computeTask(result.id)
    assert.equal(task.status, 'closed')
    assert.equal(task.paid.length, 2)
    assert.deepEqual(task.slashed, [])
    assert.ok(task.providers.every(p => nodes.some(n => n.address === p.provider)), 'the assigned providers are the ledger\'s compute nodes')
    // Each paid its price × the core-seconds a quorum vouched for (the hash of 300 kB takes one).
    for (const p of task.paid) assert.equal(p.amount, task.providers.find(x => x.provider === p.provider)!.price * 1)
    assert.deepEqual(task.escrow, { deposited: task.escrow.deposited, paid: task.paid[0]!.amount + task.paid[1]!.amount, refunded: task.escrow.deposited - task.paid[0]!.amount - task.paid[1]!.amount, held: 0 })
    for (const p of task.paid) {
      const was = before.get(p.provider)!
      const now = await account(p.provider)
      assert.equal(now.balance, was.balance + p.amount - (now.nonce - was.nonce) * fee, `provider ${p.provider} gained its pay, less the fees of its own transactions`)
    }
    const now = await account(client)
    assert.equal(now.balance, before.get(client)!.balance - task.escrow.paid - (now.nonce - before.get(client)!.nonce) * fee, 'the client paid the work and its fees; the rest of the escrow came back')
    const status = await keynetJson<{ ledger: ComputeTask }>(home, ['compute', 'status', result.id])
    assert.equal(status.ledger.status, 'closed')
  })

  it('on the market: a cheating provider is outvoted by a tie-breaker, not paid, and its operator slashed', async () => {
    // A fifth compute node under a new operator, cheapest on the market, answering made-up results.
    const data = join(home, 'liar')
    const key = loadOrCreateNodeKey(data)
    const operator = generateKeyPair()
    const chainId = readDevnetFile(join(home, 'devnet')).chainId
    writeFileSync(join(data, 'operator.json'), JSON.stringify({ operator: 'liar', operatorKey: toHex(operator.publicKey), endorsement: toHex(endorseProvider(operator.secretKey, chainId, key.publicKey)) }))
    const address = toHex(addressOf(key.publicKey))
    const funded = await keynet(home, ['account', 'send', address, '1000000'])
    assert.equal(funded.code, 0, funded.stderr)
    const file = readDevnetFile(join(home, 'devnet'))
    liar = spawn(process.execPath, [cliPath, 'node', 'start', '--roles', 'compute', '--region', 'eu-west', '--compute-price', '1', '--cores', '1', '--memory', '512MiB',
      '--data', data, '--genesis', file.genesis, '--listen', '/ip4/127.0.0.1/tcp/0', '--api-listen', '127.0.0.1:0', '--bootstrap', file.nodes[0]!.p2p],
    { env: userEnv({ KEYNET_HOME: home, KEYNET_TEST_COMPUTE_LIE: '1' }), stdio: 'ignore' })
    await eventually('the cheating node offering compute', async () => (await api.computeOffers()).offers.find(o => o.provider === address && o.live), 90_000)
    const operatorAddress = toHex(addressOf(operator.publicKey))
    const stakeBefore = (await api.stake(operatorAddress)).amount
    const burntBefore = (await api.market()).burnt
    const liarBefore = await account(address)
    const out = join(home, 'out-liar.txt')
    const result = await keynetJson<{ id: string, outcome: { kind: string, paid: string[], slashed: string[] }, ledger: ComputeTask }>(home,
      ['compute', 'run', hashWasm, '--input', input, '--replicas', '2', '--timeout', '10s', '-o', out])
    assert.equal(result.outcome.kind, 'accepted')
    assert.equal(readFileSync(out, 'utf8'), expected(), 'the agreeing result, not the made-up one')
    const task = await api.computeTask(result.id)
    assert.equal(task.providers[0]?.provider, address, 'the cheapest offer was matched first')
    assert.equal(task.providers.length, 3, 'a tie-breaker was assigned within the escrow')
    assert.deepEqual(task.slashed, [address])
    assert.equal(task.paid.length, 2)
    assert.ok(!task.paid.some(p => p.provider === address), 'the cheat is not paid')
    assert.equal(task.status, 'closed')
    const stake = (await api.stake(operatorAddress)).amount
    assert.equal(stake, stakeBefore - Math.floor(stakeBefore / 10), 'a tenth of its operator\'s stake')
    assert.equal((await api.market()).burnt, burntBefore + (stakeBefore - stake), 'burnt, not paid to the client')
    const liarNow = await account(address)
    assert.equal(liarNow.balance, liarBefore.balance - (liarNow.nonce - liarBefore.nonce) * fee, 'nothing earned, only its own fees spent')
    const record = await api.record(address)
    assert.equal(record.periods.at(-1)?.outcome, 'wrong')
    liar.kill('SIGKILL')
  })

  let checkpointOfKilled: string | undefined
  let uninterruptedModel: string | undefined
  let liveRunners: typeof nodes = []
  const expected = (): string => `${createHash('sha256').update(readFileSync(input)).digest('hex')}\n`

  it('runs a task on 2 replicas and accepts the agreeing result', async () => {
    const out = join(home, 'out-1.txt')
    const result = await keynetJson<{ id: string, outcome: { kind: string, paid: string[], slashed: string[] }, output: string }>(home,
      ['compute', 'run', hashWasm, '--input', input, '--replicas', '2', '--provider', nodes[0]!.addr, '--provider', nodes[1]!.addr, '--provider', nodes[2]!.addr, '-o', out])
    assert.equal(result.outcome.kind, 'accepted')
    assert.equal(result.outcome.paid.length, 2)
    assert.deepEqual(result.outcome.slashed, [])
    assert.equal(readFileSync(out, 'utf8'), expected())
    const status = await keynetJson<{ id: string, output: string }>(home, ['compute', 'status', result.id])
    assert.equal(status.output, result.output)
  })

  it('completes on the others when a provider is killed', async () => {
    nodes[0]!.child.kill('SIGKILL')
    const out = join(home, 'out-2.txt')
    const result = await keynetJson<{ outcome: { kind: string, paid: string[] }, providers: Array<{ provider: string, result: string }> }>(home,
      ['compute', 'run', hashWasm, '--input', input, '--replicas', '2', '--provider', nodes[0]!.addr, '--provider', nodes[1]!.addr, '--provider', nodes[2]!.addr, '-o', out])
    assert.equal(result.outcome.kind, 'accepted')
    assert.equal(readFileSync(out, 'utf8'), expected())
  })

  it('runs a task on an input on the network: key://datasets.key/iris.csv, and a large local file put there first', async () => {
    const data = readFileSync(join(datasets, 'iris.csv'))
    const providers = nodes.slice(1, 3).flatMap(n => ['--provider', n.addr])
    const byName = await keynetJson<{ outcome: { kind: string }, input: string }>(home,
      ['compute', 'run', hashWasm, '--input', 'key://datasets.key/iris.csv', '--replicas', '2', ...providers, '-o', join(home, 'out-iris.txt')])
    assert.equal(byName.outcome.kind, 'accepted')
    assert.equal(readFileSync(join(home, 'out-iris.txt'), 'utf8'), `${createHash('sha256').update(data).digest('hex')}\n`)
    // The task names the file's CID on the network, not a hash of bytes the client sent.
    const got = await keynet(home, ['get', byName.input])
    assert.equal(got.stdout, data.toString())

    const large = join(home, 'large.bin')
    writeFileSync(large, Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff)))
    const put = await keynet(home, ['compute', 'run', hashWasm, '--input', large, '--replicas', '2', ...providers, '-o', join(home, 'out-large.txt'), '--json'])
    assert.equal(put.code, 0, put.stderr)
    assert.match(put.stderr, /input .*large\.bin \(3(\.\d+)? MiB\) put on the network as b\w+, held by 2 providers/)
    assert.equal(readFileSync(join(home, 'out-large.txt'), 'utf8'), `${createHash('sha256').update(readFileSync(large)).digest('hex')}\n`)
  })

  it('refuses a module that imports outside WASI with a clear error', async () => {
    const bad = join(home, 'bad.wasm')
    // (module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))
    writeFileSync(bad, Buffer.from('0061736d0100000001040160000002090103656e7601660000030201000503010001071402066d656d6f727902000673746172745f0001000a040102000b', 'hex'))
    const r = await keynet(home, ['compute', 'run', bad, '--input', input, '--provider', nodes[1]!.addr, '--provider', nodes[2]!.addr])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /UnsupportedImportError: .*"env" "f"/)
  })

  it('resumes the training job on another provider from the checkpoint of a killed one, with the same model', async () => {
    // About 3 s of training on the reference machine; the task checkpoints every second of its clock.
    const data = join(datasets, 'iris.csv')
    const sandbox = new Sandbox()
    const uninterrupted = await sandbox.run({ module: readFileSync(trainWasm), input: readFileSync(data), timeoutMs: 60_000 })
    await sandbox.close()
    assert.equal(uninterrupted.status, 'ok')
    const modelLine = (text: string): string | undefined => /^model [0-9a-f]{64}$/m.exec(text)?.[0]

    const providers = nodes.slice(1, 4)
    const peerOf = (addr: string): string => addr.slice(addr.lastIndexOf('/p2p/') + 5)
    const out = join(home, 'model.txt')
    const cli = spawn(process.execPath, [cliPath, 'compute', 'run', trainWasm, '--input', 'key://datasets.key/iris.csv', '--replicas', '2', '--checkpoint-every', '1s',
      ...providers.flatMap(n => ['--provider', n.addr]), '-o', out, '--json'], { env: userEnv({ KEYNET_HOME: home }) })
    let stdout = ''
    cli.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    let killed: string | undefined
    const progress: string[] = []
    createInterface({ input: cli.stderr }).on('line', line => {
      progress.push(line)
      const first = /^compute: checkpoint 1 from (\S+) /.exec(line)
      if (first !== null && killed === undefined) {
        killed = first[1]
        providers.find(n => peerOf(n.addr) === killed)?.child.kill('SIGKILL')
      }
    })
    const code = await new Promise<number | null>(resolve => cli.on('exit', resolve))
    assert.equal(code, 0, progress.join('\n'))
    assert.ok(killed !== undefined, `no checkpoint reached the client:\n${progress.join('\n')}`)

    const record = JSON.parse(stdout) as { outcome: { kind: string, paid: string[] }, checkpointEveryMs: number, checkpoint?: string, providers: Array<{ provider: string, result: string, resumedFrom?: string, checkpoints: number, lastCheckpoint?: string, note?: string }> }
    assert.equal(record.outcome.kind, 'accepted')
    assert.equal(record.checkpointEveryMs, 1000)
    const dead = record.providers.find(p => p.provider === killed)
    assert.ok(dead !== undefined && !record.outcome.paid.includes(killed), 'the killed provider ran the task and is not paid')
    assert.ok(dead.checkpoints >= 1)
    const resumed = record.providers.find(p => p.resumedFrom === killed)
    assert.ok(resumed !== undefined, `a replacement resumed from the killed provider's checkpoint:\n${progress.join('\n')}`)
    assert.ok(record.outcome.paid.includes(resumed.provider), 'the resumed run agreed with the uninterrupted replica')
    // The task says where it went on from: not from scratch.
    const step = Number(/^resumed at step (\d+)$/.exec(resumed.note ?? '')?.[1])
    assert.ok(step > 0 && step < 20_000, `resumed at step ${step}`)
    const model = readFileSync(out, 'utf8')
    assert.equal(model, new TextDecoder().decode(uninterrupted.output))
    assert.ok(modelLine(model) !== undefined && modelLine(model) === modelLine(new TextDecoder().decode(uninterrupted.output)))

    // The checkpoint travelled as content: stored by the killed runner, fetched by CID by the replacement.
    assert.ok(dead.lastCheckpoint?.startsWith('b'), `the killed provider's checkpoint was stored on the network:\n${progress.join('\n')}`)
    assert.ok(progress.some(l => l.startsWith(`compute: launched on ${resumed.provider} from checkpoint ${dead.lastCheckpoint!}`)), progress.join('\n'))
    assert.ok(record.checkpoint !== undefined)
    // Anyone can fetch it, verified, from its holders.
    const fetched = await keynet(home, ['get', dead.lastCheckpoint!, '-o', join(home, 'checkpoint.bin')])
    assert.equal(fetched.code, 0, fetched.stderr)
    // What the runners pinned stays bounded: the lost run's last checkpoint stays pinned (to resume
    // from); the checkpoints of the run that completed are unpinned by its runner.
    const api = new ApiClient(readDevnetFile(join(home, 'devnet')).nodes[0]!.api)
    assert.equal((await api.pin(dead.lastCheckpoint!)).cid, dead.lastCheckpoint)
    const completed = record.providers.find(p => p.provider !== killed && p.resumedFrom === undefined)
    assert.ok(completed?.lastCheckpoint !== undefined, 'the uninterrupted run stored checkpoints')
    await eventually('the completed run\'s checkpoint unpinned', async () => {
      try { await api.pin(completed.lastCheckpoint!) } catch (err) { return (err as Error).name === 'NotFoundError' ? true : undefined }
      return undefined
    }, 30_000)
    checkpointOfKilled = dead.lastCheckpoint!
    liveRunners = providers.filter(n => peerOf(n.addr) !== killed)
    uninterruptedModel = model
  })

  it('resumes a task from a checkpoint CID on the network (--resume), as a client that went away would', async () => {
    assert.ok(checkpointOfKilled !== undefined, 'the previous test stored a checkpoint')
    const out = join(home, 'model-resumed.txt')
    const result = await keynetJson<{ outcome: { kind: string }, providers: Array<{ note?: string }> }>(home,
      ['compute', 'run', trainWasm, '--input', 'key://datasets.key/iris.csv', '--replicas', '2', '--resume', checkpointOfKilled, ...liveRunners.flatMap(n => ['--provider', n.addr]), '-o', out])
    assert.equal(result.outcome.kind, 'accepted')
    for (const p of result.providers) assert.match(p.note ?? '', /^resumed at step [1-9]\d*$/)
    assert.equal(readFileSync(out, 'utf8'), uninterruptedModel)
  })
})
