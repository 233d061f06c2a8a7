import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { buildBlock, genesisChain, type ChainState } from '../../src/core/ledger/chain.ts'
import { marketKey, periodAt, type OfferEntry } from '../../src/core/ledger/market/index.ts'
import { endorseProvider } from '../../src/core/ledger/providers.ts'
import { StateView } from '../../src/core/ledger/state.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { auditSeed, challengeIndices, signAuditStatement, type AuditOutcome } from '../../src/core/market/audit.ts'
import { auditSegmentBytes, maxAnswersPerTx, minOperatorStake, settlementPeriodMs } from '../../src/core/market/constants.ts'
import type { Deal } from '../../src/core/market/deals.ts'
import { leafHash, merklePath, merkleRoot, segmentsOf } from '../../src/core/market/merkle.ts'
import type { Stake } from '../../src/core/market/stake.ts'
import { testGenesis, tx } from './ledger-helpers.ts'

const chainId = 'keynet-test'
const regions = ['eu-west', 'us-east', 'eu-west', 'ap-south', 'us-east', 'eu-west']
const content = new Uint8Array(40 * auditSegmentBytes).map((_, i) => (Math.imul(i + 1, 2654435761) >>> 19) & 255)
const leaves = segmentsOf(content, auditSegmentBytes).map(leafHash)
const segments = segmentsOf(content, auditSegmentBytes)

/** A small market: six provider nodes, node 5 run by node 0's operator; every key funded. */
function market () {
  const { genesis, alice, bob, validator } = testGenesis()
  const nodes = regions.map(() => generateKeyPair())
  const operators = [0, 1, 2, 3, 4].map(() => generateKeyPair())
  const operatorOf = (i: number): KeyPair => operators[i === 5 ? 0 : i]!
  for (const k of [...nodes, ...operators]) genesis.accounts.push({ address: addressOf(k.publicKey), balance: 1_000_000 })
  const nonces = new Map<string, number>()
  let chain: ChainState = genesisChain(genesis)
  const total = (): number => {
    const view = new StateView(chain.state)
    const balances = genesis.accounts.reduce((a, x) => a + view.account(x.address).balance, 0) + view.account(addressOf(validator.publicKey)).balance
    const stakes = operators.reduce((a, o) => a + (view.entry<Stake>(marketKey.stake(toHex(addressOf(o.publicKey))))?.amount ?? 0), 0)
    const seq = view.entry<number>(marketKey.dealSeq) ?? 0
    let held = 0
    for (let i = 0; i < seq; i++) held += view.entry<Deal>(marketKey.deal(`d${i}`))!.escrow.held
    return balances + stakes + held + (view.entry<number>(marketKey.burnt) ?? 0)
  }
  const send = (key: KeyPair, body: TxBody): Uint8Array => {
    const id = toHex(key.publicKey)
    const nonce = nonces.get(id) ?? 0
    nonces.set(id, nonce + 1)
    return tx(key, nonce, body)
  }
  /** Runs one block at `time`; a transaction that fails keeps its nonce used, as on the ledger. */
  const block = (time: number, txs: Uint8Array[]) => {
    while (time - chain.time > 60_000) chain = buildBlock(chain, [], chain.time + 60_000, validator.publicKey).chain
    const built = buildBlock(chain, txs, time, validator.publicKey)
    assert.equal(built.rejected.length, 0, built.rejected[0]?.error.message)
    chain = built.chain
    return built.results.map(r => r.error)
  }
  const view = () => new StateView(chain.state)
  const at = (period: number, offsetMs = 1000): number => period * settlementPeriodMs + offsetMs
  const p0 = periodAt(genesis.time) + 1
  const addr = (k: KeyPair): Uint8Array => addressOf(k.publicKey)
  return { genesis, alice, bob, nodes, operators, operatorOf, send, block, view, at, p0, addr, total, chain: () => chain }
}

function registered () {
  const m = market()
  const { nodes, operators, operatorOf, send, block, at, p0, addr } = m
  const errors = block(at(p0), [
    ...nodes.map((n, i) => send(n, { type: 'provider-register', operatorKey: operatorOf(i).publicKey, endorsement: endorseProvider(operatorOf(i).secretKey, chainId, n.publicKey), region: regions[i]!, capacityBytes: 1 << 30, addrs: ['/ip4/127.0.0.1/tcp/1'] })),
    ...operators.slice(0, 4).map(o => send(o, { type: 'stake', operator: addr(o), amount: 50_000 }))
  ])
  assert.deepEqual(errors, errors.map(() => undefined))
  return m
}

function withOffers () {
  const m = registered()
  const { nodes, operators, send, block, at, p0, addr } = m
  // Operator 4 stakes just below the minimum, so its node cannot offer yet.
  const errors = block(at(p0, 2000), [
    send(operators[4]!, { type: 'stake', operator: addr(operators[4]!), amount: minOperatorStake - 1 }),
    ...nodes.map(n => send(n, { type: 'offer', kind: 'storage', capacity: 100, price: 10 }))
  ])
  assert.equal(errors[0], undefined)
  assert.equal(errors[5]?.name, 'InsufficientStakeError')
  assert.deepEqual([1, 2, 3, 4, 6].map(i => errors[i]), [undefined, undefined, undefined, undefined, undefined])
  return m
}

function withDeal () {
  const m = withOffers()
  const { alice, nodes, send, block, at, p0, addr } = m
  const body: TxBody = { type: 'deal-open', kind: 'storage', units: 2, periods: 3, replicas: 3, regions: 2, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 3 * 10 * 2 * 3, dataRoot: merkleRoot(leaves), segments: leaves.length }
  const errors = block(at(p0, 3000), [send(alice, body)])
  assert.equal(errors[0], undefined)
  const deal = m.view().entry<Deal>(marketKey.deal('d0'))!
  return { ...m, deal, start: deal.startPeriod }
}

function signed (auditor: KeyPair, dealId: string, provider: Uint8Array, period: number, outcome: AuditOutcome) {
  const statement = { dealId, provider: toHex(provider), period, outcome, latencyMs: 40 }
  return { dealId, provider, period, outcome, latencyMs: 40, auditor: auditor.publicKey, sig: signAuditStatement(auditor.secretKey, chainId, statement) }
}

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
