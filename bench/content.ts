/**
 * Content benchmarks (issue 3) on real processes on this machine: `keynet get` of a 256 MiB file
 * held by 3 storage providers (the CLI end to end, and the SDK in process), the loopback ceiling
 * (a plain node:http server in its own process), Helia with bitswap between two processes,
 * gateway time to first byte (cold and warm), publish throughput of a 256 MiB folder, the time a
 * fetch loses when a provider is killed mid-way, and repair time after a holder is killed.
 * Prints rows for bench/run.ts; run alone with `node bench/content.ts [--quick] [--gateway]` (`--gateway`:
 * the gateway's time to first byte only, as `npm run bench -- --only gateway`).
 *
 * Helia lives in its own npm project (bench/helia), installed here on first use; it is not part
 * of the root install.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { Agent, get as httpGet, request as httpRequest } from 'node:http'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { parseCid, type CID } from '../src/core/content/cid.ts'
import { readFile, resolvePath } from '../src/core/content/exporter.ts'
import type { PinView, ProviderView, StatusView } from '../src/edges/api/types.ts'
import type { DevnetFile } from '../src/node/devnet.ts'
import { connect } from '../src/sdk/index.ts'
import { importLocal, scanLocal } from '../src/services/content/import-fs.ts'
import type { BenchRow } from './ledger.ts'
import { pct } from './bench-helpers.ts'

/** Options of `contentBench`. */
export interface ContentBenchOptions {
  /** Receives one progress line per step and figure. */
  log: (line: string) => void
  /** Size of the big file and of the published folder (default 256 MiB). */
  fileBytes?: number
  /** Runs of each throughput measurement; the best is reported (default 2). */
  repeats?: number
  /** Only the gateway's time to first byte (its own smaller devnet, no big file): `--only gateway`. */
  gatewayOnly?: boolean
}

const MiB = 1024 * 1024
/** Files in the published folder: 64 files of 4 MiB at the default size. */
const folderFiles = 64
/** Size of each page of the gateway site. */
const pageBytes = 10 * 1024
/** Distinct sub-sites fetched once each for the cold time to first byte. */
const coldRequests = 300
/** Requests of one page for the warm time to first byte, after as many to warm up. */
const warmRequests = 1000
/** Silence after which the repair devnet may replace a provider (its chain parameter). */
const repairTimeoutMs = 10_000
/** A step waiting on the network gives up after this. */
const stepTimeoutMs = 300_000

/**
 * Parts to run, from `KEYNET_BENCH_CONTENT` (comma-separated; default all): ceiling, helia, get (the
 * CLI over HTTP), get-libp2p, sdk, gateway, publish, failover, repair. For quick runs while tuning one path.
 */
const contentParts = new Set((process.env.KEYNET_BENCH_CONTENT ?? 'ceiling,helia,get,get-libp2p,sdk,gateway,publish,failover,repair').split(',').map(s => s.trim()))
const runsPart = (part: string): boolean => contentParts.has(part)

const cliPath = fileURLToPath(new URL('../bin/keynet.js', import.meta.url))
const heliaDir = fileURLToPath(new URL('./helia/', import.meta.url))

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
const mibps = (bytes: number, ms: number): number => (bytes / MiB) / (ms / 1000)
const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })


/** Every child process this bench starts, so the finally block can end the ones still running. */
const children = new Set<ChildProcess>()

function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  return child
}

interface Ran { stdout: string, stderr: string, ms: number }

/** Runs a program to its end; throws with its output on a non-zero exit. */
async function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, cwd?: string, stderrTo?: (line: string) => void, timeoutMs?: number } = {}): Promise<Ran> {
  const started = performance.now()
  const child = track(spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] }))
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
    if (opts.stderrTo !== undefined) for (const line of d.toString().split('\n')) if (line.trim() !== '') opts.stderrTo(line)
  })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? stepTimeoutMs)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.trim()}${stdout.trim()}`)
  return { stdout, stderr, ms }
}

/** The environment of a user's shell with `KEYNET_HOME` set (and no test-runner marker). */
function userEnv (home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYNET_HOME: home }
  delete env.NODE_TEST_CONTEXT
  return env
}

/** Runs the real CLI (`keynet ...`) in its own process. */
async function keynet (home: string, args: string[], stderrTo?: (line: string) => void): Promise<Ran> {
  return await run(process.execPath, [cliPath, ...args], { env: userEnv(home), ...(stderrTo === undefined ? {} : { stderrTo }) })
}

async function keynetJson<T> (home: string, args: string[]): Promise<{ value: T, ms: number }> {
  const r = await keynet(home, [...args, '--json'])
  return { value: JSON.parse(r.stdout) as T, ms: r.ms }
}

/** A devnet folder's `devnet.json` (read here, so this bench does not load the node's modules). */
function readDevnet (dir: string): DevnetFile {
  return JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as DevnetFile
}

async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`)
  return await res.json() as T
}

/** Writes `bytes` random bytes to `path`. */
function writeRandomFile (path: string, bytes: number): void {
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(Math.min(bytes, 16 * MiB))
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(chunk.length, bytes - done)
      randomFillSync(chunk, 0, n)
      writeSync(fd, chunk, 0, n)
      done += n
    }
  } finally {
    closeSync(fd)
  }
}

async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Keynet node processes (`node start`) now running, with their command lines. */
function nodeProcesses (): Array<{ pid: number, args: string }> {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  return ps.stdout.split('\n').flatMap(line => {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line)
    return m !== null && m[2]!.includes(' node start ') ? [{ pid: Number(m[1]), args: m[2]! }] : []
  })
}

/** Clock ticks per second of /proc/<pid>/stat times. */
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** CPU time (user + system, ms) used so far by these processes, from /proc; a gone process counts 0. */
function cpuMsOf (pids: number[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of the line)
    } catch {}
  }
  return ticks * 1000 / clockTicks
}

/** CPU time (ms) used so far by this process. */
function ownCpuMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** Installs bench/helia (its own lock file, its own node_modules) unless it is already installed. */
async function ensureHelia (log: (line: string) => void): Promise<void> {
  const lock = join(heliaDir, 'package-lock.json')
  const installed = join(heliaDir, 'node_modules', '.package-lock.json')
  if (existsSync(installed) && (!existsSync(lock) || statSync(installed).mtimeMs >= statSync(lock).mtimeMs)) return
  const verb = existsSync(lock) ? 'ci' : 'install'
  log(`bench: installing Helia for the comparison: npm ${verb} --prefix bench/helia (about 130 MiB, once)…`)
  const started = performance.now()
  // --legacy-peer-deps keeps libp2p's optional WebRTC tree out (see bench/helia/.npmrc).
  let fetched = 0
  await run('npm', [verb, '--prefix', heliaDir, '--legacy-peer-deps', '--no-audit', '--no-fund', '--loglevel=http'], {
    stderrTo: line => {
      if (!line.startsWith('npm http fetch')) log(`  ${line}`)
      else if (++fetched % 50 === 0) log(`  npm: ${fetched} packages fetched…`)
    },
    timeoutMs: 600_000
  })
  log(`bench:   Helia installed in ${fmt((performance.now() - started) / 1000, 1)} s`)
}

/** CPU per MiB of a transfer: the receiving side and the sending side(s). */
interface CpuSplit { receiver: number, senders: number }

/** What was measured, gathered as steps finish; turned into rows at the end. */
interface Results {
  machine: string
  /** `keynet get` over providers' HTTP block endpoints (the default): MiB/s end to end. */
  cliGet: number[]
  /** Wall-clock times of every fault-free `keynet get` of the file on devnet A (default path). */
  cliGetMs: number[]
  /** The same gets, MiB/s after CLI start-up (the command's own --json ms). */
  cliGetInner: number[]
  /** `keynet get --no-http` (libp2p only): end to end, and after start-up. */
  cliLibp2p: number[]
  cliLibp2pInner: number[]
  sdkGet: number[]
  sdkLibp2p: number[]
  put?: { mibps: number, wallMibps: number }
  ceiling: number[]
  /** Core-milliseconds per MiB moved, summed over the processes on both ends. */
  cpu: { ceiling?: CpuSplit, sdk?: CpuSplit, sdkLibp2p?: CpuSplit, cli?: CpuSplit, cliLibp2p?: CpuSplit, helia?: CpuSplit }
  helia?: { inProcess: number, process: number, addMibps: number } | { error: string }
  ttfb?: { cold: number[], warm: number[], first: number }
  publish?: { mibps: number, wallMibps: number, files: number }
  failover?: { baselineMs: number, killedMs: number, killedAtBytes: number, pauseBeforeMs: number, pauseAfterMs: number }
  repair?: { pinAfterWindowMs: number, doneAfterWindowMs: number, pinFromKillMs: number, doneFromKillMs: number, pullMibps: number }
}

/** Runs every content measurement; always stops its devnets and children and deletes its files. */
export async function contentBench (opts: ContentBenchOptions): Promise<BenchRow[]> {
  const log = opts.log
  const size = opts.fileBytes ?? 256 * MiB
  const repeats = opts.repeats ?? 2
  const label = size % MiB === 0 ? `${size / MiB} MiB` : `${size} B`
  const work = mkdtempSync(join(tmpdir(), 'keynet-bench-content-'))
  const homes: string[] = []
  const others = nodeProcesses()
  const load = loadavg()[0] ?? 0
  const r: Results = { machine: `1-min load ${fmt(load, 1)} and ${others.length} other node processes at the start`, cliGet: [], cliGetMs: [], cliGetInner: [], cliLibp2p: [], cliLibp2pInner: [], sdkGet: [], sdkLibp2p: [], ceiling: [], cpu: {} }
  if (others.length > 0 || load > 3) log(`bench: note: the machine is busy (1-min load ${fmt(load, 1)}, ${others.length} keynet node processes of others); figures will be lower`)
  try {
    if (opts.gatewayOnly === true) {
      const home = join(work, 'home-gateway')
      mkdirSync(home)
      homes.push(home)
      log('bench: starting a devnet: 1 validator, 3 storage providers, a gateway…')
      const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '3', '--compute', '0', '--timeout', '120000'])
      log(`bench:   up in ${fmt(up.ms / 1000, 1)} s`)
      await gatewayTtfb(r, home, readDevnet(join(home, 'devnet')), work, log)
      r.machine += `; load ${fmt(loadavg()[0] ?? 0, 1)} at the end`
      return rows(r, label)
    }
    const blob = join(work, 'blob.bin')
    log(`bench: content: writing a ${label} random file…`)
    writeRandomFile(blob, size)
    const blobSha = await sha256File(blob)

    if (runsPart('ceiling')) await ceiling(r, blob, size, work, repeats, log)
    if (runsPart('helia')) await helia(r, blob, size, blobSha, work, log)

    // Devnet A: 1 validator, 3 storage providers, the gateway.
    const homeA = join(work, 'home-a')
    mkdirSync(homeA)
    homes.push(homeA)
    log('bench: starting a devnet: 1 validator, 3 storage providers, a gateway…')
    const upA = await keynet(homeA, ['devnet', 'up', '--validators', '1', '--storage', '3', '--compute', '0', '--timeout', '120000'])
    log(`bench:   up in ${fmt(upA.ms / 1000, 1)} s`)
    const fileA = readDevnet(join(homeA, 'devnet'))
    const apiA = fileA.nodes[0]!.api

    log(`bench: keynet put (${label}, 3 replicas)…`)
    const put = await keynetJson<{ cid: string, seconds: number, holders: Array<{ address: string }> }>(homeA, ['put', blob, '--replicas', '3'])
    r.put = { mibps: mibps(size, put.value.seconds * 1000), wallMibps: mibps(size, put.ms) }
    log(`bench:   ${fmt(r.put.mibps)} MiB/s upload (${fmt(r.put.wallMibps)} MiB/s wall clock, CLI start and pin included)`)
    const cid = put.value.cid
    await settled(fileA, cid, log)

    await getThroughput(r, homeA, fileA, cid, size, blobSha, work, repeats, log)
    if (runsPart('gateway')) await gatewayTtfb(r, homeA, fileA, work, log)
    if (runsPart('publish')) await publishFolder(r, homeA, work, size, log)
    if (runsPart('failover')) await failover(r, homeA, fileA, cid, size, blobSha, work, log)

    log('bench: stopping the devnet…')
    await keynet(homeA, ['devnet', 'down'])
    homes.splice(homes.indexOf(homeA), 1)

    if (runsPart('repair')) await repair(r, homes, blob, size, work, log)
  } finally {
    for (const c of children) c.kill('SIGKILL')
    for (const home of homes) {
      try { await keynet(home, ['devnet', 'down']) } catch (err) { log(`bench: devnet down in ${home} failed: ${(err as Error).message}`) }
    }
    const left = nodeProcesses().filter(p => p.args.includes(work))
    for (const p of left) { log(`bench: node ${p.pid} outlived its devnet; killing it`); try { process.kill(p.pid, 'SIGKILL') } catch {} }
    rmSync(work, { recursive: true, force: true })
  }
  r.machine += `; load ${fmt(loadavg()[0] ?? 0, 1)} at the end`
  return rows(r, label)
}

/** The loopback ceiling: a plain node:http server process streaming the file to a client here, which writes it to disk. */
async function ceiling (r: Results, blob: string, size: number, work: string, repeats: number, log: (line: string) => void): Promise<void> {
  log('bench: ceiling: plain node:http server (own process) → file on loopback…')
  const server = `
    const http = require('node:http'); const fs = require('node:fs')
    const file = process.argv[1]; const size = fs.statSync(file).size
    const s = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
      fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res)
    })
    s.listen(0, '127.0.0.1', () => { process.stdout.write(s.address().port + '\\n') })
    process.stdin.on('end', () => process.exit(0)); process.stdin.resume()`
  const child = track(spawn(process.execPath, ['-e', server, blob], { stdio: ['pipe', 'pipe', 'inherit'] }))
  try {
    const [line] = await once(child.stdout!, 'data') as [Buffer]
    const port = Number(line.toString().trim())
    const out = join(work, 'ceiling.out')
    // One run more than the others: the first transfer of a fresh process is slower (JIT, TCP windows).
    for (let i = 0; i <= repeats; i++) {
      const started = performance.now()
      const cpu0 = { own: ownCpuMs(), server: cpuMsOf([child.pid ?? 0]) }
      await new Promise<void>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/' }, res => { pipeline(res, createWriteStream(out)).then(resolve, reject) }).on('error', reject)
      })
      const ms = performance.now() - started
      r.cpu.ceiling = { receiver: (ownCpuMs() - cpu0.own) / (size / MiB), senders: (cpuMsOf([child.pid ?? 0]) - cpu0.server) / (size / MiB) }
      if (statSync(out).size !== size) throw new Error('the ceiling server sent a wrong size')
      rmSync(out)
      r.ceiling.push(mibps(size, ms))
      log(`bench:   ${fmt(mibps(size, ms))} MiB/s`)
    }
  } finally {
    child.stdin?.end()
    setTimeout(() => { child.kill('SIGKILL') }, 2000).unref()
  }
}

/** Helia with bitswap over TCP: one process adds the file, another fetches it cold and writes it to disk. */
async function helia (r: Results, blob: string, size: number, sha: string, work: string, log: (line: string) => void): Promise<void> {
  let adder: ChildProcess | undefined
  try {
    await ensureHelia(log)
    log('bench: Helia: adding the file in one process…')
    const script = join(heliaDir, 'peer.js')
    adder = track(spawn(process.execPath, [script, 'add', blob], { cwd: heliaDir, stdio: ['pipe', 'pipe', 'pipe'] }))
    let adderErr = ''
    adder.stderr?.on('data', (d: Buffer) => { adderErr += d.toString() })
    const first = await Promise.race([
      once(adder.stdout!, 'data') as Promise<[Buffer]>,
      once(adder, 'exit').then(() => { throw new Error(`the Helia adder exited: ${adderErr.trim()}`) }),
      sleep(120_000).then(() => { throw new Error('the Helia adder did not answer within 120 s') })
    ])
    const added = JSON.parse(first[0].toString()) as { cid: string, addrs: string[], addMs: number }
    const addr = added.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/'))
    if (addr === undefined) throw new Error(`the Helia adder listens on no loopback TCP address: ${added.addrs.join(', ')}`)
    log(`bench:   added in ${fmt(added.addMs / 1000, 1)} s; fetching it cold from a second process over bitswap…`)
    const out = join(work, 'helia.out')
    const adderCpu0 = cpuMsOf([adder.pid ?? 0])
    const fetched = await run(process.execPath, [script, 'fetch', added.cid, addr, out], { cwd: heliaDir })
    const result = JSON.parse(fetched.stdout) as { bytes: number, dialMs: number, fetchMs: number, cpuMs: number }
    r.cpu.helia = { receiver: result.cpuMs / (size / MiB), senders: (cpuMsOf([adder.pid ?? 0]) - adderCpu0) / (size / MiB) }
    if (result.bytes !== size || await sha256File(out) !== sha) throw new Error('Helia fetched different bytes')
    rmSync(out)
    r.helia = { inProcess: mibps(size, result.fetchMs), process: mibps(size, fetched.ms), addMibps: mibps(size, added.addMs) }
    log(`bench:   ${fmt(r.helia.inProcess)} MiB/s in process (${fmt(r.helia.process)} MiB/s for the whole fetching process)`)
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] ?? 'unknown'
    r.helia = { error: reason }
    log(`bench:   Helia not measured: ${reason}`)
  } finally {
    adder?.stdin?.end()
    if (adder !== undefined && adder.exitCode === null) {
      await Promise.race([once(adder, 'exit'), sleep(5000)])
      adder.kill('SIGKILL')
    }
  }
}

/**
 * Waits until every storage node holding `cid` has finished its own pass over the new pin (each
 * holder walks the pinned DAG once, reading and hashing every block it holds, and builds the audit
 * commitment tree of the pin), so the gets that
 * follow measure fetching, not that pass running beside them.
 */
async function settled (file: DevnetFile, cid: string, log: (line: string) => void): Promise<void> {
  const started = performance.now()
  const storage = file.nodes.filter(n => n.roles.includes('storage'))
  for (;;) {
    const views = await Promise.all(storage.map(async n => (await getJson<StatusView>(`${n.api}/v1/status`)).storage))
    // Each holder also builds the pin's audit commitment tree and writes it beside its blocks.
    const trees = storage.map((n, i) => !(views[i]?.pinned.includes(cid) ?? false) || existsSync(join(file.dir, n.name, 'blocks', 'commitments', `${cid}.tree`)))
    if (views.every(s => s !== undefined && s.pulling === 0 && (!s.pinned.includes(cid) || s.bytes > 0)) && trees.every(Boolean)) break
    if (performance.now() - started > stepTimeoutMs) throw new Error('the holders did not finish their pass over the new pin')
    await sleep(100)
  }
  log(`bench:   holders done with the new pin (commitment trees built) ${fmt((performance.now() - started) / 1000, 1)} s after the put returned`)
}

/** Keeps the lowest CPU cost seen of one kind of fetch. */
function lowest (prev: CpuSplit | undefined, next: CpuSplit): CpuSplit {
  return prev === undefined || next.receiver + next.senders < prev.receiver + prev.senders ? next : prev
}

/**
 * `keynet get` as a user runs it (a process; over the providers' HTTP block endpoints, then with
 * `--no-http`, libp2p only), then the same through the SDK in this process, both ways.
 */
async function getThroughput (r: Results, home: string, file: DevnetFile, cidText: string, size: number, sha: string, work: string, repeats: number, log: (line: string) => void): Promise<void> {
  const out = join(work, 'get.out')
  const storagePids = file.nodes.filter(n => n.roles.includes('storage')).map(n => n.pid)
  const MiBs = size / MiB
  for (const http of [true, false]) {
    if (!runsPart(http ? 'get' : 'get-libp2p')) continue
    for (let i = 0; i < repeats; i++) {
      log(`bench: keynet get${http ? '' : ' --no-http'} (a process, ${MiBs} MiB from 3 providers${http ? ' over HTTP' : ' over libp2p'}), run ${i + 1}…`)
      const providers0 = cpuMsOf(storagePids)
      const got = await keynetJson<{ bytes: number, ms: number, cpuMs: number }>(home, ['get', cidText, '-o', out, ...(http ? [] : ['--no-http'])])
      const cpu = { receiver: got.value.cpuMs / MiBs, senders: (cpuMsOf(storagePids) - providers0) / MiBs }
      if (statSync(out).size !== size || (i === 0 && await sha256File(out) !== sha)) throw new Error('keynet get wrote different bytes')
      rmSync(out)
      if (http) {
        r.cliGet.push(mibps(size, got.ms))
        r.cliGetMs.push(got.ms)
        r.cliGetInner.push(mibps(size, got.value.ms))
        r.cpu.cli = lowest(r.cpu.cli, cpu)
      } else {
        r.cliLibp2p.push(mibps(size, got.ms))
        r.cliLibp2pInner.push(mibps(size, got.value.ms))
        r.cpu.cliLibp2p = lowest(r.cpu.cliLibp2p, cpu)
      }
      log(`bench:   ${fmt(mibps(size, got.ms))} MiB/s end to end (${fmt(got.ms)} ms; ${fmt(mibps(size, got.value.ms))} MiB/s after start-up); CPU per MiB: client ${fmt(cpu.receiver, 1)} ms (start-up included), 3 providers ${fmt(cpu.senders, 1)} ms`)
    }
  }
  const cid: CID = parseCid(cidText)
  const api = file.nodes[0]!.api
  for (const blockTransport of ['auto', 'libp2p'] as const) {
    if (!runsPart('sdk')) continue
    for (let i = 0; i < repeats; i++) {
      log(`bench: SDK get in process (connect + blocksFor + readFile → file; blocks ${blockTransport === 'auto' ? 'over HTTP' : 'over libp2p'}), run ${i + 1}…`)
      const started = performance.now()
      const cpu0 = { own: ownCpuMs(), providers: cpuMsOf(storagePids) }
      const client = await connect({ api, blockTransport })
      try {
        const { get, fetcher } = await client.blocksFor(cid)
        try {
          await pipeline(Readable.from(readFile(cid, get, { concurrency: 24 })), createWriteStream(out))
        } finally {
          fetcher.close()
        }
      } finally {
        await client.close()
      }
      const ms = performance.now() - started
      const cpu = { receiver: (ownCpuMs() - cpu0.own) / MiBs, senders: (cpuMsOf(storagePids) - cpu0.providers) / MiBs }
      if (statSync(out).size !== size) throw new Error('the SDK fetch wrote a wrong size')
      rmSync(out)
      if (blockTransport === 'auto') {
        r.cpu.sdk = lowest(r.cpu.sdk, cpu)
        r.sdkGet.push(mibps(size, ms))
      } else {
        r.cpu.sdkLibp2p = lowest(r.cpu.sdkLibp2p, cpu)
        r.sdkLibp2p.push(mibps(size, ms))
      }
      log(`bench:   ${fmt(mibps(size, ms))} MiB/s; CPU per MiB: client ${fmt(cpu.receiver, 1)} ms, 3 providers ${fmt(cpu.senders, 1)} ms`)
    }
  }
}

interface Timed { ttfbMs: number, status: number, bytes: number }

/** One GET; times the first byte of the body. */
async function timedGet (agent: Agent, url: URL, headers: Record<string, string> = {}): Promise<Timed> {
  return await new Promise((resolve, reject) => {
    const started = performance.now()
    const req = httpRequest(url, { agent, headers }, res => {
      let ttfbMs = -1
      let bytes = 0
      res.on('data', (d: Buffer) => {
        if (ttfbMs < 0) ttfbMs = performance.now() - started
        bytes += d.length
      })
      res.on('end', () => { resolve({ ttfbMs: ttfbMs < 0 ? performance.now() - started : ttfbMs, status: res.statusCode ?? 0, bytes }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * Publishes a site (a 10 KiB index.html, and many sub-sites each with their own 10 KiB
 * index.html) to a name, then times the gateway's first byte: cold = each request a sub-site CID
 * the gateway has never seen (its folder block and page block come from the providers); warm =
 * the same page by `Host: name.key` again and again.
 */
async function gatewayTtfb (r: Results, home: string, file: DevnetFile, work: string, log: (line: string) => void): Promise<void> {
  const gateway = file.nodes.find(n => n.http !== undefined)?.http
  if (gateway === undefined) throw new Error('the devnet has no gateway')
  const site = join(work, 'site')
  const warmUp = 20
  const subs = coldRequests + warmUp
  mkdirSync(site)
  const page = (title: string): string => {
    const head = `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1><p>`
    const body = randomFillSync(Buffer.alloc(pageBytes)).toString('base64').slice(0, pageBytes - head.length - 19)
    return `${head}${body}</p></body></html>\n`
  }
  writeFileSync(join(site, 'index.html'), page('bench'))
  for (let i = 0; i < subs; i++) {
    mkdirSync(join(site, `s${i}`))
    writeFileSync(join(site, `s${i}`, 'index.html'), page(`page ${i}`))
  }
  log(`bench: gateway: publishing a site of ${subs + 1} pages of 10 KiB to bench.key…`)
  await keynet(home, ['name', 'register', 'bench.key', '--json'])
  const published = await keynetJson<{ cid: string }>(home, ['publish', site, '--name', 'bench.key', '--replicas', '3'])
  // The sub-sites' CIDs, from the same import done locally.
  const blocks = new Map<string, Uint8Array>()
  const local = await importLocal(scanLocal(site), { put: async b => { blocks.set(b.cid.toString(), b.bytes) } })
  if (local.cid.toString() !== published.value.cid) throw new Error('the local import gives another root CID than the publish')
  const getLocal = async (c: CID): Promise<Uint8Array> => blocks.get(c.toString()) ?? await Promise.reject(new Error(`no block ${c}`))
  const root = await resolvePath(local.cid, '', getLocal)
  if (root.kind !== 'directory') throw new Error('the site root is not a folder')
  const subCids = root.entries.filter(e => e.name.startsWith('s')).map(e => e.cid.toString())

  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  try {
    const expect = (t: Timed, what: string): number => {
      if (t.status !== 200 || t.bytes !== pageBytes) throw new Error(`${what}: HTTP ${t.status}, ${t.bytes} bytes (expected 200, ${pageBytes})`)
      return t.ttfbMs
    }
    // The first request ever: the gateway dials the providers. Then a few more to warm up
    // connections and code, as a gateway that has been running would be.
    const first = expect(await timedGet(agent, new URL(`${gateway}/ipfs/${subCids[0]}/`)), 'first request')
    for (const c of subCids.slice(1, warmUp)) expect(await timedGet(agent, new URL(`${gateway}/ipfs/${c}/`)), 'warm-up')
    log(`bench:   first request ${fmt(first, 1)} ms; cold: ${coldRequests} pages never served before…`)
    const cold: number[] = []
    for (const c of subCids.slice(warmUp)) cold.push(expect(await timedGet(agent, new URL(`${gateway}/ipfs/${c}/`)), 'cold page'))
    log(`bench:   cold p50 ${fmt(pct(cold, 0.5), 1)} ms, p99 ${fmt(pct(cold, 0.99), 1)} ms; warm: one page by Host: bench.key…`)
    const warm: number[] = []
    const byName = new URL(`${gateway}/`)
    for (let i = 0; i < 2 * warmRequests; i++) {
      const t = expect(await timedGet(agent, byName, { host: 'bench.key' }), 'warm page')
      if (i >= warmRequests) warm.push(t)
    }
    log(`bench:   warm p50 ${fmt(pct(warm, 0.5), 2)} ms, p99 ${fmt(pct(warm, 0.99), 2)} ms`)
    r.ttfb = { cold, warm, first }
  } finally {
    agent.destroy()
  }
}

/** `keynet publish` of a folder of `folderFiles` random files, `size` bytes in all, to 3 providers. */
async function publishFolder (r: Results, home: string, work: string, size: number, log: (line: string) => void): Promise<void> {
  const folder = join(work, 'folder')
  mkdirSync(folder)
  const each = Math.floor(size / folderFiles)
  for (let i = 0; i < folderFiles; i++) writeRandomFile(join(folder, `file-${String(i).padStart(2, '0')}.bin`), each)
  log(`bench: keynet publish of a folder of ${folderFiles} files of ${fmt(each / MiB, 1)} MiB, 3 replicas…`)
  const published = await keynetJson<{ bytes: number, seconds: number, files: number }>(home, ['publish', folder, '--replicas', '3'])
  r.publish = { mibps: mibps(published.value.bytes, published.value.seconds * 1000), wallMibps: mibps(published.value.bytes, published.ms), files: published.value.files }
  log(`bench:   ${fmt(r.publish.mibps)} MiB/s upload (${fmt(r.publish.wallMibps)} MiB/s wall clock)`)
  rmSync(folder, { recursive: true, force: true })
}

/** A `keynet get` with no fault, then one during which a holder is killed (SIGKILL) a quarter of the way in. */
async function failover (r: Results, home: string, file: DevnetFile, cidText: string, size: number, sha: string, work: string, log: (line: string) => void): Promise<void> {
  const out = join(work, 'failover.out')
  log('bench: failover: a get with no fault…')
  const baseline = await keynet(home, ['get', cidText, '-o', out, '--json'])
  rmSync(out)
  r.cliGetMs.push(baseline.ms)
  const baselineMs = pct(r.cliGetMs, 0.5)
  const api = file.nodes[0]!.api
  const pin = await getJson<PinView>(`${api}/v1/pins/${cidText}`)
  const providers = (await getJson<{ providers: ProviderView[] }>(`${api}/v1/providers`)).providers
  const victimPeer = providers.find(p => p.address === pin.holders[0])?.peerId
  const victim = file.nodes.find(n => n.id === victimPeer)
  if (victim === undefined) throw new Error('the first holder of the blob is not a node of this devnet')
  log(`bench:   ${fmt(baseline.ms)} ms (median of the fault-free gets ${fmt(baselineMs)} ms); now the same get, killing ${victim.name} (pid ${victim.pid}) after ${size / 4 / MiB} MiB…`)
  const started = performance.now()
  const child = track(spawn(process.execPath, [cliPath, 'get', cidText, '-o', out, '--json'], { env: userEnv(home), stdio: ['ignore', 'pipe', 'pipe'] }))
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = once(child, 'exit') as Promise<[number | null]>
  let killedAtBytes = -1
  let done = false
  void exited.then(() => { done = true })
  // The longest time the output did not grow, before and after the kill: the time the kill
  // cost, measured inside one run (whole-run times vary by seconds on a shared machine).
  let lastSize = 0
  let lastGrowth = performance.now()
  let pauseBeforeMs = 0
  let pauseAfterMs = 0
  while (!done) {
    const at = existsSync(out) ? statSync(out).size : 0
    const now = performance.now()
    if (at > lastSize) {
      lastSize = at
      lastGrowth = now
    } else if (lastSize > 0) {
      if (killedAtBytes < 0) pauseBeforeMs = Math.max(pauseBeforeMs, now - lastGrowth)
      else pauseAfterMs = Math.max(pauseAfterMs, now - lastGrowth)
    }
    if (killedAtBytes < 0 && at >= size / 4) {
      process.kill(victim.pid, 'SIGKILL')
      killedAtBytes = at
    }
    await sleep(5)
  }
  const [code] = await exited
  const ms = performance.now() - started
  if (code !== 0) throw new Error(`keynet get during the kill exited ${code}: ${stderr.trim()}`)
  if (killedAtBytes < 0) throw new Error('the get finished before the kill')
  if (await sha256File(out) !== sha) throw new Error('keynet get wrote different bytes after the failover')
  rmSync(out)
  const stats = (JSON.parse(stdout) as { providers: Array<{ peerId: string, blocks: number, dropped?: string }> }).providers
  log(`bench:   ${fmt(ms)} ms (${fmt(ms - baselineMs)} ms more than the median); blocks per provider: ${stats.map(s => `${s.blocks}${s.dropped === undefined ? '' : ` (dropped: ${s.dropped})`}`).join(', ')}`)
  log(`bench:   longest pause of the output after the kill ${fmt(pauseAfterMs)} ms (before it ${fmt(pauseBeforeMs)} ms)`)
  r.failover = { baselineMs, killedMs: ms, killedAtBytes, pauseBeforeMs, pauseAfterMs }
}

/**
 * A devnet with 4 providers and a 10 s provider timeout: the file is put on 3 of them, one is
 * killed, and the times are taken until the ledger's pin names a replacement and the replacement
 * holds the whole file. Both are reported after the end of the silence window (the killed
 * node's last heartbeat on the ledger plus 10 s), which is configuration, not work.
 */
async function repair (r: Results, homes: string[], blob: string, size: number, work: string, log: (line: string) => void): Promise<void> {
  const home = join(work, 'home-b')
  mkdirSync(home)
  homes.push(home)
  log('bench: repair: starting a devnet of 1 validator, 4 storage providers, a 10 s provider timeout…')
  await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '4', '--compute', '0', '--no-gateway', '--provider-timeout', String(repairTimeoutMs), '--timeout', '120000'])
  const file = readDevnet(join(home, 'devnet'))
  const api = file.nodes[0]!.api
  const put = await keynetJson<{ cid: string, holders: Array<{ address: string }> }>(home, ['put', blob, '--replicas', '3'])
  const cid = put.value.cid
  const holders = put.value.holders.map(h => h.address)
  const providers = async (): Promise<ProviderView[]> => (await getJson<{ providers: ProviderView[] }>(`${api}/v1/providers`)).providers
  const before = await providers()
  const victimAddress = holders[0]!
  const victim = file.nodes.find(n => n.id === before.find(p => p.address === victimAddress)?.peerId)
  if (victim === undefined) throw new Error('the first holder is not a node of this devnet')
  log(`bench:   put on 3 of 4; killing holder ${victim.name}…`)
  process.kill(victim.pid, 'SIGKILL')
  const killedAt = Date.now()
  const deadline = killedAt + stepTimeoutMs
  let pin: PinView | undefined
  for (;;) {
    if (Date.now() > deadline) throw new Error('the pin was not repaired in time')
    const p = await getJson<PinView>(`${api}/v1/pins/${cid}`)
    if (!p.holders.includes(victimAddress)) { pin = p; break }
    await sleep(50)
  }
  const pinAt = Date.now()
  const replacementAddress = pin.holders.find(h => !holders.includes(h))
  const replacement = file.nodes.find(n => n.id === before.find(p => p.address === replacementAddress)?.peerId)
  if (replacement === undefined) throw new Error(`the repaired pin names no new holder: ${pin.holders.join(', ')}`)
  log(`bench:   pin repaired ${fmt((pinAt - killedAt) / 1000, 1)} s after the kill; waiting for ${replacement.name} to pull ${size / MiB} MiB…`)
  for (;;) {
    if (Date.now() > deadline) throw new Error('the replacement did not finish pulling in time')
    const s = (await getJson<StatusView>(`${replacement.api}/v1/status`)).storage
    if (s !== undefined && s.pulling === 0 && s.pinned.includes(cid) && s.bytes >= size) break
    await sleep(50)
  }
  const doneAt = Date.now()
  // The killed node's last heartbeat as the ledger recorded it (one could commit just after the kill).
  const lastSeen = (await providers()).find(p => p.address === victimAddress)?.lastSeen
  if (lastSeen === undefined) throw new Error('the killed provider is no longer registered')
  const windowEnd = lastSeen + repairTimeoutMs
  r.repair = {
    pinAfterWindowMs: pinAt - windowEnd,
    doneAfterWindowMs: doneAt - windowEnd,
    pinFromKillMs: pinAt - killedAt,
    doneFromKillMs: doneAt - killedAt,
    pullMibps: mibps(size, doneAt - pinAt)
  }
  log(`bench:   replacement holds it ${fmt((doneAt - killedAt) / 1000, 1)} s after the kill, ${fmt(r.repair.doneAfterWindowMs / 1000, 1)} s after the silence window`)
  await keynet(home, ['devnet', 'down'])
  homes.splice(homes.indexOf(home), 1)
}

function rows (r: Results, label: string): BenchRow[] {
  const out: BenchRow[] = []
  const add = (metric: string, value: string, target = '—', anchor?: string): void => {
    out.push({ group: 'content', metric, value, target, ...(anchor === undefined ? {} : { anchor }) })
  }
  const best = (xs: number[]): number => Math.max(...xs)
  const runs = (xs: number[]): string => xs.length > 1 ? ` (runs ${xs.map(x => fmt(x)).join(', ')})` : ''
  const ceilingBest = r.ceiling.length > 0 ? best(r.ceiling) : NaN
  const heliaFigure = r.helia !== undefined && 'inProcess' in r.helia ? r.helia : undefined
  add('machine at the start', r.machine)
  const heliaProcess = heliaFigure === undefined ? '' : `, ≥ ${fmt(2 * heliaFigure.process)} (2× Helia process)`
  const heliaInProcess = heliaFigure === undefined ? '' : `, ≥ ${fmt(2 * heliaFigure.inProcess)} (2× Helia in process)`
  const ofCeiling = (x: number): string => `${fmt(100 * x / ceilingBest)}% of plain HTTP`
  if (r.cliGet.length > 0) {
    const cli = best(r.cliGet)
    add(`keynet get, ${label} from 3 providers over HTTP, process end to end, best`, `${fmt(cli)} MiB/s${runs(r.cliGet)}`, `≥ 200 MiB/s${heliaProcess}`, ofCeiling(cli))
    add('keynet get over HTTP, after CLI start-up (its own --json ms)', `${fmt(best(r.cliGetInner))} MiB/s${runs(r.cliGetInner)}`, '—', ofCeiling(best(r.cliGetInner)))
  }
  if (r.cliLibp2p.length > 0) {
    const cli = best(r.cliLibp2p)
    add(`keynet get --no-http (libp2p only), process end to end, best`, `${fmt(cli)} MiB/s${runs(r.cliLibp2p)}`, '—', ofCeiling(cli))
    add('keynet get --no-http, after CLI start-up', `${fmt(best(r.cliLibp2pInner))} MiB/s${runs(r.cliLibp2pInner)}`, '—', ofCeiling(best(r.cliLibp2pInner)))
  }
  if (r.sdkGet.length > 0) {
    const sdk = best(r.sdkGet)
    add('SDK get in process over HTTP (connect + blocksFor + readFile → file), best', `${fmt(sdk)} MiB/s${runs(r.sdkGet)}`, `≥ 200 MiB/s${heliaInProcess}`, ofCeiling(sdk))
  }
  if (r.sdkLibp2p.length > 0) add('SDK get in process, libp2p only, best', `${fmt(best(r.sdkLibp2p))} MiB/s${runs(r.sdkLibp2p)}`, '—', ofCeiling(best(r.sdkLibp2p)))
  if (r.ceiling.length > 0) add('ceiling: plain node:http server process → file, loopback, best', `${fmt(ceilingBest)} MiB/s${runs(r.ceiling)}`, '—', 'physical anchor')
  const cpuRow = (what: string, c: CpuSplit | undefined): void => {
    if (c === undefined) return
    const total = c.receiver + c.senders
    add(`CPU per MiB fetched, ${what} (receiver + senders)`, `${fmt(total, 1)} ms (${fmt(c.receiver, 1)} + ${fmt(c.senders, 1)})`, '—', `2-core limit ${fmt(2000 / total)} MiB/s`)
  }
  cpuRow('keynet get over HTTP, CLI start-up included', r.cpu.cli)
  cpuRow('keynet get --no-http, CLI start-up included', r.cpu.cliLibp2p)
  cpuRow('SDK get over HTTP', r.cpu.sdk)
  cpuRow('SDK get, libp2p only', r.cpu.sdkLibp2p)
  cpuRow('Helia bitswap', r.cpu.helia)
  cpuRow('plain node:http', r.cpu.ceiling)
  if (r.helia !== undefined) {
    if ('error' in r.helia) add('Helia 7.1.15 bitswap, 2 processes, cold fetch → file', `not measured: ${r.helia.error}`)
    else {
      add('Helia 7.1.15 bitswap over TCP, 2 processes, cold fetch → file (in process)', `${fmt(r.helia.inProcess)} MiB/s`, '—',
        r.sdkGet.length > 0 ? `SDK is ${fmt(best(r.sdkGet) / r.helia.inProcess, 1)}×` : undefined)
      add('Helia fetching process end to end (start, dial, fetch)', `${fmt(r.helia.process)} MiB/s`, '—',
        r.cliGet.length > 0 ? `keynet get is ${fmt(best(r.cliGet) / r.helia.process, 1)}×` : undefined)
    }
  }
  if (r.put !== undefined) add(`keynet put, ${label}, 3 replicas (upload; wall clock incl. pin)`, `${fmt(r.put.mibps)} MiB/s (${fmt(r.put.wallMibps)} wall)`)
  if (r.publish !== undefined) add(`keynet publish, folder of ${r.publish.files} files (${label}), 3 replicas (upload; wall)`, `${fmt(r.publish.mibps)} MiB/s (${fmt(r.publish.wallMibps)} wall)`)
  if (r.ttfb !== undefined) {
    add('gateway first byte, 10 KiB page, cold (new CID each) p50', `${fmt(pct(r.ttfb.cold, 0.5), 1)} ms`)
    add(`gateway first byte, cold p99 (${r.ttfb.cold.length} pages)`, `${fmt(pct(r.ttfb.cold, 0.99), 1)} ms`, '≤ 100 ms', `first ever ${fmt(r.ttfb.first, 1)} ms`)
    add('gateway first byte, warm (same page, Host: name.key) p50', `${fmt(pct(r.ttfb.warm, 0.5), 2)} ms`)
    add(`gateway first byte, warm p99 (${r.ttfb.warm.length} requests)`, `${fmt(pct(r.ttfb.warm, 0.99), 2)} ms`, '≤ 5 ms')
  }
  if (r.failover !== undefined) {
    const f = r.failover
    add(`failover: time added by SIGKILL of 1 of 3 holders mid-get (at ${fmt(f.killedAtBytes / MiB)} MiB)`, `${fmt((f.killedMs - f.baselineMs) / 1000, 2)} s`, '≤ 1 s',
      `${fmt(f.killedMs / 1000, 2)} s vs median ${fmt(f.baselineMs / 1000, 2)} s without`)
    add('failover: longest pause of the output after the kill', `${fmt(f.pauseAfterMs)} ms`, '≤ 1,000 ms', `longest before the kill ${fmt(f.pauseBeforeMs)} ms`)
  }
  if (r.repair !== undefined) {
    const p = r.repair
    add('repair: pin-repair on the ledger', `${fmt(p.pinAfterWindowMs / 1000, 1)} s after the 10 s silence window`, '—', `${fmt(p.pinFromKillMs / 1000, 1)} s from the kill`)
    add(`repair: replacement holds all ${label}`, `${fmt(p.doneAfterWindowMs / 1000, 1)} s after the 10 s silence window`, '—',
      `${fmt(p.doneFromKillMs / 1000, 1)} s from the kill; pull ${fmt(p.pullMibps)} MiB/s`)
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const gatewayOnly = process.argv.includes('--gateway')
  const result = await contentBench({ log: line => process.stderr.write(`${line}\n`), fileBytes: (quick ? 64 : 256) * MiB, gatewayOnly })
  console.table(result)
}
