// Compute end to end with real processes: a one-validator devnet for the genesis, three
// `keynet node start --roles compute` nodes, and the CLI: a task on 2 replicas is accepted with
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
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { buildExamples, irisLikeCsv } from '../../scripts/build-examples.ts'
import { Sandbox } from '../../src/services/compute/sandbox.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { cliPath, eventually, keynet, keynetJson, readDevnetFile, tempHome, userEnv } from './harness.ts'

describe('compute e2e', () => {
  const home = tempHome('compute')
  const nodes: Array<{ child: ChildProcess, addr: string, address: string }> = []
  const datasets = join(home, 'datasets')
  let hashWasm: string
  let trainWasm: string
  const input = join(home, 'input.bin')

  before(async () => {
    const built = await buildExamples()
    hashWasm = built.hash
    trainWasm = built.train
    writeFileSync(input, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13) & 0xff)))
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '2', '--no-gateway', '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    const genesis = join(home, 'devnet', 'genesis.json')
    // Three for the first tests (one is killed), three for the checkpoint test (nodes 1–3).
    for (let i = 0; i < 4; i++) {
      const data = join(home, `compute-${i}`)
      const child = spawn(process.execPath, [cliPath, 'node', 'start', '--roles', 'compute', '--data', data, '--genesis', genesis,
        '--listen', '/ip4/127.0.0.1/tcp/0', '--api-listen', '127.0.0.1:0', '--cores', '2', '--memory', '512MiB', '--exit-with', String(process.pid),
        // It follows the chain: its ledger view says which storage providers hold what.
        '--bootstrap', readDevnetFile(join(home, 'devnet')).nodes[0]!.p2p],
      { env: userEnv({ KEYNET_HOME: home }), stdio: 'ignore' })
      const info = await eventually(`compute node ${i}`, async () => {
        const path = join(data, 'node.json')
        return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) as { id: string, p2p: string[], pid: number, address: string } : undefined
      }, 60_000)
      const p2p = info.p2p.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? info.p2p[0] as string
      nodes.push({ child, addr: p2p.includes('/p2p/') ? p2p : `${p2p}/p2p/${info.id}`, address: info.address })
    }
    // The runners of the checkpoint tests pin checkpoints from their own keys: fund them.
    for (const n of nodes.slice(1)) await keynetJson(home, ['account', 'send', n.address, '1000000'])
    mkdirSync(datasets)
    writeFileSync(join(datasets, 'iris.csv'), irisLikeCsv({ options: { steps: 20_000 } }))
    await keynetJson(home, ['name', 'register', 'datasets.key'])
    await keynetJson(home, ['publish', datasets, '--name', 'datasets.key', '--replicas', '2', '--regions', '2', '--no-deal'])
  })
  after(async () => {
    for (const n of nodes) n.child.kill('SIGKILL')
    await keynet(home, ['devnet', 'down'])
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
