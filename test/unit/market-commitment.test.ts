import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { randomBytes } from 'node:crypto'
import { blockLeafHashes, blockLeaves, commitmentSteps, CommitmentTree, decodeCommitmentTree, encodeCommitmentTree } from '../../src/core/market/commitment.ts'
import { auditSegmentBytes } from '../../src/core/market/constants.ts'
import { leafHash, merklePath, merkleRoot, verifyMerklePath } from '../../src/core/market/merkle.ts'
import { openDeal } from '../../src/core/market/deals.ts'
import { fillSlot } from '../../src/core/market/replacement.ts'
import { settlePeriod } from '../../src/core/market/settlement.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'

describe('the data commitment of a storage deal over a DAG', () => {
  const blocks = [1300, 512, 1, 4000].map((size, i) => ({ cid: `bafk${'z'.repeat(i)}${size}`, bytes: new Uint8Array(randomBytes(size)) }))
  const input = blocks.map(b => ({ cid: b.cid, size: b.bytes.byteLength, leaves: blockLeaves(b.bytes) }))

  it('is the same whatever order the blocks come in, and every leaf proves with its path', () => {
    const a = new CommitmentTree(input)
    const b = new CommitmentTree([...input].reverse())
    assert.deepEqual(a.root, b.root)
    assert.equal(a.segments, blocks.reduce((n, x) => n + Math.ceil(x.bytes.byteLength / auditSegmentBytes), 0))
    for (let i = 0; i < a.segments; i++) {
      const place = a.place(i)
      const bytes = blocks.find(x => x.cid === place.cid)!.bytes.subarray(place.start, place.end)
      assert.ok(verifyMerklePath(a.root, a.segments, i, bytes, a.path(i)), `segment ${i}`)
      assert.ok(!verifyMerklePath(a.root, a.segments, i, new Uint8Array(bytes.byteLength), a.path(i)), `zeroes do not pass as segment ${i}`)
    }
  })

  it('is the Merkle tree of merkle.ts over the leaves in CID order, whatever the width of its levels', () => {
    for (const sizes of [[1], [0], [513, 1024, 7], [5000, 33 * 512 + 3, 512 * 9]]) {
      const bs = sizes.map((size, i) => ({ cid: `bafk${i}`, bytes: new Uint8Array(randomBytes(size)) }))
      const leaves = bs.flatMap(b => b.bytes.byteLength === 0 ? [leafHash(b.bytes)] : Array.from({ length: Math.ceil(b.bytes.byteLength / auditSegmentBytes) }, (_, k) => leafHash(b.bytes.subarray(k * auditSegmentBytes, (k + 1) * auditSegmentBytes))))
      const tree = new CommitmentTree(bs.map(b => ({ cid: b.cid, size: b.bytes.byteLength, leaves: blockLeafHashes(b.bytes) })))
      assert.deepEqual(tree.root, merkleRoot(leaves))
      for (let i = 0; i < leaves.length; i++) assert.deepEqual(tree.path(i), merklePath(leaves, i), `path of leaf ${i} of ${leaves.length}`)
      assert.deepEqual(new CommitmentTree(bs.map(b => ({ cid: b.cid, size: b.bytes.byteLength, leaves: blockLeaves(b.bytes) }))).root, tree.root, 'flat and one-per-leaf hashes give one tree')
    }
  })

  it('built in steps, or read back from its encoding, is the same tree; a damaged encoding is refused', () => {
    const steps = commitmentSteps(input)
    let r = steps.next()
    while (r.done !== true) r = steps.next()
    const a = new CommitmentTree(input)
    assert.deepEqual(r.value.root, a.root)
    const encoded = encodeCommitmentTree(a)
    const b = decodeCommitmentTree(encoded)
    assert.deepEqual(b.root, a.root)
    assert.equal(b.segments, a.segments)
    for (let i = 0; i < a.segments; i++) {
      assert.deepEqual(b.place(i), a.place(i))
      assert.deepEqual(b.path(i), a.path(i))
    }
    const damaged = encoded.slice()
    damaged[40] = damaged[40]! ^ 1
    assert.throws(() => decodeCommitmentTree(damaged), MalformedMessageError)
    assert.throws(() => decodeCommitmentTree(encoded.subarray(0, encoded.byteLength - 1)), MalformedMessageError)
  })

  it('changes when any block changes', () => {
    const changed = input.map((x, i) => i === 2 ? { ...x, leaves: blockLeaves(new Uint8Array([7])) } : x)
    assert.notDeepEqual(new CommitmentTree(changed).root, new CommitmentTree(input).root)
  })
})

describe('settlement with a replacement holder', () => {
  it('pays a replacement only from the period it took over; the earlier periods of its slot go back to the client', () => {
    const holders = ['a', 'b', 'c'].map((p, i) => ({ provider: p, group: `g${p}`, region: `r${i}`, price: 10 }))
    let deal = openDeal({ id: 'd0', client: 'x', kind: 'storage', units: 1, policy: { replicas: 3, regions: 3 }, startPeriod: 10, periods: 10, holders, escrow: 300 })
    deal = settlePeriod(deal, 10, p => p === 'a' ? 'fail' : 'pass').deal
    assert.equal(deal.slots[0]!.holder, undefined, 'the failed holder is dropped')
    deal = fillSlot(deal, 0, { provider: 'd', group: 'gd', region: 'r0', price: 10 }, 12)
    const before = settlePeriod(deal, 11, () => 'fail')
    assert.deepEqual(before.failed, ['b', 'c'], 'the replacement is not judged for period 11, before it held the data')
    assert.equal(before.refunded, 30)
    const s12 = settlePeriod(before.deal, 12, () => 'pass')
    assert.deepEqual(s12.payments.map(p => p.provider), ['d'], 'from period 12 it is paid')
  })
})
