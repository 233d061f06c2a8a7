/**
 * The JSON shapes of the node API, shared by the server routes and the typed client. Bytes are
 * lowercase hex. `docs/api/openapi.json` documents the same shapes for other languages.
 */
import type { NameRecords } from '../../core/ledger/types.ts'
import type { NameProofInput } from '../../core/light-client/verify-name.ts'

export interface StatusView {
  chainId: string
  nodeId: string
  roles: string[]
  height: number
  lastBlockHash: string
  stateRoot: string
  /** Ledger time of the last block (ms since the epoch). */
  time: number
  validators: Array<{ name: string, publicKey: string, power: number }>
  /** This node's consensus position: the height and round it is working on. */
  consensus: { height: number, round: number, step: string }
  peers: number
  mempool: number
  p2p: string[]
  /** Storage role: what the node holds. */
  storage?: StorageStatus
  /** Provider faults this node recorded (wrong blocks, stalls), by kind. */
  faults?: { total: number, byKind: Record<string, number> }
}

export interface StorageStatus {
  address: string
  region: string
  bytes: number
  blocks: number
  capacityBytes: number
  /** Root CIDs pinned here. */
  pinned: string[]
  /** Roots being pulled from other holders. */
  pulling: number
}

export interface AccountView { address: string, balance: number, nonce: number, pendingNonce: number }

export interface NameView {
  name: string
  owner: string
  registeredAt: number
  expiresAt: number
  status: 'active' | 'grace' | 'expired'
  version: number
  records: NameRecords
  /** Height of the state this answer was read from. */
  height: number
}

/** Everything a light client needs to check a name answer without trusting the node. */
export type NameProofView = NameProofInput

export interface TxSubmitted { id: string }

export interface TxStatusView {
  id: string
  status: 'pending' | 'committed' | 'unknown'
  height?: number
  index?: number
  error?: { name: string, message: string }
}

export interface BlockView {
  height: number
  hash: string
  time: number
  parentHash: string
  stateRoot: string
  proposer: string
  txCount: number
  txs: string[]
  /** Each transaction's type, in the same order. */
  txTypes: string[]
}

export interface GenesisView {
  chainId: string
  time: number
  params: Record<string, unknown>
  validators: Array<{ name: string, publicKey: string, power: number }>
  accounts: Array<{ address: string, balance: number }>
}

/** A registered storage provider as `/v1/providers` shows it. */
export interface ProviderView {
  /** Address of the node key (hex); pins list holders by it. */
  address: string
  /** libp2p peer id of the node. */
  peerId: string
  publicKey: string
  /** What it offers: `storage`, `service`. */
  kinds: string[]
  operator: string
  region: string
  capacityBytes: number
  addrs: string[]
  registeredAt: number
  lastSeen: number
  /** Heard from within the chain's provider timeout, as of the latest block. */
  live: boolean
}

/** Where a DAG is held (`/v1/pins/:cid`). */
export interface PinView {
  cid: string
  owner: string
  replicas: number
  regions: number
  /** Holder addresses (hex), in pin order. */
  holders: string[]
  name?: string
  pinnedAt: number
  repairs: number
  height: number
}
