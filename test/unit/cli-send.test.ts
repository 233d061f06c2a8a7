// `CliContext.send` when another transaction of the same key takes its nonce between reading the
// account and submitting (a node's own agent signing while its operator uses the node's key): a
// proxy in front of a real node's API slips such a transaction in before the CLI's first
// submission, and the CLI signs again with the next nonce instead of failing.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { encodeSignedTx, signTx, txId } from '../../src/core/ledger/tx.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { CliContext } from '../../src/cli/context.ts'
import type { RunningNode } from '../../src/node/node.ts'
import { startSoloNode } from './solo-node.ts'

describe('CLI send: nonce taken by another transaction of the same key', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'keynet-cli-send-'))
  const alice = generateKeyPair()
  const bob = generateKeyPair()
  const chainId = 'keynet-cli-send-test'
  let node: RunningNode
  let api: ApiClient
  let proxy: Server
  let proxyUrl: string
  const submissions: number[] = []
  let competitor: Uint8Array | undefined

  before(async () => {
    ({ node, api } = await startSoloNode(dir, chainId, [{ address: addressOf(alice.publicKey), balance: 10_000_000 }]))
    // Forwards everything; before the first transaction submission it submits alice's competing
    // transaction with the nonce the CLI just read.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        void (async () => {
          if (req.method === 'POST' && req.url === '/v1/txs') {
            submissions.push(Date.now())
            if (competitor === undefined) {
              const { pendingNonce } = await api.account(toHex(addressOf(alice.publicKey)))
              competitor = encodeSignedTx(signTx({ chainId, from: alice.publicKey, nonce: pendingNonce, fee: 10, body: { type: 'transfer', to: addressOf(bob.publicKey), amount: 5 } }, alice.secretKey))
              await api.submitTx(competitor)
            }
          }
          const upstream = await fetch(`${node.info.api}${req.url ?? '/'}`, {
            method: req.method,
            headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
            ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body: Buffer.concat(chunks) })
          })
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
          res.end(Buffer.from(await upstream.arrayBuffer()))
        })().catch((err: Error) => { res.writeHead(502); res.end(err.message) })
      })
    })
    await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve))
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  })

  after(async () => {
    await new Promise(resolve => proxy.close(resolve))
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('signs again with the next nonce and both transactions commit', async () => {
    const ctx = new CliContext({ api: proxyUrl, home: join(dir, 'home'), json: true })
    const sent = await ctx.send({ type: 'name-register', name: 'raced.key', terms: 1 }, { key: alice })
    assert.equal(sent.status, 'committed')
    assert.equal(sent.error, undefined)
    assert.equal(submissions.length, 2, 'the first submission lost its nonce, the second went through')
    assert.ok(competitor !== undefined)
    const theirs = await api.tx(toHex(txId(competitor)), 5000)
    assert.equal(theirs.status, 'committed')
    const account = await api.account(toHex(addressOf(alice.publicKey)))
    assert.equal(account.nonce, 2)
    assert.equal((await api.account(toHex(addressOf(bob.publicKey)))).balance, 5)
    assert.deepEqual((await api.name('raced.key')).owner, toHex(addressOf(alice.publicKey)))
  })
})
