import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { devnetParams, genesisToJson } from '../../src/core/ledger/genesis.ts'
import { writeNodeKey } from '../../src/node/node-key.ts'
import { startNode } from '../../src/node/node.ts'

describe('a node restarted from its data folder', () => {
  it('reloads the state, including genesis accounts that never sent a transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keynet-restart-'))
    try {
      const key = generateKeyPair()
      const dataDir = join(dir, 'node')
      writeNodeKey(dataDir, key)
      const genesisFile = join(dir, 'genesis.json')
      const idle = addressOf(generateKeyPair().publicKey)
      writeFileSync(genesisFile, genesisToJson({ chainId: 'keynet-restart-test', time: Date.now(), params: devnetParams, validators: [{ name: 'solo', publicKey: key.publicKey, power: 1 }], accounts: [{ address: idle, balance: 1000 }] }))
      const config = { dataDir, roles: ['validator'], listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], api: '127.0.0.1:0', genesisFile, log: () => {} }
      const first = await startNode(config)
      while (first.ledger.chain.height < 2) await new Promise(resolve => setTimeout(resolve, 50))
      await first.stop()
      const height = first.ledger.chain.height
      const second = await startNode(config)
      try {
        // Loading checks the rebuilt state against the last block's state root (it threw before).
        assert.ok(second.ledger.chain.height >= height, `resumed at ${second.ledger.chain.height}, stopped at ${height}`)
        assert.equal(second.ledger.view().account(idle).balance, 1000)
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
