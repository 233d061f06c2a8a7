/**
 * Where a client learns what it may not take on trust from a provider: what a name points at
 * (verified), which providers exist and are live, and who holds a pinned DAG. A node reads its
 * own ledger (`LedgerDirectory`, verified block by block as it committed them); a remote client
 * asks a node's API and checks name answers against the validators' signatures
 * (`ApiDirectory` in the SDK).
 */
import { toHex } from '../../foundations/bytes.ts'
import { NameExpiredError, NameNotFoundError } from '../../foundations/errors.ts'
import { effectiveExpiry, nameStatus } from '../../core/ledger/names.ts'
import { getPin, getProvider, isProviderLive, kindsOf, providerIndex } from '../../core/ledger/providers.ts'
import type { ChainState } from '../../core/ledger/chain.ts'
import type { NameRecords } from '../../core/ledger/types.ts'
import { parseName } from '../../core/names/grammar.ts'
import type { LedgerNode } from '../ledger/ledger-node.ts'
import { peerIdOfPublicKey } from '../p2p/index.ts'
import { p2pAddrs } from '../storage/http-addr.ts'

/** A name as a verified answer: its owner, record version and records. */
export interface ResolvedName {
  name: string
  /** Owner address, hex. */
  owner: string
  version: number
  records: NameRecords
  /** Milliseconds from the answer's ledger time until the name stops resolving (expiry plus grace), when the directory knows it. */
  resolvesForMs?: number
}

/** A live provider: how to reach it and where it stands. */
export interface ProviderInfo {
  /** Address of the node key (hex): pins and records name providers by it. */
  address: string
  peerId: string
  publicKey: string
  kinds: string[]
  operator: string
  region: string
  addrs: string[]
}

/** Where a pinned DAG is held. */
export interface PinInfo { cid: string, holders: string[], replicas: number }

export interface Directory {
  /** Throws `NameNotFoundError` / `NameExpiredError` for names that do not resolve. */
  resolveName: (name: string, signal?: AbortSignal) => Promise<ResolvedName>
  /** Live providers of every kind. */
  providers: (signal?: AbortSignal) => Promise<ProviderInfo[]>
  /** The pin of a root CID, or undefined when it is not pinned. */
  pin: (cid: string, signal?: AbortSignal) => Promise<PinInfo | undefined>
}

/** Its libp2p multiaddrs with the peer id appended, ready to dial (HTTP endpoints left out). */
export function dialAddrs (p: ProviderInfo): string[] {
  return p2pAddrs(p.addrs).map(a => `${a}/p2p/${p.peerId}`)
}

/** Names whose answers a `LedgerDirectory` keeps until the next block. */
const maxNamesKeptPerBlock = 1000

/**
 * The directory of a node that follows the chain itself. A name's answer is kept until the
 * chain moves (a gateway resolves the same name for every request of a page, more than once).
 */
export class LedgerDirectory implements Directory {
  private readonly ledger: LedgerNode
  /** Answers computed on the chain state `namesOf`. */
  private readonly names = new Map<string, ResolvedName>()
  private namesOf: ChainState | undefined

  constructor (ledger: LedgerNode) {
    this.ledger = ledger
  }

  async resolveName (input: string): Promise<ResolvedName> {
    const chain = this.ledger.chain
    if (chain !== this.namesOf) {
      this.names.clear()
      this.namesOf = chain
    }
    const kept = this.names.get(input)
    if (kept !== undefined) return kept
    const answer = this.resolveNow(input)
    if (this.names.size >= maxNamesKeptPerBlock) this.names.clear()
    this.names.set(input, answer)
    return answer
  }

  private resolveNow (input: string): ResolvedName {
    const parsed = parseName(input)
    const view = this.ledger.view()
    const entry = view.name(parsed.name)
    if (entry === undefined) throw new NameNotFoundError(`${parsed.name} is not registered`)
    const { time, genesis } = this.ledger.chain
    const expiresAt = effectiveExpiry(view, parsed, entry)
    const status = nameStatus(expiresAt, time, genesis.params)
    if (status === 'expired') throw new NameExpiredError(`${parsed.name} has expired`)
    return { name: parsed.name, owner: toHex(entry.owner), version: entry.version, records: entry.records, resolvesForMs: expiresAt + genesis.params.graceMs - time }
  }

  async providers (): Promise<ProviderInfo[]> {
    const view = this.ledger.view()
    const { time, genesis } = this.ledger.chain
    return providerIndex(view).flatMap(address => {
      const p = getProvider(view, address)
      if (p === undefined || !isProviderLive(p, time, genesis.params)) return []
      return [{ address: toHex(address), peerId: peerIdOfPublicKey(p.node), publicKey: toHex(p.node), kinds: kindsOf(p), operator: toHex(p.operator), region: p.region, addrs: p.addrs }]
    })
  }

  async pin (cid: string): Promise<PinInfo | undefined> {
    const pin = getPin(this.ledger.view(), cid)
    return pin === undefined ? undefined : { cid, holders: pin.holders.map(toHex), replicas: pin.replicas }
  }
}
