/**
 * The DNS bridge: answers `.key` names over UDP and TCP (and, through the HTTP gateway, over
 * HTTPS) from the node's verified name resolution; see docs/protocol/dns-bridge.md.
 *
 * ```ts
 * import { DnsAnswerer, DnsServer } from './src/edges/dns/index.ts'
 *
 * const answerer = new DnsAnswerer({ names: client.directory, addresses: { a: ['127.0.0.1'], aaaa: [] } })
 * const server = new DnsServer({ answerer })
 * await server.listen('127.0.0.1', 5353)   // dig @127.0.0.1 -p 5353 mysite.key TXT
 * await server.close()
 * ```
 */
export { DnsAnswerer, type DnsAnswererInit, type DnsStats, type VerifiedNames } from './dns-answerer.ts'
export { DnsServer, type DnsServerInit } from './dns-server.ts'
export { UdpUpstream, type Upstream } from './upstream.ts'
