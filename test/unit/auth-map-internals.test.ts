import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/foundations/clock.ts'
import type { Random } from '../../src/foundations/clock.ts'
import { bitAt, firstDifference, keyBits } from '../../src/core/auth-map/hashing.ts'
import { bytesToWords, sha256Words, wordsToBytes } from '../../src/core/auth-map/sha256.ts'
import type { Words } from '../../src/core/auth-map/sha256.ts'
import { apply, build, hashOf, leaf, removal, sortByPosition } from '../../src/core/auth-map/tree.ts'
import type { Leaf, Node, Write } from '../../src/core/auth-map/tree.ts'

function bytesFrom (rnd: Random, n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = rnd.int(256)
  return b
}

describe('auth map: SHA-256 in JavaScript', () => {
  it('matches node:crypto for every length up to 300 bytes and for 1 MiB', () => {
    const rnd = seededRandom(3)
    const inputs = Array.from({ length: 301 }, (_, n) => bytesFrom(rnd, n))
    inputs.push(bytesFrom(rnd, 1 << 20))
    for (const data of inputs) {
      const expected = new Uint8Array(createHash('sha256').update(data).digest())
      assert.deepEqual(wordsToBytes(sha256Words(data)), expected, `length ${data.length}`)
    }
  })

  it('converts between bytes and words both ways', () => {
    const b = bytesFrom(seededRandom(4), 32)
    assert.deepEqual(wordsToBytes(bytesToWords(b)), b)
  })
})

/**
 * Positions chosen to stress the tree: all close to one base position, each leaving it at a
 * bit drawn mostly from the extremes (0, 1, 254, 255) so paths get deep and splits land on
 * the last bits.
 */
function nearbyPositions (rnd: Random, count: number): Words[] {
  const base = bytesFrom(rnd, 32)
  const edges = [0, 1, 2, 7, 8, 31, 32, 100, 200, 253, 254, 255]
  const out = new Map<string, Words>()
  while (out.size < count) {
    const p = base.slice()
    const at = rnd.next() < 0.7 ? edges[rnd.int(edges.length)]! : rnd.int(keyBits)
    p[at >> 3]! ^= 0x80 >> (at & 7)
    // Randomise some bits after the split, to branch again further down.
    for (let i = at + 1; i < keyBits; i++) if (rnd.next() < 0.02) p[i >> 3]! ^= 0x80 >> (i & 7)
    out.set(Buffer.from(p).toString('hex'), bytesToWords(p))
  }
  return [...out.values()]
}

/** Checks the PATRICIA invariants and returns the leaves in order. */
function checkShape (node: Node | undefined, above = -1): Leaf[] {
  if (node === undefined) return []
  if (node.kind === 'leaf') return [node]
  assert.ok(node.bit > above && node.bit < keyBits, 'split bits rise along a path')
  const left = checkShape(node.left, node.bit)
  const right = checkShape(node.right, node.bit)
  assert.ok(left.length > 0 && right.length > 0, 'a branch has two non-empty sides')
  for (const l of left) assert.equal(bitAt(l.keyHash, node.bit), 0)
  for (const r of right) assert.equal(bitAt(r.keyHash, node.bit), 1)
  assert.equal(firstDifference(left[0]!.keyHash, right[right.length - 1]!.keyHash), node.bit, 'splits on the first differing bit')
  assert.equal(node.sample, left[0]!.keyHash)
  return [...left, ...right]
}

const leafAt = (p: Words, v: number): Leaf => leaf(p, new Uint8Array(0), Uint8Array.of(v))

describe('auth map: tree with adversarial positions', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`applying random batches equals building from scratch (seed ${seed})`, () => {
      const rnd = seededRandom(seed)
      const positions = nearbyPositions(rnd, 120)
      const model = new Map<number, number>()   // position index → value
      let top: Node | undefined
      for (let round = 0; round < 60; round++) {
        const writes: Write[] = []
        const touched = new Set<number>()
        for (let j = 0; j < 1 + rnd.int(12); j++) {
          const i = rnd.int(positions.length)
          if (touched.has(i)) continue
          touched.add(i)
          if (rnd.next() < 0.6) {
            const v = rnd.int(256)
            writes.push(leafAt(positions[i]!, v))
            model.set(i, v)
          } else {
            writes.push(removal(positions[i]!))
            model.delete(i)
          }
        }
        const size = { delta: 0 }
        const before = checkShape(top).length
        top = apply(top, sortByPosition(writes), 0, writes.length, size)
        const leaves = checkShape(top)
        assert.equal(leaves.length, model.size)
        assert.equal(before + size.delta, model.size)
        const fresh = build(sortByPosition([...model].map(([i, v]) => leafAt(positions[i]!, v))), 0, model.size)
        assert.deepEqual(hashOf(top), hashOf(fresh))
      }
    })
  }

  it('handles keys that differ only in the last bit, and a full-depth path', () => {
    const base = new Uint8Array(32).fill(0xa5)
    const positions = [bytesToWords(base)]
    for (let bit = 0; bit < keyBits; bit++) {
      const p = base.slice()
      p[bit >> 3]! ^= 0x80 >> (bit & 7)
      positions.push(bytesToWords(p))
    }
    const top = build(sortByPosition(positions.map((p, i) => leafAt(p, i))), 0, positions.length)
    checkShape(top)
    let depth = 0
    for (let node = top; node?.kind === 'branch'; node = bitAt(positions[0]!, node.bit) === 0 ? node.left : node.right) depth++
    assert.equal(depth, keyBits, 'the base position sits under one branch per bit')
    // Removing every neighbour one by one leaves just the base leaf.
    let t: Node | undefined = top
    for (const p of positions.slice(1)) t = apply(t, [removal(p)], 0, 1, { delta: 0 })
    assert.equal(t?.kind, 'leaf')
    assert.deepEqual(t.keyHash, positions[0])
  })
})
