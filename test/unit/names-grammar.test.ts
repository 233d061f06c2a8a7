import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseName } from '../../src/core/names/grammar.ts'

describe('name grammar', () => {
  it('maps equivalent inputs to one canonical name', () => {
    for (const input of ['MySite.key', 'mysite.key.', 'ＭＹＳＩＴＥ.key', 'mysite.KEY']) assert.equal(parseName(input).name, 'mysite.key')
    assert.equal(parseName('bücher.key').name, 'xn--bcher-kva.key')
    assert.equal(parseName('BÜCHER.key').name, 'xn--bcher-kva.key')
  })

  it('splits sub-names into parent and root', () => {
    const p = parseName('a.blog.mysite.key')
    assert.deepEqual([p.labels, p.parent, p.root], [['a', 'blog', 'mysite'], 'blog.mysite.key', 'mysite.key'])
    assert.equal(parseName('mysite.key').parent, undefined)
  })

  it('rejects names outside the grammar with InvalidNameError', () => {
    const bad = ['', 'key', '.key', 'a..key', '-a.key', 'a-.key', 'a_b.key', 'a b.key', 'foo.com', `${'a'.repeat(64)}.key`,
      `${Array.from({ length: 60 }, () => 'abcd').join('.')}.key`, 'xn--zz.key', 'a.b.c.d.e.f.key', '💩\u0000.key']
    for (const input of bad) assert.throws(() => parseName(input), { name: 'InvalidNameError' }, input)
  })

  it('accepts the edges of the grammar', () => {
    assert.equal(parseName(`${'a'.repeat(63)}.key`).labels[0]?.length, 63)
    assert.equal(parseName('0-9.key').name, '0-9.key')
    assert.equal(parseName('a.key').name, 'a.key')
  })
})
