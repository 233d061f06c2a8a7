import assert from 'node:assert/strict'
import { request } from 'node:http'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { launchChromium, type KeyBrowser } from './chromium.ts'
import { eventually, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'
import { legacyFiles, serveLegacySite, type LegacySite } from '../fixtures/legacy-site.ts'

const site = new URL('../../examples/site/', import.meta.url).pathname

interface Answer { status: number, type: string | undefined, location: string | undefined, body: Buffer }

/** One GET with an explicit Host header (as a browser sends it), without following redirects. */
async function get (base: string, path: string, host?: string): Promise<Answer> {
  const url = new URL(path, base)
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers: host === undefined ? {} : { host }, signal: AbortSignal.timeout(10_000) }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], location: res.headers.location, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Evaluates a JavaScript expression in the page (a string: this project compiles without the DOM's types). */
async function inPage<T> (page: Page, expression: string): Promise<T> {
  return await page.evaluate(expression) as T
}

const essence = (type: string | undefined): string => (type ?? '').split(';')[0]?.trim() ?? ''

describe('browsers: Chromium renders .key sites through the gateway; an existing site moves in', { timeout: 300_000 }, () => {
  const home = tempHome('browser')
  let gateway: string
  let browser: KeyBrowser
  let legacy: LegacySite

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '3', '--compute', '0', '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    gateway = readDevnetFile(join(home, 'devnet')).nodes.find(n => n.http !== undefined)!.http!
    legacy = await serveLegacySite()
    browser = await launchChromium(gateway)
    await keynetJson(home, ['name', 'register', 'mysite.key'])
    await keynetJson(home, ['name', 'register', 'legacy.key'])
  })

  after(async () => {
    await browser?.close()
    await legacy?.close()
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('opens http://mysite.key/ with its CSS, images and script, follows a link, and takes a screenshot', async () => {
    await keynetJson(home, ['publish', site, '--name', 'mysite.key', '--replicas', '3'])
    await eventually('the gateway serving mysite.key', async () => (await get(gateway, '/', 'mysite.key')).status === 200 ? true : undefined)

    const page = await browser.context.newPage()
    const failed: string[] = []
    page.on('response', res => { if (res.status() >= 400) failed.push(`${res.status()} ${res.url()}`) })
    page.on('requestfailed', req => failed.push(`${req.failure()?.errorText ?? 'failed'} ${req.url()}`))
    const response = await page.goto('http://mysite.key/', { waitUntil: 'load' })
    assert.equal(response?.status(), 200)
    assert.equal(await page.title(), 'mysite.key — hosted on Keynet')
    // The style sheet applied: h1 { color: #2b59c3 }.
    assert.equal(await inPage(page, "getComputedStyle(document.querySelector('h1')).color"), 'rgb(43, 89, 195)')
    // Both images decoded (an SVG and a PNG).
    const widths = await inPage(page, "[...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    assert.deepEqual(widths, [['/assets/logo.svg', true, 64], ['/assets/banner.png', true, 96]])
    // The script ran and changed the page.
    assert.equal(await page.$eval('#status', el => el.className), 'ok')
    assert.match(await page.textContent('#status') ?? '', /^Scripts run/)

    await Promise.all([page.waitForURL('http://mysite.key/docs/'), page.click('a[href="/docs/"]')])
    assert.equal(await page.textContent('h1'), 'Documentation')
    assert.equal(await inPage(page, "getComputedStyle(document.querySelector('h1')).color"), 'rgb(43, 89, 195)')

    const shot = join(home, 'mysite.png')
    await page.screenshot({ path: shot, fullPage: true })
    const png = readFileSync(shot)
    assert.ok(statSync(shot).size > 1000, `screenshot of ${png.byteLength} bytes`)
    assert.deepEqual(png.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    assert.deepEqual(failed, [])
    await page.close()
  })

  it('keynet import copies a site from its origin: the old origin and the .key site serve the same content', async () => {
    const imported = await keynet(home, ['import', legacy.url, '--name', 'legacy.key', '--replicas', '3', '--max-pages', '50'])
    assert.equal(imported.code, 0, imported.stderr)
    assert.match(imported.stderr, /copied 4 pages and 6 other files \(.+\) from http:\/\/127\.0\.0\.1:\d+; 1 links to other sites left as they are/)
    assert.match(imported.stderr, /not copied \(1\):\n {2}http:\/\/127\.0\.0\.1:\d+\/missing\.html: HTTP 404/)
    assert.match(imported.stdout, /legacy\.key now points at it/)

    await eventually('the gateway serving legacy.key', async () => (await get(gateway, '/', 'legacy.key')).status === 200 ? true : undefined)
    for (const path of Object.keys(legacyFiles)) {
      const [old, moved] = await Promise.all([get(legacy.url, path), get(gateway, path, 'legacy.key')])
      assert.equal(moved.status, 200, path)
      assert.equal(essence(moved.type), essence(old.type), path)
      assert.deepEqual(moved.body, old.body, path)
    }
    // The redirect that adds a folder's slash happens on both.
    const [oldAbout, movedAbout] = await Promise.all([get(legacy.url, '/about'), get(gateway, '/about', 'legacy.key')])
    assert.deepEqual([movedAbout.status, movedAbout.location], [oldAbout.status, oldAbout.location])
    // Query strings reach the same file.
    assert.deepEqual((await get(gateway, '/blog/post.html?ref=home', 'legacy.key')).body, legacyFiles['/blog/post.html']?.body)

    // And it renders: style applied, script ran.
    const page = await browser.context.newPage()
    await page.goto('http://legacy.key/', { waitUntil: 'load' })
    assert.equal(await inPage(page, "getComputedStyle(document.querySelector('h1')).color"), 'rgb(0, 128, 0)')
    assert.equal(await inPage(page, "document.getElementById('title').dataset.ran"), 'yes')
    await page.close()
  })

  it('keynet import says clearly what is wrong with a source', async () => {
    const cssRoot = await keynet(home, ['import', `${legacy.url}a.css`, '--name', 'legacy.key'])
    assert.equal(cssRoot.code, 1)
    assert.match(cssRoot.stderr, /MalformedMessageError: .*a\.css is text\/css; charset=utf-8, not an HTML page/)
    const limited = await keynet(home, ['import', legacy.url, '--name', 'legacy.key', '--max-pages', '2'])
    assert.equal(limited.code, 1)
    assert.match(limited.stderr, /ImportLimitError: the site has more than 2 HTML pages .*--max-pages <n> raises the limit/)
    const noFolder = await keynet(home, ['import', join(home, 'nowhere'), '--name', 'legacy.key'])
    assert.match(noFolder.stderr, /NotFoundError: .*nowhere does not exist/)
    const noIndex = await keynet(home, ['import', join(site, 'assets'), '--name', 'legacy.key'])
    assert.match(noIndex.stderr, /MalformedMessageError: .*assets has no index\.html at its top/)
  })
})
