import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encode } from '../../src/foundations/encoding.ts'
import { maxBlockTxs, maxVerifiedTxs } from '../../src/foundations/limits.ts'
import { buildBlock, executeBlock, genesisChain } from '../../src/core/ledger/chain.ts'
import { decodeBlock, encodeBlock } from '../../src/core/ledger/block.ts'
import { decodeSignedTx } from '../../src/core/ledger/tx.ts'
import { Mempool } from '../../src/services/ledger/mempool.ts'
import { VerifiedTxs } from '../../src/services/ledger/verified-txs.ts'
import { testGenesis, tx } from './ledger-helpers.ts'

const t0 = 1_700_000_001_000

/** A validator's mempool and signature memory over a chain, wired as the ledger node wires them. */
function validatorParts (limit = maxVerifiedTxs) {
  const { genesis, alice, bob, validator } = testGenesis()
  const chain = genesisChain(genesis)
  const verifiedTxs = new VerifiedTxs(limit)
  const mempool = new Mempool({
    chainId: genesis.chainId,
    minTxFee: genesis.params.minTxFee,
    account: () => ({ nonce: 0, balance: 1_000_000 }),
    now: () => t0,
    verifiedTxs
  })
  const hooks = { signedTx: (encoded: Uint8Array) => mempool.checkedTx(encoded) }
  return { chain, alice, bob, validator, verifiedTxs, mempool, hooks }
}

const register = (name: string) => ({ type: 'name-register' as const, name, terms: 1 })

describe('verified transactions', () => {
  it('checks a signature once: the same bytes again are answered from memory', () => {
    const { alice, verifiedTxs } = validatorParts()
    const encoded = tx(alice, 0, register('once.key'))
    const first = verifiedTxs.signedTx(encoded)
    assert.equal(verifiedTxs.signatureChecks, 1)
    assert.equal(verifiedTxs.signedTx(encoded), first)
    assert.equal(verifiedTxs.signedTx(encoded.slice()), first, 'a copy of the bytes has the same id')
    assert.equal(verifiedTxs.signatureChecks, 1)
  })

  it('never remembers a bad signature: it is refused every time', () => {
    const { alice, verifiedTxs } = validatorParts()
    const good = decodeSignedTx(tx(alice, 0, register('forged.key')))
    const forged = encode({ tx: { ...good.tx, fee: good.tx.fee + 1 }, sig: good.sig })
    assert.throws(() => verifiedTxs.signedTx(forged), { name: 'InvalidSignatureError' })
    assert.throws(() => verifiedTxs.signedTx(forged), { name: 'InvalidSignatureError' })
    assert.equal(verifiedTxs.signatureChecks, 2)
    assert.equal(verifiedTxs.size, 0)
    assert.throws(() => verifiedTxs.signedTx(new Uint8Array([1, 2, 3])), { name: 'MalformedMessageError' })
  })

  it('stays within its limit, dropping the oldest entry (which is then checked again)', () => {
    const { alice, verifiedTxs } = validatorParts(3)
    const txs = [0, 1, 2, 3, 4].map(n => tx(alice, n, register(`bound${n}.key`)))
    for (const t of txs) verifiedTxs.signedTx(t)
    assert.equal(verifiedTxs.size, 3)
    assert.equal(verifiedTxs.has(txs[0]!), false)
    assert.equal(verifiedTxs.has(txs[4]!), true)
    verifiedTxs.signedTx(txs[4]!)
    assert.equal(verifiedTxs.signatureChecks, 5)
    verifiedTxs.signedTx(txs[0]!)
    assert.equal(verifiedTxs.signatureChecks, 6)
    assert.equal(verifiedTxs.size, 3)
    assert.throws(() => new VerifiedTxs(0), RangeError)
    assert.ok(maxVerifiedTxs >= 2 * maxBlockTxs)
  })

  it('a transaction admitted to the mempool is not checked again when its block is built or executed', () => {
    const { chain, alice, bob, validator, verifiedTxs, mempool, hooks } = validatorParts()
    const txs = [tx(alice, 0, register('admitted-a.key')), tx(bob, 0, register('admitted-b.key')), tx(alice, 1, register('admitted-c.key'))]
    for (const t of txs) mempool.add(t)
    assert.equal(verifiedTxs.signatureChecks, 3)
    const built = buildBlock(chain, mempool.candidates(100), t0, validator.publicKey, hooks)
    assert.equal(built.block.txs.length, 3)
    // A validator receives the block over the wire: fresh bytes objects, same transactions.
    const outcome = executeBlock(chain, decodeBlock(encodeBlock(built.block)), hooks)
    assert.deepEqual(outcome.chain.state.root, built.chain.state.root)
    assert.equal(verifiedTxs.signatureChecks, 3)
  })

  it('a transaction first met in a proposal is checked there, and not again when gossip admits it', () => {
    const proposer = validatorParts()
    const { chain, alice, validator } = proposer
    const t = tx(alice, 0, register('proposed-first.key'))
    const built = buildBlock(chain, [t], t0, validator.publicKey, proposer.hooks)
    const other = validatorParts()
    executeBlock(chain, decodeBlock(encodeBlock(built.block)), other.hooks)
    assert.equal(other.verifiedTxs.signatureChecks, 1)
    other.mempool.add(t.slice())
    assert.equal(other.mempool.size, 1)
    assert.equal(other.verifiedTxs.signatureChecks, 1)
  })

  it('a proposal holding a transaction with a bad signature is still rejected', () => {
    const { chain, alice, validator, mempool, hooks } = validatorParts()
    const good = tx(alice, 0, register('genuine.key'))
    mempool.add(good)
    // The same transaction with another fee and the original signature: different bytes, so the
    // memory of the genuine one does not vouch for it. A Byzantine proposer skips the check.
    const signed = decodeSignedTx(good)
    const forged = encode({ tx: { ...signed.tx, fee: signed.tx.fee + 1 }, sig: signed.sig })
    const byzantine = buildBlock(chain, [forged], t0, validator.publicKey, { signedTx: decodeSignedTx })
    assert.equal(byzantine.block.txs.length, 1)
    assert.throws(() => executeBlock(chain, decodeBlock(encodeBlock(byzantine.block)), hooks), { name: 'InvalidTransactionError', message: /signature/ })
    assert.throws(() => executeBlock(chain, decodeBlock(encodeBlock(byzantine.block)), hooks), { name: 'InvalidTransactionError', message: /signature/ })
  })
})
