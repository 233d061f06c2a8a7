import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import type { KeyPair } from '../../src/foundations/crypto.ts'
import { getRecord, marketKey } from '../../src/core/ledger/market/index.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { openDeal, type Deal } from '../../src/core/market/deals.ts'
import { merkleRoot } from '../../src/core/market/merkle.ts'
import { settleUsagePeriod, signReceipt, type Usage } from '../../src/core/market/receipts.ts'
import { dealView } from '../../src/edges/api/market-routes.ts'
import { receiptFromJson, receiptToJson } from '../../src/cli/market/receipts.ts'
import { chainId, expectRejected, leaves, withOffers } from './market-fixture.ts'

const GiB = 2 ** 30

/** Two bandwidth deals of alice's (2 GiB a period for 3 periods at 10 per GiB): d0 with n0, n1, n2 and d1 with n0, n1, n3. */
function withBandwidthDeals () {
  const m = withOffers('bandwidth')
  const { alice, nodes, send, block, at, p0, addr } = m
  const open = (providers: number[]): TxBody => ({ type: 'deal-open', kind: 'bandwidth', units: 2, periods: 3, replicas: 3, regions: 2, providers: providers.map(i => addr(nodes[i]!)), escrow: 3 * 10 * 2 * 3 })
  const errors = block(at(p0, 3000), [send(alice, open([0, 1, 2])), send(alice, open([0, 1, 3]))])
  assert.deepEqual(errors, [undefined, undefined], errors.find(e => e !== undefined)?.message)
  const start = m.view().entry<Deal>(marketKey.deal('d0'))!.startPeriod
  /** A receipt as the client signs it and a provider submits it. */
  const receipt = (dealId: string, provider: KeyPair, count: number, signer: KeyPair = alice, signedFor: { dealId?: string, provider?: KeyPair, chainId?: string } = {}) => ({
    dealId,
    provider: addr(provider),
    count,
    client: signer.publicKey,
    sig: signReceipt(signer.secretKey, signedFor.chainId ?? chainId, { dealId: signedFor.dealId ?? dealId, provider: toHex(addr(signedFor.provider ?? provider)), count })
  })
  const submit = (provider: KeyPair, ...receipts: Array<ReturnType<typeof receipt>>): TxBody => ({ type: 'receipt', receipts })
  const usage = (dealId: string, provider: KeyPair) => m.view().entry<Usage>(marketKey.usage(dealId, toHex(addr(provider))))
  const deal = (id: string) => m.view().entry<Deal>(marketKey.deal(id))!
  return { ...m, start, receipt, submit, usage, deal }
}

describe('bandwidth and requests deals paid from client-signed receipts', () => {
  it('a valid sequence of receipts pays exactly the increments, at most the per-period maximum, rounding on the running total', () => {
    const m = withBandwidthDeals()
    const { alice, nodes, send, block, at, view, addr, start, receipt, submit, usage, deal } = m
    const [n0, n1, n2] = nodes as [KeyPair, KeyPair, KeyPair]
    const balances = () => [alice, n0, n1, n2].map(k => view().account(addr(k)).balance)
    const ok = (time: number, txs: Uint8Array[]) => { const errors = block(time, txs); assert.deepEqual(errors, txs.map(() => undefined), errors.find(e => e !== undefined)?.message) }
    ok(at(start, 2000), [send(n0, submit(n0, receipt('d0', n0, GiB / 2))), send(n2, submit(n2, receipt('d0', n2, 3 * GiB)))])
    ok(at(start, 3000), [send(n0, submit(n0, receipt('d0', n0, GiB)))])
    ok(at(start + 1, 1000), [send(n0, submit(n0, receipt('d0', n0, 3 * GiB / 2)))])
    assert.deepEqual(usage('d0', n0), { count: 3 * GiB / 2, settled: 0 })
    // Receipts for a period may still come during the next one: settling it then is too early.
    expectRejected(m, n0, { type: 'settle', items: [{ dealId: 'd0', period: start }] }, at(start + 1, 2000), 'OutOfWindowError', /not decided yet: receipts/)

    let [a0, b0, c0, d0] = balances()
    ok(at(start + 2, 1000), [send(n1, { type: 'settle', items: [{ dealId: 'd0', period: start }] })])
    let [a1, b1, c1, d1] = balances()
    assert.equal(b1! - b0!, 15, 'n0: 1.5 GiB × 10')
    assert.equal(c1! - c0!, -10, 'n1 served nothing: paid nothing (and paid its settle fee)')
    assert.equal(d1! - d0!, 20, 'n2: 3 GiB receipted but 2 GiB a period at most; 1 GiB waits')
    assert.equal(a1! - a0!, 5 + 20, 'the client gets back what was not served')
    assert.deepEqual(deal('d0').escrow, { deposited: 180, paid: 35, refunded: 25, held: 120 })

    ok(at(start + 2, 2000), [send(n0, submit(n0, receipt('d0', n0, 3 * GiB / 2 + 100)))]);
    [a0, b0, c0, d0] = balances()
    ok(at(start + 3, 1000), [send(n1, { type: 'settle', items: [{ dealId: 'd0', period: start + 1 }] })]);
    [a1, b1, c1, d1] = balances()
    assert.deepEqual([a1! - a0!, b1! - b0!, d1! - d0!], [20 + 20 + 10, 0, 10], '100 bytes are worth less than 1; n2 gets its waiting GiB')

    ok(at(start + 3, 2000), [send(n0, submit(n0, receipt('d0', n0, 2 * GiB)))]);
    [a0, b0, c0, d0] = balances()
    ok(at(start + 4, 1000), [send(n1, { type: 'settle', items: [{ dealId: 'd0', period: start + 2 }] })]);
    [a1, b1, c1, d1] = balances()
    assert.equal(b1! - b0!, 5, 'rounding is on the running total: n0 was paid 20 in all for 2 GiB')
    assert.equal(d1! - d0!, 0)
    const final = deal('d0').escrow
    assert.deepEqual(final, { deposited: 180, paid: 20 + 30, refunded: 130, held: 0 })
    assert.deepEqual(usage('d0', n0), { count: 2 * GiB, settled: 2 * GiB })
    assert.deepEqual(getRecord(view(), toHex(addr(n0))), { periods: [], earned: 20 }, 'receipts pay but build no reputation (the client alone signs them)')
    // The deal is over: no more receipts.
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 2 * GiB + 1)), at(start + 4, 2000), 'OutOfWindowError', /fully settled/)
  })

  it('forged, replayed, stale, misdirected, over-cap and wrongly submitted receipts are rejected and move nothing', () => {
    const m = withBandwidthDeals()
    const { bob, nodes, send, block, at, start, receipt, submit, usage } = m
    const [n0, n1] = nodes as [KeyPair, KeyPair]
    const t = (ms: number) => at(start, ms)
    assert.deepEqual(block(t(1000), [send(n0, submit(n0, receipt('d0', n0, GiB)))]), [undefined])
    const accepted = usage('d0', n0)
    assert.deepEqual(accepted, { count: GiB, settled: 0 })
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 2 * GiB, bob)), t(2000), 'InvalidSignatureError', /not by deal d0's client .*forged/)
    expectRejected(m, n0, submit(n0, { ...receipt('d0', n0, 2 * GiB, bob), client: m.alice.publicKey }), t(3000), 'InvalidSignatureError', /does not cover deal d0/)
    expectRejected(m, n0, submit(n0, { ...receipt('d0', n0, GiB), count: 5 * GiB }), t(4000), 'InvalidSignatureError', /count 5368709120/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, GiB)), t(5000), 'ReplayedError', /not above the 1073741824 already accepted.*replayed or stale/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, GiB / 2)), t(6000), 'ReplayedError', /replayed or stale/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 2 * GiB, m.alice, { dealId: 'd1' })), t(7000), 'InvalidSignatureError', /another deal, provider, count or chain/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 2 * GiB, m.alice, { provider: n1 })), t(8000), 'InvalidSignatureError', /another deal, provider, count or chain/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 2 * GiB, m.alice, { chainId: 'keynet-other' })), t(9000), 'InvalidSignatureError', /on chain keynet-test/)
    expectRejected(m, n0, submit(n0, receipt('d0', n0, 6 * GiB + 1)), t(10_000), 'ReceiptOverCapError', /above deal d0's cap of 6442450944/)
    expectRejected(m, bob, submit(n0, receipt('d0', n0, 2 * GiB)), t(11_000), 'NotAuthorisedError', /only that provider submits it/)
    expectRejected(m, n1, submit(n0, receipt('d0', n0, 2 * GiB)), t(12_000), 'NotAuthorisedError', /only that provider submits it/)
    expectRejected(m, nodes[3]!, submit(nodes[3]!, receipt('d0', nodes[3]!, GiB)), t(13_000), 'NotAuthorisedError', /does not hold deal d0/)
    // One bad receipt rejects the batch: the good one before it is not kept either.
    expectRejected(m, n0, submit(n0, receipt('d1', n0, GiB), receipt('d0', n0, GiB)), t(14_000), 'ReplayedError', /receipt 1/)
    assert.equal(usage('d1', n0), undefined)
    assert.deepEqual(usage('d0', n0), accepted)
    // A party of neither kind may settle; a stranger may not.
    expectRejected(m, bob, { type: 'settle', items: [{ dealId: 'd0', period: start }] }, at(start + 2, 1000), 'NotAuthorisedError', /may not settle it/)
  })

  it('receipts are only for usage deals, and compute deals are still refused', () => {
    const m = withBandwidthDeals()
    const { alice, nodes, send, block, at, start, addr, receipt, submit } = m
    const [n0, n1, n2] = nodes as [KeyPair, KeyPair, KeyPair]
    const offered = block(at(start, 1000), [n0, n1, n2].map(n => send(n, { type: 'offer', kind: 'storage', capacity: 100, price: 10 })))
    assert.deepEqual(offered, [undefined, undefined, undefined])
    const storage: TxBody = { type: 'deal-open', kind: 'storage', units: 1, periods: 1, replicas: 3, regions: 2, providers: [addr(n0), addr(n1), addr(n2)], escrow: 30, dataRoot: merkleRoot(leaves), segments: leaves.length }
    assert.deepEqual(block(at(start, 2000), [send(alice, storage)]), [undefined])
    expectRejected(m, n0, submit(n0, receipt('d2', n0, 1)), at(start, 3000), 'MalformedMessageError', /storage deal, paid against audits/)
    const { dataRoot: _root, segments: _segments, ...compute } = storage as Extract<TxBody, { type: 'deal-open' }>
    expectRejected(m, alice, { ...compute, kind: 'compute' }, at(start, 4000), 'MalformedMessageError', /compute is not sold by the period/)
    expectRejected(m, alice, { ...storage, kind: 'bandwidth' }, at(start, 5000), 'MalformedMessageError', /names no data root/)
  })

  it('a receipt passed as JSON (as `keynet deal receipt` prints it) is accepted as signed; a malformed one is refused before sending', () => {
    const m = withBandwidthDeals()
    const { nodes, send, block, at, start, receipt, submit, usage } = m
    const json = JSON.stringify(receiptToJson(receipt('d0', nodes[0]!, 12_345)))
    assert.deepEqual(block(at(start, 1000), [send(nodes[0]!, submit(nodes[0]!, receiptFromJson(json)))]), [undefined])
    assert.deepEqual(usage('d0', nodes[0]!), { count: 12_345, settled: 0 })
    const shown = dealView(m.deal('d0'), m.view())
    assert.deepEqual(shown.slots.map(s => s.holder?.usage), [{ count: 12_345, settled: 0 }, { count: 0, settled: 0 }, { count: 0, settled: 0 }], 'the API shows each holder\'s receipted usage')
    assert.throws(() => receiptFromJson(json.replace(/"sig":"[0-9a-f]{4}/, '"sig":"zz')), /sig must be 64 bytes of hex/)
    assert.throws(() => receiptFromJson('not json'), /not JSON/)
  })

  it('requests deals: the pure rule pays per 1,000 requests, at most the units per period, and keeps escrow in = paid + refunded + held', () => {
    const holders = [{ provider: 'aa', group: 'g1', region: 'eu', price: 7 }, { provider: 'bb', group: 'g2', region: 'us', price: 9 }]
    let deal = openDeal({ id: 'd9', client: 'cc', kind: 'requests', units: 3, policy: { replicas: 2, regions: 2 }, startPeriod: 10, periods: 2, holders, escrow: (7 + 9) * 3 * 2 })
    const usage = new Map<string, Usage>([['aa', { count: 4_500, settled: 0 }]])
    const first = settleUsagePeriod(deal, 10, p => usage.get(p) ?? { count: 0, settled: 0 })
    assert.deepEqual(first.payments, [{ provider: 'aa', amount: 21 }], '3,000 requests at most a period, at 7 per 1,000')
    assert.equal(first.refunded, 27)
    assert.deepEqual(first.usage, [{ provider: 'aa', usage: { count: 4_500, settled: 3_000 } }])
    deal = first.deal
    usage.set('aa', first.usage[0]!.usage)
    const second = settleUsagePeriod(deal, 11, p => usage.get(p) ?? { count: 0, settled: 0 })
    assert.deepEqual(second.payments, [{ provider: 'aa', amount: 10 }], '⌊4,500 × 7 ÷ 1,000⌋ − 21')
    assert.deepEqual(second.deal.escrow, { deposited: 96, paid: 31, refunded: 65, held: 0 })
    assert.throws(() => settleUsagePeriod(second.deal, 12, () => ({ count: 0, settled: 0 })), { name: 'ReplayedError' })
  })
})
