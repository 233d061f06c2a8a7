import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { devnetParams, genesisToJson } from '../../src/core/ledger/genesis.ts'
import { encodeSignedTx, signTx, txIdHex } from '../../src/core/ledger/tx.ts'
import { writeNodeKey } from '../../src/node/node-key.ts'
import { startNode, type RunningNode } from '../../src/node/node.ts'

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

describe('compact proposals between real nodes', () => {
  it('a validator fetches from its peer the transactions of a proposal it never received by gossip', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keynet-compact-'))
    const nodes: RunningNode[] = []
    try {
      const keys = [generateKeyPair(), generateKeyPair()]
      const alice = generateKeyPair()
      const chainId = 'keynet-compact-test'
      const genesisFile = join(dir, 'genesis.json')
      writeFileSync(genesisFile, genesisToJson({
        chainId,
        time: Date.now(),
        params: devnetParams,
        validators: keys.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey, power: 1 })),
        accounts: [{ address: addressOf(alice.publicKey), balance: 100_000_000 }]
      }))
      const config = (i: number, bootstrap: string[]) => {
        const dataDir = join(dir, `v${i}`)
        writeNodeKey(dataDir, keys[i]!)
        return { dataDir, roles: ['validator'], listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap, api: '127.0.0.1:0', genesisFile, log: () => {} }
      }
      const a = await startNode(config(0, []))
      nodes.push(a)
      const b = await startNode(config(1, a.p2p.multiaddrs()))
      nodes.push(b)
      // Both validators are needed for a quorum, so a committed height means they talk.
      while (b.ledger.chain.height < 1) await sleep(50)

      // Admitted at one node only and never gossiped: the other can learn it only from the
      // compact proposal's fetch. Two validators alternate proposing, so the holder proposes soon.
      const encoded = encodeSignedTx(signTx({ chainId, from: alice.publicKey, nonce: 0, fee: devnetParams.minTxFee, body: { type: 'name-register', name: 'fetched.key', terms: 1 } }, alice.secretKey))
      const id = txIdHex(encoded)
      a.ledger.mempool.add(encoded)
      const deadline = Date.now() + 30_000
      for (;;) {
        const status = await b.ledger.txStatus(id)
        if (status.status === 'committed') { assert.equal(status.error, undefined); break }
        assert.equal(status.status, 'unknown', 'the transaction must never reach the other mempool')
        assert.ok(Date.now() < deadline, 'the transaction was not committed in time')
        await sleep(50)
      }
      assert.equal((await a.ledger.txStatus(id)).status, 'committed')
      assert.deepEqual(b.ledger.view().name('fetched.key')?.owner, addressOf(alice.publicKey))
    } finally {
      for (const n of nodes.reverse()) await n.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
