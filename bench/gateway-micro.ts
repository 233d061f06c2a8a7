/**
 * The gateway's own cost of a warm page, without a network around it: a site of 300 sub-sites
 * with 10 KiB pages imported into memory, served by a `GatewayServer` with its edge cache, hot
 * copies and name forwarding as a node builds it, and asked for the same page by `Host: name.key`
 * from a client in another process. Prints the server's CPU time and young-generation
 * collections per request, and the first-byte times the client saw.
 * Run: `node --max-semi-space-size=16 bench/gateway-micro.ts [requests]`.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import type { Block, BlockGetter, CID } from '../src/core/content/cid.ts'
import { importTree } from '../src/core/content/importer.ts'
import { EdgeCache } from '../src/edges/gateway/edge-cache.ts'
import { GatewayServer } from '../src/edges/gateway/gateway-server.ts'
import { HotCopies } from '../src/edges/gateway/hot-copies.ts'
import { pct } from './bench-helpers.ts'

const requests = Number(process.argv[2] ?? 5000)

if (process.argv[2] === 'client') {
  const { Agent, request } = await import('node:http')
  const [url, n] = [process.argv[3]!, Number(process.argv[4])]
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    times.push(await new Promise<number>((resolve, reject) => {
      const started = performance.now()
      let first = -1
      request(url, { agent, headers: { host: 'bench.key' } }, res => {
        res.on('data', () => { if (first < 0) first = performance.now() - started })
        res.on('end', () => { if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`)); else resolve(first) })
      }).on('error', reject).end()
    }))
  }
  process.send!(times)
  process.exit(0)
}

const blocks = new Map<string, Uint8Array>()
const files = [{ path: 'index.html', content: () => new Uint8Array(randomBytes(10 * 1024)) }]
for (let i = 0; i < 300; i++) files.push({ path: `s${i}/index.html`, content: () => new Uint8Array(randomBytes(10 * 1024)) })
const root = (await importTree(files, { put: async (b: Block) => { blocks.set(b.cid.toString(), b.bytes) } })).cid
const upstream = (_root: CID): BlockGetter => async cid => blocks.get(cid.toString())!
const dir = mkdtempSync(join(tmpdir(), 'keynet-gateway-micro-'))
const cache = await EdgeCache.open({ dir: join(dir, 'cache'), capacityBytes: 512 * 1024 * 1024 })
const hot = await HotCopies.open({ dir: join(dir, 'hot'), capacityBytes: 128 * 1024 * 1024, upstream, log: () => {} })
const gateway = new GatewayServer({
  resolver: { resolve: async () => ({ cid: root, version: 1 }) },
  blocks: upstream,
  cache,
  hot,
  forward: { isServicePath: async () => false, fetch: async () => await Promise.reject(new Error('no services')) }
})
const url = await gateway.listen('127.0.0.1', 0)
let scavenges = 0
let majors = 0
new PerformanceObserver(list => { for (const e of list.getEntries()) { if ((e as unknown as { detail: { kind: number } }).detail.kind === 1) scavenges++; else majors++ } }).observe({ entryTypes: ['gc'] })
const run = async (n: number): Promise<number[]> => await new Promise((resolve, reject) => {
  const child = fork(fileURLToPath(import.meta.url), ['client', `${url}/`, String(n)], { execArgv: ['--disable-warning=ExperimentalWarning'] })
  child.once('message', m => { resolve(m as number[]) })
  child.once('error', reject)
})
await run(500) // warm up: caches, JIT
scavenges = 0; majors = 0
const cpu0 = process.cpuUsage()
const times = await run(requests)
const cpu = process.cpuUsage(cpu0)
console.log(`${requests} warm requests: server CPU ${((cpu.user + cpu.system) / 1000 / requests * 1000).toFixed(1)} µs/request (user ${(cpu.user / requests).toFixed(1)}, system ${(cpu.system / requests).toFixed(1)}); ` +
  `young collections ${scavenges} (one per ${(requests / Math.max(1, scavenges)).toFixed(0)} requests), major ${majors}; ` +
  `first byte p50 ${pct(times, 0.5).toFixed(3)} ms, p99 ${pct(times, 0.99).toFixed(3)} ms, max ${Math.max(...times).toFixed(2)} ms`)
await gateway.close()
hot.stop()
rmSync(dir, { recursive: true, force: true })
