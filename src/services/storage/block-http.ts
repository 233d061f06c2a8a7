/**
 * A storage node's HTTP block endpoint, the plain-HTTP way to fetch blocks as in IPFS trustless
 * HTTP retrieval: the client verifies every block against its CID, so nothing here needs a secure
 * channel, and a fetch of a large file costs one keep-alive request per batch of blocks instead
 * of a libp2p stream per block.
 *
 * `GET /v1/blocks?cids=<cid>,<cid>,…` (at most `maxHttpCidsPerRequest`, CIDv1 base32) answers 200
 * with `application/vnd.keynet.blocks`: the blocks in the order asked, raw-framed
 * (block-frames.ts), "not held" for those the node does not have, streamed as they are read from
 * disk. Errors are JSON `{ error: { name, message } }`: 400 for a bad list, 404 for another path,
 * 405 for another method, 503 with Retry-After past `maxConcurrentHttpBlockRequests`.
 *
 * @example
 * ```ts
 * const server = await BlockHttpServer.listen(store, { host: '127.0.0.1', port: 0 })
 * registration.setExtraAddrs(server.addrs(p2p.multiaddrs()))   // /ip4/127.0.0.1/tcp/<port>/http
 * // … curl 'http://127.0.0.1:<port>/v1/blocks?cids=bafk…,bafk…' …
 * await server.close()
 * ```
 */
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { MalformedMessageError, errorBody } from '../../foundations/errors.ts'
import { parseCid, type CID } from '../../core/content/cid.ts'
import { maxBlockBytes } from '../../core/content/constants.ts'
import { frameHeader } from './block-frames.ts'
import type { BlockStore } from './block-store.ts'
import {
  httpBlockHeadersTimeoutMs, httpBlockIdleTimeoutMs, maxConcurrentHttpBlockRequests, maxHttpBlockConnections, maxHttpBlockHeaderBytes,
  maxHttpBlockUrlChars, maxHttpCidsPerRequest, pooledHttpBlockBuffers
} from './constants.ts'
import { httpAddrsFor } from './http-addr.ts'

/** The media type of a raw-framed block answer. */
export const blocksMediaType = 'application/vnd.keynet.blocks'
/** The path of the batch endpoint. */
export const blocksPath = '/v1/blocks'

/** Where the endpoint listens. */
export interface BlockHttpListen {
  host: string
  /** 0 for any free port. */
  port: number
}

/** The part of a block store the endpoint reads. */
export type HttpServedStore = Pick<BlockStore, 'readInto'>

/** Serves the blocks of one store over HTTP. */
export class BlockHttpServer {
  readonly #server: Server
  readonly #store: HttpServedStore
  readonly #host: string
  #active = 0
  /** Block buffers whose bytes reached the socket, for the next reads (at most `pooledHttpBlockBuffers`). */
  readonly #pool: Uint8Array[] = []

  private constructor (store: HttpServedStore, host: string) {
    this.#store = store
    this.#host = host
    this.#server = createServer({ headersTimeout: httpBlockHeadersTimeoutMs, requestTimeout: 0, keepAliveTimeout: httpBlockIdleTimeoutMs, maxHeaderSize: maxHttpBlockHeaderBytes }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => { res.destroy(err as Error) })
    })
    this.#server.maxConnections = maxHttpBlockConnections
    this.#server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true)
      socket.setTimeout(httpBlockIdleTimeoutMs, () => { socket.destroy() })
    })
    this.#server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      else socket.destroy()
    })
  }

  /** Starts serving `store` on `listen`. */
  static async listen (store: HttpServedStore, listen: BlockHttpListen): Promise<BlockHttpServer> {
    const s = new BlockHttpServer(store, listen.host)
    s.#server.listen(listen.port, listen.host)
    await once(s.#server, 'listening')
    return s
  }

  /** The port it listens on. */
  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  /** Its multiaddrs for the provider registration, given the node's libp2p addresses. */
  addrs (libp2pAddrs: readonly string[]): string[] {
    return httpAddrsFor(this.#host, this.port, libp2pAddrs)
  }

  /** Requests being answered now. */
  get active (): number {
    return this.#active
  }

  async close (): Promise<void> {
    const closed = once(this.#server, 'close')
    this.#server.close()
    this.#server.closeAllConnections()
    await closed
  }

  async #read (cid: CID): Promise<Uint8Array | undefined> {
    return await this.#store.readInto(cid, bytes => {
      const pooled = this.#pool.pop()
      return pooled !== undefined && pooled.byteLength >= bytes ? pooled : new Uint8Array(Math.max(bytes, maxBlockBytes))
    })
  }

  /** Returns a block's buffer once the socket took its bytes. */
  #release (bytes: Uint8Array): void {
    if (this.#pool.length < pooledHttpBlockBuffers && bytes.buffer.byteLength >= maxBlockBytes) this.#pool.push(new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength))
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? ''
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== blocksPath) return fail(res, 404, 'NotFoundError', `no such path; blocks are at ${blocksPath}?cids=<cid>,<cid>,…`)
    if (req.method !== 'GET') return fail(res, 405, 'MethodNotAllowedError', 'use GET', { allow: 'GET' })
    let cids: CID[]
    try {
      cids = parseCidList(url, q)
    } catch (err) {
      return fail(res, 400, (err as Error).name, (err as Error).message)
    }
    if (this.#active >= maxConcurrentHttpBlockRequests) {
      return fail(res, 503, 'UnavailableError', `${maxConcurrentHttpBlockRequests} block requests are being answered; try again shortly`, { 'retry-after': '1' })
    }
    this.#active += 1
    const gone = new AbortController()
    res.once('close', () => { gone.abort() })
    try {
      res.writeHead(200, { 'content-type': blocksMediaType, 'cache-control': 'no-store' })
      // Reads one block ahead of the socket: disk and network overlap.
      let next = this.#read(cids[0] as CID)
      for (let i = 0; i < cids.length; i++) {
        const bytes = await next
        if (gone.signal.aborted) {
          if (bytes !== undefined) this.#release(bytes)
          return
        }
        if (i + 1 < cids.length) {
          next = this.#read(cids[i + 1] as CID)
          next.catch(() => {})
        }
        res.write(frameHeader(bytes?.byteLength))
        if (bytes !== undefined && !res.write(bytes, () => { this.#release(bytes) })) await drained(res, gone.signal)
      }
      res.end()
    } finally {
      this.#active -= 1
    }
  }
}

/** The CIDs of `?cids=a,b,c`; throws `MalformedMessageError` naming what is wrong. */
function parseCidList (url: string, q: number): CID[] {
  if (url.length > maxHttpBlockUrlChars) throw new MalformedMessageError(`the request URL is longer than ${maxHttpBlockUrlChars} characters; ask at most ${maxHttpCidsPerRequest} CIDs`)
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const list = params.get('cids')
  if (list === null || list === '') throw new MalformedMessageError('name the blocks: ?cids=<cid>,<cid>,…')
  const parts = list.split(',')
  if (parts.length > maxHttpCidsPerRequest) throw new MalformedMessageError(`at most ${maxHttpCidsPerRequest} CIDs per request, got ${parts.length}`)
  return parts.map(parseCid)
}

function fail (res: ServerResponse, status: number, name: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(errorBody(Object.assign(new Error(message), { name })))
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}

async function drained (res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      res.off('drain', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    res.on('drain', done)
    signal.addEventListener('abort', done, { once: true })
  })
}
