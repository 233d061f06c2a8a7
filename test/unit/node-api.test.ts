import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { devnetParams, genesisToJson } from '../../src/core/ledger/genesis.ts'
import { decodeSignedTx, encodeSignedTx, signTx, txId } from '../../src/core/ledger/tx.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { startNode, type RunningNode } from '../../src/node/node.ts'
import { loadOrCreateNodeKey } from '../../src/node/node-key.ts'
import { createP2PHost } from '../../src/services/p2p/index.ts'

/** One real node (a one-validator chain) in this process: its HTTP API, store and p2p host. */
describe('node API and p2p input handling', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keynet-node-api-'))
  const alice = generateKeyPair()
  const poor = generateKeyPair()
  const chainId = 'keynet-api-test'
  let node: RunningNode
  let api: ApiClient
  let nonce = 0

  const tx = (body: TxBody, opts: { key?: typeof alice, nonce?: number, fee?: number, chain?: string } = {}): Uint8Array => {
    const key = opts.key ?? alice
    return encodeSignedTx(signTx({ chainId: opts.chain ?? chainId, from: key.publicKey, nonce: opts.nonce ?? nonce, fee: opts.fee ?? 10, body }, key.secretKey))
  }
  const post = async (path: string, body: string): Promise<{ status: number, json: { error?: { name: string, message: string } } }> => {
    const res = await fetch(`${api.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    return { status: res.status, json: await res.json() as { error?: { name: string, message: string } } }
  }
  const commit = async (encoded: Uint8Array): Promise<void> => {
    await api.submitTx(encoded)
    for (;;) {
      const s = await api.tx(toHex(txId(encoded)), 5000)
      if (s.status === 'committed') { assert.equal(s.error, undefined); nonce++; return }
    }
  }

  before(async () => {
    const dataDir = join(dir, 'node')
    const key = loadOrCreateNodeKey(dataDir)
    const genesisFile = join(dir, 'genesis.json')
    writeFileSync(genesisFile, genesisToJson({
      chainId,
      time: Date.now(),
      params: devnetParams,
      validators: [{ name: 'solo', publicKey: key.publicKey, power: 1 }],
      accounts: [{ address: addressOf(alice.publicKey), balance: 10_000_000 }, { address: addressOf(poor.publicKey), balance: 15 }]
    }))
    node = await startNode({ dataDir, roles: ['validator'], listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], api: '127.0.0.1:0', genesisFile, log: () => {} })
    api = new ApiClient(node.info.api)
  })

  after(async () => {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers malformed requests with a named 4xx error', async () => {
    assert.deepEqual(await post('/v1/txs', '{not json'), { status: 400, json: { error: { name: 'MalformedMessageError', message: 'request body is not valid JSON' } } })
    assert.equal((await post('/v1/txs', JSON.stringify({ tx: 'zz' }))).json.error?.name, 'MalformedMessageError')
    assert.equal((await post('/v1/txs', JSON.stringify({ tx: toHex(encode({ hello: 1 })) }))).json.error?.name, 'MalformedMessageError')
    const huge = await post('/v1/txs', JSON.stringify({ tx: 'a'.repeat(3 * 1024 * 1024) }))
    assert.equal(huge.status, 413)
    const unknown = await fetch(`${api.base}/v1/nothing-here`)
    assert.equal(unknown.status, 404)
    assert.equal(((await unknown.json()) as { error: { name: string } }).error.name, 'NotFoundError')
    await assert.rejects(api.name('bad_name.key'), { name: 'InvalidNameError', status: 400 })
    await assert.rejects(api.name('unregistered.key'), { name: 'NameNotFoundError', status: 404 })
    await assert.rejects(api.account('12'), { name: 'MalformedMessageError' })
    await assert.rejects(api.tx('not-hex'), { name: 'MalformedMessageError' })
  })

  it('refuses bad transactions with their reason and leaves the state unchanged', async () => {
    const before = await api.status()
    const good = decodeSignedTx(tx({ type: 'name-register', name: 'api-test.key', terms: 1 }))
    await assert.rejects(api.submitTx(encode({ tx: { ...good.tx, fee: 11 }, sig: good.sig })), { name: 'InvalidSignatureError', status: 401 })
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'x.key', terms: 1 }, { chain: 'other' })), { name: 'WrongChainError' })
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'x.key', terms: 1 }, { fee: 1 })), { name: 'FeeTooLowError' })
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'ok-name.key', terms: 1 }, { key: poor, nonce: 0 })), { name: 'InsufficientFundsError', status: 402 })
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'UPPER_bad.key', terms: 1 })), { name: 'InvalidNameError' })
    await assert.rejects(api.submitTx(tx({ type: 'name-update', name: 'nobody.key', records: {} })), { name: 'NameNotFoundError' })
    const text = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'x'.repeat(200)]))
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'big-records.key', terms: 1, records: { text } })), { name: 'RecordTooLargeError', status: 413 })
    const tooBig = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'x'.repeat(200)]))
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'big-records.key', terms: 1, records: { text: tooBig } })), { name: 'PayloadTooLargeError', status: 413 })
    const after = await api.status()
    assert.equal(after.stateRoot === before.stateRoot || after.height > before.height, true)
    assert.deepEqual(await api.account(toHex(addressOf(alice.publicKey))).then(a => a.nonce), 0)
  })

  it('commits a registration, then refuses its replay and a second registration of the name', async () => {
    const first = tx({ type: 'name-register', name: 'api-test.key', terms: 1 })
    await commit(first)
    await assert.rejects(api.submitTx(first), { name: 'BadNonceError', status: 409 })
    await assert.rejects(api.submitTx(tx({ type: 'name-register', name: 'api-test.key', terms: 1 })), { name: 'NameTakenError', status: 409 })
    const view = await api.name('api-test.key')
    assert.equal(view.owner, toHex(addressOf(alice.publicKey)))
  })

  it('admits a batch through the paced queue and answers each transaction in order', async () => {
    const good = Array.from({ length: 40 }, (_, i) => tx({ type: 'name-register', name: `batch-${i}.key`, terms: 1 }, { nonce: nonce + i }))
    const signed = decodeSignedTx(good[1]!)
    const forged = encode({ tx: { ...signed.tx, fee: 11 }, sig: signed.sig })
    const res = await fetch(`${api.base}/v1/txs/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs: [toHex(good[0]!), 'zz', toHex(forged), ...good.slice(1).map(toHex)] }) })
    assert.equal(res.status, 202)
    const { results } = await res.json() as { results: Array<{ id?: string, error?: { name: string } }> }
    assert.equal(results.length, 42)
    assert.equal(results[0]?.id, toHex(txId(good[0]!)))
    assert.equal(results[1]?.error?.name, 'MalformedMessageError')
    assert.equal(results[2]?.error?.name, 'InvalidSignatureError')
    assert.deepEqual(results.slice(3).map(r => r.id), good.slice(1).map(t => toHex(txId(t))))
    for (const t of good) {
      for (;;) {
        const s = await api.tx(toHex(txId(t)), 5000)
        if (s.status === 'committed') { assert.equal(s.error, undefined); break }
      }
    }
    nonce += good.length
  })

  it('penalises a peer that gossips malformed consensus messages, and keeps committing', async () => {
    const rogue = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: node.p2p.multiaddrs(), peerExchange: false })
    await rogue.start()
    try {
      const topic = `/keynet/${chainId}/consensus/1`
      rogue.subscribe(topic, () => {})
      await rogue.waitForTopicPeers(topic, 1, AbortSignal.timeout(10_000))
      for (let i = 0; i < 5; i++) await rogue.publish(topic, encode([i + 1, [new Uint8Array([0xff, i])]]))
      const deadline = Date.now() + 10_000
      while (!node.p2p.isBanned(rogue.peerId) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      assert.equal(node.p2p.isBanned(rogue.peerId), true)
      await commit(tx({ type: 'name-register', name: 'still-alive.key', terms: 1 }))
    } finally {
      await rogue.stop()
    }
  })
})
