/**
 * Which headers cross a hop. Hop-by-hop headers (RFC 9110 §7.6.1: `Connection` and the fields it
 * names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`) describe one
 * connection and are dropped at each hop, as are the headers a hop sets itself (`Host`,
 * `Keynet`'s own `X-Keynet-*`). No I/O.
 */
import type { HeaderList } from './http-wire.ts'

/** Hop-by-hop headers, always dropped. */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade'
])

/** Headers a request never carries across: the hop sets them itself (`expect` needs an interim answer that is not relayed). */
const requestOnlyHop: ReadonlySet<string> = new Set(['host', 'expect', 'x-keynet-name', 'x-keynet-peer'])

/**
 * The end-to-end headers of `pairs`, names lower-cased, hop-by-hop ones (and those `Connection`
 * lists) dropped; `request` also drops the headers each hop sets itself.
 */
export function endToEndHeaders (pairs: Iterable<[string, string]>, opts: { request: boolean }): HeaderList {
  const list: HeaderList = []
  for (const [name, value] of pairs) list.push([name.toLowerCase(), value])
  const listed = new Set<string>()
  for (const [name, value] of list) {
    if (name !== 'connection') continue
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase()
      if (t !== '') listed.add(t)
    }
  }
  return list.filter(([name]) => !hopByHopHeaders.has(name) && !listed.has(name) && !(opts.request && requestOnlyHop.has(name)))
}

/** Total bytes of a header list as HTTP/1.1 would carry it (`name: value\r\n`), for limits. */
export function headerBytes (headers: HeaderList): number {
  let total = 0
  for (const [name, value] of headers) total += name.length + value.length + 4
  return total
}

/**
 * A `Forwarded` element (RFC 7239) for a request that arrived from a p2p peer: the peer id as an
 * obfuscated node (`_` + its base58 id), the name as the host, `keynet` as the protocol.
 */
export function forwardedElement (peer: string, name: string): string {
  const node = `_${peer.replace(/[^A-Za-z0-9._-]/g, '')}`
  return `for=${node};host="${name}";proto=keynet`
}
