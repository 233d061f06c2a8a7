/**
 * A paid task on the compute market (issue 6), as a user runs it on the default devnet: 4
 * validators, 3 compute nodes offering on the ledger, and `keynet compute run` of a small task on
 * 2 replicas, found from the ledger, with its escrow opened before and settled after the run.
 * Each figure is the CLI's own account of the time (`timings` in its --json record: escrow, run,
 * settlement), p50 and p99 over sequential tasks; the whole process, start-up included, beside.
 * The anchor is the run alone (matching, both replicas, digests, verdict).
 *
 * Run alone: `node bench/run.ts --only compute-market`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildExamples } from '../scripts/build-examples.ts'
import type { BenchRow } from './ledger.ts'
import { cliPath, keynetSync, pct } from './bench-helpers.ts'

export interface ComputeMarketBenchOptions {
  log: (line: string) => void
  quick?: boolean
}

interface TaskTimings { escrowMs: number, runMs: number, settleMs: number }

async function paidRun (home: string, args: string[]): Promise<{ ms: number, timings: TaskTimings, paid: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYNET_HOME: home }
  delete env.NODE_TEST_CONTEXT
  const started = performance.now()
  const child = spawn(process.execPath, [cliPath, 'compute', 'run', ...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`keynet compute run failed (exit ${code}):\n${stderr}`)
  const record = JSON.parse(stdout) as { timings: TaskTimings, outcome: { kind: string, paid: string[] } }
  if (record.outcome.kind !== 'accepted') throw new Error(`the task was not accepted: ${JSON.stringify(record.outcome)}`)
  return { ms, timings: record.timings, paid: record.outcome.paid.length }
}

export async function computeMarketBench (opts: ComputeMarketBenchOptions): Promise<BenchRow[]> {
  const { log } = opts
  const home = mkdtempSync(join(tmpdir(), 'keynet-bench-compute-market-'))
  try {
    const built = await buildExamples()
    log('bench: compute-market: starting a devnet: 4 validators, 3 compute nodes…')
    keynetSync(home, ['devnet', 'up', '--storage', '0', '--compute', '3', '--no-gateway', '--timeout', '180000'])
    const input = join(home, 'input.bin')
    writeFileSync(input, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff)))
    // Offers appear once each compute node's stake and offer are committed.
    const deadline = Date.now() + 120_000
    for (;;) {
      const offers = JSON.parse(keynetSync(home, ['market', 'offers', '--kind', 'compute', '--json'])) as unknown[] | { offers: unknown[] }
      const count = Array.isArray(offers) ? offers.length : offers.offers.length
      if (count >= 3) break
      if (Date.now() > deadline) throw new Error(`only ${count} compute offers on the ledger after 120 s`)
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    const tasks = opts.quick === true ? 8 : 30
    log(`bench: compute-market: ${tasks} paid tasks on 2 replicas, one after another…`)
    const runs: Array<{ ms: number, timings: TaskTimings }> = []
    for (let i = 0; i < tasks; i++) {
      const r = await paidRun(home, [built.hash, '--input', input, '--replicas', '2', '--timeout', '5s', '-o', join(home, 'out.txt')])
      if (r.paid !== 2) throw new Error(`task ${i}: ${r.paid} providers paid, not 2`)
      runs.push(r)
    }
    const total = runs.map(r => r.timings.escrowMs + r.timings.runMs + r.timings.settleMs)
    const q = (xs: number[]): string => `p50 ${pct(xs, 0.5).toFixed(0)} ms, p99 ${pct(xs, 0.99).toFixed(0)} ms`
    return [
      { group: 'compute', metric: `paid task on 2 replicas from the market, end to end: escrow opened + run + settled on a 4-validator devnet (${tasks} tasks)`, value: q(total), target: 'p99 ≤ 500 ms', anchor: `the run alone: ${q(runs.map(r => r.timings.runMs))}` },
      { group: 'compute', metric: 'of which: escrow opened (offers read, compute-open final) / settled (compute-settle final)', value: `${q(runs.map(r => r.timings.escrowMs))} / ${q(runs.map(r => r.timings.settleMs))}`, target: '—', anchor: '' },
      { group: 'compute', metric: 'the same, the whole keynet compute run process (start-up included)', value: q(runs.map(r => r.ms)), target: '—', anchor: '' }
    ]
  } finally {
    try { keynetSync(home, ['devnet', 'down']) } catch {}
    rmSync(home, { recursive: true, force: true })
  }
}
