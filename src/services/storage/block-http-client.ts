/**
 * The client of a storage node's HTTP block endpoint (block-http.ts): asks for a batch of blocks
 * on a keep-alive connection and hands each one over as soon as it arrived and matched its CID.
 * Wrong bytes throw `BlockMismatchError` (the blocks before them were delivered), a broken
 * answer `MalformedMessageError`, a connection reset or cut `UnavailableError`, and a connection
 * that could not be opened at all `HttpEndpointUnreachableError` (an `UnavailableError`).
 *
 * @example
 * ```ts
 * const client = new HttpBlockClient({ url: 'http://127.0.0.1:7790' })
 * await client.getBatch(cids, signal, (i, bytes) => { use(cids[i], bytes) })   // bytes undefined: not held
 * client.close()
 * ```
 */
import { Agent, request, type IncomingMessage } from 'node:http'
import { MalformedMessageError, TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import { rawCode, type CID } from '../../core/content/cid.ts'
import { BlockMismatchError } from '../../core/content/errors.ts'
import { BlockFrameReader } from './block-frames.ts'
import { receivedBlockBuffers } from './block-buffers.ts'
import { sharedBlockVerifier } from './block-verifier.ts'
import { HttpEndpointUnreachableError } from './errors.ts'
import { blocksMediaType, blocksPath } from './block-http.ts'
import { httpBlockIdleTimeoutMs, maxHttpCidsPerRequest, maxHttpErrorBodyBytes, maxHttpSocketsPerProvider } from './constants.ts'

/** Receives block `index` of a batch: its verified bytes, or undefined when the node does not hold it. */
export type OnBlock = (index: number, bytes: Uint8Array | undefined) => void

export interface HttpBlockClientInit {
  /** The endpoint's base URL, `http://host:port`. */
  url: string
}

/** Batched block requests to one storage node over HTTP. */
export class HttpBlockClient {
  readonly url: string
  readonly #agent: Agent

  constructor (init: HttpBlockClientInit) {
    this.url = init.url
    this.#agent = new Agent({ keepAlive: true, maxSockets: maxHttpSocketsPerProvider, timeout: httpBlockIdleTimeoutMs, noDelay: true })
  }

  /**
   * Asks for `cids` (at most `maxHttpCidsPerRequest`) and calls `onBlock` for each, in order, as
   * it arrives verified. Resolves once all arrived; throws at the first failure.
   */
  async getBatch (cids: readonly CID[], signal: AbortSignal, onBlock: OnBlock): Promise<void> {
    if (cids.length === 0) return
    if (cids.length > maxHttpCidsPerRequest) throw new RangeError(`at most ${maxHttpCidsPerRequest} CIDs per HTTP block request`)
    signal.throwIfAborted()
    const path = `${blocksPath}?cids=${cids.map(c => c.toString()).join(',')}`
    const res = await this.#send(path, signal)
    if (res.statusCode !== 200) {
      const body = await readSmall(res, signal)
      throw errorFor(this.url, res.statusCode ?? 0, body)
    }
    const type = res.headers['content-type'] ?? ''
    if (!type.startsWith(blocksMediaType)) {
      res.destroy()
      throw new MalformedMessageError(`${this.url} answered a block request with content-type "${type}", not ${blocksMediaType}`)
    }
    // Raw blocks (file chunks, no links into them) gather in reusable buffers; the reader that
    // writes them out gives them back (block-buffers.ts).
    const reader = new BlockFrameReader(cids.length, (i, bytes) => cids[i]?.code === rawCode ? receivedBlockBuffers.take(bytes) : new Uint8Array(bytes))
    await new Promise<void>((resolve, reject) => {
      let settled = false
      const finish = (err?: unknown): void => {
        if (settled) return
        settled = true
        signal.removeEventListener('abort', onAbort)
        if (err === undefined) resolve()
        else {
          res.destroy()
          reject(err)
        }
      }
      const onAbort = (): void => { finish(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      // Blocks are verified off this thread where they can be (block-verifier.ts) and handed
      // over in order, each once verified: a wrong block still stops the ones after it.
      let delivered: Promise<void> = Promise.resolve()
      const deliver = async (i: number, bytes: Uint8Array | undefined): Promise<void> => {
        const cid = cids[i] as CID
        if (bytes !== undefined && !await verifier.matches(cid, bytes)) {
          throw new BlockMismatchError(`${this.url} sent bytes for ${cid.toString()} that do not hash to it`)
        }
        if (!settled) onBlock(i, bytes)
      }
      const verifier = sharedBlockVerifier()
      /** Ends the batch once the blocks before this point are handed over (or one of them failed). */
      const finishAfterDelivered = (err?: unknown): void => { delivered.then(() => { finish(err) }, finish) }
      res.on('data', (chunk: Buffer) => {
        if (settled) return
        try {
          const first = reader.done
          const blocks = reader.push(chunk)
          for (const [k, bytes] of blocks.entries()) {
            const i = first + k
            delivered = delivered.then(async () => { await deliver(i, bytes) })
          }
          delivered.catch(finish)
        } catch (err) {
          finishAfterDelivered(err)
        }
      })
      res.on('end', () => {
        try {
          reader.end()
          finishAfterDelivered()
        } catch (err) {
          finishAfterDelivered(err)
        }
      })
      res.on('error', (err) => { finishAfterDelivered(unreachable(this.url, err)) })
      res.on('close', () => {
        finishAfterDelivered(reader.complete ? undefined : unreachable(this.url, new Error(`the connection closed after ${reader.done} of ${cids.length} blocks`)))
      })
    })
  }

  /** Closes the kept-alive connections. */
  close (): void {
    this.#agent.destroy()
  }

  async #send (path: string, signal: AbortSignal): Promise<IncomingMessage> {
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${this.url}${path}`, { agent: this.#agent, signal, headers: { accept: blocksMediaType } }, resolve)
      req.on('error', (err) => {
        if (signal.aborted) reject(signal.reason)
        else if (connectFailures.has((err as NodeJS.ErrnoException).code ?? '')) reject(new HttpEndpointUnreachableError(`${this.url}: ${(err as NodeJS.ErrnoException).code ?? ''}: no connection could be opened`))
        else reject(unreachable(this.url, err))
      })
      req.end()
    })
  }
}

/** Errors of a connection that never opened (unlike a reset or a cut, which need an open one). */
const connectFailures = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'])

/** A connection-level failure: the node is down, restarting or cut off. */
function unreachable (url: string, err: unknown): UnavailableError {
  const e = err as NodeJS.ErrnoException
  return new UnavailableError(`${url}: ${e.code ?? e.message}`)
}

function errorFor (url: string, status: number, body: string): Error {
  let detail = body.slice(0, 200)
  try {
    const parsed = JSON.parse(body) as { error?: { name?: string, message?: string } }
    if (parsed.error?.message !== undefined) detail = `${parsed.error.name ?? 'Error'}: ${parsed.error.message}`
  } catch {}
  const text = `${url} answered HTTP ${status}: ${detail}`
  if (status === 503) return new UnavailableError(text)
  if (status === 504) return new TimeoutError(text)
  return new MalformedMessageError(text)
}

/** The start of an error body, at most `maxHttpErrorBodyBytes`. */
async function readSmall (res: IncomingMessage, signal: AbortSignal): Promise<string> {
  const parts: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of res.iterator({ destroyOnReturn: true })) {
      signal.throwIfAborted()
      parts.push(chunk as Buffer)
      bytes += (chunk as Buffer).byteLength
      if (bytes >= maxHttpErrorBodyBytes) break
    }
  } catch {}
  return Buffer.concat(parts).subarray(0, maxHttpErrorBodyBytes).toString('utf8')
}
