import { toHex } from '../../foundations/bytes.ts'
import { KeynetError, UnavailableError } from '../../foundations/errors.ts'
import type { PinView, ProviderView } from './types.ts'
import type { DealView, MarketStatusView, OfferView, StakeView } from './market-routes.ts'
import type { ComputeOfferView, ComputeTaskView } from './compute-routes.ts'
import type { AccountView, BlockView, GenesisView, NameProofView, NameView, StatusView, TxStatusView, TxSubmitted } from './types.ts'

/** An error the node answered with, carrying its stable name (`NameTakenError`, …) and status. */
export class ApiError extends KeynetError {
  override readonly status: number
  constructor (name: string, message: string, status: number) {
    super(message)
    this.name = name
    this.status = status
  }
}

/** Typed client of one node's JSON API; what the CLI and later SDKs use. */
export class ApiClient {
  readonly base: string

  constructor (base: string) {
    this.base = base.replace(/\/+$/, '')
  }

  status (signal?: AbortSignal): Promise<StatusView> { return this.get('/v1/status', signal) }
  genesis (signal?: AbortSignal): Promise<GenesisView> { return this.get('/v1/genesis', signal) }
  account (address: string, signal?: AbortSignal): Promise<AccountView> { return this.get(`/v1/accounts/${address}`, signal) }
  name (name: string, signal?: AbortSignal): Promise<NameView> { return this.get(`/v1/names/${encodeURIComponent(name)}`, signal) }
  nameProof (name: string, signal?: AbortSignal): Promise<NameProofView> { return this.get(`/v1/names/${encodeURIComponent(name)}/proof`, signal) }
  block (height: number, signal?: AbortSignal): Promise<BlockView> { return this.get(`/v1/blocks/${height}`, signal) }
  providers (signal?: AbortSignal): Promise<{ providers: ProviderView[], height: number }> { return this.get('/v1/providers', signal) }
  pin (cid: string, signal?: AbortSignal): Promise<PinView> { return this.get(`/v1/pins/${encodeURIComponent(cid)}`, signal) }

  market (signal?: AbortSignal): Promise<MarketStatusView> { return this.get('/v1/market', signal) }
  offers (filter: { kind?: string, region?: string } = {}, signal?: AbortSignal): Promise<{ period: number, offers: OfferView[] }> { return this.get(`/v1/market/offers${query(filter)}`, signal) }
  deals (filter: { client?: string, provider?: string, cid?: string } = {}, signal?: AbortSignal): Promise<{ deals: DealView[] }> { return this.get(`/v1/market/deals${query(filter)}`, signal) }
  deal (id: string, signal?: AbortSignal): Promise<DealView> { return this.get(`/v1/market/deals/${encodeURIComponent(id)}`, signal) }
  stake (operator: string, signal?: AbortSignal): Promise<StakeView> { return this.get(`/v1/market/stakes/${operator}`, signal) }
  record (provider: string, signal?: AbortSignal): Promise<{ provider: string, earned: number, periods: Array<{ period: number, outcome: string }> }> { return this.get(`/v1/market/records/${provider}`, signal) }

  computeOffers (filter: { region?: string } = {}, signal?: AbortSignal): Promise<{ period: number, offers: ComputeOfferView[] }> { return this.get(`/v1/compute/offers${query(filter)}`, signal) }
  computeTask (id: string, signal?: AbortSignal): Promise<ComputeTaskView> { return this.get(`/v1/compute/tasks/${encodeURIComponent(id)}`, signal) }

  submitTx (encoded: Uint8Array, signal?: AbortSignal): Promise<TxSubmitted> {
    return this.post('/v1/txs', { tx: toHex(encoded) }, signal)
  }

  submitTxs (encoded: Uint8Array[], signal?: AbortSignal): Promise<{ results: Array<{ id?: string, error?: { name: string, message: string } }> }> {
    return this.post('/v1/txs/batch', { txs: encoded.map(toHex) }, signal)
  }

  /** Status of a transaction; with `waitMs` the node holds the request until it commits or the wait ends. */
  tx (id: string, waitMs = 0, signal?: AbortSignal): Promise<TxStatusView> {
    return this.get(`/v1/txs/${id}${waitMs > 0 ? `?wait=${waitMs}` : ''}`, signal)
  }

  async get<T> (path: string, signal?: AbortSignal): Promise<T> {
    return await this.request<T>('GET', path, undefined, signal)
  }

  async post<T> (path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return await this.request<T>('POST', path, body, signal)
  }

  private async request<T> (method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal
      })
    } catch (err) {
      if (signal?.aborted === true) throw err
      throw new UnavailableError(`cannot reach the node API at ${this.base} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is the node running? Start a local network with \`npm start\` or pass --api URL`)
    }
    const text = await res.text()
    let json: unknown
    try {
      json = text === '' ? null : JSON.parse(text)
    } catch {
      throw new ApiError('MalformedMessageError', `the node at ${this.base} answered ${res.status} with non-JSON`, res.status)
    }
    if (!res.ok) {
      const e = (json as { error?: { name?: string, message?: string } } | null)?.error
      throw new ApiError(e?.name ?? 'Error', e?.message ?? `HTTP ${res.status}`, res.status)
    }
    return json as T
  }
}

function query (filter: Record<string, string | undefined>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) params.set(k, v)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}
