import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { errorBody, KeynetError, MalformedMessageError, NotFoundError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { maxApiBodyBytes } from '../../foundations/limits.ts'

/** One API request as a handler sees it. */
export interface ApiRequest {
  method: string
  path: string
  params: Record<string, string>
  query: URLSearchParams
  /** The parsed JSON body (undefined without one). */
  body: unknown
  signal: AbortSignal
}

/** A handler's answer: a JSON value (200), or a status with a body, or raw text. */
export type ApiResult = unknown | { status: number, json?: unknown, text?: string, contentType?: string }

export interface Route {
  method: 'GET' | 'POST'
  /** Path pattern with `:param` segments, e.g. `/v1/names/:name`. */
  path: string
  handler: (req: ApiRequest) => Promise<ApiResult> | ApiResult
}

interface CompiledRoute extends Route { regex: RegExp, keys: string[] }

const rawResult = Symbol('raw')
/** Marks a result that sets its own status and content type. */
export function raw (status: number, body: { json?: unknown, text?: string, contentType?: string }): ApiResult {
  return { [rawResult]: true, status, ...body }
}

/**
 * A small JSON-over-HTTP server: routes compiled once, bodies bounded by `maxApiBodyBytes`,
 * every operating error answered as `{ error: { name, message } }` with its status, and a
 * request aborted when its client goes away.
 */
export class ApiServer {
  private readonly routes: CompiledRoute[]
  private readonly server: Server
  private readonly log: (line: string) => void

  constructor (routes: Route[], log: (line: string) => void = () => {}) {
    this.log = log
    this.routes = routes.map(r => {
      const keys: string[] = []
      const pattern = r.path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => { keys.push(k); return '([^/]+)' })
      return { ...r, regex: new RegExp(`^${pattern}$`), keys }
    })
    this.server = createServer((req, res) => { void this.serve(req, res) })
    this.server.keepAliveTimeout = 30_000
  }

  async listen (host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => { this.server.off('error', reject); resolve() })
    })
    const addr = this.server.address() as AddressInfo
    return `http://${host}:${addr.port}`
  }

  async close (): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController()
    res.on('close', () => controller.abort())
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const method = req.method === 'HEAD' ? 'GET' : req.method ?? 'GET'
      let match: { route: CompiledRoute, params: Record<string, string> } | undefined
      for (const route of this.routes) {
        if (route.method !== method) continue
        const m = route.regex.exec(url.pathname)
        if (m === null) continue
        const params: Record<string, string> = {}
        route.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1] ?? '') })
        match = { route, params }
        break
      }
      if (match === undefined) throw new NotFoundError(`no API route ${method} ${url.pathname}; see /v1/openapi.json`)
      const body = method === 'POST' ? await readJson(req) : undefined
      const result = await match.route.handler({ method, path: url.pathname, params: match.params, query: url.searchParams, body, signal: controller.signal })
      if (typeof result === 'object' && result !== null && rawResult in result) {
        const r = result as unknown as { status: number, json?: unknown, text?: string, contentType?: string }
        if (r.text !== undefined) send(res, r.status, r.text, r.contentType ?? 'text/plain; charset=utf-8')
        else send(res, r.status, JSON.stringify(r.json ?? null), 'application/json')
      } else {
        send(res, 200, JSON.stringify(result ?? null), 'application/json')
      }
    } catch (err) {
      const status = err instanceof KeynetError ? err.status : 500
      if (status === 500) this.log(`api: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`)
      if (!res.headersSent) send(res, status, JSON.stringify(errorBody(err)), 'application/json')
      else res.destroy()
    }
  }
}

function send (res: ServerResponse, status: number, body: string, contentType: string): void {
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

async function readJson (req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxApiBodyBytes) throw new PayloadTooLargeError(`request body is ${declared} bytes; the limit is ${maxApiBodyBytes}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > maxApiBodyBytes) throw new PayloadTooLargeError(`request body exceeds ${maxApiBodyBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new MalformedMessageError('request body is not valid JSON')
  }
}
