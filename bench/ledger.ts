/**
 * Ledger benchmarks on a real devnet of validator processes on this machine: committed name
 * registrations per second, submit-to-finality latency, throughput with one validator stopped,
 * catch-up speed, name lookup latency, and light-client proof size and verify time. Prints rows
 * for bench/run.ts; run alone with `node bench/ledger.ts`.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex } from '../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, signBytes, verifyBytes, type KeyPair } from '../src/foundations/crypto.ts'
import { genesisFromJson } from '../src/core/ledger/genesis.ts'
import { encodeSignedTx, signTx, txId } from '../src/core/ledger/tx.ts'
import type { TxBody } from '../src/core/ledger/types.ts'
import { verifyNameProof } from '../src/core/light-client/verify-name.ts'
import { ApiClient } from '../src/edges/api/client.ts'
import { devAccountKey, readDevnet, type DevnetFile } from '../src/node/devnet.ts'
import { readFileSync } from 'node:fs'
import { pct, keynetSync } from './bench-helpers.ts'

export interface BenchRow { group: string, metric: string, value: string, target: string, anchor?: string }




/** The measured network: 4 validators and nothing else. */
const devnetSize = ['--validators', '4', '--storage', '0', '--compute', '0', '--no-gateway']

/**
 * CPU seconds the given processes have used so far (user + system, from /proc; Linux only,
 * undefined elsewhere). On a shared machine wall-clock rates move with the neighbours' load, CPU
 * time per transaction much less.
 */
function cpuSeconds (pids: number[]): number | undefined {
  try {
    let ticks = 0
    for (const pid of pids) {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      ticks += Number(fields[11]) + Number(fields[12])   // utime, stime (fields 14 and 15 of stat)
    }
    return ticks / 100   // USER_HZ
  } catch {
    return undefined
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** ed25519 verifications per second on one core with Node's crypto: the physical limit. */
export function ed25519VerifyRate (): number {
  const k = generateKeyPair()
  const msg = new Uint8Array(200)
  const sig = signBytes(k.secretKey, msg)
  for (let i = 0; i < 2000; i++) verifyBytes(k.publicKey, msg, sig)
  const n = 20_000
  const t = performance.now()
  for (let i = 0; i < n; i++) verifyBytes(k.publicKey, msg, sig)
  return n / ((performance.now() - t) / 1000)
}

class Load {
  readonly chainId: string
  readonly fee: number
  readonly accounts: Array<{ key: KeyPair, nonce: number }>
  private serial = 0
  readonly names: string[] = []

  constructor (chainId: string, fee: number, accounts: KeyPair[]) {
    this.chainId = chainId
    this.fee = fee
    this.accounts = accounts.map(key => ({ key, nonce: 0 }))
  }

  /** Pre-signs `n` registrations spread over the accounts. */
  /**
   * Pre-signs `n` registrations from the accounts in turn, returned grouped by sender in nonce
   * order: many users each sending a few transactions, as a wallet or an exchange would.
   */
  registrations (n: number, prefix: string): Uint8Array[] {
    const bySender: Uint8Array[][] = this.accounts.map(() => [])
    for (let i = 0; i < n; i++) {
      const k = (this.next++) % this.accounts.length
      const a = this.accounts[k]!
      const name = `${prefix}-${this.serial++}.key`
      this.names.push(name)
      const body: TxBody = { type: 'name-register', name, terms: 1 }
      bySender[k]!.push(encodeSignedTx(signTx({ chainId: this.chainId, from: a.key.publicKey, nonce: a.nonce++, fee: this.fee, body }, a.key.secretKey)))
    }
    return bySender.flat()
  }

  private next = 0
}

/** Submits in batches; a batch goes to one node, so one sender's transactions arrive in order. */
async function submitAll (apis: ApiClient[], txs: Uint8Array[], batch = 500): Promise<void> {
  const batches: Uint8Array[][] = []
  for (let i = 0; i < txs.length; i += batch) batches.push(txs.slice(i, i + batch))
  await Promise.all(batches.map(async (b, i) => {
    const api = apis[i % apis.length]!
    for (let attempt = 0; ; attempt++) {
      const r = await api.submitTxs(b)
      const failed = r.results.filter(x => x.error !== undefined && x.error.name !== 'BadNonceError')
      if (failed.length === 0) return
      if (attempt > 50) throw new Error(`submission failed: ${failed[0]?.error?.name}: ${failed[0]?.error?.message}`)
      await sleep(100)
    }
  }))
}

/**
 * Waits until `txs` are committed and returns the wall-clock time (ms since the epoch) of the
 * block that completed them: proposers stamp blocks with their clock, and all processes here
 * share one clock. It follows block headers (a request per block), not each transaction, so the
 * measuring adds almost no load to the nodes measured; a sample of the transactions is then
 * checked one by one to be committed without error.
 */
async function waitCommitted (api: ApiClient, txs: Uint8Array[], fromHeight: number): Promise<number> {
  let height = fromHeight
  let committed = 0
  let doneAt = 0
  while (committed < txs.length) {
    const tip = (await api.status()).height
    for (; height < tip && committed < txs.length; height++) {
      const block = await api.block(height + 1)
      committed += block.txCount
      doneAt = block.time
    }
    if (committed < txs.length) await sleep(50)
  }
  const step = Math.max(1, Math.floor(txs.length / 50))
  for (let i = txs.length - 1; i >= 0; i -= step) {
    const s = await api.tx(toHex(txId(txs[i]!)), 10_000)
    if (s.status !== 'committed' || s.error !== undefined) throw new Error(`transaction ${i} ended ${s.status} ${s.error?.name ?? ''}`)
  }
  return doneAt
}

/** Waits for each transaction (set-up only, where timing does not matter). */
async function waitCommittedEach (api: ApiClient, txs: Uint8Array[]): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < txs.length; i = next++) {
      for (;;) {
        const s = await api.tx(toHex(txId(txs[i]!)), 10_000)
        if (s.status === 'committed') break
        if (s.status === 'unknown') throw new Error(`transaction ${toHex(txId(txs[i]!))} was dropped`)
      }
    }
  }))
}

/** Committed transactions per second, and the validators' CPU milliseconds per transaction (all nodes together). */
async function throughput (apis: ApiClient[], load: Load, n: number, prefix: string, pids: number[] = []): Promise<{ rate: number, cpuMsPerTx?: number }> {
  const txs = load.registrations(n, prefix)
  const fromHeight = (await apis[0]!.status()).height
  const cpu0 = cpuSeconds(pids)
  const t0 = Date.now()
  await submitAll(apis, txs)
  const t1 = await waitCommitted(apis[0]!, txs, fromHeight)
  const cpu1 = cpuSeconds(pids)
  const rate = n / ((t1 - t0) / 1000)
  return cpu0 === undefined || cpu1 === undefined || pids.length === 0 ? { rate } : { rate, cpuMsPerTx: ((cpu1 - cpu0) * 1000) / n }
}

/** Latency of single transactions submitted at `rate` per second for `seconds`, sampled. */
async function latency (apis: ApiClient[], load: Load, rate: number, seconds: number, sampleEvery: number): Promise<number[]> {
  const total = Math.round(rate * seconds)
  const txs = load.registrations(total, `lat${rate}`)
  const latencies: number[] = []
  const pending: Array<Promise<void>> = []
  const start = performance.now()
  const tick = 10
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1)
    const chunk = txs.slice(sent, due)
    const base = sent
    sent = due
    pending.push((async () => {
      const t = performance.now()
      const api = apis[base % apis.length]!
      if (chunk.length === 1) await api.submitTx(chunk[0]!)
      else if (chunk.length > 1) await api.submitTxs(chunk)
      await Promise.all(chunk.map(async (tx, j) => {
        if ((base + j) % sampleEvery !== 0) return
        for (;;) {
          const s = await api.tx(toHex(txId(tx)), 10_000)
          if (s.status === 'committed') break
          if (s.status === 'unknown') throw new Error('dropped')
        }
        latencies.push(performance.now() - t)
      }))
    })())
    await sleep(tick)
  }
  await Promise.all(pending)
  return latencies
}

export async function ledgerBench (opts: { registrations: number, log: (line: string) => void }): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const home = mkdtempSync(join(tmpdir(), 'keynet-bench-'))
  const dir = join(home, 'devnet')
  const verifyRate = ed25519VerifyRate()
  rows.push({ group: 'anchor', metric: 'ed25519 verify/s, one core (Node crypto)', value: verifyRate.toFixed(0), target: '—' })
  const limit = (2 * verifyRate) / 4
  rows.push({ group: 'anchor', metric: 'limit: 2 cores × verify/s ÷ 4 validators (each verifies every tx)', value: limit.toFixed(0), target: '—' })
  try {
    opts.log('bench: starting a devnet of 4 validators…')
    // Validators only: storage and gateway nodes follow the chain too and would share the two cores.
    keynetSync(home, ['devnet', 'up', ...devnetSize])
    const file = readDevnet(dir) as DevnetFile
    const genesis = genesisFromJson(readFileSync(file.genesis, 'utf8'))
    const apis = file.nodes.map(n => new ApiClient(n.api))
    const dev = devAccountKey(dir)
    const senders = Array.from({ length: 1000 }, () => generateKeyPair())
    const funding = new Load(genesis.chainId, genesis.params.minTxFee, [dev])
    const fund = senders.map(s => {
      const a = funding.accounts[0]!
      return encodeSignedTx(signTx({ chainId: genesis.chainId, from: dev.publicKey, nonce: a.nonce++, fee: genesis.params.minTxFee, body: { type: 'transfer', to: addressOf(s.publicKey), amount: 100_000_000 } }, dev.secretKey))
    })
    for (let i = 0; i < fund.length; i += 500) await submitAll(apis.slice(0, 1), fund.slice(i, i + 500))
    await waitCommittedEach(apis[0]!, fund)
    const load = new Load(genesis.chainId, genesis.params.minTxFee, senders)

    opts.log('bench: light-load latency…')
    const light = await latency(apis, load, 20, 5, 1)
    rows.push({ group: 'finality', metric: 'submit → final, light load (20 tx/s) p50', value: `${pct(light, 0.5).toFixed(0)} ms`, target: '≤ 100 ms' })
    rows.push({ group: 'finality', metric: 'submit → final, light load p99', value: `${pct(light, 0.99).toFixed(0)} ms`, target: '≤ 500 ms' })

    opts.log('bench: lookups and proofs…')
    const names = load.registrations(2000, 'lookup')
    await submitAll(apis, names)
    await waitCommittedEach(apis[0]!, names)
    const lookups: number[] = []
    // Warm up first (JIT, connection pool), as a long-running node and client are.
    for (let i = 0; i < 2000; i++) await apis[1]!.name(load.names[i % load.names.length]!)
    for (let i = 0; i < 2000; i++) {
      const t = performance.now()
      await apis[1]!.name(load.names[i % load.names.length]!)
      lookups.push(performance.now() - t)
    }
    rows.push({ group: 'lookup', metric: 'name lookup via node API p50', value: `${pct(lookups, 0.5).toFixed(2)} ms`, target: '—' })
    rows.push({ group: 'lookup', metric: 'name lookup via node API p99', value: `${pct(lookups, 0.99).toFixed(2)} ms`, target: '≤ 5 ms' })
    const proof = await apis[1]!.nameProof(load.names[7]!)
    const proofBytes = verifyNameProof(genesis, proof).proofBytes
    const verifyTimes: number[] = []
    for (let i = 0; i < 200; i++) {
      const t = performance.now()
      verifyNameProof(genesis, proof)
      verifyTimes.push(performance.now() - t)
    }
    rows.push({ group: 'lookup', metric: `--verify proof size (state holds ${load.names.length} names)`, value: `${proofBytes} B`, target: '≤ 2,048 B' })
    rows.push({ group: 'lookup', metric: '--verify verification time p50', value: `${pct(verifyTimes, 0.5).toFixed(2)} ms`, target: '≤ 2 ms' })

    opts.log(`bench: throughput, ${opts.registrations} registrations…`)
    const measured = await throughput(apis, load, opts.registrations, 'tp', file.nodes.map(n => n.pid))
    const healthy = measured.rate
    opts.log(`bench:   ${healthy.toFixed(0)} registrations/s`)
    rows.push({ group: 'throughput', metric: 'committed registrations/s, 4 validators', value: healthy.toFixed(0), target: '≥ 2,000', anchor: `limit ${limit.toFixed(0)}` })
    if (measured.cpuMsPerTx !== undefined) {
      // 2,000 tx/s on 2 cores leaves 1 ms of CPU per transaction for all validators together.
      rows.push({ group: 'throughput', metric: 'validator CPU per committed registration (4 nodes together)', value: `${measured.cpuMsPerTx.toFixed(2)} ms`, target: '≤ 1.00 ms', anchor: `4 verifies ${(4000 / verifyRate).toFixed(2)} ms` })
    }

    opts.log('bench: latency at 1,000 tx/s…')
    const loaded = await latency(apis, load, 1000, 8, 10)
    rows.push({ group: 'finality', metric: 'submit → final at 1,000 tx/s p50', value: `${pct(loaded, 0.5).toFixed(0)} ms`, target: '—' })
    rows.push({ group: 'finality', metric: 'submit → final at 1,000 tx/s p99', value: `${pct(loaded, 0.99).toFixed(0)} ms`, target: '≤ 1,000 ms' })

    opts.log('bench: one validator stopped…')
    const victim = file.nodes[3]!
    process.kill(victim.pid, 'SIGKILL')
    const degraded = (await throughput(apis.slice(0, 3), load, opts.registrations, 'deg')).rate
    rows.push({ group: 'throughput', metric: 'registrations/s with 1 of 4 validators stopped', value: degraded.toFixed(0), target: `≥ ${(0.75 * healthy).toFixed(0)} (75%)` })
    const after = await apis[0]!.status()

    opts.log('bench: catch-up of the restarted validator…')
    keynetSync(home, ['devnet', 'up', ...devnetSize])
    const revivedNode = readDevnet(dir)!.nodes[3]!
    const revived = new ApiClient(revivedNode.api)
    for (;;) {
      try { if ((await revived.status()).height >= after.height) break } catch {}
      await sleep(50)
    }
    // The node logs its own sync rate: blocks fetched, checked against their certificates and replayed.
    const synced = [...readFileSync(revivedNode.logFile, 'utf8').matchAll(/synced (\d+) blocks \((\d+) txs\) in ([\d.]+) s/g)].at(-1)
    if (synced !== undefined) {
      const [, , txs, seconds] = synced
      rows.push({ group: 'sync', metric: `catch-up: ${txs} txs replayed by a restarted validator`, value: `${(Number(txs) / Number(seconds)).toFixed(0)} tx/s`, target: '≥ 5,000 tx/s' })
    }
  } finally {
    try { keynetSync(home, ['devnet', 'down']) } catch {}
    // With KEYNET_TRACE=1 the nodes log per-block timings; keep their logs for reading.
    if (process.env.KEYNET_TRACE === '1') opts.log(`bench: node logs kept under ${dir}`)
    else rmSync(home, { recursive: true, force: true })
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await ledgerBench({ registrations: Number(process.argv[2] ?? 10_000), log: line => process.stderr.write(`${line}\n`) })
  console.table(rows)
}
