import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { Mempool } from '../../src/services/ledger/mempool.ts'
import { decodeSignedTx } from '../../src/core/ledger/tx.ts'
import { tx } from './ledger-helpers.ts'

const clock = { now: 0 }
let broke = ''

function pool (nonces: Map<string, number> = new Map()) {
  return new Mempool({ chainId: 'keynet-test', minTxFee: 10, account: a => ({ nonce: nonces.get(toHex(a)) ?? 0, balance: toHex(a) === broke ? 15 : 1_000_000 }), now: () => clock.now })
}

describe('mempool', () => {
  const alice = generateKeyPair()
  const bob = generateKeyPair()
  const body = (n: number) => ({ type: 'transfer' as const, to: addressOf(bob.publicKey), amount: n + 1 })

  it('orders each sender by nonce, takes turns between senders, and holds gapped nonces back', () => {
    const m = pool()
    for (const n of [2, 0, 1, 5]) m.add(tx(alice, n, body(n)))
    m.add(tx(bob, 0, body(0)))
    const order = [...m.candidates(100)].map(t => { const s = decodeSignedTx(t).tx; return `${toHex(s.from) === toHex(alice.publicKey) ? 'a' : 'b'}${s.nonce}` })
    assert.deepEqual(order, ['a0', 'b0', 'a1', 'a2'])
    assert.equal(m.nextNonce(addressOf(alice.publicKey), 0), 3)
  })

  it('refuses replays, duplicates of a nonce, wrong chain, low fee, bad signatures and garbage with named errors', () => {
    const nonces = new Map([[toHex(addressOf(alice.publicKey)), 3]])
    const m = pool(nonces)
    assert.throws(() => m.add(tx(alice, 2, body(2))), { name: 'BadNonceError' })
    m.add(tx(alice, 3, body(3)))
    assert.throws(() => m.add(tx(alice, 3, body(4))), { name: 'BadNonceError' })
    assert.throws(() => m.add(tx(alice, 4, body(4), 10, 'other')), { name: 'WrongChainError' })
    assert.throws(() => m.add(tx(alice, 4, body(4), 1)), { name: 'FeeTooLowError' })
    assert.throws(() => m.add(tx(alice, 20_000, body(4))), { name: 'BadNonceError' })
    const signed = decodeSignedTx(tx(alice, 4, body(4)))
    assert.throws(() => m.add(encode({ tx: { ...signed.tx, fee: 11 }, sig: signed.sig })), { name: 'InvalidSignatureError' })
    assert.throws(() => m.add(new Uint8Array([1, 2, 3])), { name: 'MalformedMessageError' })
    assert.equal(m.size, 1)
  })

  it('prunes what a block used up and keeps the rest', () => {
    const nonces = new Map<string, number>()
    const m = pool(nonces)
    const txs = [0, 1, 2].map(n => tx(alice, n, body(n)))
    for (const t of txs) m.add(t)
    nonces.set(toHex(addressOf(alice.publicKey)), 2)
    m.pruneCommitted(txs.slice(0, 2))
    assert.equal(m.size, 1)
    assert.equal([...m.candidates(10)].length, 1)
  })

  it('expires transactions stuck behind a nonce gap', () => {
    const m = pool()
    clock.now = 1_000
    m.add(tx(alice, 1, body(1)))
    clock.now = 1_000 + 5 * 60_000
    m.add(tx(alice, 2, body(2)))
    assert.equal(m.hasCandidates(), false)
    clock.now = 1_000 + 11 * 60_000
    assert.equal(m.expire(), 1)
    assert.equal(m.size, 1)
  })

  it('refuses transactions whose sender cannot pay all pending fees', () => {
    const poor = generateKeyPair()
    broke = toHex(addressOf(poor.publicKey))
    const m = pool()
    m.add(tx(poor, 0, body(0)))
    assert.throws(() => m.add(tx(poor, 1, body(1))), { name: 'InsufficientFundsError' })
    assert.equal(m.size, 1)
  })
})
