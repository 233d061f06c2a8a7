import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { devnetParams, genesisToJson } from '../../src/core/ledger/genesis.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { startNode, type RunningNode } from '../../src/node/node.ts'
import { loadOrCreateNodeKey } from '../../src/node/node-key.ts'

/** A real node in this process, the only validator of chain `chainId`, with `accounts` funded at genesis. */
export async function startSoloNode (dir: string, chainId: string, accounts: Array<{ address: Uint8Array, balance: number }>): Promise<{ node: RunningNode, api: ApiClient }> {
  const dataDir = join(dir, 'node')
  const key = loadOrCreateNodeKey(dataDir)
  const genesisFile = join(dir, 'genesis.json')
  writeFileSync(genesisFile, genesisToJson({ chainId, time: Date.now(), params: devnetParams, validators: [{ name: 'solo', publicKey: key.publicKey, power: 1 }], accounts }))
  const node = await startNode({ dataDir, roles: ['validator'], listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], api: '127.0.0.1:0', genesisFile, log: () => {} })
  return { node, api: new ApiClient(node.info.api) }
}
