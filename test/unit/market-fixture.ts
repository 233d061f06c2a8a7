/** A small market on a real ledger for the market's transaction tests: six provider nodes, their operators, offers and a storage deal. */
import assert from 'node:assert/strict'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { buildBlock, genesisChain, type ChainState } from '../../src/core/ledger/chain.ts'
import { marketKey, periodAt } from '../../src/core/ledger/market/index.ts'
import { endorseProvider } from '../../src/core/ledger/providers.ts'
import { StateView } from '../../src/core/ledger/state.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import type { ResourceKind } from '../../src/core/market/kinds.ts'
import { signAuditStatement, type AuditOutcome } from '../../src/core/market/audit.ts'
import { auditSegmentBytes, minOperatorStake, settlementPeriodMs } from '../../src/core/market/constants.ts'
import type { Deal } from '../../src/core/market/deals.ts'
import { leafHash, merkleRoot, segmentsOf } from '../../src/core/market/merkle.ts'
import type { Stake } from '../../src/core/market/stake.ts'
import { testGenesis, tx } from './ledger-helpers.ts'

export const chainId = 'keynet-test'
export const regions = ['eu-west', 'us-east', 'eu-west', 'ap-south', 'us-east', 'eu-west']
export const content = new Uint8Array(40 * auditSegmentBytes).map((_, i) => (Math.imul(i + 1, 2654435761) >>> 19) & 255)
export const leaves = segmentsOf(content, auditSegmentBytes).map(leafHash)
export const segments = segmentsOf(content, auditSegmentBytes)

/** A small market: six provider nodes, node 5 run by node 0's operator; every key funded. */
export function market () {
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
  /** Runs one block and returns its results and every state entry it wrote. */
  const blockChanges = (time: number, txs: Uint8Array[]) => {
    while (time - chain.time > 60_000) chain = buildBlock(chain, [], chain.time + 60_000, validator.publicKey).chain
    const built = buildBlock(chain, txs, time, validator.publicKey)
    assert.equal(built.rejected.length, 0, built.rejected[0]?.error.message)
    chain = built.chain
    return { errors: built.results.map(r => r.error), changed: built.changes.map(c => new TextDecoder().decode(c.key)) }
  }
  const view = () => new StateView(chain.state)
  const at = (period: number, offsetMs = 1000): number => period * settlementPeriodMs + offsetMs
  const p0 = periodAt(genesis.time) + 1
  const addr = (k: KeyPair): Uint8Array => addressOf(k.publicKey)
  return { genesis, alice, bob, validator, nodes, operators, operatorOf, send, block, blockChanges, view, at, p0, addr, total, chain: () => chain }
}

export function registered () {
  const m = market()
  const { nodes, operators, operatorOf, send, block, at, p0, addr } = m
  const errors = block(at(p0), [
    ...nodes.map((n, i) => send(n, { type: 'provider-register', operatorKey: operatorOf(i).publicKey, endorsement: endorseProvider(operatorOf(i).secretKey, chainId, n.publicKey), region: regions[i]!, capacityBytes: 1 << 30, addrs: ['/ip4/127.0.0.1/tcp/1'] })),
    ...operators.slice(0, 4).map(o => send(o, { type: 'stake', operator: addr(o), amount: 50_000 }))
  ])
  assert.deepEqual(errors, errors.map(() => undefined))
  return m
}

export function withOffers (kind: ResourceKind = 'storage') {
  const m = registered()
  const { nodes, operators, send, block, at, p0, addr } = m
  // Operator 4 stakes just below the minimum, so its node cannot offer yet.
  const errors = block(at(p0, 2000), [
    send(operators[4]!, { type: 'stake', operator: addr(operators[4]!), amount: minOperatorStake - 1 }),
    ...nodes.map(n => send(n, { type: 'offer', kind, capacity: 100, price: 10 }))
  ])
  assert.equal(errors[0], undefined)
  assert.equal(errors[5]?.name, 'InsufficientStakeError')
  assert.deepEqual([1, 2, 3, 4, 6].map(i => errors[i]), [undefined, undefined, undefined, undefined, undefined])
  return m
}

export function withDeal () {
  const m = withOffers()
  const { alice, nodes, send, block, at, p0, addr } = m
  const body: TxBody = { type: 'deal-open', kind: 'storage', units: 2, periods: 3, replicas: 3, regions: 2, providers: [addr(nodes[0]!), addr(nodes[1]!), addr(nodes[2]!)], escrow: 3 * 10 * 2 * 3, dataRoot: merkleRoot(leaves), segments: leaves.length }
  const errors = block(at(p0, 3000), [send(alice, body)])
  assert.equal(errors[0], undefined)
  const deal = m.view().entry<Deal>(marketKey.deal('d0'))!
  return { ...m, deal, start: deal.startPeriod }
}

export function signed (auditor: KeyPair, dealId: string, provider: Uint8Array, period: number, outcome: AuditOutcome) {
  const statement = { dealId, provider: toHex(provider), period, outcome, latencyMs: 40 }
  return { dealId, provider, period, outcome, latencyMs: 40, auditor: auditor.publicKey, sig: signAuditStatement(auditor.secretKey, chainId, statement) }
}


/**
 * Sends `body` alone in a block at `time` and checks it is rejected with `name` and a message
 * matching `message`, and that nothing moved: the only entries written are the sender's account
 * (its fee and nonce) and the fee's recipient.
 */
export function expectRejected (m: ReturnType<typeof market>, sender: KeyPair, body: TxBody, time: number, name: string, message: RegExp): void {
  const balance = m.view().account(m.addr(sender)).balance
  const { errors, changed } = m.blockChanges(time, [m.send(sender, body)])
  assert.equal(errors[0]?.name, name, errors[0]?.message)
  assert.match(errors[0]!.message, message)
  assert.deepEqual(changed.sort(), [`acct/${toHex(m.addr(sender))}`, `acct/${toHex(m.addr(m.validator))}`].sort(), 'only the fee moved')
  assert.equal(m.view().account(m.addr(sender)).balance, balance - 10, 'the sender paid the fee and nothing else')
}
