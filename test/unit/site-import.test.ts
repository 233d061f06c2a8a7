import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PathTable, cssLinks, htmlLinks, linkTarget, servedTypeDiffers, srcsetUrls, storedPath } from '../../src/core/site-import/index.ts'

describe('site import: links of a page', () => {
  it('reads href, src, srcset, poster, inline and block styles, in document order, once each', () => {
    const html = `<!doctype html><html><head>
      <link rel="stylesheet" href="/a.css"><link rel=icon href=favicon.ico>
      <style>body { background: url("bg.png") } @import 'print.css';</style>
      <script src="app.js"></script></head>
      <body style="background-image:url(hero.jpg)">
      <a href="about/">About</a><a HREF='/a.css'>again</a>
      <img src="x.png" srcset="x-1.png 1x, x-2.png 2x">
      <picture><source srcset="w-640.webp 640w,w-1280.webp 1280w"></picture>
      <video poster="poster.jpg" src="v.mp4"></video></body></html>`
    assert.deepEqual(htmlLinks(html).links, ['/a.css', 'favicon.ico', 'bg.png', 'print.css', 'app.js', 'hero.jpg', 'about/', 'x.png', 'x-1.png', 'x-2.png', 'w-640.webp', 'w-1280.webp', 'poster.jpg', 'v.mp4'])
  })

  it('skips fragments, mailto:, javascript:, data: and empty links; decodes entities', () => {
    const html = '<a href="#top">t</a><a href="mailto:a@b.c">m</a><a href="javascript:void(0)">j</a><img src="data:image/png;base64,AAA"><a href="">e</a><a href="/search?q=1&amp;p=2">s</a><a href="&#x2F;x">x</a>'
    assert.deepEqual(htmlLinks(html).links, ['/search?q=1&p=2', '/x'])
  })

  it('reads nothing inside comments and scripts, and reports <base href>', () => {
    const html = '<base href="/docs/"><!-- <a href="hidden.html"> --><script>var s = "<img src=no.png>"; if (a<b) {}</script><a href="guide.html">g</a>'
    const found = htmlLinks(html)
    assert.deepEqual(found.links, ['guide.html'])
    assert.equal(found.base, '/docs/')
  })

  it('handles > inside quoted attribute values and unquoted values', () => {
    assert.deepEqual(htmlLinks('<a title="a > b" href="c.html">x</a><img src=d.png alt=x>').links, ['c.html', 'd.png'])
  })

  it('reads url() and @import of a style sheet, without comments', () => {
    const css = '@import "base.css"; @import url(theme.css);\n/* url(old.png) */ .a { background: url( \'img/a b.png\' ) } .b{background:url(data:image/gif;base64,R0l)} @font-face { src: url(f.woff2) format("woff2"), url("f.woff") }'
    assert.deepEqual(cssLinks(css).links, ['base.css', 'theme.css', 'img/a b.png', 'f.woff2', 'f.woff'])
  })

  it('parses srcset candidates as the HTML spec does', () => {
    assert.deepEqual(srcsetUrls('a.png'), ['a.png'])
    assert.deepEqual(srcsetUrls(' a.png 1x ,b.png 2x'), ['a.png', 'b.png'])
    assert.deepEqual(srcsetUrls('a.png,b.png'), ['a.png,b.png']) // a comma inside a URL belongs to it
    assert.deepEqual(srcsetUrls('a.png, b.png'), ['a.png', 'b.png'])
    assert.deepEqual(srcsetUrls('img,x.png 100w, y.png 200w'), ['img,x.png', 'y.png'])
  })
})

describe('site import: which links are followed', () => {
  const origin = 'http://127.0.0.1:8000'
  it('resolves relative links and keeps only the same origin, without query or fragment', () => {
    assert.deepEqual(linkTarget('b.html?x=1#top', `${origin}/a/index.html`, origin), { kind: 'follow', url: `${origin}/a/b.html` })
    assert.deepEqual(linkTarget('../c.css', `${origin}/a/b/`, origin), { kind: 'follow', url: `${origin}/a/c.css` })
    assert.deepEqual(linkTarget('//127.0.0.1:8000/x', `${origin}/`, origin), { kind: 'follow', url: `${origin}/x` })
    assert.deepEqual(linkTarget('http://127.0.0.1:8001/x', `${origin}/`, origin), { kind: 'skip', reason: 'other-origin' })
    assert.deepEqual(linkTarget('https://127.0.0.1:8000/x', `${origin}/`, origin), { kind: 'skip', reason: 'other-origin' })
    assert.deepEqual(linkTarget('ftp://127.0.0.1/x', `${origin}/`, origin), { kind: 'skip', reason: 'not-http' })
    assert.deepEqual(linkTarget('http://[bad', `${origin}/`, origin), { kind: 'skip', reason: 'invalid' })
    assert.deepEqual(linkTarget(`/${'a'.repeat(3000)}`, `${origin}/`, origin), { kind: 'skip', reason: 'too-long' })
  })
})

describe('site import: where a URL is stored', () => {
  const path = (pathname: string, html = false): string => {
    const p = storedPath(pathname, html)
    assert.equal(p.kind, 'path', JSON.stringify(p))
    return p.kind === 'path' ? p.path : ''
  }
  it('maps folders to index.html and files to themselves', () => {
    assert.equal(path('/', true), 'index.html')
    assert.equal(path('/about/', true), 'about/index.html')
    assert.equal(path('/a.css'), 'a.css')
    assert.equal(path('/docs/guide.pdf'), 'docs/guide.pdf')
    assert.equal(path('/a//b.js'), 'a/b.js')
    assert.equal(path('/img/x%20y.png'), 'img/x y.png')
    assert.equal(path('/%C3%A9t%C3%A9.html', true), 'été.html')
  })

  it('puts an HTML page at an extensionless path into its folder, and says so', () => {
    assert.deepEqual(storedPath('/about', true), { kind: 'path', path: 'about/index.html', movedIntoFolder: true })
    assert.deepEqual(storedPath('/LICENSE', false), { kind: 'path', path: 'LICENSE', movedIntoFolder: false })
    assert.deepEqual(storedPath('/page.html', true), { kind: 'path', path: 'page.html', movedIntoFolder: false })
  })

  it('refuses segments that cannot be file names', () => {
    assert.equal(storedPath('/a%2Fb', false).kind, 'unsafe')
    assert.equal(storedPath('/a%5Cb', false).kind, 'unsafe')
    assert.equal(storedPath('/%2e%2e/x', false).kind, 'unsafe')
    assert.equal(storedPath('/%00', false).kind, 'unsafe')
    assert.equal(storedPath('/%E0%A4%A', false).kind, 'unsafe')
    assert.equal(storedPath(`/${'a'.repeat(256)}`, false).kind, 'unsafe')
    assert.equal(storedPath(`${'/a'.repeat(65)}`, false).kind, 'unsafe')
  })

  it('notices when the gateway will send another type than the origin', () => {
    assert.equal(servedTypeDiffers('a.css', 'text/css; charset=utf-8'), undefined)
    assert.deepEqual(servedTypeDiffers('page.php', 'text/html'), { origin: 'text/html', gateway: 'application/octet-stream' })
    assert.equal(servedTypeDiffers('x', undefined), undefined)
  })
})

describe('site import: the path table', () => {
  it('gives a path to the first URL, reports duplicates and file/folder conflicts', () => {
    const t = new PathTable()
    assert.deepEqual(t.claim('about/index.html', '/about/'), { kind: 'claimed' })
    assert.deepEqual(t.claim('about/index.html', '/about/index.html'), { kind: 'duplicate', by: '/about/' })
    assert.equal(t.claim('about', '/about-file').kind, 'conflict')
    assert.deepEqual(t.claim('LICENSE', '/LICENSE'), { kind: 'claimed' })
    assert.equal(t.claim('LICENSE/x.txt', '/LICENSE/x.txt').kind, 'conflict')
    assert.equal(t.size, 2)
  })
})
