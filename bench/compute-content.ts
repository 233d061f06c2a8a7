/**
 * Compute with content on the network (issue 6, the content side), on a devnet of real
 * processes: one validator, two storage providers, two compute nodes, and the CLI as a user runs
 * it. The training example's data set is published as datasets.key.
 *
 * - The training job with its input as `key://datasets.key/iris.csv` (each provider fetches it by
 *   CID) and its checkpoints stored as content every second (uploaded to both storage providers,
 *   pinned from the runner's key), without failures. Anchor: the same job with the input inline
 *   and no checkpoints, on the same node.
 * - The same job under churn: its provider is SIGKILLed as soon as its first stored checkpoint
 *   reaches the client; the replacement fetches that checkpoint by CID and goes on. The figure is
 *   the no-failure time over the time under churn (target: at least 90 %), and how long after the
 *   kill the replacement was launched. The killed node is restarted for the next round.
 *
 * Run alone: `node bench/run.ts --only compute-content`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { buildExamples, irisLikeCsv } from '../scripts/build-examples.ts'
import type { DevnetFile } from '../src/node/devnet.ts'
import type { BenchRow } from './ledger.ts'
import { cliPath, keynetSync } from './bench-helpers.ts'

export interface ComputeContentBenchOptions {
  log: (line: string) => void
  quick?: boolean
}

/** One `keynet compute run`: its wall time, progress lines with their times, and its output. */
interface CliRun { ms: number, lines: Array<{ at: number, line: string }>, code: number | null, stdout: string }

function env (home: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, KEYNET_HOME: home, KEYNET_EXIT_WITH: String(process.pid) }
  delete e.NODE_TEST_CONTEXT
  return e
}

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

async function computeRun (home: string, args: string[], onLine?: (line: string) => void): Promise<CliRun> {
  const started = performance.now()
  const child = spawn(process.execPath, [cliPath, 'compute', 'run', ...args, '--json'], { env: env(home) })
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  const lines: CliRun['lines'] = []
  createInterface({ input: child.stderr }).on('line', line => { lines.push({ at: performance.now(), line }); onLine?.(line) })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  return { ms: performance.now() - started, lines, code, stdout }
}

export async function computeContentBench (opts: ComputeContentBenchOptions): Promise<BenchRow[]> {
  const { log } = opts
  const home = mkdtempSync(join(tmpdir(), 'keynet-bench-compute-content-'))
  const nodes: Array<{ child: ChildProcess, addr: string, peer: string }> = []
  try {
    const built = await buildExamples()
    log('bench: compute-content: starting a devnet: 1 validator, 2 storage providers, 2 compute nodes…')
    keynetSync(home, ['devnet', 'up', '--validators', '1', '--storage', '2', '--compute', '0', '--no-gateway', '--timeout', '120000'])
    const devnet = JSON.parse(readFileSync(join(home, 'devnet', 'devnet.json'), 'utf8')) as DevnetFile
    // (Re)starts compute node i; a restarted node keeps its key, so its funded account too.
    const startNode = async (i: number): Promise<{ child: ChildProcess, addr: string, peer: string, address: string }> => {
      const data = join(home, `compute-${i}`)
      rmSync(join(data, 'node.json'), { force: true })
      const child = spawn(process.execPath, [cliPath, 'node', 'start', '--roles', 'compute', '--data', data, '--genesis', join(home, 'devnet', 'genesis.json'),
        '--listen', '/ip4/127.0.0.1/tcp/0', '--api-listen', '127.0.0.1:0', '--cores', '1', '--memory', '512MiB', '--bootstrap', devnet.nodes[0]!.p2p], { env: env(home), stdio: 'ignore' })
      const deadline = Date.now() + 60_000
      while (!existsSync(join(data, 'node.json')) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
      const info = JSON.parse(readFileSync(join(data, 'node.json'), 'utf8')) as { id: string, p2p: string[], address: string }
      const p2p = info.p2p.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? info.p2p[0]!
      return { child, addr: p2p.includes('/p2p/') ? p2p : `${p2p}/p2p/${info.id}`, peer: info.id, address: info.address }
    }
    for (let i = 0; i < 2; i++) {
      const node = await startNode(i)
      nodes.push(node)
      keynetSync(home, ['account', 'send', node.address, '1000000', '--json'])
    }
    const steps = opts.quick === true ? 40_000 : 60_000
    const datasets = join(home, 'datasets')
    mkdirSync(datasets)
    const csv = join(datasets, 'iris.csv')
    writeFileSync(csv, irisLikeCsv({ options: { steps } }))
    keynetSync(home, ['name', 'register', 'datasets.key', '--json'])
    keynetSync(home, ['publish', datasets, '--name', 'datasets.key', '--replicas', '2', '--regions', '2', '--no-deal', '--json'])
    const common = [built.train, '--replicas', '1', '-o', join(home, 'model.txt')]
    const failed = (what: string, run: CliRun): Error => new Error(`the ${what} run failed:\n${run.lines.map(l => l.line).join('\n')}`)
    let model: string | undefined
    const sameModel = (what: string): void => {
      const got = readFileSync(join(home, 'model.txt'), 'utf8')
      model ??= got
      if (got !== model) throw new Error(`the ${what} run ended with another model`)
    }
    // The three kinds of run interleaved, so the machine's load (shared) weighs on each alike.
    const anchors: number[] = []
    const contents: number[] = []
    const churns: number[] = []
    const relaunches: number[] = []
    let stored = 0
    const rounds = opts.quick === true ? 1 : 3
    for (let round = 1; round <= rounds; round++) {
      log(`bench: compute-content: round ${round}/${rounds}: training ${steps} steps inline without checkpoints, then by key:// with checkpoints as content every 1 s, then the same under churn…`)
      const anchor = await computeRun(home, [...common, '--input', csv, '--provider', nodes[0]!.addr])
      if (anchor.code !== 0) throw failed('anchor', anchor)
      sameModel('anchor')
      anchors.push(anchor.ms)
      const content = await computeRun(home, [...common, '--input', 'key://datasets.key/iris.csv', '--checkpoint-every', '1s', '--provider', nodes[0]!.addr])
      if (content.code !== 0) throw failed('content', content)
      sameModel('content')
      contents.push(content.ms)
      stored = content.lines.filter(l => /stored as b/.test(l.line)).length
      let killedAt: number | undefined
      let killed: number | undefined
      const churn = await computeRun(home, [...common, '--input', 'key://datasets.key/iris.csv', '--checkpoint-every', '1s', ...nodes.flatMap(n => ['--provider', n.addr])], line => {
        // The first checkpoint stored as content (a runner just restarted may hand its first ones inline while its ledger catches up).
        const m = /^compute: checkpoint \d+ from (\S+) \(stored as/.exec(line)
        if (m !== null && killedAt === undefined) {
          killedAt = performance.now()
          killed = nodes.findIndex(n => n.peer === m[1])
          nodes[killed]?.child.kill('SIGKILL')
        }
      })
      if (churn.code !== 0 || killedAt === undefined || killed === undefined) throw failed('churn', churn)
      sameModel('churn')
      churns.push(churn.ms)
      const relaunch = churn.lines.find(l => l.at > killedAt! && / from checkpoint b/.test(l.line))
      if (relaunch !== undefined) relaunches.push(relaunch.at - killedAt)
      nodes[killed] = await startNode(killed)
    }
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
    const [anchorMs, contentMs, churnMs] = [median(anchors), median(contents), median(churns)]
    return [
      { group: 'compute', metric: `training (${steps} steps, 1 replica), input key:// by CID, ${stored} checkpoints stored as content (2 holders each); median of ${rounds}`, value: s(contentMs), target: '—', anchor: `input inline, no checkpoints: ${s(anchorMs)}` },
      {
        group: 'compute',
        metric: `the same under churn: provider killed after its first stored checkpoint, replacement fetches it by CID; median of ${rounds}`,
        value: `${(contentMs / churnMs * 100).toFixed(1)} % (${s(contentMs)} / ${s(churnMs)}); relaunched ${relaunches.length === 0 ? '?' : `${Math.round(median(relaunches))} ms`} after the kill`,
        target: '≥ 90 % of the no-failure run',
        anchor: 'the no-failure run with checkpoints as content'
      }
    ]
  } finally {
    for (const n of nodes) n.child.kill('SIGKILL')
    try { keynetSync(home, ['devnet', 'down']) } catch {}
    rmSync(home, { recursive: true, force: true })
  }
}
