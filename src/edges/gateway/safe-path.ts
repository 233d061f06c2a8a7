/**
 * Turning the raw request path into the names to look up inside a DAG, and back. Each segment is
 * percent-decoded once and must then be a plain file name: no `.` or `..`, no slash or backslash
 * (encoded or not), no NUL or other control characters. Lookups only ever follow links by name
 * from the root, so nothing outside the DAG is reachable either way; these checks make the
 * rejection explicit (400) instead of a confusing 404.
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxPathDepth, maxPathSegmentBytes } from './constants.ts'

// Control characters C0, DEL and C1 never belong in a file name served over HTTP.
const forbiddenChars = /[\u0000-\u001f\u007f-\u009f/\\]/

/**
 * Decodes and checks the raw (still percent-encoded) segments of a path; empty segments (from
 * `//` or a trailing slash) are dropped. Throws `MalformedMessageError` naming the bad segment.
 */
export function decodeSegments (raw: string[]): string[] {
  const segments: string[] = []
  for (const part of raw) {
    if (part === '') continue
    segments.push(decodeSegment(part))
    if (segments.length > maxPathDepth) throw new MalformedMessageError(`path is deeper than ${maxPathDepth} segments`)
  }
  return segments
}

/** Decodes one raw segment and checks it is a plain file name; see the module comment. */
export function decodeSegment (raw: string): string {
  let name: string
  try {
    name = decodeURIComponent(raw)
  } catch {
    throw new MalformedMessageError(`path segment "${raw.slice(0, 64)}" is not valid percent-encoded UTF-8`)
  }
  if (name === '.' || name === '..') throw new MalformedMessageError('path segments "." and ".." are not allowed; address files by their full path')
  if (forbiddenChars.test(name)) throw new MalformedMessageError(`path segment "${raw.slice(0, 64)}" holds a slash, backslash or control character; these are not allowed in names`)
  if (Buffer.byteLength(name) > maxPathSegmentBytes) throw new MalformedMessageError(`path segment "${raw.slice(0, 64)}…" is longer than ${maxPathSegmentBytes} bytes`)
  return name
}

/** The URL form of decoded segments: `/a/b%20c`, or `` for none. */
export function encodePath (segments: string[]): string {
  return segments.map(s => `/${encodeURIComponent(s)}`).join('')
}
