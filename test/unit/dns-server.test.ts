/**
 * The DNS server over real sockets (UDP, TCP) and DNS over HTTPS on a real gateway server, with
 * an in-memory directory of verified names standing in for a node's ledger: caching, serve-stale,
 * SERVFAIL, forwarding to an upstream, and bad input that must not stop the server.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { decode, type DecodedPacket, type TxtAnswer } from 'dns-packet'
import { staleTtlSeconds } from '../../src/core/dns/constants.ts'
import { maxQueryBytes } from '../../src/core/dns/constants.ts'
import { NameExpiredError, NameNotFoundError, UnavailableError } from '../../src/foundations/errors.ts'
import type { ResolvedName } from '../../src/services/content/directory.ts'
import { DnsAnswerer, DnsServer, UdpUpstream } from '../../src/edges/dns/index.ts'
import { GatewayServer } from '../../src/edges/gateway/gateway-server.ts'
import { maxLedgerAgeMs } from '../../src/edges/dns/constants.ts'
import { frame, queryBytes, tcpExchange, udpExchange } from '../fixtures/dns/client.ts'
import { startFixedResponder, type FixedResponder } from '../fixtures/dns/fixed-responder.ts'

const cid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'

/** An in-memory directory of verified names, counting lookups; `down` makes it unreachable. */
class Names {
  lookups = 0
  down = false
  readonly entries = new Map<string, ResolvedName>([
    ['mysite.key', { name: 'mysite.key', owner: '00', version: 4, records: { content: { cid, replicas: 3, regions: 3 }, text: { ttl: '120' } } }],
    ['bare.key', { name: 'bare.key', owner: '00', version: 1, records: {} }]
  ])

  resolveName = async (name: string): Promise<ResolvedName> => {
    this.lookups++
    if (this.down) throw new UnavailableError('the ledger cannot be reached')
    if (name === 'old.key') throw new NameExpiredError('old.key has expired')
    const entry = this.entries.get(name)
    if (entry === undefined) throw new NameNotFoundError(`${name} is not registered`)
    return entry
  }
}

/** A decoded reply; the decoder sets `rcode`, which its types leave out. */
type Reply = DecodedPacket & { rcode: string }
const parse = (bytes: Uint8Array): Reply => decode(Buffer.from(bytes)) as Reply
const txtOf = (p: DecodedPacket): string[] => ((p.answers?.[0] as TxtAnswer).data as Buffer[]).map(b => b.toString())
const ttlOf = (p: DecodedPacket): number => (p.answers?.[0] as { ttl: number }).ttl

describe('DnsAnswerer', () => {
  it('answers a hot name from its cache, with the TTL counting down, and looks it up again once it expires', async () => {
    const names = new Names()
    let now = 1_000_000
    const answerer = new DnsAnswerer({ names, addresses: { a: ['127.0.0.1'], aaaa: [] }, now: () => now })
    const first = parse((await answerer.answer(queryBytes('mysite.key', 'TXT'), 'udp'))!)
    assert.deepEqual(txtOf(first), [`cid=${cid}`, 'version=4'])
    assert.equal(ttlOf(first), 120, 'the owner\'s ttl record')
    now += 30_000
    const second = parse((await answerer.answer(queryBytes('mysite.key', 'A'), 'udp'))!)
    assert.equal(ttlOf(second), 90)
    assert.equal(names.lookups, 1)
    now += 91_000
    await answerer.answer(queryBytes('mysite.key', 'A'), 'udp')
    assert.equal(names.lookups, 2)
    assert.equal(answerer.stats().cacheHits, 1)
  })

  it('shares one lookup between concurrent queries of a cold name', async () => {
    const names = new Names()
    const answerer = new DnsAnswerer({ names, addresses: { a: ['127.0.0.1'], aaaa: [] } })
    const replies = await Promise.all(Array.from({ length: 20 }, async () => await answerer.answer(queryBytes('bare.key', 'A'), 'udp')))
    assert.ok(replies.every(r => parse(r!).rcode === 'NOERROR'))
    assert.equal(names.lookups, 1)
  })

  it('NXDOMAIN for unregistered and expired names', async () => {
    const answerer = new DnsAnswerer({ names: new Names(), addresses: { a: ['127.0.0.1'], aaaa: [] } })
    for (const name of ['nobody.key', 'old.key']) assert.equal(parse((await answerer.answer(queryBytes(name), 'udp'))!).rcode, 'NXDOMAIN')
  })

  it('SERVFAIL when the ledger cannot be reached and nothing is cached; a cached verified answer is served stale instead', async () => {
    const names = new Names()
    let now = 0
    const answerer = new DnsAnswerer({ names, addresses: { a: ['127.0.0.1'], aaaa: [] }, now: () => now })
    await answerer.answer(queryBytes('mysite.key', 'A'), 'udp')
    names.down = true
    now += 200_000
    const stale = parse((await answerer.answer(queryBytes('mysite.key', 'A'), 'udp'))!)
    assert.equal(stale.rcode, 'NOERROR')
    assert.equal(ttlOf(stale), staleTtlSeconds)
    assert.equal(parse((await answerer.answer(queryBytes('bare.key', 'A'), 'udp'))!).rcode, 'SERVFAIL')
    assert.equal(answerer.stats().staleAnswers, 1)
  })

  it('a ledger that stopped committing blocks counts as unreachable', async () => {
    const names = new Names()
    const answerer = new DnsAnswerer({ names, addresses: { a: ['127.0.0.1'], aaaa: [] }, ledgerAgeMs: () => maxLedgerAgeMs + 1 })
    assert.equal(parse((await answerer.answer(queryBytes('mysite.key', 'A'), 'udp'))!).rcode, 'SERVFAIL')
    assert.equal(names.lookups, 0)
  })
})

describe('DnsServer over UDP and TCP, DoH on the gateway', { timeout: 30_000 }, () => {
  const names = new Names()
  let upstream: FixedResponder
  let server: DnsServer
  let port: number
  let gateway: GatewayServer
  let http: string

  before(async () => {
    upstream = await startFixedResponder()
    const answerer = new DnsAnswerer({ names, addresses: { a: ['127.0.0.1'], aaaa: [] }, upstream: new UdpUpstream('127.0.0.1', upstream.port) })
    server = new DnsServer({ answerer })
    const addr = await server.listen('127.0.0.1', 0)
    port = Number(addr.split(':')[1])
    gateway = new GatewayServer({
      resolver: { resolve: async () => { throw new Error('not used') } },
      blocks: () => async () => { throw new Error('not used') },
      dns: async (q, t) => await answerer.answer(q, t),
      dnsStats: () => answerer.stats()
    })
    http = await gateway.listen('127.0.0.1', 0)
  })

  after(async () => {
    await server.close()
    await gateway.close()
    await upstream.close()
  })

  it('answers over UDP; garbage gets FORMERR or is dropped, and the server keeps answering', async () => {
    assert.equal(parse(await udpExchange(port, queryBytes('mysite.key', 'A'))).answers?.length, 1)
    const garbage = parse(await udpExchange(port, Uint8Array.from([0x77, 0x66, 0x00, 0x01, 0xff])))
    assert.equal(garbage.id, 0x7766)
    assert.equal(garbage.rcode, 'FORMERR')
    const oversized = new Uint8Array(maxQueryBytes + 100)
    oversized.set(queryBytes('mysite.key'))
    assert.equal(parse(await udpExchange(port, oversized)).rcode, 'FORMERR')
    await assert.rejects(udpExchange(port, Uint8Array.from([1]), 300), /no UDP answer/)
    assert.equal(parse(await udpExchange(port, queryBytes('mysite.key', 'TXT'))).rcode, 'NOERROR')
  })

  it('answers pipelined queries on one TCP connection, and FORMERR for an oversized one without losing the next', async () => {
    const big = new Uint8Array(maxQueryBytes + 10)
    big[0] = 0x0a
    big[1] = 0x0b
    const raw = Buffer.concat([frame(queryBytes('mysite.key', 'A', 1)), frame(big), frame(queryBytes('nobody.key', 'A', 2))])
    const replies = (await tcpExchange(port, raw, 3)).map(parse).sort((a, b) => (a.id ?? 0) - (b.id ?? 0))
    assert.deepEqual(replies.map(r => [r.id, r.rcode]), [[1, 'NOERROR'], [2, 'NXDOMAIN'], [0x0a0b, 'FORMERR']])
  })

  it('forwards names outside .key to the upstream, with recursion available', async () => {
    const r = parse(await udpExchange(port, queryBytes('example.com', 'A')))
    assert.equal(r.rcode, 'NOERROR')
    assert.equal((r.answers?.[0] as { data: string }).data, '192.0.2.1')
    const overTcp = parse((await tcpExchange(port, frame(queryBytes('example.org', 'A')), 1))[0]!)
    assert.equal((overTcp.answers?.[0] as { data: string }).data, '192.0.2.1')
  })

  it('DoH: GET ?dns=<base64url> and POST application/dns-message give the same answer, cached for its TTL', async () => {
    const q = queryBytes('mysite.key', 'TXT', 0)
    const get = await fetch(`${http}/dns-query?dns=${Buffer.from(q).toString('base64url')}`)
    assert.equal(get.status, 200)
    assert.equal(get.headers.get('content-type'), 'application/dns-message')
    assert.match(get.headers.get('cache-control') ?? '', /^max-age=\d+$/)
    assert.deepEqual(txtOf(parse(new Uint8Array(await get.arrayBuffer()))), [`cid=${cid}`, 'version=4'])
    const post = await fetch(`${http}/dns-query`, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: q })
    assert.equal(post.status, 200)
    assert.deepEqual(txtOf(parse(new Uint8Array(await post.arrayBuffer()))), [`cid=${cid}`, 'version=4'])
    const status = await (await fetch(`${http}/status`)).json() as { dns: { queries: number } }
    assert.ok(status.dns.queries >= 2)
  })

  it('DoH: bad base64, a missing parameter, a wrong content type, an oversized body, a response packet and PUT are 4xx with a reason', async () => {
    const cases: Array<[string, RequestInit, number, RegExp]> = [
      ['/dns-query?dns=@@@', {}, 400, /not base64url/],
      ['/dns-query', {}, 400, /needs \?dns=/],
      ['/dns-query', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, 415, /application\/dns-message/],
      ['/dns-query', { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: new Uint8Array(maxQueryBytes + 1) }, 413, /at most/],
      [`/dns-query?dns=${Buffer.from([0x12, 0x34, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]).toString('base64url')}`, {}, 400, /not a DNS query/],
      ['/dns-query', { method: 'PUT' }, 405, /GET/]
    ]
    for (const [path, init, status, reason] of cases) {
      const res = await fetch(`${http}${path}`, init)
      assert.equal(res.status, status, path)
      assert.match(await res.text(), reason)
    }
    // Still answering.
    assert.equal(parse(await udpExchange(port, queryBytes('bare.key', 'A'))).rcode, 'NOERROR')
  })
})
