import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from '../../src/foundations/clock.ts'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { sha256 } from '../../src/foundations/hash.ts'
import {
  addStake, answerChallenge, assignAuditors, auditorDraws, auditSeed, capAllows, challengeIndices, checkEscrow, checkOfferTerms,
  challengesPerPeriod, decayTally, effectiveScore, emptyEvidence, emptyStake, fillSlot, groupReputation, leafHash, maxPriceStepBps,
  merklePath, merkleRoot, networkPrefix, newReputation, openDeal, openEscrow, operatorGroups, pay, recordOutcome, refund, requiredEscrow,
  score, selectProviders, settlePeriod, signAuditStatement, slash, stepPrice, verdict, verifyAuditStatement, verifyMerklePath,
  isEquivocation, auditQuorum, type Candidate, type Deal, type PeriodEvidence, type Reputation
} from '../../src/core/market/index.ts'

const key = (n: number): Uint8Array => sha256(new Uint8Array([n]))

function deal (periods = 3): Deal {
  return openDeal({
    id: 'd1', client: 'c', kind: 'storage', units: 2, policy: { replicas: 3, regions: 2 }, startPeriod: 10, periods,
    holders: [{ provider: 'a', group: 'A', region: 'eu', price: 5 }, { provider: 'b', group: 'B', region: 'us', price: 6 }, { provider: 'c2', group: 'C', region: 'eu', price: 7 }],
    escrow: requiredEscrow([5, 6, 7], 2, periods) + 4
  })
}

describe('market rules', () => {
  it('operator groups: a shared stake source or network prefix joins operators, transitively; private addresses link nobody', () => {
    assert.equal(networkPrefix('/ip4/203.0.113.9/tcp/1'), 'ip4/203.0.113')
    assert.equal(networkPrefix('/ip4/127.0.0.1/tcp/1'), undefined)
    assert.equal(networkPrefix('/ip4/192.168.1.4/tcp/1'), undefined)
    assert.equal(networkPrefix('/ip6/2001:db8:1:2::1/tcp/1'), 'ip6/2001:db8:1')
    const groups = operatorGroups([
      { id: 'n1', operator: 'o3', stakeSources: ['w1'], prefixes: [] },
      { id: 'n2', operator: 'o2', stakeSources: ['w1'], prefixes: ['ip4/1.2.3'] },
      { id: 'n3', operator: 'o1', stakeSources: ['w9'], prefixes: ['ip4/1.2.3'] },
      { id: 'n4', operator: 'o4', stakeSources: ['w4'], prefixes: ['ip4/9.9.9'] }
    ])
    assert.deepEqual([...groups.values()], ['o1', 'o1', 'o1', 'o4'])
  })

  it('stake: a fault slashes a tenth, split between the client and a burn that add up to what left', () => {
    const s = addStake(addStake(emptyStake('op'), 50_000, 'w1'), 1, 'w2')
    assert.deepEqual(s.sources, ['w1', 'w2'])
    const cut = slash(s)
    assert.equal(cut.stake.amount, 50_001 - 5_000)
    assert.equal(cut.toClient + cut.burnt, 5_000)
    assert.equal(slash({ ...s, amount: 3 }, 5).stake.amount, 0)
    assert.throws(() => addStake(s, -1, 'w1'), /positive/)
  })

  it('offers: prices must be positive whole numbers, not absurd, within 4× the reference', () => {
    assert.deepEqual(checkOfferTerms({ capacity: 10, price: 40 }, 10), { capacity: 10, price: 40 })
    for (const [terms, why] of [[{ capacity: 10, price: -1 }, /positive/], [{ capacity: 10, price: 0 }, /positive/], [{ capacity: 10, price: 1.5 }, /whole/],
      [{ capacity: 10, price: 1e15 }, /absurd/], [{ capacity: 10, price: 41 }, /4×/], [{ capacity: -3, price: 10 }, /capacity/], [{ capacity: 10, price: Number.NaN }, /number/]] as const) {
      assert.throws(() => checkOfferTerms(terms, 10), (e: Error) => e.name === 'InvalidOfferError' && why.test(e.message))
    }
  })

  it('prices rise above the target utilisation and fall below it, by at most the step bound, never to zero', () => {
    const up = stepPrice({ reference: 1000, offered: 100, used: 100, period: 0 })
    const down = stepPrice({ reference: 1000, offered: 100, used: 0, period: 0 })
    assert.equal(up, 1000 * (10_000 + maxPriceStepBps) / 10_000)
    assert.equal(down, 1000 * (10_000 - maxPriceStepBps) / 10_000)
    assert.equal(stepPrice({ reference: 1000, offered: 100, used: 60, period: 0 }), 1000)
    assert.equal(stepPrice({ reference: 1, offered: 100, used: 0, period: 0 }), 1)
    assert.equal(stepPrice({ reference: 3, offered: 100, used: 100, period: 0 }), 4, 'a small price still moves')
  })

  it('escrow: in = paid + refunded + held after every move; paying more than is held is a broken invariant', () => {
    let e = openEscrow(100)
    e = pay(e, 30)
    e = refund(e, 20)
    assert.deepEqual(checkEscrow(e), { deposited: 100, paid: 30, refunded: 20, held: 50 })
    assert.throws(() => pay(e, 51))
  })

  it('Merkle paths prove every leaf of trees of any size, and nothing else', () => {
    for (const n of [1, 2, 3, 7, 8, 33]) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(key(i)))
      const root = merkleRoot(leaves)
      for (let i = 0; i < n; i++) {
        assert.ok(verifyMerklePath(root, n, i, key(i), merklePath(leaves, i)))
        assert.ok(!verifyMerklePath(root, n, i, key(i + 100), merklePath(leaves, i)))
        if (n > 1) assert.ok(!verifyMerklePath(root, n, (i + 1) % n, key(i), merklePath(leaves, i)))
      }
    }
  })

  it('audits: challenges and auditors follow the beacon alone; auditors are never in the provider\'s group; findings are signed', () => {
    const seed = auditSeed(key(1), 'd1', 7)
    const c = challengeIndices(seed, 1000)
    assert.equal(c.length, challengesPerPeriod)
    assert.deepEqual(c, challengeIndices(auditSeed(key(1), 'd1', 7), 1000))
    assert.notDeepEqual(c, challengeIndices(auditSeed(key(2), 'd1', 7), 1000))
    assert.ok(c.every(i => i >= 0 && i < 1000))
    const auditors = Array.from({ length: 20 }, (_, i) => ({ id: `a${i}`, group: `g${i % 7}` }))
    const chosen = assignAuditors(auditorDraws(seed), auditors, new Set(['g0', 'g1']), new Set(['a2']))
    assert.equal(new Set(chosen.map(a => a.id)).size, chosen.length)
    assert.ok(chosen.length === 5 && chosen.every(a => a.group !== 'g0' && a.group !== 'g1' && a.id !== 'a2'))
    assert.equal(assignAuditors(auditorDraws(seed), auditors.slice(0, 3), new Set(['g0'])).length, 2, 'fewer only when there are not enough')
    const k = generateKeyPair()
    const s = { dealId: 'd1', provider: 'p', period: 7, outcome: 'pass' as const, latencyMs: 3 }
    const sig = signAuditStatement(k.secretKey, 'chain', s)
    assert.ok(verifyAuditStatement(k.publicKey, 'chain', s, sig))
    assert.ok(!verifyAuditStatement(k.publicKey, 'chain', { ...s, outcome: 'missing' }, sig))
    assert.ok(!verifyAuditStatement(k.publicKey, 'other-chain', s, sig))
    assert.ok(isEquivocation(s, { ...s, outcome: 'wrong' }) && !isEquivocation(s, { ...s, period: 8, outcome: 'wrong' }))
  })

  it('evidence: a quorum of passes or an on-ledger answer passes; otherwise pending until the deadline, then failed', () => {
    const ev = (passes: number): PeriodEvidence => ({ ...emptyEvidence(), outcomes: Array.from({ length: passes }, (_, i) => ({ auditor: `a${i}`, outcome: 'pass' as const })) })
    assert.equal(verdict(ev(auditQuorum), 5, 6), 'pass')
    assert.equal(verdict(ev(auditQuorum - 1), 5, 6), 'pending')
    assert.equal(verdict(ev(auditQuorum - 1), 5, 7), 'fail')
    assert.equal(verdict({ ...ev(0), answered: true }, 5, 9), 'pass')
  })

  it('deals need escrow for every slot and period, distinct operator groups and enough regions', () => {
    const terms = { id: 'd', client: 'c', kind: 'storage' as const, units: 1, policy: { replicas: 2, regions: 2 }, startPeriod: 0, periods: 2, escrow: 20, holders: [{ provider: 'a', group: 'A', region: 'eu', price: 5 }, { provider: 'b', group: 'B', region: 'us', price: 5 }] }
    assert.equal(openDeal(terms).escrow.held, 20)
    assert.throws(() => openDeal({ ...terms, escrow: 19 }), { name: 'InsufficientEscrowError' })
    assert.throws(() => openDeal({ ...terms, holders: [terms.holders[0]!, { ...terms.holders[1]!, group: 'A' }] }), /operator groups/)
    assert.throws(() => openDeal({ ...terms, holders: [terms.holders[0]!, { ...terms.holders[1]!, region: 'eu' }] }), /regions/)
    assert.throws(() => openDeal({ ...terms, policy: { replicas: 3, regions: 2 } }), /cannot keep 3/)
  })

  it('settlement pays only passed periods, refunds the rest to the client, drops a failing holder, and refunds what is left at the end', () => {
    let d = deal(2)
    assert.throws(() => settlePeriod(d, 11, () => 'pass'), { name: 'OutOfWindowError' })
    assert.throws(() => settlePeriod(d, 10, p => p === 'b' ? 'pending' : 'pass'), { name: 'OutOfWindowError' })
    const s = settlePeriod(d, 10, p => p === 'b' ? 'fail' : 'pass')
    assert.deepEqual(s.payments, [{ provider: 'a', amount: 10 }, { provider: 'c2', amount: 14 }])
    assert.equal(s.refunded, 12)
    assert.deepEqual(s.failed, ['b'])
    assert.deepEqual(s.dropped, ['b'])
    d = s.deal
    assert.throws(() => settlePeriod(d, 10, () => 'pass'), { name: 'ReplayedError' })
    const last = settlePeriod(d, 11, () => 'pass')
    assert.equal(last.refunded, 12 + 4, 'the vacant slot and the unused reserve go back')
    assert.deepEqual(last.deal.escrow, { deposited: 76, paid: 48, refunded: 28, held: 0 })
    assert.throws(() => settlePeriod(last.deal, 12, () => 'pass'), { name: 'ReplayedError' })
  })

  it('disputes: only the holder answers, after the period and before the deadline, with proofs of challenged segments', () => {
    const data = Array.from({ length: 50 }, (_, i) => key(i))
    const leaves = data.map(leafHash)
    const root = merkleRoot(leaves)
    const challenged = [3, 17, 44]
    const q = { period: 5, now: 6, sender: 'p', holder: 'p', dataRoot: root, segmentCount: 50, challenged }
    const proof = (i: number) => ({ index: i, segment: data[i]!, path: merklePath(leaves, i) })
    const half = answerChallenge(emptyEvidence(), { ...q, answers: [proof(3), proof(17)] })
    assert.equal(half.answered, false)
    assert.equal(answerChallenge(half, { ...q, answers: [proof(44)] }).answered, true)
    assert.throws(() => answerChallenge(half, { ...q, answers: [proof(3)] }), { name: 'ReplayedError' })
    assert.throws(() => answerChallenge(emptyEvidence(), { ...q, sender: 'x', answers: [proof(3)] }), { name: 'NotAuthorisedError' })
    assert.throws(() => answerChallenge(emptyEvidence(), { ...q, now: 5, answers: [proof(3)] }), { name: 'OutOfWindowError' })
    assert.throws(() => answerChallenge(emptyEvidence(), { ...q, now: 7, answers: [proof(3)] }), { name: 'OutOfWindowError' })
    assert.throws(() => answerChallenge(emptyEvidence(), { ...q, answers: [proof(4)] }), /not challenged/)
    assert.throws(() => answerChallenge(emptyEvidence(), { ...q, answers: [{ ...proof(3), segment: data[4]! }] }), { name: 'WrongProofError' })
  })

  it('replacement keeps the policy, and a dearer replacement shortens the deal to what the escrow covers', () => {
    const d = settlePeriod(deal(3), 10, p => p === 'b' ? 'fail' : 'pass').deal
    assert.throws(() => fillSlot(d, 1, { provider: 'x', group: 'A', region: 'us', price: 6 }, 11), /operator groups/)
    const same = fillSlot(d, 1, { provider: 'x', group: 'X', region: 'us', price: 6 }, 11)
    assert.equal(same.periods, 3)
    const dear = fillSlot(d, 1, { provider: 'x', group: 'X', region: 'us', price: 20 }, 11)
    assert.equal(dear.periods, 2, 'one more period at the new prices is all the escrow covers')
    assert.throws(() => fillSlot(d, 1, { provider: 'x', group: 'X', region: 'us', price: 1000 }, 11), { name: 'InsufficientEscrowError' })
  })

  it('reputation: a slow honest provider outscores a fast wrong one and a part-time cheat; old failures fade', () => {
    let slow = newReputation(0), fast = newReputation(0), partTime = newReputation(0)
    for (let t = 0; t < 30; t++) {
      slow = recordOutcome(slow, t, 'pass', 9_000)
      fast = recordOutcome(fast, t, t % 2 === 0 ? 'pass' : 'wrong', 10)
      partTime = recordOutcome(partTime, t, t % 4 === 0 ? 'fail' : 'pass', 10)
    }
    assert.ok(score(slow) > score(partTime) && score(partTime) > score(fast), `${score(slow)} ${score(partTime)} ${score(fast)}`)
    assert.equal(score(newReputation(0)), 5000)
    let recovering: Reputation = recordOutcome(newReputation(0), 0, 'fail')
    const early = score(recovering)
    for (let t = 1; t < 200; t++) recovering = recordOutcome(recovering, t, 'pass', 100)
    assert.ok(score(recovering) > early && score(recovering) > 9000)
    assert.ok(effectiveScore(slow, groupReputation([slow, fast], 30)) < score(slow), 'a provider is no better than its operator')
  })

  it('selection: distinct groups and regions, the operator cap, the newcomer share, probation', () => {
    const candidates: Candidate[] = []
    for (let i = 0; i < 40; i++) candidates.push({ provider: `p${i}`, group: `g${i % 10}`, region: ['eu', 'us', 'ap'][i % 3]!, price: 10, capacity: 100, free: 100, score: 9000, since: -50, recentFailures: 0 })
    candidates.push({ provider: 'new', group: 'gn', region: 'eu', price: 10, capacity: 100, free: 100, score: 5000, since: 95, recentFailures: 0 })
    candidates.push({ provider: 'failed', group: 'gf', region: 'eu', price: 1, capacity: 100, free: 100, score: 9900, since: -50, recentFailures: 1, lastFailure: 98 })
    const random = seededRandom(3)
    const shares = { total: 0, byGroup: new Map<string, number>() }
    let tally = { placements: 0, newcomer: 0 }
    let newcomerPicks = 0
    for (let n = 0; n < 300; n++) {
      const chosen = selectProviders({ candidates, policy: { replicas: 3, regions: 2 }, count: 3, units: 1, period: 100, shares, tally, random })
      assert.equal(new Set(chosen.map(c => c.group)).size, 3)
      assert.ok(new Set(chosen.map(c => c.region)).size >= 2)
      assert.ok(!chosen.some(c => c.provider === 'failed'), 'on probation')
      for (const c of chosen) {
        shares.total++
        shares.byGroup.set(c.group, (shares.byGroup.get(c.group) ?? 0) + 1)
        tally.placements++
        if (c.provider === 'new') { tally.newcomer++; newcomerPicks++ }
      }
      tally = decayTally(tally)
    }
    assert.ok(newcomerPicks / 900 >= 0.045, `newcomer got ${newcomerPicks} of 900`)
    // A group at the cap gets nothing more.
    const capped = { total: 100, byGroup: new Map([['g0', 20]]) }
    assert.ok(!capAllows(capped, 'g0') && capAllows(capped, 'g1'))
    const picks = selectProviders({ candidates, policy: { replicas: 3, regions: 2 }, count: 3, units: 1, period: 100, shares: capped, tally: { placements: 1, newcomer: 1 }, random })
    assert.ok(!picks.some(c => c.group === 'g0'))
    assert.throws(() => selectProviders({ candidates, policy: { replicas: 3, regions: 2 }, count: 3, units: 1000, period: 100, shares, tally, random }), { name: 'PolicyNotMetError' })
  })
})
