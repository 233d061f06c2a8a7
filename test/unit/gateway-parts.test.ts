/** The gateway's pure parts: routing, path checks, Range parsing, listings, format choice. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { cidForBlock, rawCode, type BlockGetter } from '../../src/core/content/cid.ts'
import { importTree } from '../../src/core/content/importer.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { InvalidNameError, MalformedMessageError, NotFoundError } from '../../src/foundations/errors.ts'
import { ByteLru } from '../../src/edges/gateway/byte-lru.ts'
import { responseFormat } from '../../src/edges/gateway/format.ts'
import { escapeHtml, renderListing } from '../../src/edges/gateway/listing.ts'
import { parseRange } from '../../src/edges/gateway/range.ts'
import { ifRangeAllows, noneMatch } from '../../src/edges/gateway/respond.ts'
import { ResolvedPaths } from '../../src/edges/gateway/resolved-paths.ts'
import { routeRequest } from '../../src/edges/gateway/route.ts'
import { decodeSegments, encodePath } from '../../src/edges/gateway/safe-path.ts'
import { memoryStore } from '../fixtures/content/helpers.ts'

const cid = cidForBlock(rawCode, utf8.encode('hello'))

describe('gateway routing', () => {
  it('routes a .key Host to the name, whatever the case, port or trailing dot', () => {
    for (const host of ['mysite.key', 'MySite.KEY:8080', 'mysite.key.', 'mysite.key.:80']) {
      const { route } = routeRequest(host, '/docs/a%20b.txt?x=1')
      assert.deepEqual(route, { kind: 'name', name: 'mysite.key', segments: ['docs', 'a b.txt'], trailingSlash: false, basePath: '' }, host)
    }
    assert.deepEqual(routeRequest('blog.mysite.key', '/')?.route, { kind: 'name', name: 'blog.mysite.key', segments: [], trailingSlash: true, basePath: '' })
    assert.throws(() => routeRequest('bad_name.key', '/'), InvalidNameError)
  })

  it('routes /key/, /ipfs/ and /status on any other host', () => {
    assert.deepEqual(routeRequest('127.0.0.1:8080', '/key/MySite.key/docs/').route,
      { kind: 'name', name: 'mysite.key', segments: ['docs'], trailingSlash: true, basePath: '/key/mysite.key' })
    const r = routeRequest('localhost', `/ipfs/${cid.toString()}/a/b?format=car`)
    assert.equal(r.route?.kind, 'cid')
    assert.equal(r.query.get('format'), 'car')
    assert.deepEqual(r.route?.kind === 'cid' ? r.route.segments : undefined, ['a', 'b'])
    assert.deepEqual(routeRequest('[::1]:80', '/status').route, { kind: 'status' })
    assert.deepEqual(routeRequest(undefined, '/status').route, { kind: 'status' })
    // On a .key host, /status and /ipfs/ are paths inside the site.
    assert.equal(routeRequest('mysite.key', '/status').route?.kind, 'name')
    assert.equal(routeRequest('mysite.key', `/ipfs/${cid.toString()}`).route?.kind, 'name')
    for (const target of ['/', '/key/', '/ipfs', '/status/x', '/favicon.ico']) assert.equal(routeRequest('localhost', target).route, undefined, target)
    assert.throws(() => routeRequest('localhost', '/ipfs/notacid/'), MalformedMessageError)
    assert.throws(() => routeRequest('localhost', 'http://evil.example/'), MalformedMessageError)
  })

  it('rejects dot segments, slashes, backslashes and control characters, encoded or not', () => {
    for (const target of ['/key/mysite.key/../x', '/key/mysite.key/%2e%2e/x', '/key/mysite.key/%2E%2e', '/key/mysite.key/./a',
      '/key/mysite.key/docs%2Fguide.pdf', '/key/mysite.key/..%5cx', '/key/mysite.key/a\\b', '/key/mysite.key/a%00b',
      '/key/mysite.key/%0d%0aSet-Cookie:x', '/key/mysite.key/%ff', `/key/mysite.key/${'a'.repeat(256)}`]) {
      assert.throws(() => routeRequest('localhost', target), MalformedMessageError, target)
    }
    assert.throws(() => routeRequest('mysite.key', '/%2e%2e/'), MalformedMessageError)
    assert.throws(() => decodeSegments(Array.from({ length: 65 }, () => 'a')), MalformedMessageError)
    assert.deepEqual(decodeSegments(['', 'a', '', 'b c', '']), ['a', 'b c'])
    assert.equal(encodePath(['a b', 'c?#']), '/a%20b/c%3F%23')
  })
})

describe('gateway Range header', () => {
  it('serves single ranges, the first of several, and ignores what does not parse', () => {
    assert.deepEqual(parseRange(undefined, 100), { kind: 'full' })
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 10 })
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=90-1000', 100), { kind: 'partial', start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 100 })
    assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'partial', start: 0, end: 100 })
    assert.deepEqual(parseRange('bytes=5-6, 10-20', 100), { kind: 'partial', start: 5, end: 7 })
    for (const h of ['items=0-1', 'bytes=abc', 'bytes=5-3', 'bytes=-', 'bytes=1-2-3', `bytes=0-${'9'.repeat(30)}`]) assert.deepEqual(parseRange(h, 100), { kind: 'full' }, h)
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' })
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' })
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' })
  })

  it('compares entity tags as RFC 9110 says', () => {
    assert.equal(noneMatch('"a"', '"a"'), true)
    assert.equal(noneMatch('W/"a", "b"', '"a"'), true)
    assert.equal(noneMatch('*', '"a"'), true)
    assert.equal(noneMatch('"b"', '"a"'), false)
    assert.equal(noneMatch(undefined, '"a"'), false)
    assert.equal(ifRangeAllows(undefined, '"a"'), true)
    assert.equal(ifRangeAllows('"a"', '"a"'), true)
    assert.equal(ifRangeAllows('W/"a"', '"a"'), false)
    assert.equal(ifRangeAllows('Wed, 21 Oct 2015 07:28:00 GMT', '"a"'), false)
  })
})

describe('gateway listing and format', () => {
  it('escapes names and encodes links', () => {
    const html = renderListing('/key/x.key/<dir>/', [{ name: '<img src=x onerror=alert(1)>"\'&.txt', cid }], true)
    assert.ok(!html.includes('<img'))
    assert.ok(html.includes('&#60;img src=x onerror=alert(1)&#62;&#34;&#39;&#38;.txt'))
    assert.ok(html.includes('href="./%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22&#39;%26.txt"'))
    assert.ok(html.includes('<title>Index of /key/x.key/&#60;dir&#62;/</title>'))
    assert.ok(html.includes('href="../"'))
    assert.equal(escapeHtml('a&b'), 'a&#38;b')
  })

  it('takes ?format= first, then Accept', () => {
    const q = (s: string): URLSearchParams => new URLSearchParams(s)
    assert.equal(responseFormat(q(''), undefined), 'content')
    assert.equal(responseFormat(q(''), 'text/html,application/xhtml+xml,*/*;q=0.8'), 'content')
    assert.equal(responseFormat(q(''), 'application/vnd.ipld.car; version=1'), 'car')
    assert.equal(responseFormat(q(''), 'application/vnd.ipld.raw'), 'raw')
    assert.equal(responseFormat(q('format=raw'), 'application/vnd.ipld.car'), 'raw')
    assert.throws(() => responseFormat(q('format=tar'), undefined), MalformedMessageError)
  })
})

describe('ByteLru', () => {
  it('evicts the least recently used past its byte and entry bounds', () => {
    const lru = new ByteLru<number>(10, 3, n => n)
    assert.deepEqual(lru.set('a', 4), [])
    assert.deepEqual(lru.set('b', 4), [])
    lru.get('a')
    assert.deepEqual(lru.set('c', 2), [])
    assert.deepEqual(lru.set('d', 1), [['b', 4]]) // four entries > 3: b was least recent
    assert.equal(lru.bytes, 7)
    assert.deepEqual(lru.set('e', 6), [['a', 4]])
    assert.equal(lru.bytes, 9)
    assert.equal(lru.size, 3)
    assert.deepEqual(lru.set('f', 10), [['c', 2], ['d', 1], ['e', 6]])
    assert.throws(() => lru.set('huge', 11))
  })
})

describe('gateway resolved paths', () => {
  it('a path resolved once is answered from memory after; a missing path is not kept', async () => {
    const store = memoryStore()
    const site = await importTree([
      { path: 'index.html', content: () => utf8.encode('<h1>home</h1>') },
      { path: 'docs/guide.txt', content: () => utf8.encode('guide') }
    ], store.sink)
    let reads = 0
    const counted: BlockGetter = async (cid, signal) => { reads++; return await store.get(cid, signal) }
    const paths = new ResolvedPaths()
    const first = await paths.resolve(site.cid, 'docs/guide.txt', counted)
    assert.equal(first.kind, 'file')
    const readsOnce = reads
    assert.ok(readsOnce >= 3, 'the root, the folder and the file were read')
    assert.deepEqual(await paths.resolve(site.cid, 'docs/guide.txt', counted), first)
    assert.equal(reads, readsOnce, 'no block read the second time')
    const root = await paths.resolve(site.cid, '', counted)
    assert.ok(root.kind === 'directory' && root.entries.some(e => e.name === 'index.html'))
    await assert.rejects(paths.resolve(site.cid, 'nope.html', counted), NotFoundError)
    const before = reads
    await assert.rejects(paths.resolve(site.cid, 'nope.html', counted), NotFoundError)
    assert.ok(reads > before, 'a missing path is looked up again')
  })
})
