// Compute task escrow on a real ledger: the rules of src/core/market/compute-tasks.ts through the
// compute-open, compute-assign and compute-settle transactions.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { toHex } from '../../src/foundations/bytes.ts'
import type { KeyPair } from '../../src/foundations/crypto.ts'
import { marketKey } from '../../src/core/ledger/market/index.ts'
import { endorseProvider } from '../../src/core/ledger/providers.ts'
import type { ProviderRecord } from '../../src/core/ledger/market/types.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { providerClaim, signComputeReport, taskWindowMs, type ComputeTask } from '../../src/core/market/compute-tasks.ts'
import { minOperatorStake } from '../../src/core/market/constants.ts'
import type { Stake } from '../../src/core/market/stake.ts'
import { chainId, expectRejected, market, regions } from './market-fixture.ts'

const price = 10
const units = 5
const digestOf = (s: string): string => createHash('sha256').update(s).digest('hex')
const good = digestOf('the right output')
const bad = digestOf('a made-up output')

/** Six compute nodes (node 5 under node 0's operator; node 4's operator under-staked), each offering compute at 10 per core-second. */
function computeMarket () {
  const m = market()
  const { nodes, operators, operatorOf, send, block, at, p0, addr } = m
  const errors = block(at(p0), [
    ...nodes.map((n, i) => send(n, { type: 'provider-register', operatorKey: operatorOf(i).publicKey, endorsement: endorseProvider(operatorOf(i).secretKey, chainId, n.publicKey), region: regions[i]!, capacityBytes: 0, memoryBytes: 1 << 30, addrs: ['/ip4/127.0.0.1/tcp/1'], kinds: ['compute'] })),
    ...operators.slice(0, 4).map(o => send(o, { type: 'stake', operator: addr(o), amount: 50_000 })),
    send(operators[4]!, { type: 'stake', operator: addr(operators[4]!), amount: minOperatorStake - 1 })
  ])
  assert.deepEqual(errors, errors.map(() => undefined))
  const offers = block(at(p0, 2000), nodes.map(n => send(n, { type: 'offer', kind: 'compute', capacity: 2, price })))
  assert.deepEqual([0, 1, 2, 3, 5].map(i => offers[i]), [undefined, undefined, undefined, undefined, undefined])
  assert.equal(offers[4]?.name, 'InsufficientStakeError')
  let time = at(p0, 3000)
  const next = (ms = 100): number => { time += ms; return time }
  const report = (node: KeyPair, taskId: string, digest: string, coreSeconds: number, chain = chainId) => ({
    provider: addr(node), digest, coreSeconds, sig: signComputeReport(node.secretKey, chain, { taskId, provider: toHex(addr(node)), digest, coreSeconds })
  })
  const task = (id: string): ComputeTask => m.view().entry<ComputeTask>(marketKey.computeTask(id))!
  const balance = (k: KeyPair): number => m.view().account(addr(k)).balance
  const stake = (o: KeyPair): number => m.view().entry<Stake>(marketKey.stake(toHex(addr(o))))!.amount
  const burnt = (): number => m.view().entry<number>(marketKey.burnt) ?? 0
  const run = (sender: KeyPair, body: TxBody): Error | undefined => block(next(), [send(sender, body)])[0]
  return { ...m, next, report, task, balance, stake, burnt, run, now: () => time }
}

const taskId = (n: number): string => digestOf(`task ${n}`)

describe('compute tasks on the ledger: escrow, payment by agreement, slashing, refunds', () => {
  it('two agreeing reports pay both providers their price × the vouched core-seconds; the rest goes back to the client at once', () => {
    const m = computeMarket()
    const { alice, nodes, addr, report, task, balance, run } = m
    const id = taskId(1)
    const before = { alice: balance(alice), a: balance(nodes[0]!), b: balance(nodes[1]!) }
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 2, providers: [addr(nodes[0]!), addr(nodes[1]!)], escrow: 3 * price * units }), undefined)
    assert.equal(task(id).escrow.held, 150)
    assert.equal(balance(alice), before.alice - 150 - 10)
    // One claims 3 core-seconds, the other 4: a quorum vouches for 3, so both are paid for 3.
    assert.equal(run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 3), report(nodes[1]!, id, good, 4)], close: false }), undefined)
    const t = task(id)
    assert.equal(t.status, 'closed')
    assert.equal(t.accepted, good)
    assert.deepEqual(t.paid, [{ provider: toHex(addr(nodes[0]!)), amount: 30 }, { provider: toHex(addr(nodes[1]!)), amount: 30 }])
    assert.deepEqual(t.slashed, [])
    assert.deepEqual(t.escrow, { deposited: 150, paid: 60, refunded: 90, held: 0 })
    assert.equal(balance(nodes[0]!), before.a + 30)
    assert.equal(balance(nodes[1]!), before.b + 30)
    assert.equal(balance(alice), before.alice - 60 - 2 * 10, 'the client paid the work and two fees')
    assert.equal(m.view().entry<ProviderRecord>(marketKey.record(toHex(addr(nodes[0]!))))!.earned, 30)
  })

  it('a mismatch waits for the tie-breaker; the minority is not paid, its operator is slashed (burnt) and its record shows it', () => {
    const m = computeMarket()
    const { alice, nodes, operators, addr, report, task, balance, stake, burnt, run } = m
    const id = taskId(2)
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 2, providers: [addr(nodes[0]!), addr(nodes[1]!)], escrow: 150 }), undefined)
    const before = { a: balance(nodes[0]!), b: balance(nodes[1]!), c: balance(nodes[2]!), alice: balance(alice), stake: stake(operators[1]!), burnt: burnt() }
    assert.equal(run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 2), report(nodes[1]!, id, bad, 2)], close: false }), undefined)
    assert.equal(task(id).status, 'open', 'no quorum: nothing is decided')
    assert.equal(task(id).escrow.held, 150)
    assert.equal(run(alice, { type: 'compute-assign', taskId: id, providers: [addr(nodes[2]!)] }), undefined)
    assert.equal(run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[2]!, id, good, 2)], close: false }), undefined)
    const t = task(id)
    assert.equal(t.status, 'closed')
    assert.deepEqual(t.slashed, [toHex(addr(nodes[1]!))])
    assert.deepEqual(t.paid.map(p => p.provider).sort(), [toHex(addr(nodes[0]!)), toHex(addr(nodes[2]!))].sort())
    assert.equal(balance(nodes[0]!), before.a + 20)
    assert.equal(balance(nodes[2]!), before.c + 20)
    assert.equal(balance(nodes[1]!), before.b, 'the liar is not paid')
    assert.equal(stake(operators[1]!), before.stake - 5000, 'a tenth of its operator\'s stake')
    assert.equal(burnt(), before.burnt + 5000, 'all of it burnt: the client gets nothing from a slash it could have arranged')
    assert.equal(balance(alice), before.alice + 110 - 3 * 10, 'everything but the two payments comes back; three fees')
    const record = m.view().entry<ProviderRecord>(marketKey.record(toHex(addr(nodes[1]!))))!
    assert.equal(record.periods.at(-1)?.[1], 'wrong')
  })

  it('a later report contradicting an accepted result is slashed; a later agreeing one is paid', () => {
    const m = computeMarket()
    const { alice, nodes, addr, report, task, balance, run } = m
    const id = taskId(3)
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 3, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 4 * price * units }), undefined)
    assert.equal(run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 5), report(nodes[1]!, id, good, 5)], close: false }), undefined)
    assert.equal(task(id).status, 'accepted')
    assert.equal(task(id).escrow.held, price * units, 'only the unreported provider\'s share stays reserved')
    const c = balance(nodes[2]!)
    // The unreported provider posts its own report (agreeing) before the deadline, and is paid.
    assert.equal(run(nodes[2]!, { type: 'compute-settle', taskId: id, reports: [report(nodes[2]!, id, good, 5)], close: false }), undefined)
    assert.equal(balance(nodes[2]!), c + 50 - 10)
    assert.equal(task(id).status, 'closed')

    const id2 = taskId(4)
    assert.equal(run(alice, { type: 'compute-open', taskId: id2, units, replicas: 3, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 200 }), undefined)
    assert.equal(run(alice, { type: 'compute-settle', taskId: id2, reports: [report(nodes[0]!, id2, good, 5), report(nodes[1]!, id2, good, 5), report(nodes[2]!, id2, bad, 5)], close: false }), undefined)
    assert.deepEqual(task(id2).slashed, [toHex(addr(nodes[2]!))])
  })

  it('a client that never settles: after the deadline a provider posts its own report, is paid its claim, and the client gets the rest back', () => {
    const m = computeMarket()
    const { alice, nodes, addr, report, task, balance, next, run, send, block } = m
    const id = taskId(5)
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 2, providers: [addr(nodes[0]!), addr(nodes[1]!)], escrow: 150 }), undefined)
    const openedAt = task(id).openedAt
    assert.equal(task(id).deadline, openedAt + taskWindowMs(units))
    // Before the deadline a provider may post its report but not close.
    const early = run(nodes[0]!, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 4)], close: true })
    assert.equal(early?.name, 'OutOfWindowError')
    const a = balance(nodes[0]!)
    const client = balance(alice)
    next(taskWindowMs(units))
    const errors = block(m.now(), [send(nodes[0]!, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 4)], close: true })])
    assert.equal(errors[0], undefined)
    const t = task(id)
    assert.equal(t.status, 'closed')
    assert.deepEqual(t.paid, [{ provider: toHex(addr(nodes[0]!)), amount: 40 }])
    assert.equal(balance(nodes[0]!), a + 40 - 10)
    assert.equal(balance(alice), client + 110, 'the rest of the escrow is refunded')
    assert.equal(run(nodes[1]!, { type: 'compute-settle', taskId: id, reports: [report(nodes[1]!, id, good, 4)], close: true })?.name, 'ReplayedError')
  })

  it('the client may close early only once every assigned provider has reported: it cannot leave out an agreeing report it holds', () => {
    const m = computeMarket()
    const { alice, nodes, addr, report, task, run } = m
    const id = taskId(6)
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 3, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 200 }), undefined)
    const r = run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 5), report(nodes[1]!, id, good, 5)], close: true })
    assert.equal(r?.name, 'OutOfWindowError')
    assert.match(r!.message, /once every assigned provider has reported/)
    // A mismatch the client does not break: closing pays both reporters their claims.
    const id2 = taskId(7)
    assert.equal(run(alice, { type: 'compute-open', taskId: id2, units, replicas: 2, providers: [addr(nodes[0]!), addr(nodes[1]!)], escrow: 150 }), undefined)
    assert.equal(run(alice, { type: 'compute-settle', taskId: id2, reports: [report(nodes[0]!, id2, good, 2), report(nodes[1]!, id2, bad, 3)], close: true }), undefined)
    assert.deepEqual(task(id2).paid.map(p => p.amount), [20, 30])
    assert.deepEqual(task(id2).slashed, [])
    assert.equal(task(id2).escrow.refunded, 100)
  })
})

describe('a provider\'s own claims', () => {
  it('it posts an agreeing report the client left out, never one the client could still post, and closes a task its client abandoned', () => {
    const m = computeMarket()
    const { alice, nodes, addr, report, task, run, now } = m
    const id = taskId(30)
    const me = toHex(addr(nodes[2]!))
    assert.equal(providerClaim(undefined, me, good, now()), 'none', 'no escrow, no claim')
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 3, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 200 }), undefined)
    assert.equal(providerClaim(task(id), me, good, now()), 'none', 'the client may be settling: a report of mine there would make its transaction a replay')
    assert.equal(providerClaim(task(id), toHex(addr(nodes[3]!)), good, now()), 'none', 'not assigned')
    assert.equal(providerClaim(task(id), me, good, task(id).deadline), 'close', 'abandoned: claim after the deadline')
    assert.equal(run(alice, { type: 'compute-settle', taskId: id, reports: [report(nodes[0]!, id, good, 5), report(nodes[1]!, id, good, 5)], close: false }), undefined)
    assert.equal(providerClaim(task(id), me, good, now()), 'post')
    assert.equal(providerClaim(task(id), me, bad, now()), 'none')
    assert.equal(providerClaim(task(id), toHex(addr(nodes[0]!)), good, task(id).deadline), 'none', 'paid already')
    assert.equal(run(nodes[2]!, { type: 'compute-settle', taskId: id, reports: [report(nodes[2]!, id, good, 5)], close: false }), undefined)
    assert.equal(providerClaim(task(id), me, good, now()), 'none', 'closed')
  })
})

describe('bad compute settlements move nothing', () => {
  it('forged, cross-chain, cross-task, replayed and unassigned reports, strangers and over-budget claims are refused; only the fee moves', () => {
    const m = computeMarket()
    const { alice, bob, nodes, addr, report, run, next } = m
    const id = taskId(10)
    assert.equal(run(alice, { type: 'compute-open', taskId: id, units, replicas: 2, providers: [addr(nodes[0]!), addr(nodes[1]!)], escrow: 150 }), undefined)
    const settle = (reports: ReturnType<typeof report>[], close = false): TxBody => ({ type: 'compute-settle', taskId: id, reports, close })
    const forged = { ...report(nodes[3]!, id, bad, 2), provider: addr(nodes[1]!) }
    expectRejected(m, alice, settle([forged]), next(), 'InvalidSignatureError', /forged/)
    expectRejected(m, alice, settle([report(nodes[1]!, id, bad, 2, 'another-chain')]), next(), 'InvalidSignatureError', /on chain keynet-test/)
    expectRejected(m, alice, settle([report(nodes[1]!, taskId(11), bad, 2)]), next(), 'InvalidSignatureError', /task/)
    expectRejected(m, alice, settle([report(nodes[3]!, id, good, 2)]), next(), 'NotAuthorisedError', /not assigned/)
    expectRejected(m, bob, settle([report(nodes[0]!, id, good, 2)]), next(), 'NotAuthorisedError', /neither the client nor an assigned provider/)
    expectRejected(m, alice, settle([report(nodes[0]!, id, good, units + 1)]), next(), 'MalformedMessageError', /budget/)
    expectRejected(m, alice, settle([report(nodes[0]!, id, good, 2), report(nodes[0]!, id, good, 2)]), next(), 'ReplayedError', /already on the ledger/)
    assert.equal(run(alice, settle([report(nodes[0]!, id, good, 2)])), undefined)
    expectRejected(m, alice, settle([report(nodes[0]!, id, good, 2)]), next(), 'ReplayedError', /already on the ledger/)
    assert.equal(run(alice, settle([report(nodes[1]!, id, good, 2)])), undefined)
    expectRejected(m, alice, settle([]), next(), 'ReplayedError', /closed/)
    expectRejected(m, alice, { type: 'compute-settle', taskId: taskId(12), reports: [], close: false }, next(), 'NotFoundError', /no compute task/)
  })

  it('opening and assigning keep the limits: independent operators, not the client\'s own, enough escrow, a used id, compute providers only', () => {
    const m = computeMarket()
    const { alice, nodes, operators, addr, run, next } = m
    const open = (providers: KeyPair[], escrow: number, over: Partial<Extract<TxBody, { type: 'compute-open' }>> = {}): TxBody => ({ type: 'compute-open', taskId: taskId(20), units, replicas: 2, providers: providers.map(addr), escrow, ...over })
    expectRejected(m, alice, open([nodes[0]!, nodes[5]!], 150), next(), 'PolicyNotMetError', /operator group .* already has a provider/)
    expectRejected(m, alice, open([nodes[0]!, nodes[1]!], 149), next(), 'InsufficientEscrowError', /does not cover 150/)
    expectRejected(m, alice, open([nodes[0]!], 100), next(), 'PolicyNotMetError', /1 providers cannot run 2 replicas/)
    expectRejected(m, alice, open([nodes[0]!, nodes[1]!], 150, { units: 0 }), next(), 'MalformedMessageError', /CPU budget/)
    expectRejected(m, alice, open([nodes[0]!, nodes[4]!], 150), next(), 'NotFoundError', /no compute offer/)
    // An operator cannot have its own node check its own task.
    expectRejected(m, operators[0]!, open([nodes[0]!, nodes[1]!], 150), next(), 'PolicyNotMetError', /client's own operator group/)
    // Nor can a client that funded an operator's stake have that operator's node run its task.
    assert.equal(run(m.bob, { type: 'stake', operator: addr(operators[2]!), amount: 1000 }), undefined)
    expectRejected(m, m.bob, open([nodes[0]!, nodes[2]!], 150, { taskId: taskId(21) }), next(), 'PolicyNotMetError', /client's own operator group/)
    assert.equal(run(alice, open([nodes[0]!, nodes[1]!], 150)), undefined)
    expectRejected(m, alice, open([nodes[2]!, nodes[3]!], 150), next(), 'ReplayedError', /used once/)
    const assign = (providers: KeyPair[]): TxBody => ({ type: 'compute-assign', taskId: taskId(20), providers: providers.map(addr) })
    expectRejected(m, nodes[0]!, assign([nodes[2]!]), next(), 'NotAuthorisedError', /only task .* client/)
    expectRejected(m, alice, assign([nodes[5]!]), next(), 'PolicyNotMetError', /already has a provider/)
    // The escrow held one tie-breaker beyond the two: a second one does not fit.
    expectRejected(m, alice, assign([nodes[2]!, nodes[3]!]), next(), 'InsufficientEscrowError', /not reserved/)
  })
})
