/** Data types of the ledger: what transactions, blocks and state entries hold. */
import type { MarketTxBody } from './market/types.ts'

/** Typed records of a name; the whole set is bounded by `maxRecordBytes` when encoded. */
export interface NameRecords {
  /** Site or data content: a root CID and how many providers in how many regions must hold it. */
  content?: { cid: string, replicas: number, regions: number }
  /** Backend endpoints reachable under `name/api/...`. */
  service?: ServiceEndpoint[]
  /** Key-value shards of the name's data and the providers that hold each. */
  shard?: { shards: number, replicas: number, providers?: string[][] }
  /** Small free-form facts. */
  text?: Record<string, string>
}

export interface ServiceEndpoint {
  path: string
  protocol: 'http'
  providers: string[]
  regions?: string[]
}

/** A name's state entry. */
export interface NameEntry {
  name: string
  /** Address (20 bytes) that controls the name. */
  owner: Uint8Array
  registeredAt: number
  /** Ledger time (ms) after which the name is expired; sub-names follow their root name. */
  expiresAt: number
  /** Increments with every change of records or owner. */
  version: number
  records: NameRecords
}

/**
 * A storage provider node registered on the ledger. The node's own key sends its transactions;
 * `operator` is the address of the operator key that endorsed it, so one operator's many nodes
 * are recognisable as one party.
 */
export interface ProviderEntry {
  /** ed25519 public key of the node (its libp2p identity derives from it). */
  node: Uint8Array
  /** What it provides; entries from before kinds existed provide storage. */
  kinds?: ProviderKind[]
  operator: Uint8Array
  region: string
  capacityBytes: number
  /** Compute providers: memory one task may use (bytes). */
  memoryBytes?: number
  /** libp2p multiaddrs where the node answers. */
  addrs: string[]
  registeredAt: number
  /** Ledger time of the node's last registration or heartbeat. */
  lastSeen: number
}

/** The resources a provider node offers. */
export type ProviderKind = 'storage' | 'service' | 'compute'

export const providerKinds: readonly ProviderKind[] = ['storage', 'service', 'compute']

/** Where one DAG must be held: its holders (provider node addresses) and the policy they keep. */
export interface PinEntry {
  cid: string
  /** Address that pinned it; only it may change or remove the pin. */
  owner: Uint8Array
  replicas: number
  regions: number
  holders: Uint8Array[]
  /** The name whose content record points here, if any. */
  name?: string
  pinnedAt: number
  /** Holders replaced by `pin-repair` so far. */
  repairs: number
}

export interface Account {
  balance: number
  /** The nonce the next transaction from this account must carry. */
  nonce: number
}

export type TxBody =
  | { type: 'transfer', to: Uint8Array, amount: number }
  | { type: 'name-register', name: string, owner?: Uint8Array, terms: number, records?: NameRecords }
  | { type: 'name-update', name: string, records: NameRecords, ifVersion?: number }
  | { type: 'name-transfer', name: string, to: Uint8Array }
  | { type: 'name-renew', name: string, terms: number }
  | { type: 'provider-register', operatorKey: Uint8Array, endorsement: Uint8Array, region: string, capacityBytes: number, addrs: string[], kinds?: ProviderKind[], memoryBytes?: number }
  | { type: 'provider-heartbeat', addrs?: string[] }
  | { type: 'content-pin', cid: string, replicas: number, regions: number, holders: Uint8Array[], name?: string }
  | { type: 'content-unpin', cid: string }
  | { type: 'pin-repair', cid: string, gone: Uint8Array, replacement: Uint8Array }
  | MarketTxBody

export type TxType = TxBody['type']

/** The signed part of a transaction. */
export interface Tx {
  chainId: string
  /** Sender's ed25519 public key; the account is its address. */
  from: Uint8Array
  nonce: number
  fee: number
  body: TxBody
}

export interface SignedTx { tx: Tx, sig: Uint8Array }

export interface BlockHeader {
  chainId: string
  height: number
  /** Ledger time in ms; strictly increasing, at most `maxBlockTimeStepMs` past the parent. */
  time: number
  parentHash: Uint8Array
  /** SHA-256 over the encoded transaction list and evidence. */
  bodyHash: Uint8Array
  /** Root of the state map after this block's transactions. */
  stateRoot: Uint8Array
  txCount: number
  /** Public key of the validator that proposed the block; fees go to its address. */
  proposer: Uint8Array
}

export interface Block {
  header: BlockHeader
  /** Encoded `SignedTx` each, in execution order. */
  txs: Uint8Array[]
  /** Encoded equivocation evidence each. */
  evidence: Uint8Array[]
}

/** Chain parameters, fixed in the genesis document. */
export interface ChainParams {
  /** Minimum fee of any transaction. */
  minTxFee: number
  /** Length of one registration term (ms of ledger time). */
  termMs: number
  /** After expiry the owner alone may still renew for this long. */
  graceMs: number
  /** Price of one term by label length: index 0 = 1 char, ..., last entry for that length and longer. */
  namePrices: number[]
  /** Price of one term of a sub-name (its root pays the term). */
  subNamePrice: number
  /** A provider silent (no heartbeat) for longer than this may be replaced in its pins. */
  providerTimeoutMs: number
  /** Length of one market settlement period (ms of ledger time); absent: `settlementPeriodMs` of the market rules. */
  settlementPeriodMs?: number
}

export interface GenesisValidator { publicKey: Uint8Array, power: number, name: string }

export interface Genesis {
  chainId: string
  time: number
  params: ChainParams
  validators: GenesisValidator[]
  /** Initial balances by address. */
  accounts: Array<{ address: Uint8Array, balance: number }>
}
