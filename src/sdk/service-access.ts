/**
 * A name's services through the client: `key://mysite.key/api/...` goes to the service nodes
 * listed in the name's (verified) `service` record for the longest matching path, chosen by the
 * routing pool of that endpoint — measured latency, load, errors and region — with hedging and
 * retries for requests that can be sent twice. A request whose body cannot be replayed (large,
 * streamed) goes to one provider, once.
 */
import { UnavailableError, errorWithStatus } from '../foundations/errors.ts'
import type { NameRecords, ServiceEndpoint } from '../core/ledger/types.ts'
import type { ProviderInfo, ResolvedName } from '../services/content/directory.ts'
import { dialAddrs } from '../services/content/directory.ts'
import type { P2PHost } from '../services/p2p/index.ts'
import { routedCall, type RoutingPools } from '../services/routing/index.ts'
import type { ServiceClient } from '../services/service/index.ts'

/** Request bodies up to this size are buffered so the request can be retried or hedged; answers of a declared length up to it are read whole before the caller gets them. */
const maxReplayableBodyBytes = 1024 * 1024

/** None of the name's service nodes is live. */
export class NoServiceProviderError extends errorWithStatus(503) {}

/** The endpoint whose path prefix covers `path` (the longest one), if any. */
export function serviceEndpointFor (records: NameRecords, path: string): ServiceEndpoint | undefined {
  let best: ServiceEndpoint | undefined
  for (const e of records.service ?? []) {
    const prefix = e.path.endsWith('/') ? e.path.slice(0, -1) : e.path
    const covers = path === prefix || path.startsWith(`${prefix}/`) || prefix === ''
    if (covers && (best === undefined || e.path.length > best.path.length)) best = e
  }
  return best
}

/** A backend answered with a failure status; carries it in case every provider does. */
class FailedAnswer extends Error {
  readonly response: Response
  constructor (response: Response, provider: string) {
    super(`service node ${provider.slice(0, 12)}… answered ${response.status}`)
    this.response = response
  }
}

export interface ServiceCallContext {
  host: P2PHost
  pools: RoutingPools
  services: ServiceClient
  name: ResolvedName
  endpoint: ServiceEndpoint
  /** Live providers (any kind); the endpoint's service nodes are picked from them. */
  providers: ProviderInfo[]
}

export async function callService (ctx: ServiceCallContext, url: string, init: { method: string, headers: Headers, body: RequestInit['body'], signal: AbortSignal | undefined }): Promise<Response> {
  const nodes = ctx.providers.filter(p => ctx.endpoint.providers.includes(p.address) && p.kinds.includes('service'))
  if (nodes.length === 0) throw new NoServiceProviderError(`no live service node fronts ${ctx.name.name}${ctx.endpoint.path} (listed: ${ctx.endpoint.providers.length})`)
  const byId = new Map(nodes.map(p => [p.address, p]))
  const pool = ctx.pools.pool(`service:${ctx.name.name}${ctx.endpoint.path}`, nodes.map(p => ({ id: p.address, region: p.region })))
  const idempotent = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'].includes(init.method)
  const body = await replayable(init.body)
  const canRepeat = idempotent && body !== 'stream'
  const attempt = async (id: string, signal: AbortSignal): Promise<Response> => {
    const provider = byId.get(id)!
    if (!ctx.host.peers().includes(provider.peerId)) await connectAny(ctx.host, provider, signal)
    const request = new Request(url, {
      method: init.method,
      headers: init.headers,
      ...(body === undefined ? {} : body === 'stream' ? { body: init.body as RequestInit['body'], duplex: 'half' } : { body }),
      signal
    } as RequestInit)
    const response = await ctx.services.forward(provider.peerId, request, signal)
    // A 5xx means this copy of the backend (or its service node) failed: for the router it is a
    // failure like a timeout, never a fast answer, and another copy is tried when allowed.
    if (response.status >= 500 && canRepeat) {
      await response.body?.cancel().catch(() => {})
      throw new FailedAnswer(response, id)
    }
    // A small answer of declared length is read whole before the caller sees any of it: a body
    // cut off part-way is then this node's failure, and the request goes to another node. A
    // longer or unsized body streams as it arrives; if it breaks off, the caller's read fails
    // with a `ResponseCutOffError` (part of it may already be in the caller's hands).
    if (canRepeat && response.body !== null && declaredLength(response) <= maxReplayableBodyBytes) return await readWhole(response)
    return response
  }
  try {
    return await routedCall(pool, attempt, {
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      hedge: canRepeat && (init.method === 'GET' || init.method === 'HEAD'),
      retries: canRepeat ? 2 : 0,
      // A hedge loser that answers after the winner: its body is not wanted.
      discard: (late) => { late.body?.cancel().catch(() => {}) }
    })
  } catch (err) {
    if (init.signal?.aborted === true) throw err
    if (err instanceof UnavailableError) return Response.json({ error: { name: 'UnavailableError', message: err.message } }, { status: 502 })
    throw err
  }
}

/** The answer's `Content-Length`, Infinity when it has none (or a malformed one). */
function declaredLength (response: Response): number {
  const header = response.headers.get('content-length')
  const n = header === null || !/^\d{1,16}$/.test(header) ? Number.NaN : Number(header)
  return Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY
}

/** The same answer with its body read into memory; throws (the stream's error) if it breaks off. */
async function readWhole (response: Response): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer())
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers })
}

async function connectAny (host: P2PHost, p: ProviderInfo, signal: AbortSignal): Promise<void> {
  let last: unknown
  for (const addr of dialAddrs(p)) {
    try { await host.connect(addr, signal); return } catch (err) { last = err }
  }
  throw last
}

/** The body as bytes when it is small enough to send more than once, else 'stream'. */
async function replayable (body: RequestInit['body']): Promise<Uint8Array | undefined | 'stream'> {
  if (body === null || body === undefined) return undefined
  if (typeof body === 'string') return new TextEncoder().encode(body)
  if (body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (body instanceof Blob && body.size <= maxReplayableBodyBytes) return new Uint8Array(await body.arrayBuffer())
  return 'stream'
}
