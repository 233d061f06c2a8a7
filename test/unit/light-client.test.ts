// The light-client check against answers from a real node (a one-validator chain in this
// process): a genuine answer verifies, and every way of bending one is refused — another name's
// proof, an edited entry, another validator set, another chain, and a header too old to trust.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fromHex, toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { decode, encode } from '../../src/foundations/encoding.ts'
import { ProofInvalidError } from '../../src/foundations/errors.ts'
import { genesisFromJson } from '../../src/core/ledger/genesis.ts'
import { encodeSignedTx, signTx, txId } from '../../src/core/ledger/tx.ts'
import type { Genesis, NameEntry } from '../../src/core/ledger/types.ts'
import { verifyNameProof } from '../../src/core/light-client/verify-name.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import type { RunningNode } from '../../src/node/node.ts'
import { startSoloNode } from './solo-node.ts'

describe('light client: verifyNameProof', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keynet-light-client-'))
  const alice = generateKeyPair()
  const chainId = 'keynet-light-client-test'
  let node: RunningNode
  let api: ApiClient
  let genesis: Genesis

  before(async () => {
    ({ node, api } = await startSoloNode(dir, chainId, [{ address: addressOf(alice.publicKey), balance: 10_000_000 }]))
    genesis = genesisFromJson(JSON.stringify(await api.genesis()))
    const register = encodeSignedTx(signTx({ chainId, from: alice.publicKey, nonce: 0, fee: 10, body: { type: 'name-register', name: 'proven.key', terms: 1, records: { text: { hello: 'world' } } } }, alice.secretKey))
    await api.submitTx(register)
    for (;;) {
      const s = await api.tx(toHex(txId(register)), 5000)
      if (s.status === 'committed') { assert.equal(s.error, undefined); break }
    }
  })

  after(async () => {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('accepts a genuine answer, present or absent', async () => {
    const v = verifyNameProof(genesis, await api.nameProof('proven.key'), 'proven.key', { now: Date.now(), maxAgeMs: 120_000 })
    assert.equal(v.status, 'active')
    assert.deepEqual(v.entry?.owner, addressOf(alice.publicKey))
    assert.equal(v.entry?.records.text?.hello, 'world')
    assert.equal(v.signedPower, 1)
    const absent = verifyNameProof(genesis, await api.nameProof('nobody.key'), 'nobody.key')
    assert.equal(absent.status, 'unregistered')
    assert.equal(absent.entry, undefined)
  })

  it('refuses another name\'s proof and an edited entry', async () => {
    const proof = await api.nameProof('proven.key')
    assert.throws(() => verifyNameProof(genesis, proof, 'other.key'), /the answer is for proven.key, not other.key/)
    const entry = decode<NameEntry>(fromHex(proof.entry!))
    const edited = toHex(encode({ ...entry, owner: addressOf(generateKeyPair().publicKey) }))
    assert.throws(() => verifyNameProof(genesis, { ...proof, entry: edited }), (err: Error) => err instanceof ProofInvalidError && /does not match block \d+'s state root/.test(err.message))
    // Claiming the name is absent with the presence proof fails too.
    assert.throws(() => verifyNameProof(genesis, { ...proof, entry: null }), ProofInvalidError)
  })

  it('refuses a header not signed by the trusted validators, or from another chain', async () => {
    const proof = await api.nameProof('proven.key')
    const strangers = { ...genesis, validators: [{ name: 'x', publicKey: generateKeyPair().publicKey, power: 1 }] }
    assert.throws(() => verifyNameProof(strangers, proof), /not signed by more than 2\/3 of the trusted validators/)
    assert.throws(() => verifyNameProof({ ...genesis, chainId: 'keynet-elsewhere' }, proof), /header is from chain keynet-light-client-test, not keynet-elsewhere/)
  })

  it('refuses an answer resting on a header older than the freshness limit', async () => {
    const proof = await api.nameProof('proven.key')
    const fresh = verifyNameProof(genesis, proof, 'proven.key', { now: Date.now(), maxAgeMs: 120_000 })
    // The same answer replayed ten minutes later: still a valid proof, no longer a current one.
    const later = fresh.header.time + 600_000
    assert.throws(() => verifyNameProof(genesis, proof, 'proven.key', { now: later, maxAgeMs: 120_000 }), (err: Error) => err instanceof ProofInvalidError && /from block \d+, 600 s old \(the limit is 120 s\)/.test(err.message))
    assert.equal(verifyNameProof(genesis, proof, 'proven.key', { now: later, maxAgeMs: 900_000 }).status, 'active')
  })
})
