import { readFileSync } from 'node:fs'
import { fromHex, toHex, utf8 } from '../../foundations/bytes.ts'
import { MalformedMessageError, NameNotFoundError, NotFoundError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { maxApiBatchTxs, maxTxBytes } from '../../foundations/limits.ts'
import * as shape from '../../foundations/shape.ts'
import { encodeProof } from '../../core/auth-map/index.ts'
import { decodeBlock } from '../../core/ledger/block.ts'
import { effectiveExpiry, nameStatus } from '../../core/ledger/names.ts'
import { stateKey } from '../../core/ledger/state-keys.ts'
import { getPin, getProvider, isProviderLive, kindsOf, providerIndex } from '../../core/ledger/providers.ts'
import { peerIdOfPublicKey } from '../../services/p2p/index.ts'
import { decodeSignedTx, txId } from '../../core/ledger/tx.ts'
import { parseName } from '../../core/names/grammar.ts'
import type { LedgerNode } from '../../services/ledger/ledger-node.ts'
import { raw, type Route } from './http-server.ts'
import type { PinView, ProviderView } from './types.ts'
import type { AccountView, BlockView, GenesisView, NameProofView, NameView, StatusView, TxStatusView } from './types.ts'

/** What the API shows about the node beyond its ledger. */
export interface NodeInfo {
  nodeId: string
  roles: string[]
  p2p: () => string[]
  peers: () => number
  /** Role-specific parts of the status (storage, faults), filled in by the composition root. */
  extra?: () => Partial<Pick<StatusView, 'storage' | 'faults'>>
}

const openApiPath = new URL('../../../docs/api/openapi.json', import.meta.url)

/** The node's JSON API, `/v1/...`; documented in `docs/api/openapi.json`. */
export function ledgerRoutes (ledger: LedgerNode, info: NodeInfo): Route[] {
  return [
    { method: 'GET', path: '/v1/status', handler: (): StatusView => status(ledger, info) },
    { method: 'GET', path: '/v1/genesis', handler: (): GenesisView => genesisView(ledger) },
    { method: 'GET', path: '/v1/openapi.json', handler: () => raw(200, { text: readFileSync(openApiPath, 'utf8'), contentType: 'application/json' }) },
    {
      method: 'GET',
      path: '/v1/accounts/:address',
      handler: ({ params }): AccountView => {
        const address = parseAddress(params.address ?? '')
        const account = ledger.view().account(address)
        return { address: toHex(address), balance: account.balance, nonce: account.nonce, pendingNonce: ledger.mempool.nextNonce(address, account.nonce) }
      }
    },
    { method: 'GET', path: '/v1/names/:name', handler: ({ params }): NameView => nameView(ledger, params.name ?? '') },
    { method: 'GET', path: '/v1/names/:name/proof', handler: ({ params }): NameProofView => nameProof(ledger, params.name ?? '') },
    {
      method: 'POST',
      path: '/v1/txs',
      handler: ({ body }) => {
        const b = shape.record(body, 'body')
        return raw(202, { json: { id: ledger.submit(hexTx(b.tx)) } })
      }
    },
    {
      method: 'POST',
      path: '/v1/txs/batch',
      handler: async ({ body }) => {
        const txs = shape.list(shape.record(body, 'body').txs, 'txs', maxApiBatchTxs)
        const parsed = txs.map((t): Uint8Array | Error => { try { return hexTx(t) } catch (err) { return err as Error } })
        // Admitted through the node's paced queue, so a big batch does not hold up consensus.
        const admitted = await ledger.submitMany(parsed.filter((t): t is Uint8Array => t instanceof Uint8Array))
        let next = 0
        const results = parsed.map(t => t instanceof Uint8Array ? admitted[next++] : { error: { name: t.name, message: t.message } })
        return raw(202, { json: { results } })
      }
    },
    {
      method: 'GET',
      path: '/v1/txs/:id',
      handler: async ({ params, query, signal }): Promise<TxStatusView> => {
        const id = (params.id ?? '').toLowerCase()
        const wait = Number(query.get('wait') ?? 0)
        return { id, ...await ledger.txStatus(id, Number.isFinite(wait) ? wait : 0, signal) }
      }
    },
    { method: 'GET', path: '/v1/blocks/:height', handler: ({ params }): BlockView => blockView(ledger, params.height ?? '') },
    { method: 'GET', path: '/v1/providers', handler: (): { providers: ProviderView[], height: number } => ({ providers: providerViews(ledger), height: ledger.chain.height }) },
    { method: 'GET', path: '/v1/pins/:cid', handler: ({ params }): PinView => pinView(ledger, params.cid ?? '') }
  ]
}

/** Every registered provider, with liveness as of the latest block. */
export function providerViews (ledger: LedgerNode): ProviderView[] {
  const view = ledger.view()
  const chain = ledger.chain
  return providerIndex(view).flatMap(address => {
    const p = getProvider(view, address)
    if (p === undefined) return []
    return [{
      address: toHex(address),
      peerId: peerIdOfPublicKey(p.node),
      publicKey: toHex(p.node),
      kinds: kindsOf(p),
      operator: toHex(p.operator),
      region: p.region,
      capacityBytes: p.capacityBytes,
      addrs: p.addrs,
      registeredAt: p.registeredAt,
      lastSeen: p.lastSeen,
      live: isProviderLive(p, chain.time, chain.genesis.params)
    }]
  })
}

function pinView (ledger: LedgerNode, cid: string): PinView {
  const pin = getPin(ledger.view(), cid)
  if (pin === undefined) throw new NotFoundError(`${cid.slice(0, 80)} is not pinned on this chain`)
  return {
    cid: pin.cid,
    owner: toHex(pin.owner),
    replicas: pin.replicas,
    regions: pin.regions,
    holders: pin.holders.map(toHex),
    ...(pin.name === undefined ? {} : { name: pin.name }),
    pinnedAt: pin.pinnedAt,
    repairs: pin.repairs,
    height: ledger.chain.height
  }
}

function status (ledger: LedgerNode, info: NodeInfo): StatusView {
  const chain = ledger.chain
  return {
    chainId: chain.genesis.chainId,
    nodeId: info.nodeId,
    roles: info.roles,
    height: chain.height,
    lastBlockHash: toHex(chain.lastHash),
    stateRoot: toHex(chain.state.root),
    time: chain.time,
    validators: chain.genesis.validators.map(v => ({ name: v.name, publicKey: toHex(v.publicKey), power: v.power })),
    consensus: ledger.consensusPosition,
    peers: info.peers(),
    mempool: ledger.mempool.size,
    p2p: info.p2p(),
    ...info.extra?.()
  }
}

function genesisView (ledger: LedgerNode): GenesisView {
  const g = ledger.genesis
  return {
    chainId: g.chainId,
    time: g.time,
    params: { ...g.params },
    validators: g.validators.map(v => ({ name: v.name, publicKey: toHex(v.publicKey), power: v.power })),
    accounts: g.accounts.map(a => ({ address: toHex(a.address), balance: a.balance }))
  }
}

function nameView (ledger: LedgerNode, input: string): NameView {
  const parsed = parseName(input)
  const view = ledger.view()
  const entry = view.name(parsed.name)
  if (entry === undefined) throw new NameNotFoundError(`${parsed.name} is not registered`)
  const expiresAt = effectiveExpiry(view, parsed, entry)
  return {
    name: entry.name,
    owner: toHex(entry.owner),
    registeredAt: entry.registeredAt,
    expiresAt,
    status: nameStatus(expiresAt, ledger.chain.time, ledger.genesis.params),
    version: entry.version,
    records: entry.records,
    height: ledger.chain.height
  }
}

function nameProof (ledger: LedgerNode, input: string): NameProofView {
  const parsed = parseName(input)
  const committed = ledger.lastCommitted
  if (committed === undefined) throw new NotFoundError('no block is committed yet; retry in a moment')
  const state = ledger.chain.state
  const part = (name: string): { entry: string | null, proof: string } => {
    const key = utf8.encode(stateKey.name(name))
    const value = state.get(key)
    return { entry: value === undefined ? null : toHex(value), proof: toHex(encodeProof(state.prove(key))) }
  }
  const own = part(parsed.name)
  return {
    name: parsed.name,
    ...own,
    header: toHex(committed.header),
    certificate: toHex(committed.certificate),
    ...(parsed.parent === undefined ? {} : { root: part(parsed.root) })
  }
}

function blockView (ledger: LedgerNode, heightParam: string): BlockView {
  const height = Number(heightParam)
  if (!Number.isSafeInteger(height) || height < 1) throw new MalformedMessageError('block height must be a positive integer')
  const stored = ledger.store.block(height)
  if (stored === undefined) throw new NotFoundError(`no block at height ${height} (the chain is at ${ledger.chain.height})`)
  const block = decodeBlock(stored.block)
  const h = block.header
  return {
    height,
    hash: toHex(stored.hash),
    time: h.time,
    parentHash: toHex(h.parentHash),
    stateRoot: toHex(h.stateRoot),
    proposer: toHex(h.proposer),
    txCount: h.txCount,
    txs: block.txs.map(t => toHex(txId(t))),
    txTypes: block.txs.map(t => decodeSignedTx(t).tx.body.type)
  }
}

function parseAddress (s: string): Uint8Array {
  try {
    return shape.bytes(fromHex(s), 'address', 20)
  } catch {
    throw new MalformedMessageError('an address is 40 hex characters')
  }
}

function hexTx (v: unknown): Uint8Array {
  if (typeof v === 'string' && v.length > maxTxBytes * 2) throw new PayloadTooLargeError(`transaction is ${v.length / 2} bytes; the limit is ${maxTxBytes}`)
  const s = shape.str(v, 'tx', maxTxBytes * 2)
  try {
    return fromHex(s)
  } catch {
    throw new MalformedMessageError('tx must be the hex of an encoded signed transaction')
  }
}
