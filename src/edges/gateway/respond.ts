/**
 * Sending small, fully known bodies (texts, listings, single blocks) and comparing entity tags
 * for conditional requests.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'

/** Sends `body` whole with its Content-Length; a HEAD request gets the same headers and no body. */
export function sendWhole (res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string | Uint8Array, head: boolean): void {
  if (res.destroyed) return
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  res.writeHead(status, { ...headers, 'content-length': bytes.byteLength })
  res.end(head ? undefined : bytes)
}

/** Sends a short plain-text answer (errors, redirects, 404s). */
export function sendText (res: ServerResponse, status: number, text: string, head: boolean, headers: OutgoingHttpHeaders = {}): void {
  sendWhole(res, status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers }, `${text}\n`, head)
}

/**
 * Whether an `If-None-Match` header matches `etag`, by weak comparison (RFC 9110 §13.1.2):
 * `*`, or any listed tag equal to it once `W/` prefixes are ignored.
 */
export function noneMatch (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const opaque = stripWeak(etag)
  return header.split(',').some(tag => stripWeak(tag.trim()) === opaque)
}

/** Whether an `If-Range` header allows a partial answer: absent, or exactly our strong `etag`. */
export function ifRangeAllows (header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag
}

function stripWeak (tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}
