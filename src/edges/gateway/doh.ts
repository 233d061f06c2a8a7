/**
 * DNS over HTTPS (RFC 8484) on the gateway's HTTP port: `GET /dns-query?dns=<base64url>` and
 * `POST /dns-query` with an `application/dns-message` body, answered by the same DNS answerer as
 * the UDP and TCP server. Bad input gets a 4xx with a plain-text reason; a query that is DNS but
 * wrong inside (say, two questions) gets a DNS error reply (FORMERR) with 200, as RFC 8484 asks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { minTtl, type Transport } from '../../core/dns/answer.ts'
import { maxQueryBytes } from '../../core/dns/constants.ts'
import { MalformedMessageError, PayloadTooLargeError } from '../../foundations/errors.ts'
import { UnsupportedMediaTypeError } from './errors.ts'
import { sendText, sendWhole } from './respond.ts'

/** The media type of a DNS message in HTTP (RFC 8484 §6). */
export const dnsMessageType = 'application/dns-message'

/** Answers one DNS query (the node's `DnsAnswerer.answer`). */
export type DnsQueryHandler = (query: Uint8Array, transport: Transport) => Promise<Uint8Array | undefined>

/** Serves one request to `/dns-query`. Throws the gateway's 4xx errors for bad input. */
export async function serveDnsQuery (req: IncomingMessage, res: ServerResponse, answer: DnsQueryHandler, query: URLSearchParams): Promise<void> {
  let bytes: Uint8Array
  if (req.method === 'GET' || req.method === 'HEAD') {
    bytes = fromBase64Url(query.get('dns'))
  } else if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== dnsMessageType) throw new UnsupportedMediaTypeError(`POST /dns-query takes a body of type ${dnsMessageType}, not ${type === '' ? 'none' : `"${type.slice(0, 64)}"`}`)
    bytes = await readBody(req)
  } else {
    sendText(res, 405, `405 Method Not Allowed: /dns-query answers GET ?dns=<base64url> and POST with ${dnsMessageType}`, false, { allow: 'GET, HEAD, POST', 'cache-control': 'no-store' })
    return
  }
  const reply = await answer(bytes, 'https')
  if (reply === undefined) throw new MalformedMessageError('the body is not a DNS query (shorter than 2 bytes, or a response)')
  const ttl = minTtl(reply)
  const rcode = reply[3]! & 0x0f
  const cacheControl = ttl === undefined || rcode === 2 ? 'no-store' : `max-age=${ttl}`
  sendWhole(res, 200, { 'content-type': dnsMessageType, 'cache-control': cacheControl }, reply, req.method === 'HEAD')
}

/** Decodes the `dns` parameter: unpadded base64url (RFC 8484 §4.1; padding is tolerated). */
export function fromBase64Url (value: string | null): Uint8Array {
  if (value === null || value === '') throw new MalformedMessageError('GET /dns-query needs ?dns=<the DNS query in base64url>')
  const text = value.replace(/=+$/, '')
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) throw new MalformedMessageError('the dns parameter is not base64url (A-Z a-z 0-9 - _, no padding)')
  if (Math.floor(text.length * 3 / 4) > maxQueryBytes) throw new PayloadTooLargeError(`a DNS query may be at most ${maxQueryBytes} bytes`)
  return new Uint8Array(Buffer.from(text, 'base64url'))
}

async function readBody (req: IncomingMessage): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxQueryBytes) throw new PayloadTooLargeError(`a DNS query may be at most ${maxQueryBytes} bytes; this one declares ${declared}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > maxQueryBytes) throw new PayloadTooLargeError(`a DNS query may be at most ${maxQueryBytes} bytes`)
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks))
}
