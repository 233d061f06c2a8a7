import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import type { KeyPair } from '../../src/foundations/crypto.ts'
import { marketKey, type OfferEntry } from '../../src/core/ledger/market/index.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { auditSeed, challengeIndices } from '../../src/core/market/audit.ts'
import { maxAnswersPerTx } from '../../src/core/market/constants.ts'
import type { Deal } from '../../src/core/market/deals.ts'
import { merklePath, merkleRoot } from '../../src/core/market/merkle.ts'
import type { Stake } from '../../src/core/market/stake.ts'
import { expectRejected, leaves, registered, segments, signed, withDeal, withOffers } from './market-fixture.ts'

describe('market transactions on the ledger', () => {
  it('offers: negative, absurd and gouging prices are rejected with clear errors and move nothing', () => {
    const m = withOffers()
    const { nodes, send, block, at, p0, view, addr } = m
    const before = m.total()
    const errors = block(at(p0, 5000), [
      send(nodes[0]!, { type: 'offer', kind: 'storage', capacity: 100, price: -5 }),
      send(nodes[0]!, { type: 'offer', kind: 'storage', capacity: 100, price: 1e12 }),
      send(nodes[0]!, { type: 'offer', kind: 'storage', capacity: 100, price: 41 }),
      send(nodes[0]!, { type: 'offer', kind: 'storage', capacity: 100, price: 2.5 }),
      send(nodes[0]!, { type: 'offer', kind: 'storage', capacity: 0, price: 10 })
    ])
    assert.deepEqual(errors.map(e => e?.name), Array(5).fill('InvalidOfferError'))
    assert.match(errors[0]!.message, /must be positive/)
    assert.match(errors[1]!.message, /absurd/)
    assert.match(errors[2]!.message, /4× the reference price 10/)
    assert.equal(view().entry<OfferEntry>(marketKey.offer(addr(nodes[0]!), 'storage'))?.price, 10)
    assert.equal(m.total(), before)
  })

  it('a deal with too little escrow, too few regions or one operator twice is refused and no funds move', () => {
    const m = withOffers()
    const { alice, nodes, send, block, at, p0, view, addr } = m
    const providers = [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)]
    const base = { type: 'deal-open' as const, kind: 'storage' as const, units: 2, periods: 3, replicas: 3, regions: 2, providers, escrow: 180, dataRoot: merkleRoot(leaves), segments: leaves.length }
    const balance = view().account(addr(alice)).balance
    const errors = block(at(p0, 5000), [
      send(alice, { ...base, escrow: 179 }),
      send(alice, { ...base, regions: 3 }),
      send(alice, { ...base, providers: [addr(nodes[0]!), addr(nodes[5]!), addr(nodes[1]!)] }),
      send(alice, { ...base, escrow: 10_000_000_000 })
    ])
    assert.deepEqual(errors.map(e => e?.name), ['InsufficientEscrowError', 'PolicyNotMetError', 'PolicyNotMetError', 'InsufficientFundsError'])
    assert.match(errors[2]!.message, /operator groups/)
    assert.equal(view().account(addr(alice)).balance, balance - 4 * 10)
    assert.equal(view().entry(marketKey.deal('d0')), undefined)
  })

  it('an audited period pays each holder that passed; a holder answering on the ledger is paid too; a silent one is slashed, dropped and replaced', () => {
    const m = withDeal()
    const { alice, bob, nodes, operators, send, block, at, view, addr, deal, start } = m
    const supply = m.total()
    const [n0, n1, n2, n3, n4, n5] = nodes as [KeyPair, KeyPair, KeyPair, KeyPair, KeyPair, KeyPair]
    assert.equal(view().entry<Deal>(marketKey.deal(deal.id))!.escrow.held, 180)
    // Period `start` ends; the beacon is fixed by the first market transaction after it.
    block(at(start + 1), [send(bob, { type: 'market-tick' })])
    const beacon = view().entry<Uint8Array>(marketKey.beacon(start))!
    assert.ok(beacon)
    // n0 passes with its independent auditors (n1..n4; n5 shares n0's operator, so it may not audit n0).
    const forged = { ...signed(n1, deal.id, addr(n0), start, 'pass'), auditor: n2.publicKey }
    const errors = block(at(start + 1, 2000), [
      send(bob, { type: 'audit-result', results: [n1, n2, n3].map(a => signed(a, deal.id, addr(n0), start, 'pass')) }),
      send(bob, { type: 'audit-result', results: [signed(n1, deal.id, addr(n0), start, 'pass')] }),
      send(bob, { type: 'audit-result', results: [forged] }),
      send(bob, { type: 'audit-result', results: [signed(n5, deal.id, addr(n0), start, 'pass')] }),
      send(bob, { type: 'audit-result', results: [n0, n3, n4].map(a => signed(a, deal.id, addr(n2), start, 'missing')) })
    ])
    assert.deepEqual(errors.map(e => e?.name), [undefined, 'ReplayedError', 'InvalidSignatureError', 'NotAuthorisedError', undefined])
    // n1 heard from no auditor; it proves its challenge itself, four segments per transaction.
    const challenged = [...new Set(challengeIndices(auditSeed(beacon, deal.id, start), leaves.length))]
    const answers = challenged.map(index => ({ index, segment: segments[index]!, path: merklePath(leaves, index) }))
    const wrong = { ...answers[0]!, path: merklePath(leaves, (answers[0]!.index + 1) % leaves.length) }
    const answerTxs: Uint8Array[] = []
    for (let i = 0; i < answers.length; i += maxAnswersPerTx) answerTxs.push(send(n1, { type: 'audit-answer', dealId: deal.id, period: start, answers: answers.slice(i, i + maxAnswersPerTx) }))
    const answered = block(at(start + 1, 3000), [
      send(n2, { type: 'audit-answer', dealId: deal.id, period: start, answers: [wrong] }),
      send(n3, { type: 'audit-answer', dealId: deal.id, period: start, answers: answers.slice(0, 1) }),
      ...answerTxs
    ])
    assert.equal(answered[0]?.name, 'WrongProofError')
    assert.equal(answered[1]?.name, 'NotAuthorisedError')
    assert.deepEqual(answered.slice(2), answerTxs.map(() => undefined))
    // Before n2's deadline the period is not decided; a stranger may never settle.
    const early = block(at(start + 1, 4000), [send(alice, { type: 'settle', items: [{ dealId: deal.id, period: start }] })])
    assert.equal(early[0]?.name, 'OutOfWindowError')
    const balances = () => [alice, n0, n1, n2].map(k => view().account(addr(k)).balance)
    const stakeOf = (o: KeyPair) => view().entry<Stake>(marketKey.stake(toHex(addr(o))))!.amount
    const [a0, b0, c0, d0] = balances()
    const late = block(at(start + 2), [
      send(n2, { type: 'audit-answer', dealId: deal.id, period: start, answers: answers.slice(0, 1) }),
      send(bob, { type: 'settle', items: [{ dealId: deal.id, period: start }] }),
      send(n0, { type: 'settle', items: [{ dealId: deal.id, period: start }] }),
      send(n0, { type: 'settle', items: [{ dealId: deal.id, period: start }] })
    ])
    assert.deepEqual(late.map(e => e?.name), ['OutOfWindowError', 'NotAuthorisedError', undefined, 'ReplayedError'])
    const [a1, b1, c1, d1] = balances()
    assert.equal(b1! - b0!, 20 - 2 * 10, 'n0 is paid 2 units × 10 and paid two fees')
    assert.equal(c1! - c0!, 20)
    assert.equal(d1! - d0!, -10, 'n2 is paid nothing (its failed answer cost a fee)')
    assert.equal(stakeOf(operators[2]!), 45_000, 'n2\'s operator loses a tenth of its stake')
    assert.equal(a1! - a0!, 20 + 2_500, 'the client gets n2\'s share back and half the slash')
    const after = view().entry<Deal>(marketKey.deal(deal.id))!
    assert.equal(after.slots[2]!.holder, undefined)
    assert.equal(after.escrow.deposited, after.escrow.paid + after.escrow.refunded + after.escrow.held)
    assert.deepEqual([after.escrow.paid, after.escrow.refunded, after.escrow.held], [40, 20, 120])
    // The vacant slot is refilled, keeping the policy: n5 shares n0's operator, n3 does not.
    const replaced = block(at(start + 2, 2000), [
      send(alice, { type: 'deal-replace', dealId: deal.id, slot: 2, provider: addr(n5) }),
      send(bob, { type: 'deal-replace', dealId: deal.id, slot: 2, provider: addr(n3) }),
      send(alice, { type: 'deal-replace', dealId: deal.id, slot: 2, provider: addr(n3) })
    ])
    assert.deepEqual(replaced.map(e => e?.name), ['PolicyNotMetError', 'NotAuthorisedError', undefined])
    assert.equal(view().entry<Deal>(marketKey.deal(deal.id))!.slots[2]!.holder?.provider, toHex(addr(n3)))
    // Funds are conserved across the whole market: balances + stakes + escrow held + burnt.
    assert.equal(m.total(), supply)
  })

  it('an auditor that signs two different findings for one provider and period is slashed', () => {
    const m = withDeal()
    const { bob, nodes, operators, send, block, at, view, addr, deal, start } = m
    block(at(start + 1), [send(bob, { type: 'market-tick' })])
    const stake = () => view().entry<Stake>(marketKey.stake(toHex(addr(operators[1]!))))!.amount
    const before = stake()
    const errors = block(at(start + 1, 2000), [
      send(bob, { type: 'audit-result', results: [signed(nodes[1]!, deal.id, addr(nodes[0]!), start, 'pass')] }),
      send(bob, { type: 'audit-result', results: [signed(nodes[1]!, deal.id, addr(nodes[0]!), start, 'missing')] })
    ])
    assert.deepEqual(errors, [undefined, undefined])
    assert.equal(stake(), before - before / 10)
  })

  it('findings and answers after the deadline are late', () => {
    const m = withDeal()
    const { bob, nodes, send, block, at, deal, start, addr } = m
    const errors = block(at(start + 2), [
      send(bob, { type: 'audit-result', results: [signed(nodes[1]!, deal.id, addr(nodes[0]!), start, 'pass')] }),
      send(nodes[0]!, { type: 'audit-answer', dealId: deal.id, period: start, answers: [{ index: 0, segment: segments[0]!, path: merklePath(leaves, 0) }] })
    ])
    assert.deepEqual(errors.map(e => e?.name), ['OutOfWindowError', 'OutOfWindowError'])
  })

  it('nodes funded from one wallet count as one operator: the policy sees through split identities', () => {
    const m = registered()
    const { alice, nodes, operators, send, block, at, p0, addr, view } = m
    // Alice funds operator 4's stake as well as operator 3's: the two become one group.
    const errors = block(at(p0, 2000), [
      send(alice, { type: 'stake', operator: addr(operators[3]!), amount: 20_000 }),
      send(alice, { type: 'stake', operator: addr(operators[4]!), amount: 20_000 }),
      ...nodes.map(n => send(n, { type: 'offer', kind: 'storage', capacity: 100, price: 10 }))
    ])
    assert.ok(errors.every(e => e === undefined), errors.find(e => e !== undefined)?.message)
    const groups = [3, 4].map(i => view().entry<string>(marketKey.group(toHex(addr(operators[i]!)))) ?? toHex(addr(operators[i]!)))
    assert.equal(groups[0], groups[1])
    const refused = block(at(p0, 3000), [send(alice, { type: 'deal-open', kind: 'storage', units: 1, periods: 1, replicas: 3, regions: 2, providers: [addr(nodes[1]!), addr(nodes[3]!), addr(nodes[4]!)], escrow: 30, dataRoot: merkleRoot(leaves), segments: leaves.length })])
    assert.equal(refused[0]?.name, 'PolicyNotMetError')
  })
})

describe('bad input to storage deals moves nothing', () => {
  it('a wrong Merkle path, a late answer, a settlement by a stranger and a deal with too little escrow are rejected; only the fee moves', () => {
    const m = withDeal()
    const { alice, bob, nodes, send, block, at, view, addr, deal, start } = m
    block(at(start + 1), [send(bob, { type: 'market-tick' })])
    const beacon = view().entry<Uint8Array>(marketKey.beacon(start))!
    const index = challengeIndices(auditSeed(beacon, deal.id, start), leaves.length)[0]!
    const answer = { index, segment: segments[index]!, path: merklePath(leaves, index) }
    const wrongPath = { ...answer, path: merklePath(leaves, (index + 1) % leaves.length) }
    expectRejected(m, nodes[0]!, { type: 'audit-answer', dealId: deal.id, period: start, answers: [wrongPath] }, at(start + 1, 2000), 'WrongProofError', /do not prove leaf/)
    expectRejected(m, nodes[0]!, { type: 'audit-answer', dealId: deal.id, period: start, answers: [{ ...answer, segment: segments[(index + 1) % leaves.length]! }] }, at(start + 1, 3000), 'WrongProofError', /do not prove leaf/)
    expectRejected(m, nodes[0]!, { type: 'audit-answer', dealId: deal.id, period: start, answers: [answer] }, at(start + 2, 1000), 'OutOfWindowError', /answer deadline of period/)
    expectRejected(m, bob, { type: 'settle', items: [{ dealId: deal.id, period: start }] }, at(start + 2, 2000), 'NotAuthorisedError', /neither the client nor a holder.*may not settle/)
    expectRejected(m, nodes[3]!, { type: 'settle', items: [{ dealId: deal.id, period: start }] }, at(start + 2, 3000), 'NotAuthorisedError', /may not settle/)
    const providers = [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)]
    expectRejected(m, alice, { type: 'deal-open', kind: 'storage', units: 2, periods: 3, replicas: 3, regions: 2, providers, escrow: 179, dataRoot: merkleRoot(leaves), segments: leaves.length }, at(start + 2, 4000), 'InsufficientEscrowError', /escrow 179 does not cover 180/)
  })
})
