/**
 * The compute market's part of the node API, `/v1/compute/...`: live compute offers with what a
 * client needs to match and reach them (region, operator group, price, score, cores, memory,
 * peer id and addresses), and a task's escrow and settlement (documented in docs/api/openapi.json).
 * Read-only: tasks are opened and settled by signed transactions (`POST /v1/txs`).
 */
import { toHex } from '../../foundations/bytes.ts'
import { MalformedMessageError, NotFoundError } from '../../foundations/errors.ts'
import { getProvider, isProviderLive, kindsOf, providerIndex } from '../../core/ledger/providers.ts'
import { marketKey } from '../../core/ledger/market/keys.ts'
import { getOffer, getRecord, groupOf, periodAt, periodMsOf, reputationOf } from '../../core/ledger/market/market-state.ts'
import type { ComputeTask } from '../../core/market/compute-tasks.ts'
import { score } from '../../core/market/reputation.ts'
import type { LedgerNode } from '../../services/ledger/ledger-node.ts'
import { peerIdOfPublicKey } from '../../services/p2p/index.ts'
import type { Route } from './http-server.ts'

export interface ComputeOfferView {
  /** Node address (hex): what a task escrow names. */
  provider: string
  peerId: string
  publicKey: string
  /** libp2p multiaddrs it registered (without /p2p/). */
  addrs: string[]
  operator: string
  /** Operator group: the unit of independence between replicas. */
  group: string
  region: string
  /** Tasks it runs at once, and memory one task may use (bytes). */
  cores: number
  memoryBytes: number
  /** Price per core-second. */
  price: number
  /** Reputation score (bp) from its record. */
  score: number
  live: boolean
}

/** A task as the ledger keeps it (`ComputeTask`). */
export type ComputeTaskView = ComputeTask

export function computeRoutes (ledger: LedgerNode): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/compute/offers',
      handler: ({ query }): { period: number, offers: ComputeOfferView[] } => {
        const region = query.get('region') ?? undefined
        const period = periodAt(ledger.chain.time, periodMsOf(ledger.chain.genesis.params))
        return { period, offers: computeOffers(ledger, period).filter(o => region === undefined || o.region === region) }
      }
    },
    {
      method: 'GET',
      path: '/v1/compute/tasks/:id',
      handler: ({ params }): ComputeTaskView => {
        const id = (params.id ?? '').toLowerCase()
        if (!/^[0-9a-f]{64}$/.test(id)) throw new MalformedMessageError(`"${id.slice(0, 80)}" is not a task id (64 hex characters)`)
        const task = ledger.view().entry<ComputeTask>(marketKey.computeTask(id))
        if (task === undefined) throw new NotFoundError(`no compute task ${id} on the ledger`)
        return task
      }
    }
  ]
}

function computeOffers (ledger: LedgerNode, period: number): ComputeOfferView[] {
  const view = ledger.view()
  const { time, genesis } = ledger.chain
  return providerIndex(view).flatMap(address => {
    const node = getProvider(view, address)
    const offer = getOffer(view, address, 'compute')
    if (node === undefined || offer === undefined || !kindsOf(node).includes('compute')) return []
    const provider = toHex(address)
    const operator = toHex(node.operator)
    return [{
      provider, peerId: peerIdOfPublicKey(node.node), publicKey: toHex(node.node), addrs: node.addrs, operator, group: groupOf(view, operator),
      region: offer.region, cores: offer.capacity, memoryBytes: node.memoryBytes ?? 0, price: offer.price,
      score: score(reputationOf(getRecord(view, provider), period)), live: isProviderLive(node, time, genesis.params)
    }]
  })
}
