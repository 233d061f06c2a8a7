import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { toHex } from '../foundations/bytes.ts'
import { systemClock } from '../foundations/clock.ts'
import { genesisFromJson } from '../core/ledger/genesis.ts'
import type { Genesis } from '../core/ledger/types.ts'
import { ApiServer } from '../edges/api/http-server.ts'
import { ledgerRoutes } from '../edges/api/routes.ts'
import { createP2PHost, type P2PHost } from '../services/p2p/index.ts'
import { LedgerNode } from '../services/ledger/ledger-node.ts'
import { LedgerStore } from '../services/store/ledger-store.ts'
import { loadOrCreateNodeKey } from './node-key.ts'

/** Everything one node process is started with. */
export interface NodeConfig {
  dataDir: string
  roles: string[]
  /** libp2p listen multiaddrs. */
  listen: string[]
  announce: string[]
  bootstrap: string[]
  /** HTTP API listen address `host:port`. */
  api: string
  /** Genesis file; copied into the data folder on first start, read from there afterwards. */
  genesisFile?: string
  log: (line: string) => void
}

/** What a running node publishes about itself in `<data>/node.json`. */
export interface NodeInfoFile { id: string, roles: string[], api: string, p2p: string[], pid: number, dataDir: string, publicKey: string }

export interface RunningNode {
  info: NodeInfoFile
  ledger: LedgerNode
  p2p: P2PHost
  stop: () => Promise<void>
}

export const knownRoles = ['validator'] as const

/** The composition root: builds a node's parts top to bottom and starts them. */
export async function startNode (config: NodeConfig): Promise<RunningNode> {
  const dataDir = resolve(config.dataDir)
  mkdirSync(dataDir, { recursive: true })
  const genesis = loadGenesis(dataDir, config.genesisFile)
  const key = loadOrCreateNodeKey(dataDir)
  const isValidator = config.roles.includes('validator')
  if (isValidator && !genesis.validators.some(v => toHex(v.publicKey) === toHex(key.publicKey))) {
    config.log(`warning: --roles validator, but this node's key ${toHex(key.publicKey).slice(0, 16)}… is not in the genesis validator set: it will follow the chain without voting`)
  }
  const store = new LedgerStore(join(dataDir, 'ledger.db'))
  const p2p = await createP2PHost({
    secretKey: key.secretKey,
    listen: config.listen,
    announce: config.announce,
    bootstrap: config.bootstrap,
    logger: config.log
  })
  const ledger = new LedgerNode({
    genesis,
    store,
    network: p2p,
    clock: systemClock,
    ...(isValidator ? { validatorKey: key } : {}),
    log: config.log
  })
  const api = new ApiServer(ledgerRoutes(ledger, {
    nodeId: p2p.peerId,
    roles: config.roles,
    p2p: () => p2p.multiaddrs(),
    peers: () => p2p.peers().length
  }), config.log)
  await p2p.start()
  await ledger.start()
  const [host, port] = splitHostPort(config.api)
  const apiUrl = await api.listen(host, port)
  const info: NodeInfoFile = { id: p2p.peerId, roles: config.roles, api: apiUrl, p2p: p2p.multiaddrs(), pid: process.pid, dataDir, publicKey: toHex(key.publicKey) }
  writeAtomically(join(dataDir, 'node.json'), JSON.stringify(info, null, 2))
  config.log(`node ${p2p.peerId} (${config.roles.join(',')}) api ${apiUrl} p2p ${info.p2p.join(' ')}`)
  let stopped = false
  return {
    info,
    ledger,
    p2p,
    stop: async () => {
      if (stopped) return
      stopped = true
      ledger.stop()
      await api.close()
      await p2p.stop()
      store.close()
    }
  }
}

function loadGenesis (dataDir: string, genesisFile: string | undefined): Genesis {
  const local = join(dataDir, 'genesis.json')
  if (!existsSync(local)) {
    if (genesisFile === undefined) throw new Error(`no genesis in ${dataDir}: pass --genesis FILE (the network's genesis.json)`)
    copyFileSync(genesisFile, local)
  }
  return genesisFromJson(readFileSync(local, 'utf8'))
}

function splitHostPort (s: string): [string, number] {
  const i = s.lastIndexOf(':')
  const port = Number(s.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--api --api-listen must be host:port, e.g. 127.0.0.1:7700 (got "${s}")`)
  return [s.slice(0, i), port]
}

export function writeAtomically (path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text)
  renameSync(`${path}.tmp`, path)
}
