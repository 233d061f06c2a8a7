import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { crawlSite } from '../../src/services/site-import/crawler.ts'
import { legacyFiles, serveLegacySite, type LegacySite } from '../fixtures/legacy-site.ts'

function listFiles (dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name))
      else out.push(relative(dir, join(d, e.name)))
    }
  }
  walk(dir)
  return out.sort()
}

async function serve (handler: Parameters<typeof createServer>[1]): Promise<{ server: Server, url: string }> {
  const server = createServer(handler)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

describe('site import: crawling an origin into a folder', () => {
  let site: LegacySite
  const scratch = mkdtempSync(join(tmpdir(), 'keynet-crawl-'))
  let n = 0
  const fresh = (): string => join(scratch, String(n++))

  before(async () => { site = await serveLegacySite() })
  after(async () => {
    await site.close()
    rmSync(scratch, { recursive: true, force: true })
  })

  it('copies every page and asset reachable on the origin, byte for byte, at the paths the gateway serves', async () => {
    const out = fresh()
    const progress: number[] = []
    const result = await crawlSite(site.url, out, { onProgress: p => progress.push(p.files) })
    assert.deepEqual(listFiles(out), ['a.css', 'about/index.html', 'about/team.html', 'app.js', 'blog/post.html', 'img/bg.png', 'img/logo-2x.png', 'img/logo.png', 'index.html', 'print.css'])
    for (const [path, file] of Object.entries(legacyFiles)) {
      const stored = path.endsWith('/') ? `${path.slice(1)}index.html` : path.slice(1)
      assert.deepEqual(readFileSync(join(out, stored)), file.body, stored)
    }
    assert.equal(result.pages, 4)
    assert.equal(result.files, 10)
    assert.equal(result.bytes, Object.values(legacyFiles).reduce((s, f) => s + f.body.byteLength, 0))
    assert.equal(result.external, 1)
    assert.deepEqual(result.skipped, [{ url: `${site.url}missing.html`, reason: 'HTTP 404' }])
    assert.ok(progress.length > 0 && progress.at(-1) === 10)
    // Query strings are dropped: `/?from=post` is the root, fetched once; `/about` was asked once and redirected.
    assert.equal(site.requests.filter(r => r.startsWith('/?') || r === '/').length, 1)
    assert.ok(site.requests.every(r => !r.includes('?')))
    assert.equal(site.requests.filter(r => r === '/about/').length, 1)
  })

  it('stops at the page, file and byte limits and names the flag that raises each', async () => {
    await assert.rejects(crawlSite(site.url, fresh(), { maxPages: 2 }), (e: Error) => e.name === 'ImportLimitError' && /more than 2 HTML pages.*--max-pages/.test(e.message))
    await assert.rejects(crawlSite(site.url, fresh(), { maxFiles: 3 }), (e: Error) => e.name === 'ImportLimitError' && /more than 3 files.*--max-files/.test(e.message))
    await assert.rejects(crawlSite(site.url, fresh(), { maxBytes: 10_000 }), (e: Error) => e.name === 'ImportLimitError' && /--max-bytes/.test(e.message))
  })

  it('says clearly when the origin is unreachable, the root is not HTML, missing, or too slow', async () => {
    const gone = await serve((_q, s) => s.end())
    const goneUrl = gone.url
    await new Promise(resolve => gone.server.close(resolve))
    await assert.rejects(crawlSite(goneUrl, fresh()), (e: Error) => e.name === 'UnavailableError' && /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/.test(e.message))
    await assert.rejects(crawlSite(`${site.url}a.css`, fresh()), (e: Error) => e.name === 'MalformedMessageError' && /text\/css.*not an HTML page/.test(e.message))
    await assert.rejects(crawlSite(`${site.url}nothing/`, fresh()), (e: Error) => e.name === 'NotFoundError' && /HTTP 404/.test(e.message))
    await assert.rejects(crawlSite('ftp://127.0.0.1/', fresh()), (e: Error) => e.name === 'MalformedMessageError')
    const slow = await serve(() => { /* never answers */ })
    try {
      await assert.rejects(crawlSite(slow.url, fresh(), { timeoutMs: 200 }), (e: Error) => e.name === 'TimeoutError' && /200 ms.*--timeout/.test(e.message))
    } finally {
      slow.server.closeAllConnections()
      slow.server.close()
    }
  })

  it('follows redirects that stay on the origin and skips those that leave it', async () => {
    const { server, url } = await serve((req, res) => {
      if (req.url === '/') { res.writeHead(302, { location: '/home.html' }); res.end(); return }
      if (req.url === '/home.html') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<a href="/away">x</a><a href="/loop">y</a><a href="/page">z</a>'); return }
      if (req.url === '/away') { res.writeHead(301, { location: 'http://example.invalid/' }); res.end(); return }
      if (req.url === '/page') { res.writeHead(302, { location: '/page?lang=en' }); res.end(); return }
      if (req.url === '/page?lang=en') { res.writeHead(200, { 'content-type': 'text/html' }); res.end('english'); return }
      res.writeHead(302, { location: `/loop?n=${Math.random()}` })
      res.end()
    })
    try {
      const out = fresh()
      const result = await crawlSite(url, out)
      assert.deepEqual(listFiles(out), ['home.html', 'page/index.html'])
      assert.equal(readFileSync(join(out, 'page/index.html'), 'utf8'), 'english')
      assert.deepEqual(result.notes, ['/page is stored as page/index.html: the gateway serves it at /page/ (redirecting), so its relative links resolve one folder deeper'])
      assert.deepEqual(result.skipped.map(s => s.reason).sort(), ['more than 10 redirects', 'redirects off the site to http://example.invalid/'])
    } finally {
      server.close()
    }
  })
})
