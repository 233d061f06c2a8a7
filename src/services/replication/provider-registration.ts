/**
 * Keeps a provider node's entry on the ledger: registers it (operator endorsement, region,
 * capacity, kinds, addresses) once transactions reach the network, re-registers when any of that
 * changes, and sends heartbeats so the chain knows it is alive.
 */
import { equalBytes, toHex } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { getProvider, kindsOf } from '../../core/ledger/providers.ts'
import type { ProviderEntry, ProviderKind, TxBody } from '../../core/ledger/types.ts'
import type { LedgerNode } from '../ledger/ledger-node.ts'
import { NodeWallet } from '../ledger/node-wallet.ts'
import type { P2PHost } from '../p2p/index.ts'

export interface ProviderRegistrationInit {
  ledger: LedgerNode
  host: P2PHost
  key: KeyPair
  kinds: ProviderKind[]
  region: string
  capacityBytes: number
  /** Compute providers: memory one task may use (bytes). */
  memoryBytes?: number
  /** The operator's public key and its signature over this node (`keynet provider endorse`). */
  operatorKey: Uint8Array
  endorsement: Uint8Array
  log: (line: string) => void
}

/** How often the entry is compared with what it should be until it matches. */
const registrationCheckMs = 500
/** A registration not committed after this long is sent again. */
const registrationPatienceMs = 10_000
/** Heartbeats go out this many times per provider timeout. */
const heartbeatsPerTimeout = 4
/** Heartbeats at least this often, whatever the timeout. */
const maxHeartbeatMs = 60_000

export class ProviderRegistration {
  readonly address: Uint8Array
  private readonly init: ProviderRegistrationInit
  private readonly wallet: NodeWallet
  private timers: NodeJS.Timeout[] = []
  private sentAt = 0
  /** Addresses registered besides the host's libp2p ones (the HTTP block endpoint). */
  private extraAddrs: string[] = []
  private checking: NodeJS.Timeout | undefined

  constructor (init: ProviderRegistrationInit) {
    this.init = init
    this.wallet = new NodeWallet(init.ledger, init.key)
    this.address = this.wallet.address
  }

  start (): void {
    const { ledger } = this.init
    this.watchEntry()
    const heartbeatMs = Math.min(maxHeartbeatMs, Math.floor(ledger.chain.genesis.params.providerTimeoutMs / heartbeatsPerTimeout))
    this.timers.push(setInterval(() => { this.heartbeat() }, heartbeatMs))
  }

  stop (): void {
    for (const t of this.timers) clearInterval(t)
    this.timers = []
    clearInterval(this.checking)
    this.checking = undefined
  }

  /** Registers these addresses too (after the host's own), re-registering if the entry is already on the ledger. */
  setExtraAddrs (addrs: readonly string[]): void {
    this.extraAddrs = [...addrs]
    this.sentAt = 0
    if (this.timers.length > 0) this.watchEntry()
  }

  /** Compares the ledger entry with what it should be until they match, registering when they do not. */
  private watchEntry (): void {
    const { ledger } = this.init
    clearInterval(this.checking)
    this.checking = setInterval(() => {
      if (this.upToDate(getProvider(ledger.view(), this.address))) { clearInterval(this.checking); this.checking = undefined; return }
      if (ledger.canGossipTxs && Date.now() - this.sentAt > registrationPatienceMs) this.register()
    }, registrationCheckMs)
  }

  /** Sends a transaction from the node's key; logs (with the fix) instead of throwing. */
  send (body: TxBody, what: string): void {
    try {
      this.wallet.send(body)
    } catch (err) {
      const e = err as Error
      const hint = e.name === 'InsufficientFundsError' ? `: fund the node account (keynet account send ${toHex(this.address)} 100000)` : ''
      this.init.log(`provider ${what} not sent: ${e.name}: ${e.message}${hint}`)
    }
  }

  private addrs (): string[] {
    return [...this.init.host.multiaddrs().map(stripPeer), ...this.extraAddrs]
  }

  private upToDate (entry: ProviderEntry | undefined): boolean {
    const { region, capacityBytes, operatorKey, kinds } = this.init
    return entry !== undefined && entry.region === region && entry.capacityBytes === capacityBytes &&
      equalBytes(entry.operator, addressOf(operatorKey)) && sameList(entry.addrs, this.addrs()) && sameList(kindsOf(entry), kinds) && entry.memoryBytes === this.init.memoryBytes
  }

  private register (): void {
    this.sentAt = Date.now()
    const { region, capacityBytes, operatorKey, endorsement, kinds } = this.init
    const { memoryBytes } = this.init
    this.send({ type: 'provider-register', operatorKey, endorsement, region, capacityBytes, addrs: this.addrs(), kinds, ...(memoryBytes === undefined ? {} : { memoryBytes }) }, 'registration')
  }

  private heartbeat (): void {
    if (!this.init.ledger.canGossipTxs) return
    if (getProvider(this.init.ledger.view(), this.address) === undefined) return
    this.send({ type: 'provider-heartbeat' }, 'heartbeat')
  }
}

function stripPeer (addr: string): string {
  const i = addr.indexOf('/p2p/')
  return i < 0 ? addr : addr.slice(0, i)
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
