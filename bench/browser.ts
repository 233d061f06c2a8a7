/**
 * Browser benchmark (issue 7): the example site (examples/site: a page, its style sheet, script
 * and two images) loaded in Chromium through the gateway, time from navigation start to the
 * load event (Navigation Timing `loadEventStart`), beside the same files served by a plain
 * node:http static server on loopback in the same run, loaded the same way.
 * - cold: a fresh browser profile for every load, and a freshly published copy of the site
 *   (every file changed by a comment, so no block is in the gateway's edge cache);
 * - warm: repeat visits in one browser (alternating with the anchor's), the browser's cache working by each server's headers
 *   (both send `max-age=60` and an ETag);
 * - warm, browser cache off: every file from the server on every visit.
 * Prints rows for bench/run.ts; run alone with `node bench/browser.ts [--quick]`.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { contentTypeFor } from '../src/core/content/mime.ts'
import type { DevnetFile } from '../src/node/devnet.ts'
import { launchChromium, type KeyBrowser } from '../test/e2e/chromium.ts'
import type { BenchRow } from './ledger.ts'
import { pct } from './bench-helpers.ts'

/** Options of `browserBench`. */
export interface BrowserBenchOptions {
  log: (line: string) => void
  /** Fewer loads. */
  quick?: boolean
}

const cliPath = fileURLToPath(new URL('../bin/keynet.js', import.meta.url))
const siteDir = fileURLToPath(new URL('../examples/site/', import.meta.url))

const fmt = (x: number): string => x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })
const p50p99 = (xs: number[]): string => `${fmt(pct(xs, 0.5))} / ${fmt(pct(xs, 0.99))} ms`

/** Runs the real CLI in its own process; throws with its output on failure. */
async function keynet (home: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYNET_HOME: home }
  delete env.NODE_TEST_CONTEXT
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [cliPath, ...args], { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`keynet ${args.join(' ')}: ${err.message}\n${stderr}${stdout}`))
      else resolve(stdout)
    })
  })
}

function listFiles (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(dir, p))
    }
  }
  walk(dir)
  return out
}

/** A copy of the example site in which every file differs (a trailing comment or bytes), so all its blocks are new. */
function freshCopy (into: string, tag: string): string {
  cpSync(siteDir, into, { recursive: true })
  for (const file of listFiles(into)) {
    const path = join(into, file)
    const note = file.endsWith('.css') || file.endsWith('.js') ? `\n/* copy ${tag} */\n` : file.endsWith('.html') || file.endsWith('.svg') ? `\n<!-- copy ${tag} -->\n` : `copy ${tag}`
    // Bytes after a PNG's IEND chunk or a PDF's %%EOF are ignored by their readers.
    writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.from(note)]))
  }
  return into
}

/**
 * The anchor: a plain static file server on loopback, answering like a typical one (type by
 * extension, ETag, 304, `max-age=60` as the gateway sends for names), from `root()`.
 */
async function staticServer (root: () => string): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    if (path.endsWith('/')) path += 'index.html'
    if (path.includes('..')) { res.writeHead(400); res.end(); return }
    let body: Buffer
    try { body = readFileSync(join(root(), path)) } catch { res.writeHead(404); res.end('not found'); return }
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`
    const headers = { etag, 'cache-control': 'public, max-age=60', 'content-type': contentTypeFor(path.split('/').at(-1) ?? '') }
    if (req.headers['if-none-match'] === etag) { res.writeHead(304, headers); res.end(); return }
    res.writeHead(200, { ...headers, 'content-length': body.byteLength })
    res.end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

/** Loads `url` in `page` and returns navigation start → load event, after checking the page rendered. */
async function timedLoad (page: Page, url: string): Promise<number> {
  const res = await page.goto(url, { waitUntil: 'load', timeout: 60_000 })
  if (res === null || (res.status() !== 200 && res.status() !== 304)) throw new Error(`${url}: HTTP ${res?.status() ?? 'no response'}`)
  const [ms, images, scripted] = await page.evaluate(`[performance.getEntriesByType('navigation')[0].loadEventStart,
    [...document.images].every(i => i.naturalWidth > 0), document.getElementById('status').className === 'ok']`) as [number, boolean, boolean]
  if (!images || !scripted) throw new Error(`${url} did not render fully (images ${images}, script ${scripted})`)
  return ms
}

/** One load in a new browser with a fresh profile. */
async function coldLoad (gateway: string, url: string): Promise<number> {
  const browser = await launchChromium(gateway)
  try {
    return await timedLoad(await browser.context.newPage(), url)
  } finally {
    await browser.close()
  }
}

/**
 * Repeat visits to `url` and to `anchorUrl`, alternating (so a change of the shared machine's
 * load hits both), each in its own page after one untimed visit; `cache: false` turns the
 * browser's cache off.
 */
async function warmLoads (browser: KeyBrowser, url: string, anchorUrl: string, n: number, cache: boolean): Promise<[number[], number[]]> {
  const open = async (): Promise<Page> => {
    const page = await browser.context.newPage()
    const cdp = await browser.context.newCDPSession(page)
    await cdp.send('Network.enable')
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: !cache })
    return page
  }
  const [page, anchorPage] = [await open(), await open()]
  try {
    await timedLoad(page, url)
    await timedLoad(anchorPage, anchorUrl)
    const out: number[] = []
    const anchorOut: number[] = []
    for (let i = 0; i < n; i++) {
      out.push(await timedLoad(page, url))
      anchorOut.push(await timedLoad(anchorPage, anchorUrl))
    }
    return [out, anchorOut]
  } finally {
    await page.close()
    await anchorPage.close()
  }
}

export async function browserBench (opts: BrowserBenchOptions): Promise<BenchRow[]> {
  const { log } = opts
  const coldRuns = opts.quick === true ? 5 : 10
  const warmRuns = opts.quick === true ? 20 : 40
  const work = mkdtempSync(join(tmpdir(), 'keynet-bench-browser-'))
  const home = join(work, 'home')
  let anchor: Server | undefined
  let warmBrowser: KeyBrowser | undefined
  try {
    log('bench: browser: starting a devnet: 1 validator, 3 storage providers, a gateway…')
    await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '3', '--compute', '0', '--timeout', '120000'])
    const file = JSON.parse(readFileSync(join(home, 'devnet', 'devnet.json'), 'utf8')) as DevnetFile
    const gateway = file.nodes.find(n => n.http !== undefined)?.http
    if (gateway === undefined) throw new Error('the devnet has no gateway')

    log(`bench: browser: publishing ${coldRuns + 1} copies of the example site…`)
    const copies: string[] = []
    for (let i = 0; i <= coldRuns; i++) {
      const name = `page${i}.key`
      copies.push(freshCopy(join(work, `copy-${i}`), String(i)))
      await keynet(home, ['name', 'register', name, '--json'])
      await keynet(home, ['publish', copies[i] as string, '--name', name, '--replicas', '3', '--json'])
    }
    // The gateway follows the chain on its own; wait until it serves the last name.
    const deadline = Date.now() + 30_000
    while ((await fetch(`${gateway}/key/page${coldRuns}.key/`).catch(() => undefined))?.status !== 200) {
      if (Date.now() > deadline) throw new Error('the gateway does not serve the published copies')
      await new Promise(resolve => setTimeout(resolve, 200))
    }

    let anchorRoot = copies[0] as string
    const started = await staticServer(() => anchorRoot)
    anchor = started.server

    const cold: number[] = []
    const coldAnchor: number[] = []
    // Copy 0 is the warm runs' site; copies 1.. are each loaded once, cold, alternating with the anchor.
    for (let i = 1; i <= coldRuns; i++) {
      cold.push(await coldLoad(gateway, `http://page${i}.key/`))
      anchorRoot = copies[i] as string
      coldAnchor.push(await coldLoad(gateway, started.url))
      log(`bench: browser: cold load ${i}/${coldRuns}: gateway ${fmt(cold.at(-1) ?? 0)} ms, static server ${fmt(coldAnchor.at(-1) ?? 0)} ms`)
    }

    anchorRoot = copies[0] as string
    warmBrowser = await launchChromium(gateway)
    const [warm, warmAnchor] = await warmLoads(warmBrowser, 'http://page0.key/', started.url, warmRuns, true)
    const [uncached, uncachedAnchor] = await warmLoads(warmBrowser, 'http://page0.key/', started.url, warmRuns, false)
    log(`bench: browser: warm p50 ${fmt(pct(warm, 0.5))} ms (static ${fmt(pct(warmAnchor, 0.5))}), cache off p50 ${fmt(pct(uncached, 0.5))} ms (static ${fmt(pct(uncachedAnchor, 0.5))})`)

    const row = (metric: string, xs: number[], anchorXs: number[]): BenchRow => ({ group: 'browser', metric, value: p50p99(xs), target: '', anchor: `static node:http server: ${p50p99(anchorXs)}` })
    return [
      row(`Chromium load event via gateway, cold (new profile + fresh copy), p50 / p99 of ${cold.length}`, cold, coldAnchor),
      row(`… warm (repeat visits, browser cache on), p50 / p99 of ${warm.length}`, warm, warmAnchor),
      row(`… warm, browser cache off (every file from the server), p50 / p99 of ${uncached.length}`, uncached, uncachedAnchor)
    ]
  } finally {
    await warmBrowser?.close()
    anchor?.closeAllConnections()
    anchor?.close()
    await keynet(home, ['devnet', 'down']).catch(() => undefined)
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await browserBench({ quick: process.argv.includes('--quick'), log: line => { process.stderr.write(`${line}\n`) } })
  for (const r of rows) console.log(`| ${r.metric} | ${r.value} | ${r.anchor ?? ''} |`)
}
