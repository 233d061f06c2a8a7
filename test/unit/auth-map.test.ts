import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { equalBytes, toHex, utf8 } from '../../src/foundations/bytes.ts'
import { seededRandom } from '../../src/foundations/clock.ts'
import type { Random } from '../../src/foundations/clock.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'
import { authMapFrom, decodeProof, emptyAuthMap, emptyMapRoot, encodeProof, maxProofBytes, verifyStateProof } from '../../src/core/auth-map/index.ts'
import type { AuthMap, StateProof } from '../../src/core/auth-map/index.ts'

const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const k = (s: string): Uint8Array => utf8.encode(s)

function bytesFrom (rnd: Random, n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = rnd.int(256)
  return b
}

function shuffled<T> (rnd: Random, xs: readonly T[]): T[] {
  const out = xs.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** The model: a plain Map from hex key to [key, value]. */
type Model = Map<string, [Uint8Array, Uint8Array]>

function assertMatches (map: AuthMap, model: Model, probes: Uint8Array[]): void {
  assert.equal(map.size, model.size)
  for (const key of probes) assert.deepEqual(map.get(key), model.get(toHex(key))?.[1])
  const seen = new Map([...map.entries()].map(([key, value]) => [toHex(key), value]))
  assert.equal(seen.size, model.size)
  for (const [id, [, value]] of model) assert.deepEqual(seen.get(id), value)
}

describe('auth map: hashing pinned to the spec', () => {
  it('has the empty root SHA-256(0x02)', () => {
    assert.deepEqual(emptyMapRoot, sha(Uint8Array.of(2)))
    assert.deepEqual(emptyAuthMap().root, emptyMapRoot)
    assert.equal(emptyAuthMap().size, 0)
  })

  it('hashes a lone leaf as SHA-256(keyHash ‖ valueHash ‖ 0x00)', () => {
    const m = emptyAuthMap().set(k('alice'), k('100'))
    assert.deepEqual(m.root, sha(sha(k('alice')), sha(k('100')), Uint8Array.of(0)))
  })

  it('hashes a branch as SHA-256(left ‖ right ‖ 0x01 ‖ bit), split on the first differing bit', () => {
    const a = k('alice')
    const b = k('bob')
    const ha = sha(a)
    const hb = sha(b)
    let bit = 0
    while (((ha[bit >> 3]! ^ hb[bit >> 3]!) & (0x80 >> (bit & 7))) === 0) bit++
    const aIsLeft = (ha[bit >> 3]! & (0x80 >> (bit & 7))) === 0
    const leafA = sha(ha, sha(k('1')), Uint8Array.of(0))
    const leafB = sha(hb, sha(k('2')), Uint8Array.of(0))
    const expected = aIsLeft ? sha(leafA, leafB, Uint8Array.of(1, bit)) : sha(leafB, leafA, Uint8Array.of(1, bit))
    assert.deepEqual(emptyAuthMap().set(a, k('1')).set(b, k('2')).root, expected)
  })

  it('gives the roots and proof bytes of the vectors in docs/protocol/state-proofs.md', () => {
    // Computed independently from the spec (a 20-line Python model), not from this code.
    const one = emptyAuthMap().set(k('alice'), k('100'))
    const two = one.set(k('bob'), k('7'))
    const three = two.set(k('carol'), k(''))
    assert.equal(toHex(emptyMapRoot), 'dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986')
    assert.equal(toHex(one.root), '037f0ba45a2ae927a1555b7f83d95d452143e09940a6e81fb2c56e8d41939e7c')
    assert.equal(toHex(two.root), '3e06f74fb62b279b707064b3d03d722bafc873ac7ba69eba3413d18a6da1063c')
    assert.equal(toHex(three.root), '93e55e330ac5f505f2e7b6fea040817aa2d486096a33e566b26b81a09de27ad7')
    assert.equal(toHex(encodeProof(three.prove(k('bob')))),
      '8341005820e1c850fdc7c829627128550fbfa828561c4f04f2c1da9c9432441f063f01c8f7584081b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce97902699be42c8a8e46fbbb4501726517e86b22c56a189f7625a6da49081b2451')
  })

  it('hashes values above the native-hash threshold the same way', () => {
    const big = new Uint8Array(5000).fill(7)
    const m = emptyAuthMap().set(k('big'), big)
    assert.deepEqual(m.root, sha(sha(k('big')), sha(big), Uint8Array.of(0)))
  })
})

describe('auth map: against a plain Map model', () => {
  for (const seed of [1, 2, 3]) {
    it(`random sets, deletes and batches agree with the model (seed ${seed})`, () => {
      const rnd = seededRandom(seed)
      const universe = Array.from({ length: 300 }, (_, i) => k(`key-${seed}-${i}`))
      const model: Model = new Map()
      let map = emptyAuthMap()
      const history: Array<{ map: AuthMap, model: Model, root: Uint8Array }> = []
      for (let step = 0; step < 400; step++) {
        const r = rnd.next()
        if (r < 0.45) {
          const key = universe[rnd.int(universe.length)]!
          const value = bytesFrom(rnd, rnd.int(40))
          map = map.set(key, value)
          model.set(toHex(key), [key, value])
        } else if (r < 0.75) {
          const key = universe[rnd.int(universe.length)]!
          map = map.delete(key)
          model.delete(toHex(key))
        } else {
          const ops = Array.from({ length: 1 + rnd.int(60) }, () => {
            const key = universe[rnd.int(universe.length)]!
            return rnd.next() < 0.7 ? { key, value: bytesFrom(rnd, 1 + rnd.int(20)) } : { key }
          })
          map = map.batch(ops)
          for (const op of ops) {
            if (op.value === undefined) model.delete(toHex(op.key))
            else model.set(toHex(op.key), [op.key, op.value])
          }
        }
        if (step % 20 === 0) {
          assertMatches(map, model, universe)
          history.push({ map, model: new Map(model), root: map.root })
        }
      }
      assertMatches(map, model, universe)
      // Old versions are untouched by everything after them.
      for (const h of history) {
        assert.deepEqual(h.map.root, h.root)
        assertMatches(h.map, h.model, universe)
      }
    })
  }

  it('has one root per key set, whatever the order of writes (history independence)', () => {
    const rnd = seededRandom(11)
    const entries: Array<[Uint8Array, Uint8Array]> = Array.from({ length: 500 }, (_, i) => [k(`e${i}`), bytesFrom(rnd, 8)])
    const root = authMapFrom(entries).root
    for (let trial = 0; trial < 4; trial++) {
      const order = shuffled(rnd, entries)
      let one = emptyAuthMap()
      for (const [key, value] of order) one = one.set(key, value)
      assert.deepEqual(one.root, root)
      assert.deepEqual(authMapFrom(order).root, root)
      // In batches of mixed sizes, with detours: extra keys added and removed again.
      let batched = emptyAuthMap()
      for (let i = 0; i < order.length;) {
        const n = 1 + rnd.int(90)
        const detour = Array.from({ length: 5 }, (_, j) => k(`detour-${trial}-${i}-${j}`))
        batched = batched.batch([...order.slice(i, i + n).map(([key, value]) => ({ key, value })), ...detour.map(key => ({ key, value: k('x') }))])
        batched = batched.batch(detour.map(key => ({ key })))
        i += n
      }
      assert.deepEqual(batched.root, root)
      assert.equal(batched.size, entries.length)
    }
  })

  it('restores the earlier root when a key is deleted, and back to empty', () => {
    const rnd = seededRandom(5)
    let map = authMapFrom(Array.from({ length: 200 }, (_, i) => [k(`d${i}`), bytesFrom(rnd, 4)]))
    for (let i = 0; i < 50; i++) {
      const before = map.root
      const key = k(`new-${i}`)
      const grown = map.set(key, bytesFrom(rnd, 6))
      assert.notDeepEqual(grown.root, before)
      assert.deepEqual(grown.delete(key).root, before)
    }
    for (let i = 0; i < 200; i++) map = map.delete(k(`d${i}`))
    assert.deepEqual(map.root, emptyMapRoot)
    assert.equal(map.size, 0)
  })

  it('lets the last write to a key in a batch win, and ignores deleting absent keys', () => {
    const m = emptyAuthMap().set(k('a'), k('1'))
    const b = m.batch([{ key: k('a'), value: k('2') }, { key: k('b'), value: k('3') }, { key: k('a'), value: k('4') }, { key: k('b') }])
    assert.deepEqual(b.get(k('a')), k('4'))
    assert.equal(b.get(k('b')), undefined)
    assert.equal(b.size, 1)
    assert.equal(m.delete(k('zzz')), m)
    assert.equal(m.batch([]), m)
    assert.deepEqual(m.set(k('a'), k('1')).root, m.root)
  })

  it('keeps the application keys, so entries() gives them back', () => {
    const entries: Array<[Uint8Array, Uint8Array]> = [[k('x'), k('1')], [new Uint8Array(0), k('empty key')], [k('y'), new Uint8Array(0)]]
    const m = authMapFrom(entries)
    const got = [...m.entries()].map(([key, value]) => `${toHex(key)}=${toHex(value)}`).sort()
    assert.deepEqual(got, entries.map(([key, value]) => `${toHex(key)}=${toHex(value)}`).sort())
    assert.deepEqual(m.get(new Uint8Array(0)), k('empty key'))
  })
})

describe('auth map: proofs', () => {
  const rnd = seededRandom(21)
  const entries: Array<[Uint8Array, Uint8Array]> = Array.from({ length: 1000 }, (_, i) => [k(`p${i}`), bytesFrom(rnd, 1 + rnd.int(30))])
  const map = authMapFrom(entries)
  const root = map.root
  const absent = Array.from({ length: 200 }, (_, i) => k(`absent${i}`))

  it('proves present keys, through the wire encoding too', () => {
    for (const [key, value] of entries) {
      const proof = map.prove(key)
      assert.ok(verifyStateProof(root, key, value, proof))
      assert.ok(verifyStateProof(root, key, value, decodeProof(encodeProof(proof))))
      assert.equal(verifyStateProof(root, key, undefined, proof), false, 'a present key is not proven absent')
    }
  })

  it('proves absent keys, through the wire encoding too', () => {
    for (const key of absent) {
      const proof = map.prove(key)
      assert.ok(verifyStateProof(root, key, undefined, proof))
      assert.ok(verifyStateProof(root, key, undefined, decodeProof(encodeProof(proof))))
      assert.equal(verifyStateProof(root, key, k('anything'), proof), false)
    }
  })

  it('proves absence in the empty map and in a one-key map', () => {
    assert.ok(verifyStateProof(emptyMapRoot, k('a'), undefined, emptyAuthMap().prove(k('a'))))
    assert.ok(verifyStateProof(emptyMapRoot, k('a'), undefined, decodeProof(encodeProof(emptyAuthMap().prove(k('a'))))))
    const one = emptyAuthMap().set(k('a'), k('1'))
    assert.ok(verifyStateProof(one.root, k('a'), k('1'), one.prove(k('a'))))
    assert.ok(verifyStateProof(one.root, k('b'), undefined, one.prove(k('b'))))
    assert.equal(verifyStateProof(one.root, k('a'), undefined, one.prove(k('b'))), false)
  })

  it('rejects wrong values, keys and roots', () => {
    const [key, value] = entries[3]!
    const proof = map.prove(key)
    assert.equal(verifyStateProof(root, key, k('other'), proof), false)
    assert.equal(verifyStateProof(root, key, new Uint8Array(0), proof), false)
    assert.equal(verifyStateProof(root, entries[4]![0], value, proof), false)
    assert.equal(verifyStateProof(root, entries[4]![0], entries[4]![1], proof), false, "another key's proof")
    assert.equal(verifyStateProof(root, absent[0]!, undefined, proof), false, "a present key's proof for an absent key")
    assert.equal(verifyStateProof(map.set(k('new'), k('1')).root, key, value, proof), false, 'stale proof, new root')
    assert.equal(verifyStateProof(emptyMapRoot, key, value, proof), false)
    assert.equal(verifyStateProof(emptyMapRoot, absent[0]!, undefined, map.prove(absent[0]!)), false)
  })

  it('rejects every single-bit tampering of a proof', () => {
    const cases: Array<[Uint8Array, Uint8Array | undefined]> = [entries[7]!, [absent[1]!, undefined]]
    for (const [key, value] of cases) {
      const proof = map.prove(key)
      const bytes = encodeProof(proof)
      assert.ok(verifyStateProof(root, key, value, proof))
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const bad = bytes.slice()
          bad[i]! ^= 1 << bit
          let decoded: StateProof
          try {
            decoded = decodeProof(bad)
          } catch (err) {
            assert.ok(err instanceof MalformedMessageError)
            continue
          }
          assert.equal(verifyStateProof(root, key, value, decoded), false, `flip byte ${i} bit ${bit}`)
        }
      }
    }
  })

  it('rejects proofs with steps dropped, added, reordered or with a changed split bit', () => {
    const [key, value] = entries[9]!
    const proof = map.prove(key)
    const { path, leaf } = proof
    assert.ok(path.length >= 3)
    const variants: StateProof[] = [
      { path: path.slice(1), leaf },
      { path: path.slice(0, -1), leaf },
      { path: [...path, { bit: 255, sibling: new Uint8Array(32) }], leaf },
      { path: [path[1]!, path[0]!, ...path.slice(2)], leaf },
      { path: path.map((s, i) => i === 1 ? { bit: s.bit + 1, sibling: s.sibling } : s), leaf },
      { path, leaf: undefined },
      { path: [], leaf: undefined }
    ]
    for (const v of variants) assert.equal(verifyStateProof(root, key, value, v), false)
  })

  it('answers false, never throws, on malformed proof objects', () => {
    const [key, value] = entries[0]!
    const good = map.prove(key)
    const junk: unknown[] = [
      null, undefined, 0, 'proof', [], {}, { path: null, leaf: undefined }, { path: {}, leaf: good.leaf },
      { path: [null], leaf: good.leaf }, { path: [{ bit: -1, sibling: new Uint8Array(32) }], leaf: good.leaf },
      { path: [{ bit: 1.5, sibling: new Uint8Array(32) }], leaf: good.leaf },
      { path: [{ bit: 256, sibling: new Uint8Array(32) }], leaf: good.leaf },
      { path: [{ bit: 3, sibling: new Uint8Array(31) }], leaf: good.leaf },
      { path: [{ bit: 3, sibling: 'x'.repeat(32) }], leaf: good.leaf },
      { path: Array.from({ length: 300 }, (_, i) => ({ bit: i, sibling: new Uint8Array(32) })), leaf: good.leaf },
      { path: good.path, leaf: null }, { path: good.path, leaf: {} },
      { path: good.path, leaf: { keyHash: new Uint8Array(32), valueHash: new Uint8Array(33) } },
      { get path () { throw new Error('boom') }, leaf: good.leaf }
    ]
    for (const p of junk) assert.equal(verifyStateProof(root, key, value, p as StateProof), false)
    assert.equal(verifyStateProof(new Uint8Array(31), key, value, good), false)
    assert.equal(verifyStateProof(root, 'key' as unknown as Uint8Array, value, good), false)
    assert.equal(verifyStateProof(root, key, 42 as unknown as Uint8Array, good), false)
  })

  it('decodes only canonical, bounded bytes, throwing MalformedMessageError otherwise', () => {
    const bytes = encodeProof(map.prove(entries[2]![0]))
    const bad: Uint8Array[] = [
      new Uint8Array(0), Uint8Array.of(0x80), bytes.subarray(0, bytes.length - 1), new Uint8Array([...bytes, 0]),
      new Uint8Array(maxProofBytes + 1), Uint8Array.of(0x83, 0x41, 5, 0x40, 0xf6),
      Uint8Array.of(0x82, 0x40, 0x40), Uint8Array.of(0x83, 0x40, 0x40, 0x40),
      Uint8Array.of(0x83, 0x40, 0x40, 0xf7), Uint8Array.of(0x83, 0x58, 0x00, 0x40, 0xf6)
    ]
    // Steps out of order.
    const twoSteps = encodeProof({ path: [{ bit: 1, sibling: new Uint8Array(32) }, { bit: 2, sibling: new Uint8Array(32) }], leaf: { keyHash: new Uint8Array(32), valueHash: new Uint8Array(32) } })
    const swapped = twoSteps.slice()
    assert.deepEqual([...twoSteps.subarray(0, 4)], [0x83, 0x42, 1, 2])
    swapped[2] = 2
    swapped[3] = 1
    bad.push(swapped)
    for (const b of bad) assert.throws(() => decodeProof(b), MalformedMessageError, toHex(b.subarray(0, 16)))
    assert.deepEqual(decodeProof(twoSteps).path.map(s => s.bit), [1, 2])
    assert.deepEqual(decodeProof(Uint8Array.of(0x83, 0x40, 0x40, 0xf6)), { path: [], leaf: undefined })
  })

  it('survives random bytes and random mutations of valid proofs', () => {
    const fuzz = seededRandom(99)
    const base = encodeProof(map.prove(entries[5]![0]))
    for (let i = 0; i < 3000; i++) {
      const b = i % 2 === 0 ? bytesFrom(fuzz, fuzz.int(120)) : base.slice()
      if (i % 2 === 1) for (let j = 0; j < 1 + fuzz.int(4); j++) b[fuzz.int(b.length)] = fuzz.int(256)
      let decoded: StateProof
      try {
        decoded = decodeProof(b)
      } catch (err) {
        assert.ok(err instanceof MalformedMessageError, String(err))
        continue
      }
      if (!equalBytes(b, base)) assert.equal(verifyStateProof(root, entries[5]![0], entries[5]![1], decoded), false)
    }
  })

  it('bounds the worst-case proof: 256 steps encode to exactly maxProofBytes', () => {
    const deepest: StateProof = {
      path: Array.from({ length: 256 }, (_, bit) => ({ bit, sibling: new Uint8Array(32).fill(bit) })),
      leaf: { keyHash: new Uint8Array(32).fill(1), valueHash: new Uint8Array(32).fill(2) }
    }
    const bytes = encodeProof(deepest)
    assert.equal(bytes.length, maxProofBytes)
    assert.deepEqual(decodeProof(bytes), deepest)
  })

  it('keeps proofs near log2(n) steps', () => {
    const depths = entries.map(([key]) => map.prove(key).path.length)
    const mean = depths.reduce((a, b) => a + b, 0) / depths.length
    assert.ok(mean < Math.log2(entries.length) + 2, `mean depth ${mean}`)
  })
})
