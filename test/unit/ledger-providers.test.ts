import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, type KeyPair } from '../../src/foundations/crypto.ts'
import { buildBlock, genesisChain, type ChainState } from '../../src/core/ledger/chain.ts'
import { endorseProvider, getPin, getProvider, providerIndex } from '../../src/core/ledger/providers.ts'
import { StateView } from '../../src/core/ledger/state.ts'
import { chooseHolders, type Candidate } from '../../src/core/placement/choose-holders.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { testGenesis, testParams, tx } from './ledger-helpers.ts'

const t0 = 1_700_000_001_000
const cid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'

function setup () {
  const chain = testGenesis()
  const nodes = Array.from({ length: 4 }, () => generateKeyPair())
  const operator = generateKeyPair()
  chain.genesis.accounts.push(...nodes.map(n => ({ address: addressOf(n.publicKey), balance: 1_000_000 })))
  return { ...chain, nodes, operator }
}

function register (node: KeyPair, operator: KeyPair, region: string, nonce = 0): Uint8Array {
  return tx(node, nonce, { type: 'provider-register', operatorKey: operator.publicKey, endorsement: endorseProvider(operator.secretKey, 'keynet-test', node.publicKey), region, capacityBytes: 1 << 30, addrs: ['/ip4/127.0.0.1/tcp/1'] })
}

function run (chain: ChainState, txs: Uint8Array[], time: number, proposer: Uint8Array) {
  return buildBlock(chain, txs, time, proposer)
}

describe('providers and pins on the ledger', () => {
  it('a node registers with its operator endorsement; a forged endorsement is refused', () => {
    const { genesis, nodes, operator, validator } = setup()
    const stranger = generateKeyPair()
    const forged = tx(nodes[1]!, 0, { type: 'provider-register', operatorKey: operator.publicKey, endorsement: endorseProvider(stranger.secretKey, 'keynet-test', nodes[1]!.publicKey), region: 'eu-west', capacityBytes: 1, addrs: [] })
    const built = run(genesisChain(genesis), [register(nodes[0]!, operator, 'eu-west'), forged], t0, validator.publicKey)
    assert.equal(built.results[0]?.error, undefined)
    assert.equal(built.results[1]?.error?.name, 'InvalidSignatureError')
    const view = new StateView(built.chain.state)
    const entry = getProvider(view, addressOf(nodes[0]!.publicKey))
    assert.ok(entry)
    assert.deepEqual(entry.operator, addressOf(operator.publicKey))
    assert.equal(entry.region, 'eu-west')
    assert.deepEqual(providerIndex(view).map(toHex), [toHex(addressOf(nodes[0]!.publicKey))])
  })

  it('pins content with a name in one transaction, and only the pin owner may change it', () => {
    const { genesis, nodes, operator, validator, alice, bob } = setup()
    let chain = genesisChain(genesis)
    chain = run(chain, [...nodes.map(n => register(n, operator, 'eu-west')), tx(alice, 0, { type: 'name-register', name: 'site.key', terms: 1 })], t0, validator.publicKey).chain
    const holders = nodes.slice(0, 3).map(n => addressOf(n.publicKey))
    const pin: TxBody = { type: 'content-pin', cid, replicas: 3, regions: 1, holders, name: 'site.key' }
    const built = run(chain, [tx(alice, 1, pin), tx(bob, 0, { type: 'content-pin', cid, replicas: 3, regions: 1, holders })], t0 + 1000, validator.publicKey)
    assert.equal(built.results[0]?.error, undefined)
    assert.equal(built.results[1]?.error?.name, 'NotOwnerError')
    const view = new StateView(built.chain.state)
    assert.deepEqual(view.name('site.key')?.records.content, { cid, replicas: 3, regions: 1 })
    assert.deepEqual(getPin(view, cid)?.holders.map(toHex), holders.map(toHex))
    const unregistered = run(built.chain, [tx(alice, 2, { ...pin, holders: [addressOf(generateKeyPair().publicKey), ...holders.slice(1)] })], t0 + 2000, validator.publicKey)
    assert.equal(unregistered.results[0]?.error?.name, 'NotFoundError')
  })

  it('repairs a silent holder exactly once, and never a live one', () => {
    const { genesis, nodes, operator, validator, alice } = setup()
    let chain = genesisChain(genesis)
    chain = run(chain, nodes.map(n => register(n, operator, 'eu-west')), t0, validator.publicKey).chain
    const [a, b, c, d] = nodes.map(n => addressOf(n.publicKey)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    chain = run(chain, [tx(alice, 0, { type: 'content-pin', cid, replicas: 3, regions: 1, holders: [a, b, c] })], t0 + 1000, validator.publicKey).chain
    const early = run(chain, [tx(nodes[0]!, 1, { type: 'pin-repair', cid, gone: c, replacement: d })], t0 + 2000, validator.publicKey)
    assert.match(early.results[0]?.error?.message ?? '', /may be replaced after/)
    // a, b and d keep sending heartbeats; c falls silent past the timeout.
    const later = t0 + testParams.providerTimeoutMs + 5000
    chain = run(chain, [0, 1, 3].map(i => tx(nodes[i]!, 1, { type: 'provider-heartbeat' })), later - 1000, validator.publicKey).chain
    const repaired = run(chain, [
      tx(nodes[0]!, 2, { type: 'pin-repair', cid, gone: c, replacement: d }),
      tx(nodes[1]!, 2, { type: 'pin-repair', cid, gone: c, replacement: d })
    ], later, validator.publicKey)
    assert.equal(repaired.results[0]?.error, undefined)
    assert.match(repaired.results[1]?.error?.message ?? '', /no longer holds/)
    const pin = getPin(new StateView(repaired.chain.state), cid)
    assert.deepEqual(pin?.holders.map(toHex), [a, b, d].map(toHex))
    assert.equal(pin?.repairs, 1)
    const outsider = run(repaired.chain, [tx(nodes[2]!, 1, { type: 'pin-repair', cid, gone: a, replacement: c })], later + 1000, validator.publicKey)
    assert.match(outsider.results[0]?.error?.message ?? '', /only a holder/)
  })

  it('malformed provider and pin transactions are refused with clear errors', () => {
    const { genesis, nodes, validator, alice } = setup()
    const built = run(genesisChain(genesis), [
      tx(alice, 0, { type: 'content-pin', cid: 'not a cid', replicas: 1, regions: 1, holders: [addressOf(nodes[0]!.publicKey)] }),
      tx(alice, 0, { type: 'content-pin', cid, replicas: 1, regions: 1, holders: [] }),
      tx(nodes[0]!, 0, { type: 'provider-heartbeat' })
    ], t0, validator.publicKey)
    assert.deepEqual(built.rejected.map(r => r.error.name), ['MalformedMessageError', 'MalformedMessageError'])
    assert.equal(built.results[0]?.error?.name, 'NotFoundError')
  })
})

describe('choosing holders', () => {
  const providers: Candidate[] = [
    { id: 'p1', operator: 'op-a', region: 'eu-west' },
    { id: 'p2', operator: 'op-a', region: 'eu-west' },
    { id: 'p3', operator: 'op-b', region: 'us-east' },
    { id: 'p4', operator: 'op-a', region: 'us-east' },
    { id: 'p5', operator: 'op-c', region: 'ap-south' },
    { id: 'p6', operator: 'op-d', region: 'eu-west' }
  ]

  it('spreads replicas over distinct regions, then distinct operators', () => {
    const p = chooseHolders('root-1', 3, providers)
    assert.equal(p.holders.length, 3)
    assert.equal(p.regions, 3)
    assert.equal(p.operators, 3)
    const four = chooseHolders('root-1', 4, providers)
    assert.equal(four.operators, 4)
  })

  it('is deterministic, keeps current holders, and returns fewer when it must', () => {
    assert.deepEqual(chooseHolders('x', 3, providers), chooseHolders('x', 3, [...providers].reverse()))
    const kept = chooseHolders('x', 3, providers, [providers[0]!, providers[2]!])
    assert.deepEqual(kept.holders.slice(0, 2), [providers[0], providers[2]])
    assert.equal(kept.holders[2]?.region, 'ap-south')
    assert.equal(chooseHolders('x', 9, providers).holders.length, 6)
  })
})
