/**
 * Where an imported site's URLs land in the published folder, chosen so the gateway serves every
 * page at the path the old origin used:
 * - `/` → `index.html`, `/about/` → `about/index.html` (the gateway serves a folder's index.html);
 * - `/a.css` → `a.css`, `/img/x%20y.png` → `img/x y.png` (segments percent-decoded once);
 * - an HTML page at a path without a trailing slash or a file extension (`/about`) →
 *   `about/index.html`: the gateway redirects `/about` to `/about/` and serves it there (a file
 *   named `about` would be served as a download, having no extension to give it a type);
 * - query strings and fragments are dropped: a static copy has one file per path, so
 *   `/list?page=2` is the page at `/list`, fetched once without its query.
 * Which URLs are followed at all: http(s) on the site's own origin only.
 */
import { contentTypeFor } from '../content/mime.ts'
import { maxPathDepth, maxPathSegmentBytes, maxUrlChars } from './constants.ts'

/** A link to follow, or why not. */
export type LinkTarget =
  | { kind: 'follow', url: string }
  | { kind: 'skip', reason: 'other-origin' | 'not-http' | 'invalid' | 'too-long' }

/**
 * Resolves `link` (as written in a document) against `documentUrl` (or the page's `<base>`),
 * and returns the URL to fetch when it stays on `origin`: no fragment, no query, so two links
 * that differ only there are one page.
 */
export function linkTarget (link: string, documentUrl: string, origin: string): LinkTarget {
  if (link.length > maxUrlChars) return { kind: 'skip', reason: 'too-long' }
  let url: URL
  try { url = new URL(link, documentUrl) } catch { return { kind: 'skip', reason: 'invalid' } }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'skip', reason: 'not-http' }
  if (url.origin !== origin) return { kind: 'skip', reason: 'other-origin' }
  return { kind: 'follow', url: `${url.origin}${url.pathname}` }
}

/** Where one fetched URL is stored, or why it cannot be. */
export type StoredPath =
  | { kind: 'path', path: string, movedIntoFolder: boolean }
  | { kind: 'unsafe', reason: string }

/**
 * The folder-relative file path for a URL path (`URL.pathname`: still percent-encoded, dot
 * segments already resolved) whose response is HTML (`html`) or not.
 */
export function storedPath (pathname: string, html: boolean): StoredPath {
  const segments: string[] = []
  for (const raw of pathname.split('/').slice(1)) {
    // The gateway drops empty segments (`//`), so the copy does too.
    if (raw === '') continue
    let name: string
    try { name = decodeURIComponent(raw) } catch { return { kind: 'unsafe', reason: `segment "${raw.slice(0, 64)}" is not valid percent-encoded UTF-8` } }
    if (name === '.' || name === '..') return { kind: 'unsafe', reason: `segment "${raw}" is a dot segment` }
    if (/[\u0000-\u001f\u007f-\u009f/\\]/.test(name)) return { kind: 'unsafe', reason: `segment "${raw.slice(0, 64)}" decodes to a slash, backslash or control character` }
    if (Buffer.byteLength(name) > maxPathSegmentBytes) return { kind: 'unsafe', reason: `segment "${raw.slice(0, 64)}…" is longer than ${maxPathSegmentBytes} bytes` }
    segments.push(name)
  }
  const last = segments.at(-1)
  const folder = last === undefined || pathname.endsWith('/')
  const movedIntoFolder = !folder && html && !hasExtension(last)
  if (folder || movedIntoFolder) segments.push('index.html')
  if (segments.length > maxPathDepth) return { kind: 'unsafe', reason: `it is deeper than ${maxPathDepth} segments` }
  return { kind: 'path', path: segments.join('/'), movedIntoFolder }
}

/** Whether the gateway will serve `path` with a different media type than the origin sent (`originType`: a Content-Type header). */
export function servedTypeDiffers (path: string, originType: string | undefined): { gateway: string, origin: string } | undefined {
  if (originType === undefined || originType === '') return undefined
  const origin = essence(originType)
  const gateway = essence(contentTypeFor(path.split('/').at(-1) ?? ''))
  return origin === gateway ? undefined : { gateway, origin }
}

/** Whether a Content-Type is an HTML document. */
export function isHtmlType (contentType: string | undefined): boolean {
  const e = essence(contentType ?? '')
  return e === 'text/html' || e === 'application/xhtml+xml'
}

/** Whether a Content-Type is a style sheet. */
export function isCssType (contentType: string | undefined): boolean {
  return essence(contentType ?? '') === 'text/css'
}

function essence (contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase()
}

function hasExtension (name: string): boolean {
  const dot = name.lastIndexOf('.')
  return dot > 0 && dot < name.length - 1
}
