/**
 * One HTTP request to an owner's backend, with `node:http` / `node:https` and a keep-alive agent
 * per service node. The body is written chunk by chunk, each write waiting while the backend's
 * socket is full; the response body is read as the caller takes it. Bytes pass through as they
 * are: no content decoding, no headers added beyond those given.
 *
 * Not `fetch`: with `redirect: 'manual'` (needed to pass a backend's 3xx through) undici clones
 * the request, which tees a streamed body and keeps the unread branch, so an upload is held in
 * memory whole (measured: 256 MiB held for a 256 MiB upload). It also decodes compressed answers,
 * refuses some ports, and adds headers of its own.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { MalformedMessageError } from '../../foundations/errors.ts'
import type { HeaderList } from './http-wire.ts'

/** Keep-alive connection pools to backends, one per scheme. */
export interface BackendAgents {
  http: HttpAgent
  https: HttpsAgent
}

/** Pools that keep connections to backends open between requests, at most `maxSockets` per backend. */
export function createBackendAgents (maxSockets: number): BackendAgents {
  return {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets })
  }
}

/** A request on its way: `response` settles with the backend's answer or the failure. */
export interface BackendCall {
  request: ClientRequest
  response: Promise<IncomingMessage>
}

/**
 * Opens a request (nothing of the body is sent yet). Aborting `signal` destroys it. Throws
 * `MalformedMessageError` for a header Node refuses to send.
 */
export function callBackend (url: URL, method: string, headers: HeaderList, agents: BackendAgents, signal: AbortSignal): BackendCall {
  const outgoing: Record<string, string | string[]> = {}
  for (const [name, value] of headers) {
    const current = outgoing[name]
    if (current === undefined) outgoing[name] = value
    else if (Array.isArray(current)) current.push(value)
    else outgoing[name] = [current, value]
  }
  const https = url.protocol === 'https:'
  let request: ClientRequest
  try {
    request = (https ? httpsRequest : httpRequest)(url, { method, headers: outgoing, agent: https ? agents.https : agents.http, signal })
  } catch (err) {
    throw new MalformedMessageError(`the request cannot be sent as it is: ${(err as Error).message}`)
  }
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve)
    request.once('error', reject)
  })
  // Settled either way by whoever awaits it; never an unhandled rejection.
  response.catch(() => {})
  return { request, response }
}

/** Writes the body and ends the request; each write waits while the backend's socket is full. */
export async function sendBody (request: ClientRequest, body: AsyncIterable<Uint8Array> | undefined): Promise<void> {
  if (body !== undefined) {
    for await (const chunk of body) {
      if (request.destroyed) throw new Error('the backend request was closed')
      if (!request.write(chunk)) await drained(request)
    }
  }
  await new Promise<void>((resolve, reject) => {
    request.end(() => { resolve() })
    request.once('error', reject)
  })
}

async function drained (request: ClientRequest): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      request.off('drain', onDrain)
      request.off('close', onClose)
      request.off('error', done)
      if (err !== undefined) reject(err)
      else resolve()
    }
    const onDrain = (): void => { done() }
    const onClose = (): void => { done(new Error('the backend request was closed')) }
    request.on('drain', onDrain)
    request.on('close', onClose)
    request.on('error', done)
  })
}

/** The response's headers as lower-case pairs, in order, repeats kept. */
export function responseHeaders (response: IncomingMessage): HeaderList {
  const raw = response.rawHeaders
  const out: HeaderList = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string])
  return out
}
