import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { addressOf } from '../../src/foundations/crypto.ts'
import { utf8 } from '../../src/foundations/bytes.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { buildBlock, executeBlock, genesisChain, type ChainState } from '../../src/core/ledger/chain.ts'
import { blockHash, bodyHash, completeBlock, decodeBlock, decodeProposedBlock, encodeBlock, encodeCompactBlock } from '../../src/core/ledger/block.ts'
import { stateKey } from '../../src/core/ledger/state-keys.ts'
import { StateView } from '../../src/core/ledger/state.ts'
import { decodeSignedTx, txId, txIdHex } from '../../src/core/ledger/tx.ts'
import { testGenesis, testParams, tx } from './ledger-helpers.ts'

function commit (chain: ChainState, txs: Uint8Array[], now: number, proposer: Uint8Array) {
  const built = buildBlock(chain, txs, now, proposer)
  // Every block a proposer builds must pass a validator's full check, and survive the wire.
  const checked = executeBlock(chain, decodeBlock(encodeBlock(built.block)))
  assert.deepEqual(checked.chain.state.root, built.chain.state.root)
  return built
}

describe('ledger state machine', () => {
  const t0 = 1_700_000_001_000

  it('registers a name, charges price and fee, and pays the fee to the proposer', () => {
    const { genesis, alice, validator } = testGenesis()
    const built = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'MySite.key', terms: 1 })], t0, validator.publicKey)
    assert.equal(built.block.txs.length, 1)
    assert.deepEqual(built.results, [{ index: 0 }])
    const view = new StateView(built.chain.state)
    const entry = view.name('mysite.key')
    assert.ok(entry)
    assert.deepEqual(entry.owner, addressOf(alice.publicKey))
    assert.equal(entry.version, 1)
    assert.equal(entry.expiresAt, t0 + testParams.termMs)
    assert.equal(view.account(addressOf(alice.publicKey)).balance, 10_000_000 - 1_000 - 10)
    assert.equal(view.account(addressOf(alice.publicKey)).nonce, 1)
    assert.equal(view.account(addressOf(validator.publicKey)).balance, 10)
  })

  it('short labels cost more', () => {
    const { genesis, alice, validator } = testGenesis()
    const built = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'ab.key', terms: 2 })], t0, validator.publicKey)
    assert.equal(new StateView(built.chain.state).account(addressOf(alice.publicKey)).balance, 10_000_000 - 2 * 50_000 - 10)
  })

  it('a taken name fails with NameTakenError, still uses the nonce and fee, and changes nothing else', () => {
    const { genesis, alice, bob, validator } = testGenesis()
    const first = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'taken.key', terms: 1 })], t0, validator.publicKey)
    const second = commit(first.chain, [tx(bob, 0, { type: 'name-register', name: 'taken.key', terms: 1 })], t0 + 1000, validator.publicKey)
    assert.equal(second.results[0]?.error?.name, 'NameTakenError')
    const view = new StateView(second.chain.state)
    assert.deepEqual(view.name('taken.key')?.owner, addressOf(alice.publicKey))
    assert.deepEqual(view.account(addressOf(bob.publicKey)), { balance: 99_990, nonce: 1 })
  })

  it('leaves out transactions that fail admission: replayed nonce, wrong chain, low fee, unfunded sender', () => {
    const { genesis, alice, bob, validator } = testGenesis()
    const chain = genesisChain(genesis)
    const ok = tx(alice, 0, { type: 'transfer', to: addressOf(bob.publicKey), amount: 5 })
    const built = commit(chain, [
      ok,
      ok,
      tx(alice, 1, { type: 'transfer', to: addressOf(bob.publicKey), amount: 5 }, 10, 'other-chain'),
      tx(alice, 1, { type: 'transfer', to: addressOf(bob.publicKey), amount: 5 }, 1),
      tx(bob, 0, { type: 'transfer', to: addressOf(alice.publicKey), amount: 1 }, 500_000)
    ], t0, validator.publicKey)
    assert.equal(built.block.txs.length, 1)
    assert.deepEqual(built.rejected.map(r => r.error.name), ['BadNonceError', 'WrongChainError', 'FeeTooLowError', 'InsufficientFundsError'])
  })

  it('updates records with versions, enforces ownership and the 4 KiB bound', () => {
    const { genesis, alice, bob, validator } = testGenesis()
    let chain = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'site.key', terms: 1 })], t0, validator.publicKey).chain
    const built = commit(chain, [
      tx(alice, 1, { type: 'name-update', name: 'site.key', records: { text: { hello: 'world' }, content: { cid: 'bafyabc', replicas: 3, regions: 3 } } }),
      tx(bob, 0, { type: 'name-update', name: 'site.key', records: { text: { evil: 'yes' } } }),
      tx(alice, 2, { type: 'name-update', name: 'site.key', records: { text: { big: 'x'.repeat(4096) } } }),
      tx(alice, 3, { type: 'name-update', name: 'site.key', records: { text: { v: '3' } }, ifVersion: 1 })
    ], t0 + 1000, validator.publicKey)
    assert.deepEqual(built.results.map(r => r.error?.name), [undefined, 'NotOwnerError', 'RecordTooLargeError', 'InvalidTransactionError'])
    chain = built.chain
    const entry = new StateView(chain.state).name('site.key')
    assert.equal(entry?.version, 2)
    assert.deepEqual(entry?.records.text, { hello: 'world' })
  })

  it('sub-names are controlled by the parent owner and follow its expiry', () => {
    const { genesis, alice, bob, validator } = testGenesis()
    const chain = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'parent.key', terms: 1 })], t0, validator.publicKey).chain
    const built = commit(chain, [
      tx(bob, 0, { type: 'name-register', name: 'blog.parent.key', terms: 1 }),
      tx(alice, 1, { type: 'name-register', name: 'blog.parent.key', terms: 1, owner: addressOf(bob.publicKey) }),
      tx(alice, 2, { type: 'name-update', name: 'blog.parent.key', records: { text: { by: 'parent' } } })
    ], t0 + 1000, validator.publicKey)
    assert.deepEqual(built.results.map(r => r.error?.name), ['NotOwnerError', undefined, undefined])
    const view = new StateView(built.chain.state)
    assert.deepEqual(view.name('blog.parent.key')?.owner, addressOf(bob.publicKey))
    assert.equal(view.name('blog.parent.key')?.expiresAt, view.name('parent.key')?.expiresAt)
  })

  it('expiry, grace-period renewal by the owner only, then anyone may register', () => {
    const params = { ...testParams, termMs: 10_000, graceMs: 5_000 }
    const { genesis, alice, bob, validator } = testGenesis(params)
    let chain = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'short-lived.key', terms: 1 })], t0, validator.publicKey).chain
    // In the grace period: updates fail, bob cannot take it, alice can renew.
    let built = commit(chain, [
      tx(alice, 1, { type: 'name-update', name: 'short-lived.key', records: {} }),
      tx(bob, 0, { type: 'name-register', name: 'short-lived.key', terms: 1 }),
      tx(alice, 2, { type: 'name-renew', name: 'short-lived.key', terms: 1 })
    ], t0 + 12_000, validator.publicKey)
    assert.deepEqual(built.results.map(r => r.error?.name), ['NameExpiredError', 'NameTakenError', undefined])
    chain = built.chain
    assert.equal(new StateView(chain.state).name('short-lived.key')?.expiresAt, t0 + 20_000)
    // Past expiry and grace, the name is free for anyone.
    built = commit(chain, [tx(bob, 1, { type: 'name-register', name: 'short-lived.key', terms: 1 })], t0 + 26_000, validator.publicKey)
    assert.deepEqual(built.results, [{ index: 0 }])
    assert.deepEqual(new StateView(built.chain.state).name('short-lived.key')?.owner, addressOf(bob.publicKey))
  })

  it('transfers a name to a new owner key (key rotation)', () => {
    const { genesis, alice, bob, validator } = testGenesis()
    const chain = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'moving.key', terms: 1 })], t0, validator.publicKey).chain
    const built = commit(chain, [
      tx(alice, 1, { type: 'name-transfer', name: 'moving.key', to: addressOf(bob.publicKey) }),
      tx(alice, 2, { type: 'name-update', name: 'moving.key', records: {} })
    ], t0 + 1, validator.publicKey)
    assert.deepEqual(built.results.map(r => r.error?.name), [undefined, 'NotOwnerError'])
  })

  it('a validator rejects a block whose state root, body, parent or time is wrong', () => {
    const { genesis, alice, validator } = testGenesis()
    const chain = genesisChain(genesis)
    const good = buildBlock(chain, [tx(alice, 0, { type: 'name-register', name: 'x1.key', terms: 1 })], t0, validator.publicKey).block
    const variants = [
      { ...good, header: { ...good.header, stateRoot: new Uint8Array(32) } },
      { ...good, header: { ...good.header, parentHash: new Uint8Array(32) } },
      { ...good, header: { ...good.header, time: chain.time } },
      { ...good, header: { ...good.header, height: 2 } },
      { ...good, txs: [] },
      { ...good, header: { ...good.header, proposer: alice.publicKey } }
    ]
    for (const bad of variants) assert.throws(() => executeBlock(chain, bad), { name: 'InvalidTransactionError' })
  })

  it('rejects malformed and forged transactions with named errors', () => {
    const { alice } = testGenesis()
    assert.throws(() => decodeSignedTx(utf8.encode('garbage')), { name: 'MalformedMessageError' })
    assert.throws(() => decodeSignedTx(encode({ tx: { chainId: 'x' }, sig: new Uint8Array(64) })), { name: 'MalformedMessageError' })
    assert.throws(() => decodeSignedTx(new Uint8Array(7000)), { name: 'PayloadTooLargeError' })
    const good = decodeSignedTx(tx(alice, 0, { type: 'transfer', to: new Uint8Array(20), amount: 1 }))
    const forged = encode({ tx: { ...good.tx, nonce: 1 }, sig: good.sig })
    const { genesis, validator } = testGenesis()
    const built = buildBlock(genesisChain({ ...genesis, accounts: [{ address: addressOf(alice.publicKey), balance: 100 }] }), [forged], t0, validator.publicKey)
    assert.equal(built.rejected[0]?.error.name, 'InvalidSignatureError')
  })
})

describe('equivocation evidence on the ledger', () => {
  it('records proven double votes once and refuses a block that repeats or forges them', async () => {
    const { encodeEvidence, evidenceId, voteSignBytes } = await import('../../src/core/consensus/index.ts')
    const { signBytes, verifyBytes } = await import('../../src/foundations/crypto.ts')
    const { genesis, validator } = testGenesis()
    const chain = genesisChain(genesis)
    const vote = (hash: Uint8Array) => {
      const unsigned = { type: 'prevote' as const, height: 1, round: 0, hash, validator: validator.publicKey, signature: new Uint8Array(64) }
      return { ...unsigned, signature: signBytes(validator.secretKey, voteSignBytes(genesis.chainId, unsigned)) }
    }
    const evidence = encodeEvidence({ first: vote(new Uint8Array(32).fill(1)), second: vote(new Uint8Array(32).fill(2)) })
    const forged = encodeEvidence({ first: vote(new Uint8Array(32).fill(1)), second: { ...vote(new Uint8Array(32).fill(3)), signature: new Uint8Array(64) } })
    const validators = genesis.validators.map(v => ({ publicKey: v.publicKey, power: v.power }))
    const hooks = { checkEvidence: (e: Uint8Array) => evidenceId(genesis.chainId, validators, e, verifyBytes) }
    const built = buildBlock(chain, [], 1_700_000_001_000, validator.publicKey, hooks, [evidence, forged, evidence])
    assert.equal(built.block.evidence.length, 1)
    const checked = executeBlock(chain, built.block, hooks)
    const id = evidenceId(genesis.chainId, validators, evidence, verifyBytes)
    assert.ok(id)
    assert.notEqual(new StateView(checked.chain.state).getRaw(stateKey.evidence(id)), undefined)
    // The same offence again in a later block is refused.
    const again = buildBlock(checked.chain, [], 1_700_000_002_000, validator.publicKey, hooks, [evidence])
    assert.equal(again.block.evidence.length, 0)
    const smuggled = { ...again.block, evidence: [evidence] }
    assert.throws(() => executeBlock(checked.chain, { ...smuggled, header: { ...smuggled.header, bodyHash: bodyHash([], [evidence]) } }, hooks), { name: 'InvalidTransactionError' })
  })
})

describe('sub-names and a re-registered root', () => {
  it('a sub-name dies with the root registration it was made under', () => {
    const params = { ...testParams, termMs: 10_000, graceMs: 5_000 }
    const { genesis, alice, bob, validator } = testGenesis(params)
    const t0 = 1_700_000_001_000
    let chain = commit(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'root.key', terms: 1 })], t0, validator.publicKey).chain
    chain = commit(chain, [tx(alice, 1, { type: 'name-register', name: 'blog.root.key', terms: 1 })], t0 + 1, validator.publicKey).chain
    // The root expires (past its grace period) and bob registers it anew.
    chain = commit(chain, [tx(bob, 0, { type: 'name-register', name: 'root.key', terms: 1 })], t0 + 16_000, validator.publicKey).chain
    const built = commit(chain, [
      tx(alice, 2, { type: 'name-update', name: 'blog.root.key', records: { text: { still: 'mine' } } }),
      tx(bob, 1, { type: 'name-register', name: 'blog.root.key', terms: 1 })
    ], t0 + 17_000, validator.publicKey)
    assert.deepEqual(built.results.map(r => r.error?.name), ['NameExpiredError', undefined])
    assert.deepEqual(new StateView(built.chain.state).name('blog.root.key')?.owner, addressOf(bob.publicKey))
  })

  it('a block whose body does not match its header is malformed', () => {
    const { genesis, alice, validator } = testGenesis()
    const built = buildBlock(genesisChain(genesis), [tx(alice, 0, { type: 'name-register', name: 'real.key', terms: 1 })], 1_700_000_001_000, validator.publicKey)
    const forged = encodeBlock({ ...built.block, txs: [tx(alice, 0, { type: 'name-register', name: 'fake.key', terms: 1 })] })
    assert.throws(() => decodeBlock(forged), { name: 'MalformedMessageError' })
  })
})

describe('compact blocks (proposals naming transactions by id)', () => {
  const t0 = 1_700_000_001_000
  function built () {
    const { genesis, alice, bob, validator } = testGenesis()
    const txs = [
      tx(alice, 0, { type: 'name-register', name: 'one.key', terms: 1 }),
      tx(bob, 0, { type: 'name-register', name: 'two.key', terms: 1 }),
      tx(alice, 1, { type: 'name-register', name: 'three.key', terms: 1 })
    ]
    return { txs, block: buildBlock(genesisChain(genesis), txs, t0, validator.publicKey).block }
  }

  it('rebuilds the full block from held transactions, with the same header and hash', () => {
    const { txs, block } = built()
    const compact = encodeCompactBlock(block, block.txs.map(txId))
    assert.ok(compact.byteLength < encodeBlock(block).byteLength)
    const proposed = decodeProposedBlock(compact)
    assert.equal(proposed.txs, undefined)
    assert.deepEqual(blockHash(proposed.header), blockHash(block.header))
    const held = new Map(txs.map(t => [txIdHex(t), t]))
    const done = completeBlock(proposed, id => held.get(id))
    assert.ok('block' in done)
    assert.deepEqual(encodeBlock(done.block), encodeBlock(block))
    // A full block passes through unchanged.
    const full = completeBlock(decodeProposedBlock(encodeBlock(block)), () => undefined)
    assert.ok('block' in full)
    assert.deepEqual(encodeBlock(full.block), encodeBlock(block))
  })

  it('reports the transactions it cannot find, in order', () => {
    const { txs, block } = built()
    const proposed = decodeProposedBlock(encodeCompactBlock(block, block.txs.map(txId)))
    const done = completeBlock(proposed, id => id === txIdHex(txs[1]!) ? txs[1] : undefined)
    assert.ok('missing' in done)
    assert.deepEqual(done.missing, [txId(txs[0]!), txId(txs[2]!)])
  })

  it('refuses bytes that do not hash to their id, and ids the header does not commit to', () => {
    const { txs, block } = built()
    const ids = block.txs.map(txId)
    const proposed = decodeProposedBlock(encodeCompactBlock(block, ids))
    // Wrong bytes answered for an id.
    assert.throws(() => completeBlock(proposed, id => id === txIdHex(txs[0]!) ? txs[1] : txs.find(t => txIdHex(t) === id)), { name: 'MalformedMessageError' })
    // Ids of other transactions (reordered): each resolves, but the body no longer matches the header.
    const swapped = decodeProposedBlock(encodeCompactBlock(block, [ids[1]!, ids[0]!, ids[2]!]))
    const held = new Map(txs.map(t => [txIdHex(t), t]))
    assert.throws(() => completeBlock(swapped, id => held.get(id)), { name: 'MalformedMessageError' })
    // A count that disagrees with the header, and a full block decoder given a compact one.
    assert.throws(() => decodeProposedBlock(encodeCompactBlock(block, ids.slice(1))), { name: 'MalformedMessageError' })
    assert.throws(() => decodeBlock(encodeCompactBlock(block, ids)), { name: 'MalformedMessageError' })
  })
})
