/**
 * A binding: requests for a name under a path prefix go to one backend URL. The rules for a
 * valid prefix and backend, and how a request path is matched and turned into the backend URL.
 * No I/O.
 *
 * Matching is by whole path segments on the normalised path (`.` and `..` resolved as a URL
 * parser does): the prefix `/api` serves `/api`, `/api/` and `/api/users`, never `/apix`; `/`
 * serves every path; the longest matching prefix wins. The request path is forwarded unchanged
 * (prefix included), after the backend URL's own path: backend `http://127.0.0.1:3000` and
 * request `/api/users?page=2` give `http://127.0.0.1:3000/api/users?page=2`.
 */
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxBackendUrlChars, maxPathPrefixChars } from './constants.ts'

/** What the owner asks for. */
export interface BindingSpec {
  /** Canonical `.key` name. */
  name: string
  /** Path prefix, `/` or `/segment[/segment…]` without a trailing slash. */
  pathPrefix: string
  /** `http:` or `https:` URL without credentials, query or fragment. */
  backend: string
}

/** A binding a node holds. */
export interface Binding extends BindingSpec {
  /** Address (20 bytes) of the owner key that signed the bind. */
  owner: Uint8Array
  /** The signed time of the bind (ms since the epoch). */
  time: number
}

const prefixPattern = /^(\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]+)+$/

/** Checks a path prefix; returns it, or throws `MalformedMessageError` saying what is wrong. */
export function checkPathPrefix (prefix: string): string {
  if (prefix === '/') return prefix
  if (prefix.length > maxPathPrefixChars) throw new MalformedMessageError(`pathPrefix must be at most ${maxPathPrefixChars} characters`)
  if (!prefixPattern.test(prefix)) throw new MalformedMessageError('pathPrefix must be / or /segment[/segment…] (no trailing slash, query or spaces), e.g. /api')
  if (normalisePath(prefix) !== prefix || prefix.split('/').some(s => s === '.' || s === '..')) {
    throw new MalformedMessageError('pathPrefix must be normalised: no . or .. segments')
  }
  return prefix
}

/** Checks a backend URL; returns it parsed, or throws `MalformedMessageError` saying what is wrong. */
export function checkBackendUrl (backend: string): URL {
  if (backend.length > maxBackendUrlChars) throw new MalformedMessageError(`backend must be at most ${maxBackendUrlChars} characters`)
  let url: URL
  try {
    url = new URL(backend)
  } catch {
    throw new MalformedMessageError(`backend "${backend.slice(0, 80)}" is not a URL; write e.g. http://127.0.0.1:3000`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MalformedMessageError('backend must be an http: or https: URL')
  if (url.username !== '' || url.password !== '') throw new MalformedMessageError('backend must not hold credentials')
  if (url.search !== '' || url.hash !== '' || backend.includes('?') || backend.includes('#')) throw new MalformedMessageError('backend must not hold a query or fragment')
  return url
}

/** The path of a request target with `.` and `..` resolved (the query is dropped). */
export function normalisePath (target: string): string {
  return targetUrl(target).pathname
}

// Prefixed with a fixed origin, a target stays a path even if it starts with `//` or `/\`.
function targetUrl (target: string): URL {
  return new URL(`http://x${target.startsWith('/') ? '' : '/'}${target}`)
}

/** Whether a normalised path falls under a prefix, by whole segments. */
export function underPrefix (path: string, prefix: string): boolean {
  if (prefix === '/') return true
  return path === prefix || path.startsWith(`${prefix}/`)
}

/** The binding of the longest prefix that serves the request target, if any. */
export function matchBinding<B extends BindingSpec> (bindings: Iterable<B>, target: string): B | undefined {
  const path = normalisePath(target)
  let best: B | undefined
  for (const b of bindings) {
    if (underPrefix(path, b.pathPrefix) && (best === undefined || b.pathPrefix.length > best.pathPrefix.length)) best = b
  }
  return best
}

/**
 * The backend URL for a request target: the backend's own path, then the request's normalised
 * path and its query.
 */
export function backendUrl (backend: string, target: string): URL {
  const base = new URL(backend)
  const requested = targetUrl(target)
  const basePath = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname
  base.pathname = `${basePath}${requested.pathname}`
  base.search = requested.search
  return base
}
