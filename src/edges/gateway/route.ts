/**
 * Where a gateway request goes, from its `Host` header and request target:
 * - `Host: <name>.key` (any port, any case, sub-names too): the path is inside that name's content;
 * - otherwise `/key/<name>.key/<path>`, `/ipfs/<cid>/<path>`, or `/status`;
 * - anything else: no route (404).
 */
import type { CID } from '../../core/content/cid.ts'
import { parseCid } from '../../core/content/cid.ts'
import { parseName, tld } from '../../core/names/grammar.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { decodeSegment, decodeSegments } from './safe-path.ts'

/** Content addressed by a request, with the path inside it. */
interface ContentRouteBase {
  /** Decoded, checked path segments below the root. */
  segments: string[]
  /** Whether the request path ended in `/` (a folder without it is redirected to it). */
  trailingSlash: boolean
  /** URL path of the root as this client addresses it: `` (Host routing), `/key/<name>`, `/ipfs/<cid>`. */
  basePath: string
}

/** The content of a `.key` name. */
export interface NameRoute extends ContentRouteBase { kind: 'name', name: string }
/** Content by CID. */
export interface CidRoute extends ContentRouteBase { kind: 'cid', cid: CID }
/** The gateway's own counters. */
export interface StatusRoute { kind: 'status' }
/** What a request asks for; `undefined` when nothing matches. */
export type GatewayRoute = NameRoute | CidRoute | StatusRoute

/** A routed request: its route (undefined: 404) and query. */
export interface RoutedRequest {
  route: GatewayRoute | undefined
  query: URLSearchParams
}

/**
 * Routes a request by `Host` header and raw request target (`req.url`, not normalised: `..`
 * and `%2e%2e` reach the checks of safe-path.ts). Throws `MalformedMessageError` /
 * `InvalidNameError` / the CID parser's error (400) for bad input.
 */
export function routeRequest (host: string | undefined, target: string): RoutedRequest {
  if (!target.startsWith('/')) throw new MalformedMessageError('the request target must be a path starting with /')
  const q = target.indexOf('?')
  const rawPath = q === -1 ? target : target.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1))
  const rawSegments = rawPath.split('/').slice(1)
  const trailingSlash = rawPath.endsWith('/')

  const hostName = keyHostName(host)
  if (hostName !== undefined) {
    const name = parseName(hostName).name
    return { route: { kind: 'name', name, segments: decodeSegments(rawSegments), trailingSlash, basePath: '' }, query }
  }
  const [first, second, ...rest] = rawSegments
  if (first === 'key' && second !== undefined && second !== '') {
    const name = parseName(decodeSegment(second)).name
    return { route: { kind: 'name', name, segments: decodeSegments(rest), trailingSlash, basePath: `/key/${name}` }, query }
  }
  if (first === 'ipfs' && second !== undefined && second !== '') {
    const cid = parseCid(decodeSegment(second))
    return { route: { kind: 'cid', cid, segments: decodeSegments(rest), trailingSlash, basePath: `/ipfs/${cid.toString()}` }, query }
  }
  if (first === 'status' && rawSegments.length === 1) return { route: { kind: 'status' }, query }
  return { route: undefined, query }
}

/** Whether a request is for DNS over HTTPS (`/dns-query`, on the gateway's own host, not a `.key` site's). */
export function isDnsQueryTarget (host: string | undefined, target: string): boolean {
  return keyHostName(host) === undefined && (target === '/dns-query' || target.startsWith('/dns-query?'))
}

/** The host name when `Host` names a `.key` site (port and trailing dot dropped), else undefined. */
function keyHostName (host: string | undefined): string | undefined {
  if (host === undefined || host.startsWith('[')) return undefined // absent, or an IPv6 literal
  const colon = host.lastIndexOf(':')
  let name = (colon === -1 ? host : host.slice(0, colon)).toLowerCase()
  if (name.endsWith('.')) name = name.slice(0, -1)
  return name.endsWith(`.${tld}`) ? name : undefined
}
