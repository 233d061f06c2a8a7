/**
 * Blocks from whichever live storage providers have them, for a node that serves content it
 * does not hold (the gateway). The provider list comes from the ledger's registry and is
 * refreshed as it changes; each refresh starts a new fetcher so dropped providers get a new
 * chance.
 */
import { getProvider, isProviderLive, providerIndex } from '../../core/ledger/providers.ts'
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import type { LedgerNode } from '../ledger/ledger-node.ts'
import { peerIdOfPublicKey, type P2PHost } from '../p2p/index.ts'
import { BlockFetcher } from './block-fetcher.ts'
import type { FaultLog } from './fault-log.ts'

/** A fetcher is rebuilt at most this often, when the live provider set changed. */
const refreshMs = 5000

export class NetworkBlocks {
  private readonly ledger: LedgerNode
  private readonly host: P2PHost
  private readonly faults: FaultLog | undefined
  private fetcher: BlockFetcher | undefined
  private fetcherKey = ''
  private builtAt = 0

  constructor (init: { ledger: LedgerNode, host: P2PHost, faults?: FaultLog }) {
    this.ledger = init.ledger
    this.host = init.host
    this.faults = init.faults
  }

  readonly get: BlockGetter = async (cid: CID, signal?: AbortSignal) => await this.current().get(cid, signal)

  private current (): BlockFetcher {
    const now = Date.now()
    if (this.fetcher !== undefined && now - this.builtAt < refreshMs) return this.fetcher
    this.builtAt = now
    const providers = this.liveProviders()
    const key = providers.map(p => p.peerId).join(',')
    if (this.fetcher === undefined || key !== this.fetcherKey) {
      this.fetcherKey = key
      this.fetcher = new BlockFetcher({
        host: this.host,
        providers,
        ...(this.faults === undefined ? {} : { onFault: f => this.faults?.append(f) })
      })
    }
    return this.fetcher
  }

  private liveProviders (): Array<{ peerId: string, addrs: string[] }> {
    const view = this.ledger.view()
    const { time, genesis } = this.ledger.chain
    return providerIndex(view).flatMap(a => {
      const p = getProvider(view, a)
      if (p === undefined || !isProviderLive(p, time, genesis.params)) return []
      const peerId = peerIdOfPublicKey(p.node)
      return [{ peerId, addrs: p.addrs.map(x => `${x}/p2p/${peerId}`) }]
    })
  }
}
