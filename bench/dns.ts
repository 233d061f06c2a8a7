/**
 * DNS bridge benchmarks on a real devnet (one validator and the gateway), measured with
 * `dnsperf` (Debian's package; installed here when missing and running as root) against the
 * gateway's DNS server over UDP:
 *
 * - a hot `.key` name (answered from the cache of verified answers): answers per second with 50
 *   queries outstanding, and p50/p99 latency at a steady 2,000 queries/s from one client;
 * - cold names (each registered on the ledger and never asked before, so every answer needs a
 *   verified lookup): the same two figures, each name asked once;
 * - the anchor beside each: the same load in the same run against a trivial responder that
 *   answers every query with one fixed record and looks nothing up (the fastest a Node UDP
 *   server answers on this machine).
 *
 * Latency on a shared machine: a hot answer takes microseconds, so its p99 is set by how long the
 * server or dnsperf waits for a core while other processes run (bursts of several ms). The hot
 * latency is therefore measured twice, in 1-second slices alternating between the gateway and the
 * anchor so both see the same neighbours (the first 0.1 s of each slice, dnsperf starting, left
 * out of both): with ordinary scheduling, and (when run as root) with
 * dnsperf and the server under test at real-time priority (SCHED_FIFO), so that other processes
 * no longer preempt them and most of the waiting for a core leaves the tail.
 *
 * Run alone: `node bench/dns.ts [--quick] [--json]`; `bench/run.ts` calls `dnsBench`.
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { genesisFromJson } from '../src/core/ledger/genesis.ts'
import { encodeSignedTx, signTx } from '../src/core/ledger/tx.ts'
import { ApiClient } from '../src/edges/api/client.ts'
import { devAccountKey, readDevnet, type DevnetFile } from '../src/node/devnet.ts'
import { startFixedResponder } from '../test/fixtures/dns/fixed-responder.ts'
import type { BenchRow } from './ledger.ts'
import { pct, keynetSync } from './bench-helpers.ts'

/** A content CID for the names' records: DNS answers carry it; nothing is fetched. */
const siteCid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
/** The steady rate latency is measured at: a busy resolver's load, well under saturation. */
const steadyQps = 2000
/** Queries dnsperf keeps outstanding when measuring answers per second. */
const outstanding = 50
/** One client socket, one thread: latency runs measure the server, not dnsperf's threads competing for the 2 cores. */
const oneClient = ['-c', '1', '-T', '1']
/** Answers dropped from the start of each latency slice: dnsperf's own start-up (first sends, page faults) takes several ms. */
const warmupQueries = steadyQps / 10
/** The real-time priority latency runs give dnsperf and the server under test (SCHED_FIFO, 1–99). */
const realtimePriority = 50

interface PerfResult { qps: number, latenciesMs: number[], sent: number, completed: number, rcodes: string }



const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** dnsperf on PATH, installing Debian's package when it is missing and this runs as root. */
function ensureDnsperf (log: (line: string) => void): string | undefined {
  if (spawnSync('dnsperf', ['-h']).error === undefined) return undefined
  if (process.getuid?.() !== 0) return 'dnsperf is not installed: sudo apt-get install -y dnsperf'
  log('bench: installing dnsperf (Debian package)…')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'dnsperf'], { env, stdio: 'ignore' })
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' })
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'dnsperf'], { env, stdio: 'ignore' })
  }
  return r.status === 0 ? undefined : 'apt-get install dnsperf failed'
}

/**
 * Runs dnsperf (asynchronously: the anchor responder runs in this process) and reads every
 * answer's latency from its verbose output, written to a file so this process (the anchor's)
 * does no work while dnsperf runs.
 */
async function dnsperf (port: number, queryFile: string, args: string[], realtime = false): Promise<PerfResult> {
  const outFile = `${queryFile}.out`
  const fd = openSync(outFile, 'w')
  const argv = ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-v', '-t', '2', ...args]
  const child = realtime
    ? spawn('chrt', ['-f', String(realtimePriority), 'dnsperf', ...argv], { stdio: ['ignore', fd, fd] })
    : spawn('dnsperf', argv, { stdio: ['ignore', fd, fd] })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  closeSync(fd)
  const out = readFileSync(outFile, 'utf8')
  if (code !== 0) throw new Error(`dnsperf exited ${code}: ${out.slice(-500)}`)
  const latenciesMs = [...out.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map(m => Number(m[1]) * 1000)
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN)
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    rcodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
    latenciesMs
  }
}

/** Puts every thread of a process at real-time priority, or back to ordinary scheduling; false when not allowed. */
function setRealtime (pid: number, on: boolean): boolean {
  const args = on ? ['-a', '-f', '-p', String(realtimePriority), String(pid)] : ['-a', '-o', '-p', '0', String(pid)]
  return spawnSync('chrt', args, { stdio: 'ignore' }).status === 0
}

/** Both servers' latency at the steady rate from one client, in 1-second slices taken in turn. */
async function alternatingLatency (servers: Array<{ port: number, pid: number }>, queryFile: string, seconds: number, realtime: boolean): Promise<PerfResult[]> {
  const results = servers.map((): PerfResult => ({ qps: NaN, latenciesMs: [], sent: 0, completed: 0, rcodes: '' }))
  for (let slice = 0; slice < seconds; slice++) {
    for (const [i, server] of servers.entries()) {
      if (realtime) setRealtime(server.pid, true)
      try {
        const r = await dnsperf(server.port, queryFile, ['-l', '1', '-Q', String(steadyQps), ...oneClient], realtime)
        const acc = results[i]!
        acc.latenciesMs.push(...r.latenciesMs.slice(warmupQueries))
        acc.sent += r.sent
        acc.completed += r.completed
        acc.rcodes = r.rcodes
      } finally {
        if (realtime) setRealtime(server.pid, false)
      }
    }
  }
  return results
}

const ms = (x: number): string => `${x < 1 ? x.toFixed(3) : x.toFixed(2)} ms`
const rate = (x: number): string => `${Math.round(x).toLocaleString('en-US')}/s`

export async function dnsBench (opts: { quick?: boolean, log: (line: string) => void }): Promise<BenchRow[]> {
  const { log } = opts
  const missing = ensureDnsperf(log)
  if (missing !== undefined) return [{ group: 'dns', metric: 'DNS bridge', value: `not measured: ${missing}`, target: '—' }]
  const coldNames = opts.quick === true ? 1000 : 3000
  const seconds = opts.quick === true ? 3 : 5
  const home = mkdtempSync(join(tmpdir(), 'keynet-bench-dns-'))
  const dir = join(home, 'devnet')
  const anchor = await startFixedResponder()
  const rows: BenchRow[] = []
  try {
    log('bench: starting a devnet of 1 validator and the gateway…')
    keynetSync(home, ['devnet', 'up', '--validators', '1', '--storage', '0', '--compute', '0', '--dns-port', '0'])
    const file = readDevnet(dir) as DevnetFile
    const gateway = file.nodes.find(n => n.roles.includes('gateway'))!
    const dnsPort = Number(gateway.dns!.slice(gateway.dns!.lastIndexOf(':') + 1))
    const genesis = genesisFromJson(readFileSync(file.genesis, 'utf8'))
    const api = new ApiClient(file.nodes[0]!.api)
    const dev = devAccountKey(dir)

    const names = ['hot.key', ...Array.from({ length: 2 * coldNames }, (_, i) => `cold-${i}.key`)]
    log(`bench: registering ${names.length} names…`)
    const txs = names.map((name, nonce) => encodeSignedTx(signTx({
      chainId: genesis.chainId, from: dev.publicKey, nonce, fee: genesis.params.minTxFee,
      body: { type: 'name-register', name, terms: 1, records: { content: { cid: siteCid, replicas: 1, regions: 1 } } }
    }, dev.secretKey)))
    for (let i = 0; i < txs.length; i += 500) {
      const r = await api.submitTxs(txs.slice(i, i + 500))
      const failed = r.results.find(x => x.error !== undefined)
      if (failed !== undefined) throw new Error(`registration failed: ${failed.error?.name}: ${failed.error?.message}`)
    }
    const gatewayApi = new ApiClient(gateway.api)
    for (const last = names[names.length - 1]!; ;) {
      try { await gatewayApi.name(last); break } catch { await sleep(200) }
    }

    const hotFile = join(home, 'hot.txt')
    writeFileSync(hotFile, 'hot.key A\n')
    const coldLatencyFile = join(home, 'cold-latency.txt')
    writeFileSync(coldLatencyFile, names.slice(1, 1 + coldNames).map(n => `${n} A\n`).join(''))
    const coldRateFile = join(home, 'cold-rate.txt')
    writeFileSync(coldRateFile, names.slice(1 + coldNames).map(n => `${n} A\n`).join(''))

    // Warm both servers (JIT, sockets) and the hot name's cache entry.
    await dnsperf(dnsPort, hotFile, ['-l', '1', '-Q', String(steadyQps)])
    await dnsperf(anchor.port, hotFile, ['-l', '1', '-Q', String(steadyQps)])

    const servers = [{ port: dnsPort, pid: gateway.pid }, { port: anchor.port, pid: process.pid }]
    log('bench: hot name…')
    const [hotSteady, anchorSteady] = await alternatingLatency(servers, hotFile, seconds, false) as [PerfResult, PerfResult]
    const realtime = setRealtime(process.pid, true) && setRealtime(process.pid, false)
    const [hotRealtime, anchorRealtime] = realtime ? await alternatingLatency(servers, hotFile, seconds, true) : []
    const hotMax = await dnsperf(dnsPort, hotFile, ['-l', String(seconds), '-q', String(outstanding)])
    const anchorMax = await dnsperf(anchor.port, hotFile, ['-l', String(seconds), '-q', String(outstanding)])
    log('bench: cold names…')
    const coldSteady = await dnsperf(dnsPort, coldLatencyFile, ['-n', '1', '-Q', String(steadyQps), ...oneClient])
    const coldMax = await dnsperf(dnsPort, coldRateFile, ['-n', '1', '-q', String(outstanding)])

    const lost = (r: PerfResult): string => r.completed === r.sent ? '' : `, ${r.sent - r.completed} of ${r.sent} lost`
    const latency = (r: PerfResult): string => `${ms(pct(r.latenciesMs, 0.5))} / ${ms(pct(r.latenciesMs, 0.99))}${lost(r)}`
    const anchorLatency = `fixed-answer responder: ${latency(anchorSteady)}`
    const steady = `${steadyQps.toLocaleString('en-US')} q/s, one client`
    rows.push(
      { group: 'dns', metric: `hot .key name, answers/s (UDP, ${outstanding} outstanding)`, value: `${rate(hotMax.qps)}${lost(hotMax)}`, target: '—', anchor: `fixed-answer responder ${rate(anchorMax.qps)}` },
      { group: 'dns', metric: `hot .key name p50 / p99 at ${steady}`, value: latency(hotSteady), target: '—', anchor: anchorLatency },
      hotRealtime !== undefined && anchorRealtime !== undefined
        ? { group: 'dns', metric: `hot .key name p50 / p99 at ${steady}, real-time priority`, value: latency(hotRealtime), target: 'p99 ≤ 1 ms', anchor: `fixed-answer responder: ${latency(anchorRealtime)}` }
        : { group: 'dns', metric: `hot .key name p50 / p99 at ${steady}, real-time priority`, value: 'not measured: chrt needs root', target: 'p99 ≤ 1 ms' },
      { group: 'dns', metric: `cold .key names (verified lookup each), answers/s (${coldNames.toLocaleString('en-US')} names)`, value: `${rate(coldMax.qps)}${lost(coldMax)}`, target: '—', anchor: `hot ${rate(hotMax.qps)}; fixed-answer ${rate(anchorMax.qps)}` },
      { group: 'dns', metric: `cold .key names p50 / p99 at ${steady} (${coldNames.toLocaleString('en-US')} names)`, value: latency(coldSteady), target: 'p99 ≤ 50 ms', anchor: anchorLatency },
      { group: 'dns', metric: 'answers (all runs against the gateway)', value: [hotSteady, hotMax, coldSteady, coldMax].map(r => r.rcodes).join('; '), target: 'NOERROR' }
    )
  } finally {
    await anchor.close()
    try { keynetSync(home, ['devnet', 'down']) } catch {}
    rmSync(home, { recursive: true, force: true })
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await dnsBench({ quick: process.argv.includes('--quick'), log: line => process.stderr.write(`${line}\n`) })
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
  else for (const r of rows) console.log(`| ${r.group} | ${r.metric} | ${r.value} | ${r.target} | ${r.anchor ?? ''} |`)
}
