/**
 * A storage node's HTTP block endpoint as a multiaddr in its provider registration:
 * `/ip4/<ip>/tcp/<port>/http` (or `/ip6/…`), next to its libp2p addresses. Clients that see one
 * fetch blocks over plain HTTP (every block is verified against its CID, so the transport need not
 * be trusted); the others are libp2p addresses to dial.
 */

/** Whether a registered address is an HTTP endpoint rather than a libp2p one. */
export function isHttpAddr (addr: string): boolean {
  return addr.endsWith('/http')
}

/** The libp2p addresses among a provider's registered ones. */
export function p2pAddrs (addrs: readonly string[]): string[] {
  return addrs.filter(a => !isHttpAddr(a))
}

/** The base URL (`http://ip:port`) of the first HTTP endpoint among `addrs`, if any. */
export function httpUrlOf (addrs: readonly string[]): string | undefined {
  for (const addr of addrs) {
    const m = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d{1,5})\/http$/.exec(addr)
    if (m === null) continue
    const host = m[1] === 'ip6' ? `[${m[2]}]` : m[2]
    return `http://${host}:${m[3]}`
  }
  return undefined
}

/**
 * The HTTP endpoint's multiaddrs for a server on `port`: one per distinct IP of the node's libp2p
 * addresses when it listens on every interface, else the address it listens on.
 */
export function httpAddrsFor (listenHost: string, port: number, libp2pAddrs: readonly string[]): string[] {
  const unspecified = listenHost === '0.0.0.0' || listenHost === '::'
  if (!unspecified) return [`/${listenHost.includes(':') ? 'ip6' : 'ip4'}/${listenHost}/tcp/${port}/http`]
  const ips = new Set<string>()
  for (const a of libp2pAddrs) {
    const m = /^\/(ip4|ip6)\/([^/]+)\/tcp\//.exec(a)
    if (m !== null && m[2] !== '0.0.0.0' && m[2] !== '::') ips.add(`/${m[1]}/${m[2]}`)
  }
  return [...ips].map(ip => `${ip}/tcp/${port}/http`)
}
