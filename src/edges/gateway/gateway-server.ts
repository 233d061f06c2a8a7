/**
 * The HTTP gateway server: serves `.key` sites and CID content to ordinary browsers and tools
 * over node:http. Routing is in route.ts, content answers in serve-content.ts; this file owns
 * the server's lifecycle, its limits (header size, slow clients, concurrent requests), the
 * mapping of errors to statuses, and the `/status` counters.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { BlockGetter, CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import { KeynetError, NotFoundError } from '../../foundations/errors.ts'
import { abortable, Watchdog } from './cancellation.ts'
import {
  headersTimeoutMs, immutableMaxAgeSeconds, keepAliveTimeoutMs, maxConcurrentRequests, maxConnections,
  maxHeaderBytes, nameMaxAgeSeconds, requestTimeoutMs, retryAfterSeconds, stallTimeoutMs
} from './constants.ts'
import { cachedGetter, memoryFirstGetter, type CacheStats, type EdgeCache } from './edge-cache.ts'
import type { HotCopies, HotCopiesStatus } from './hot-copies.ts'
import { GatewayBusyError, MethodNotAllowedError } from './errors.ts'
import { sendText, sendWhole } from './respond.ts'
import { ResolvedPaths } from './resolved-paths.ts'
import { isDnsQueryTarget, routeRequest } from './route.ts'
import { serveDnsQuery, type DnsQueryHandler } from './doh.ts'
import type { DnsStats } from '../dns/dns-answerer.ts'
import { serveContent } from './serve-content.ts'
import { WarmPages } from './warm-pages.ts'

/**
 * Looks up what a `.key` name points at. Throws `NameNotFoundError` (404) or
 * `NameExpiredError` (410) from foundations/errors, or `NoContentError` (404, gateway/errors)
 * when the name has no content record.
 */
export interface NameResolver {
  resolve: (name: string, signal?: AbortSignal) => Promise<{ cid: CID, version: number }>
}

/** What a gateway is built from. */
export interface GatewayServerInit {
  /** Names to root CIDs. */
  resolver: NameResolver
  /** Verified blocks of the content under a root (from the root's holders). */
  blocks: (root: CID) => BlockGetter
  /** When given, blocks are served from and stored in it, and `/status` reports it. */
  cache?: EdgeCache
  /** Paths of a name that its `service` record sends to a backend (`/api/...`), through the client. */
  forward?: ServiceForwarder
  /** Extra local copies of hot content. */
  hot?: HotCopies
  /** When given, `/dns-query` answers DNS over HTTPS (RFC 8484) with it. */
  dns?: DnsQueryHandler
  /** The DNS answerer's counters, shown in `/status`. */
  dnsStats?: () => DnsStats
  /** Receives one line per unexpected failure. */
  log?: (line: string) => void
  /** A response with no progress for this long is aborted (default `stallTimeoutMs`). */
  stallTimeoutMs?: number
}

/** What the gateway needs to pass requests for a name's services to the client. */
export interface ServiceForwarder {
  /** Whether `path` of `name` is a service path (its `service` record covers it). */
  isServicePath: (name: string, path: string, signal?: AbortSignal) => Promise<boolean>
  /** The client's `fetch` for `key://` URLs. */
  fetch: (url: string, init: RequestInit & { duplex?: 'half' }) => Promise<Response>
}

/** The body of `GET /status`. */
export interface GatewayStatus {
  /** Seconds since the server was built. */
  uptime: number
  /** Requests received. */
  requests: number
  /** Requests being served now. */
  active: number
  /** Responses cut off mid-body (client gone, stall, or upstream failure). */
  aborted: number
  /** The edge cache's counters, or null without a cache. */
  cache: CacheStats | null
  /** Small files kept whole as ready answers: how many, their bytes, and the requests they answered. */
  pages: { pages: number, bytes: number, hits: number }
  /** Completed responses by HTTP status code. */
  byStatus: Record<string, number>
  /** Hot content: thresholds, the busiest roots, and the copy decisions made. */
  hot?: HotCopiesStatus
  /** The DNS bridge's counters (queries, cache hits, verified lookups, answers by rcode). */
  dns?: DnsStats
}

const allowedMethods = 'GET, HEAD'

/**
 * An HTTP gateway for `.key` sites and `/ipfs/<cid>` content; see the module comment.
 * `new GatewayServer({ resolver, blocks, cache, log }).listen('127.0.0.1', 8080)`.
 */
export class GatewayServer {
  private readonly server: Server
  private readonly resolver: NameResolver
  private readonly get: (root: CID) => BlockGetter
  private readonly forward: ServiceForwarder | undefined
  private readonly hot: HotCopies | undefined
  private readonly dns: DnsQueryHandler | undefined
  private readonly dnsStats: (() => DnsStats) | undefined
  private readonly cache: EdgeCache | undefined
  private readonly log: (line: string) => void
  private readonly stallTimeoutMs: number
  private readonly startedMs = Date.now()
  private readonly byStatus = new Map<number, number>()
  private readonly paths = new ResolvedPaths()
  private readonly pages = new WarmPages()
  private requests = 0
  private active = 0
  private aborted = 0

  constructor (init: GatewayServerInit) {
    this.resolver = init.resolver
    this.cache = init.cache
    this.forward = init.forward
    this.hot = init.hot
    this.dns = init.dns
    this.dnsStats = init.dnsStats
    const cache = init.cache
    const hot = init.hot
    const base = cache === undefined ? init.blocks : (root: CID) => cachedGetter(cache, init.blocks(root))
    const withHot = hot === undefined ? base : (root: CID) => hot.getter(root, base(root))
    // Hot copies live on disk: the cache's memory tier goes in front of them too.
    this.get = hot === undefined || cache === undefined ? withHot : root => memoryFirstGetter(cache, withHot(root))
    this.log = init.log ?? (() => {})
    this.stallTimeoutMs = init.stallTimeoutMs ?? stallTimeoutMs
    this.server = createServer({
      maxHeaderSize: maxHeaderBytes,
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs
    }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log(`gateway: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`)
        res.destroy()
      })
    })
    this.server.maxConnections = maxConnections
    // Accept failures (say, out of file descriptors) are logged; the server keeps listening.
    this.server.on('error', err => this.log(`gateway: server error: ${err.message}`))
  }

  /** Starts listening; resolves with the base URL (`http://host:port`, the real port for 0). */
  async listen (host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => { this.server.off('error', reject); resolve() })
    })
    const addr = this.server.address() as AddressInfo
    return `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`
  }

  /** Stops listening and closes every connection, cutting off responses in flight. */
  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  /** The counters `/status` serves. */
  status (): GatewayStatus {
    return {
      uptime: Math.round((Date.now() - this.startedMs) / 1000),
      requests: this.requests,
      active: this.active,
      aborted: this.aborted,
      cache: this.cache?.stats() ?? null,
      pages: this.pages.stats(),
      byStatus: Object.fromEntries([...this.byStatus].sort((a, b) => a[0] - b[0]).map(([code, n]) => [String(code), n])),
      ...(this.hot === undefined ? {} : { hot: this.hot.status() }),
      ...(this.dnsStats === undefined ? {} : { dns: this.dnsStats() })
    }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++
    const controller = new AbortController()
    res.on('close', () => {
      if (res.writableFinished) this.byStatus.set(res.statusCode, (this.byStatus.get(res.statusCode) ?? 0) + 1)
      else {
        // Cut off (client gone): stop the work still running for it. A finished response has
        // none left, and an abort would build an exception for nothing on every request.
        this.aborted++
        controller.abort()
      }
    })
    const head = req.method === 'HEAD'
    if (this.active >= maxConcurrentRequests) {
      const err = new GatewayBusyError(`the gateway is serving ${maxConcurrentRequests} requests; retry in ${retryAfterSeconds} s`)
      sendText(res, err.status, `${err.status} ${STATUS_CODES[err.status]}: ${err.message}`, head, { 'retry-after': String(retryAfterSeconds), 'cache-control': 'no-store' })
      return
    }
    this.active++
    const watchdog = new Watchdog(controller, this.stallTimeoutMs)
    try {
      await this.serve(req, res, controller.signal, watchdog)
    } catch (err) {
      this.fail(req, res, err, controller.signal)
    } finally {
      watchdog.stop()
      this.active--
    }
  }

  private async serve (req: IncomingMessage, res: ServerResponse, signal: AbortSignal, watchdog: Watchdog): Promise<void> {
    const target = req.url ?? '/'
    if (this.dns !== undefined && isDnsQueryTarget(req.headers.host, target)) {
      await serveDnsQuery(req, res, this.dns, new URLSearchParams(target.slice('/dns-query?'.length)))
      return
    }
    const { route, query } = routeRequest(req.headers.host, target)
    const forward = this.forward
    if (forward !== undefined && route?.kind === 'name') {
      const path = `/${route.segments.map(encodeURIComponent).join('/')}${route.trailingSlash && route.segments.length > 0 ? '/' : ''}`
      if (await forward.isServicePath(route.name, path, signal)) {
        await forwardToService(forward, req, res, `key://${route.name}${path}${query.size > 0 ? `?${query.toString()}` : ''}`, signal)
        return
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new MethodNotAllowedError(`method ${String(req.method).slice(0, 16)} is not served; the gateway answers GET and HEAD`)
    }
    const head = req.method === 'HEAD'
    if (route === undefined) {
      throw new NotFoundError('nothing here: the gateway serves /ipfs/<cid>/<path>, /key/<name>.key/<path>, and any path with Host: <name>.key')
    }
    if (route.kind === 'status') {
      sendWhole(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(this.status()), head)
      return
    }
    let root: CID
    let cacheControl: string
    if (route.kind === 'name') {
      root = (await abortable(this.resolver.resolve(route.name, signal), signal)).cid
      cacheControl = `public, max-age=${nameMaxAgeSeconds}`
    } else {
      root = route.cid
      cacheControl = `public, max-age=${immutableMaxAgeSeconds}, immutable`
    }
    this.hot?.record(root)
    await serveContent(res, { head, headers: req.headers, route, query, root, cacheControl }, { get: this.get(root), signal, watchdog, paths: this.paths, pages: this.pages })
  }

  /** Answers an error with its status, or cuts the connection when the body had begun. */
  private fail (req: IncomingMessage, res: ServerResponse, err: unknown, signal: AbortSignal): void {
    const clientGone = signal.aborted && !(signal.reason instanceof KeynetError)
    if (res.headersSent || res.destroyed || clientGone) {
      if (!clientGone) this.log(`gateway: ${req.method} ${req.url}: response cut off: ${(err as Error).message}`)
      res.destroy()
      return
    }
    // A stall aborts the request with a TimeoutError; whatever the aborted call threw, report that.
    const cause = signal.aborted && signal.reason instanceof KeynetError ? signal.reason : err
    const status = statusOf(cause)
    const message = status === 500 ? 'internal error; the gateway log has the details' : (cause as Error).message
    if (status === 500) this.log(`gateway: ${req.method} ${req.url}: ${(cause as Error).stack ?? String(cause)}`)
    const headers: Record<string, string> = { 'cache-control': 'no-store' }
    if (status === 405) headers.allow = allowedMethods
    sendText(res, status, `${status} ${STATUS_CODES[status] ?? 'Error'}: ${message}`, req.method === 'HEAD', headers)
  }
}

/**
 * The status for an error: its own, except that upstream trouble (a 503 from the block getter
 * or resolver, or bytes that do not match their CID) is this gateway's 502 Bad Gateway;
 * anything unknown is a 500.
 */
function statusOf (err: unknown): number {
  if (err instanceof BlockMismatchError) return 502
  if (err instanceof KeynetError) return err.status === 503 ? 502 : err.status
  return 500
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) never pass a proxy. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length'])

/** Sends the request on through the client and streams its answer back. */
async function forwardToService (forward: ServiceForwarder, req: IncomingMessage, res: ServerResponse, url: string, signal: AbortSignal): Promise<void> {
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || hopByHop.has(k)) continue
    for (const value of Array.isArray(v) ? v : [v]) headers.append(k, value)
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const response = await forward.fetch(url, {
    method,
    headers,
    signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' as const } : {})
  })
  const out: Record<string, string> = {}
  response.headers.forEach((value, key) => { if (!hopByHop.has(key)) out[key] = value })
  res.writeHead(response.status, out)
  if (response.body === null || method === 'HEAD') { res.end(); return }
  await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), res)
}
