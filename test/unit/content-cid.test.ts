import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { blockMatches, cidForBlock, dagPbCode, parseCid, rawCode } from '../../src/core/content/cid.ts'
import { contentTypeFor } from '../../src/core/content/mime.ts'
import { resolvePathSegments } from '../../src/core/content/path.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'

describe('content CIDs', () => {
  it('cidForBlock equals the multiformats CIDv1 of the sha2-256 digest', async () => {
    const bytes = utf8.encode('hello keynet')
    const expected = CID.create(1, raw.code, await sha256.digest(bytes))
    assert.ok(cidForBlock(rawCode, bytes).equals(expected))
    assert.equal(cidForBlock(dagPbCode, bytes).code, 0x70)
    assert.equal(cidForBlock(rawCode, new Uint8Array()).toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
  })

  it('blockMatches checks the bytes, and is false for other hash functions', () => {
    const bytes = utf8.encode('block')
    const cid = cidForBlock(rawCode, bytes)
    assert.equal(blockMatches(cid, bytes), true)
    assert.equal(blockMatches(cid, utf8.encode('blocK')), false)
    assert.equal(blockMatches(cid, new Uint8Array()), false)
    assert.equal(blockMatches(CID.create(1, raw.code, identity.digest(bytes)), bytes), false)
  })

  it('parseCid reads CIDv1 sha2-256 in base32, base36 and base58btc', () => {
    const cid = cidForBlock(rawCode, utf8.encode('x'))
    for (const s of [cid.toString(), cid.toString(base36), cid.toString(base58btc)]) assert.ok(parseCid(s).equals(cid), s)
  })

  it('parseCid refuses garbage, CIDv0, other hashes, and over-long input, with MalformedMessageError', async () => {
    const v0 = CID.createV0(await sha256.digest(utf8.encode('x'))).toString()
    const identityCid = CID.create(1, raw.code, identity.digest(utf8.encode('x'))).toString()
    for (const s of ['', 'bafy', 'hello', v0, identityCid, 'b' + 'a'.repeat(200), cidForBlock(rawCode, utf8.encode('x')).toString() + 'a']) {
      assert.throws(() => parseCid(s), MalformedMessageError, s)
    }
    assert.throws(() => parseCid(42 as unknown as string), MalformedMessageError)
  })
})

describe('content paths', () => {
  it('splits paths into checked segments, ignoring extra slashes', () => {
    assert.deepEqual(resolvePathSegments(''), [])
    assert.deepEqual(resolvePathSegments('/'), [])
    assert.deepEqual(resolvePathSegments('/a//b/c.html/'), ['a', 'b', 'c.html'])
    assert.deepEqual(resolvePathSegments('名前/ファイル.txt'), ['名前', 'ファイル.txt'])
    for (const bad of ['..', 'a/./b', 'a/..', 'a\0', 'x/'.repeat(65), 'y'.repeat(256)]) {
      assert.throws(() => resolvePathSegments(bad), MalformedMessageError, bad.slice(0, 20))
    }
  })
})

describe('content types', () => {
  it('maps web extensions, adds a charset to text, defaults to octet-stream', () => {
    const cases: Array<[string, string]> = [
      ['index.html', 'text/html; charset=utf-8'],
      ['docs/INDEX.HTM', 'text/html; charset=utf-8'],
      ['site.css', 'text/css; charset=utf-8'],
      ['app.js', 'text/javascript; charset=utf-8'],
      ['mod.mjs', 'text/javascript; charset=utf-8'],
      ['data.json', 'application/json; charset=utf-8'],
      ['notes.md', 'text/markdown; charset=utf-8'],
      ['readme.txt', 'text/plain; charset=utf-8'],
      ['table.csv', 'text/csv; charset=utf-8'],
      ['feed.xml', 'application/xml; charset=utf-8'],
      ['logo.svg', 'image/svg+xml'],
      ['a/b/photo.JPG', 'image/jpeg'],
      ['photo.jpeg', 'image/jpeg'],
      ['pic.png', 'image/png'],
      ['anim.gif', 'image/gif'],
      ['pic.webp', 'image/webp'],
      ['favicon.ico', 'image/x-icon'],
      ['paper.pdf', 'application/pdf'],
      ['module.wasm', 'application/wasm'],
      ['clip.mp4', 'video/mp4'],
      ['clip.webm', 'video/webm'],
      ['song.mp3', 'audio/mpeg'],
      ['font.woff', 'font/woff'],
      ['font.woff2', 'font/woff2'],
      ['archive.tar.gz', 'application/gzip'],
      ['Makefile', 'application/octet-stream'],
      ['.env', 'application/octet-stream'],
      ['file.', 'application/octet-stream'],
      ['x.unknownext', 'application/octet-stream'],
      ['x.constructor', 'application/octet-stream'],
      ['x.__proto__', 'application/octet-stream'],
      ['dir.d/noext', 'application/octet-stream']
    ]
    for (const [name, type] of cases) assert.equal(contentTypeFor(name), type, name)
  })
})
