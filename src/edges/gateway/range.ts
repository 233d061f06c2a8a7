/**
 * The `Range` request header (RFC 9110 §14), single byte ranges only: `bytes=a-b`, `bytes=a-`
 * and `bytes=-n`. A request for several ranges is answered with the first one alone (a 206 for
 * that range, which RFC 9110 allows: a server may serve fewer ranges than asked), so no
 * multipart body is ever built. A header that does not parse is ignored (full 200), as the RFC
 * requires.
 */

/** What to send for a `Range` header against a body of known size. */
export type RangeAnswer =
  | { kind: 'full' }
  | { kind: 'partial', start: number, end: number /* exclusive */ }
  | { kind: 'unsatisfiable' }

const rangeSpec = /^\s*(\d*)\s*-\s*(\d*)\s*$/

/** Interprets a `Range` header for a body of `size` bytes; see the module comment. */
export function parseRange (header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'full' }
  const eq = header.indexOf('=')
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' }
  const first = header.slice(eq + 1).split(',')[0] ?? ''
  const m = rangeSpec.exec(first)
  if (m === null) return { kind: 'full' }
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return { kind: 'full' }
  if (a === '') {
    // Suffix range: the last n bytes.
    const n = Number(b)
    if (!Number.isSafeInteger(n)) return { kind: 'full' }
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size }
  }
  const start = Number(a)
  const last = b === '' ? Number.MAX_SAFE_INTEGER : Number(b)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start) return { kind: 'full' }
  if (start >= size) return { kind: 'unsatisfiable' }
  return { kind: 'partial', start, end: Math.min(last, size - 1) + 1 }
}
