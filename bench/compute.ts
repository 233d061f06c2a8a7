/**
 * Compute benchmarks (issue 6), in this process and its sandbox workers:
 *
 * - Sandbox overhead: the same AssemblyScript module (examples/compute/hash: SHA-256 of 32 MiB;
 *   examples/compute/train: logistic regression) run as a task (`Sandbox.run`: fuel-instrumented,
 *   in a fresh worker, input copied in, output hashed into a CID) against the same module
 *   called directly in Node (not instrumented, instantiated in this thread, the same WASI glue).
 *   Anchors: the same module instrumented but run in this thread (the cost of fuel alone),
 *   SHA-256 in plain JavaScript, and Node's native SHA-256 (OpenSSL).
 * - Task start latency: from `Sandbox.run` to the task running (its module instantiated in a
 *   worker), with a spare worker waiting and, as the anchor, with a worker started per task;
 *   and the whole latency of a small task on 2 replicas run side by side in this process.
 * - Over the network, with provider processes (this file run with `--serve`: a libp2p host and a
 *   `ComputeHost` each) and a `ComputeClient` here: a small task on 2 replicas end to end
 *   (`runVerified`: matching, both runs, digests, verdict), and the ML job under churn — the
 *   training example with a checkpoint interval, its provider SIGKILLed every N seconds (each
 *   replacement resumes from the last checkpoint the client received), against the same job
 *   without failures; the anchor is the job without checkpoints.
 * - Fuel rate: fuel units per millisecond the hash reaches, beside the `fuelPerMs` constant that
 *   turns a task's timeout into fuel.
 *
 * Each figure is the median of several runs. Run alone: `node bench/compute.ts [--quick] [--json]`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '../src/foundations/crypto.ts'
import { fuelPerMs } from '../src/core/compute/constants.ts'
import { prepareModule } from '../src/core/compute/prepare-module.ts'
import { maxExtraProviders, type ComputeOffer } from '../src/core/compute/index.ts'
import { ComputeClient } from '../src/services/compute/compute-client.ts'
import { ComputeHost } from '../src/services/compute/compute-host.ts'
import { Sandbox } from '../src/services/compute/sandbox.ts'
import { createP2PHost, type P2PHost } from '../src/services/p2p/index.ts'
import { TaskWasi } from '../src/services/compute/task-wasi.ts'
import { buildExamples, irisLikeCsv } from '../scripts/build-examples.ts'
import type { BenchRow } from './ledger.ts'
import { pct } from './bench-helpers.ts'

const MiB = 1024 * 1024

/** Options of `computeBench`. */
export interface ComputeBenchOptions {
  log: (line: string) => void
  quick?: boolean
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}


async function timed (fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

/** Compiled modules of the direct runs: compiled once, as the sandbox caches its compiled modules. */
const compiled = new Map<Uint8Array, WebAssembly.Module>()

/** Runs a WASI module in this thread with the sandbox's WASI glue; returns its stdout. */
async function runInThread (bytes: Uint8Array, input: Uint8Array, initialFuel?: number): Promise<Uint8Array> {
  let module = compiled.get(bytes)
  if (module === undefined) {
    module = await WebAssembly.compile(bytes)
    compiled.set(bytes, module)
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'keynet-bench-'))
  try {
    const wasi = new TaskWasi({ input, stateDir, maxOutputBytes: MiB, seed: new Uint8Array(32), initialFuel })
    const outcome = wasi.run(new WebAssembly.Instance(module, wasi.imports))
    if (outcome.status !== 'ok') throw new Error(`direct run ended ${outcome.status}: ${outcome.message ?? outcome.stderr}`)
    return outcome.output
  } finally {
    rmSync(stateDir, { recursive: true, force: true })
  }
}

export async function computeBench (opts: ComputeBenchOptions): Promise<BenchRow[]> {
  const { log } = opts
  const repeats = opts.quick === true ? 3 : 5
  const rows: BenchRow[] = []
  const built = await buildExamples(log)
  const hash = readFileSync(built.hash)
  const train = readFileSync(built.train)
  const sandbox = new Sandbox()
  try {
    // --- overhead: SHA-256 ---------------------------------------------------------------------
    const hashInput = new Uint8Array(32 * MiB).map((_, i) => (i * 2654435761) >>> 24)
    const expected = `${createHash('sha256').update(hashInput).digest('hex')}\n`
    const timeoutMs = 60_000
    const instrumented = prepareModule(hash, { memoryBytes: 256 * MiB, fuel: timeoutMs * fuelPerMs }).bytes
    const task: number[] = []
    const direct: number[] = []
    const fuelOnly: number[] = []
    const plainJs: number[] = []
    const native: number[] = []
    let fuelUsed = 0
    for (let i = 0; i < repeats; i++) {
      // A provider fetches each input for its run and hands the buffer over: copied here, untimed.
      const own = hashInput.slice()
      task.push(await timed(async () => {
        const r = await sandbox.run({ module: hash, input: own, timeoutMs, transferInput: true })
        if (new TextDecoder().decode(r.output) !== expected) throw new Error(`the task's hash is wrong: ${r.status} ${r.message ?? ''}`)
        fuelUsed = r.fuelUsed ?? 0
      }))
      direct.push(await timed(async () => {
        if (new TextDecoder().decode(await runInThread(hash, hashInput)) !== expected) throw new Error('the direct hash is wrong')
      }))
      fuelOnly.push(await timed(async () => { await runInThread(instrumented, hashInput, timeoutMs * fuelPerMs) }))
      plainJs.push(await timed(() => { if (sha256Js(hashInput) !== expected.trim()) throw new Error('the JS hash is wrong') }))
      native.push(await timed(() => createHash('sha256').update(hashInput).digest()))
    }
    const [t, d, f, j, n] = [median(task), median(direct), median(fuelOnly), median(plainJs), median(native)]
    log(`compute: sha256 32 MiB task ${t.toFixed(0)} ms, direct ${d.toFixed(0)} ms, fuel only ${f.toFixed(0)} ms, JS ${j.toFixed(0)} ms, native ${n.toFixed(0)} ms`)
    rows.push({ group: 'compute', metric: 'SHA-256 of 32 MiB as a task (sandbox) / the same module called directly', value: `${(t / d).toFixed(2)}× (${t.toFixed(0)} / ${d.toFixed(0)} ms)`, target: '≤ 1.2×', anchor: `fuel alone ${(f / d).toFixed(2)}× (${f.toFixed(0)} ms in this thread)` })
    rows.push({ group: 'compute', metric: 'SHA-256 of 32 MiB: task vs plain JavaScript vs Node native', value: `${(32 / (t / 1000)).toFixed(0)} MiB/s task`, target: '—', anchor: `JS ${(32 / (j / 1000)).toFixed(0)} MiB/s, native ${(32 / (n / 1000)).toFixed(0)} MiB/s, direct wasm ${(32 / (d / 1000)).toFixed(0)} MiB/s` })
    rows.push({ group: 'compute', metric: 'fuel rate of the hash task (units/ms)', value: (fuelUsed / d).toFixed(0), target: '—', anchor: `fuelPerMs constant ${fuelPerMs}` })

    // --- overhead: training (floating point) -----------------------------------------------------
    const trainInput = new TextEncoder().encode(irisLikeCsv({ options: { steps: opts.quick === true ? 1000 : 3000, 'checkpoint-every': 0 } }))
    const trainTask: number[] = []
    const trainDirect: number[] = []
    let trainFuel = 0
    for (let i = 0; i < repeats; i++) {
      trainTask.push(await timed(async () => {
        const r = await sandbox.run({ module: train, input: trainInput, timeoutMs })
        if (r.status !== 'ok') throw new Error(`training ended ${r.status}: ${r.message ?? r.stderr}`)
        trainFuel = r.fuelUsed ?? 0
      }))
      trainDirect.push(await timed(async () => { await runInThread(train, trainInput) }))
    }
    const [tt, td] = [median(trainTask), median(trainDirect)]
    rows.push({ group: 'compute', metric: 'logistic regression (150×4, 3 classes) as a task / called directly', value: `${(tt / td).toFixed(2)}× (${tt.toFixed(0)} / ${td.toFixed(0)} ms)`, target: '≤ 1.2×', anchor: 'same module, same input' })
    rows.push({ group: 'compute', metric: 'fuel rate of the training task (units/ms)', value: (trainFuel / td).toFixed(0), target: '—', anchor: `fuelPerMs constant ${fuelPerMs}` })

    // --- start latency -----------------------------------------------------------------------------
    const samples = opts.quick === true ? 20 : 50
    const empty = new Uint8Array(0)
    const warm: number[] = []
    const gapMs = 200 // tasks arrive apart, as from a network: time for the spare to be ready
    for (let i = 0; i < samples; i++) {
      const r = await sandbox.run({ module: hash, input: empty })
      warm.push(r.timings.prepareMs + r.timings.startMs)
      await new Promise(resolve => setTimeout(resolve, gapMs))
    }
    const cold: number[] = []
    const coldSandbox = new Sandbox({ spareWorker: false })
    for (let i = 0; i < Math.min(samples, 20); i++) {
      const r = await coldSandbox.run({ module: hash, input: empty })
      cold.push(r.timings.prepareMs + r.timings.startMs)
    }
    await coldSandbox.close()
    rows.push({ group: 'compute', metric: `task start latency (submit → running), spare worker, tasks ${gapMs} ms apart`, value: `p50 ${median(warm).toFixed(1)} ms, p99 ${pct(warm, 0.99).toFixed(1)} ms`, target: '—', anchor: `a worker started per task: p50 ${median(cold).toFixed(1)} ms` })

    const replicated: number[] = []
    const pair = new Sandbox()
    const small = new TextEncoder().encode('a small task')
    for (let i = 0; i < samples; i++) {
      replicated.push(await timed(async () => {
        const [a, b] = await Promise.all([sandbox.run({ module: hash, input: small }), pair.run({ module: hash, input: small })])
        if (!a.outputCid.equals(b.outputCid)) throw new Error('replicas disagree')
      }))
      await new Promise(resolve => setTimeout(resolve, gapMs))
    }
    await pair.close()
    rows.push({ group: 'compute', metric: 'small task on 2 replicas, end to end, in one process (no network)', value: `p50 ${median(replicated).toFixed(1)} ms, p99 ${pct(replicated, 0.99).toFixed(1)} ms`, target: 'p99 ≤ 500 ms (devnet)', anchor: 'two sandboxes side by side' })

    rows.push(...await networkBench({ log, quick: opts.quick === true, hash, train, samples, gapMs, inProcessP50: median(replicated) }))
  } finally {
    await sandbox.close()
  }
  return rows
}

const MiB64 = 64 * MiB

/** A provider process: this file run with `--serve`. */
interface ProviderProcess { child: ChildProcess, peer: string, addr: string }

async function startProvider (): Promise<ProviderProcess> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', String(process.pid)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', code => { reject(new Error(`a provider process exited (${code}) before it listened`)) })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve)
  })
  child.removeAllListeners('exit')
  return { child, ...(JSON.parse(line) as { peer: string, addr: string }) }
}

/** The provider side: one libp2p host and a `ComputeHost`; prints its address; ends with its parent. */
async function serve (parentPid: number): Promise<void> {
  const host = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
  await host.start()
  const compute = new ComputeHost({ host, cores: 2, memoryBytes: 512 * MiB })
  await compute.start()
  const addr = host.multiaddrs().find(a => a.startsWith('/ip4/127.0.0.1/')) ?? host.multiaddrs()[0] as string
  process.stdout.write(`${JSON.stringify({ peer: host.peerId, addr: addr.includes('/p2p/') ? addr : `${addr}/p2p/${host.peerId}` })}\n`)
  setInterval(() => { try { process.kill(parentPid, 0) } catch { process.exit(0) } }, 1000)
}

async function networkBench (o: { log: (line: string) => void, quick: boolean, hash: Uint8Array, train: Uint8Array, samples: number, gapMs: number, inProcessP50: number }): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  // Replicas 1 with up to `maxExtraProviders` (3) replacements: four providers carry a job through three kills.
  const providers = await Promise.all(Array.from({ length: 1 + maxExtraProviders }, async () => await startProvider()))
  const client: P2PHost = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: providers.map(p => p.addr) })
  await client.start()
  try {
    const deadline = Date.now() + 20_000
    while (!providers.every(p => client.peers().includes(p.peer))) {
      if (Date.now() > deadline) throw new Error('the bench client did not connect to its providers')
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    const compute = new ComputeClient({ host: client })
    const offers: ComputeOffer[] = providers.map(p => ({ provider: p.peer, operator: p.peer, region: 'local', cores: 2, freeCores: 2, memoryBytes: 512 * MiB, price: 1, score: 1 }))
    const spec = (replicas: number, timeoutMs: number, maxOutputBytes: number) => ({ replicas, spotCheckBps: 0, memoryBytes: MiB64, maxPrice: 10, region: undefined, timeoutMs, maxOutputBytes })

    // --- small task, 2 replicas, over the network ----------------------------------------------------
    const small = new TextEncoder().encode('a small task')
    const endToEnd: number[] = []
    for (let i = 0; i < o.samples + 2; i++) {
      const ms = await timed(async () => {
        const r = await compute.runVerified({ taskId: `small-${i}`, spec: spec(2, 1000, 1024), offers, module: o.hash, input: small, secretSeed: randomBytes(32) })
        if (r.outcome.kind !== 'accepted') throw new Error(`the small task was not accepted: ${JSON.stringify(r.outcome)}`)
      })
      if (i >= 2) endToEnd.push(ms) // the first runs compile the module on each provider
      await new Promise(resolve => setTimeout(resolve, o.gapMs))
    }
    o.log(`compute: small task on 2 replicas over the network p50 ${median(endToEnd).toFixed(1)} ms`)
    rows.push({ group: 'compute', metric: `small task on 2 replicas, end to end over libp2p to provider processes (${providers.length} offers, tasks ${o.gapMs} ms apart)`, value: `p50 ${median(endToEnd).toFixed(1)} ms, p99 ${pct(endToEnd, 0.99).toFixed(1)} ms`, target: 'p99 ≤ 500 ms', anchor: `in one process without network: p50 ${o.inProcessP50.toFixed(1)} ms` })

    // --- ML job under churn ----------------------------------------------------------------------------
    // About 20 s of training on the reference machine: two kills at 8 s and 16 s of the job.
    const steps = o.quick ? 70_000 : 240_000
    const checkpointEveryMs = 1000
    const killEveryMs = 8000
    const input = new TextEncoder().encode(irisLikeCsv({ options: { steps } }))
    const trainSpec = spec(1, 120_000, 4096)
    const job = async (label: string, everyMs: number, killAfterMs: number | undefined): Promise<{ ms: number, output: string, kills: number, checkpoints: number, resumedAt: number[] }> => {
      let kills = 0
      let checkpoints = 0
      const resumedAt: number[] = []
      const timers: NodeJS.Timeout[] = []
      let output = ''
      const ms = await timed(async () => {
        const r = await compute.runVerified({
          taskId: label, spec: trainSpec, offers, module: o.train, input, secretSeed: randomBytes(32), checkpointEveryMs: everyMs,
          onProgress: e => {
            if (e.kind === 'checkpoint') checkpoints++
            // At most `maxExtraProviders` kills: the last replacement the task may bring in runs to the end.
            if (e.kind === 'launched' && killAfterMs !== undefined && timers.length < maxExtraProviders) {
              const victim = providers.find(p => p.peer === e.provider)
              timers.push(setTimeout(() => { kills++; victim?.child.kill('SIGKILL') }, killAfterMs))
            }
          }
        })
        for (const t of timers) clearTimeout(t)
        if (r.outcome.kind !== 'accepted' || r.output === undefined) throw new Error(`the training job (${label}) was not accepted: ${JSON.stringify(r.outcome)}`)
        output = new TextDecoder().decode(r.output)
        for (const report of r.reports.values()) {
          const m = /resumed at step (\d+)/.exec(report.response?.stderr ?? '')
          if (m !== null) resumedAt.push(Number(m[1]))
        }
      })
      return { ms, output, kills, checkpoints, resumedAt }
    }
    const plain = await job('train-plain', 0, undefined)
    const steady = await job('train-steady', checkpointEveryMs, undefined)
    const churn = await job('train-churn', checkpointEveryMs, killEveryMs)
    if (churn.output !== steady.output || plain.output !== steady.output) throw new Error('the job under churn ended with another model than the uninterrupted run')
    o.log(`compute: training ${steps} steps: no checkpoints ${plain.ms.toFixed(0)} ms, checkpoints ${steady.ms.toFixed(0)} ms, under churn ${churn.ms.toFixed(0)} ms (${churn.kills} kills, the last replacement resumed at step ${churn.resumedAt.join(', ')})`)
    rows.push({
      group: 'compute',
      metric: `ML job under churn: no-failure time / time with its provider SIGKILLed every ${killEveryMs / 1000} s (checkpoint every ${checkpointEveryMs / 1000} s of task clock, ${steps} steps, 1 replica)`,
      value: `${(100 * steady.ms / churn.ms).toFixed(1)} % (${(steady.ms / 1000).toFixed(1)} s / ${(churn.ms / 1000).toFixed(1)} s, ${churn.kills} kills, the last replacement resumed at step ${churn.resumedAt.join(', ') || '—'}, same model)`,
      target: '≥ 90 %',
      anchor: `no checkpoints, no failures ${(plain.ms / 1000).toFixed(1)} s; with checkpoints ${steady.checkpoints} received`
    })
  } finally {
    await client.stop()
    for (const p of providers) p.child.kill('SIGKILL')
  }
  return rows
}

/** SHA-256 in plain JavaScript, the same algorithm as the AssemblyScript example. */
function sha256Js (data: Uint8Array): string {
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2])
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const W = new Uint32Array(64)
  const full = data.length - (data.length % 64)
  const tailLength = data.length - full < 56 ? 64 : 128
  const tail = new Uint8Array(tailLength)
  tail.set(data.subarray(full))
  tail[data.length - full] = 0x80
  new DataView(tail.buffer).setBigUint64(tailLength - 8, BigInt(data.length) * 8n)
  const compress = (block: Uint8Array, at: number): void => {
    for (let t = 0; t < 16; t++) W[t] = (block[at + 4 * t]! << 24 | block[at + 4 * t + 1]! << 16 | block[at + 4 * t + 2]! << 8 | block[at + 4 * t + 3]!) >>> 0
    for (let t = 16; t < 64; t++) {
      const w15 = W[t - 15]!
      const w2 = W[t - 2]!
      const s0 = ((w15 >>> 7 | w15 << 25) ^ (w15 >>> 18 | w15 << 14) ^ (w15 >>> 3))
      const s1 = ((w2 >>> 17 | w2 << 15) ^ (w2 >>> 19 | w2 << 13) ^ (w2 >>> 10))
      W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) >>> 0
    }
    let a = H[0]!; let b = H[1]!; let c = H[2]!; let d = H[3]!; let e = H[4]!; let f = H[5]!; let g = H[6]!; let h = H[7]!
    for (let t = 0; t < 64; t++) {
      const t1 = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) >>> 0
      const t2 = (((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0
    }
    H[0]! += a; H[1]! += b; H[2]! += c; H[3]! += d; H[4]! += e; H[5]! += f; H[6]! += g; H[7]! += h
  }
  for (let at = 0; at < full; at += 64) compress(data, at)
  for (let at = 0; at < tailLength; at += 64) compress(tail, at)
  return [...H].map(x => x.toString(16).padStart(8, '0')).join('')
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--serve') {
  await serve(Number(process.argv[3]))
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await computeBench({ log: line => process.stderr.write(`${line}\n`), quick: process.argv.includes('--quick') })
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  else for (const r of rows) console.log(`| ${r.group} | ${r.metric} | ${r.value} | ${r.target} | ${r.anchor ?? ''} |`)
}
