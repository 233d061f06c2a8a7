/**
 * The pure DNS answer logic (core/dns): what each kind of query gets, the TTL rule, TCP framing,
 * and a seeded fuzz of random, truncated and mutated packets that must never throw and always
 * give a well-formed reply with the query's id, or a drop.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode, encode, type DecodedPacket, type Packet, type TxtAnswer } from 'dns-packet'
import { answerName, readQuery, refuse, ttlOf, type NameOutcome, type QueryPlan, type Transport, type Zone } from '../../src/core/dns/answer.ts'
import { classicUdpBytes, defaultTtlSeconds, maxQueryBytes, maxTtlSeconds, minTtlSeconds, negativeTtlSeconds } from '../../src/core/dns/constants.ts'
import { frame, TcpFrames } from '../../src/core/dns/tcp-frames.ts'
import { seededRandom } from '../../src/foundations/clock.ts'

const zone: Zone = { a: ['127.0.0.1'], aaaa: [], serial: 42, recursion: false }
const cid = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const found: NameOutcome = { kind: 'found', facts: { name: 'mysite.key', version: 7, cid }, ttlSeconds: 60 }

function query (name: string, type: string, extra: Partial<Packet> = {}): Uint8Array {
  return encode({ type: 'query', id: 0x1234, flags: 0x0100, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra })
}

function plan (bytes: Uint8Array): QueryPlan {
  return readQuery(bytes)
}

/** A decoded reply; the decoder sets `rcode`, which its types leave out. */
type Reply = DecodedPacket & { rcode: string }

function answer (name: string, type: string, outcome: NameOutcome, transport: Transport = 'udp', z: Zone = zone): Reply {
  const p = plan(query(name, type))
  assert.equal(p.kind, 'key')
  return decode(Buffer.from(answerName(p as Extract<QueryPlan, { kind: 'key' }>, outcome, z, transport))) as Reply
}

const rcodeOf = (bytes: Uint8Array): number => bytes[3]! & 0x0f

describe('DNS answers for .key', () => {
  it('A points at the gateway, with the TTL, authoritative, RD echoed', () => {
    const r = answer('mysite.key', 'A', found)
    assert.equal(r.id, 0x1234)
    assert.equal(r.rcode, 'NOERROR')
    assert.equal(r.flag_aa, true)
    assert.equal(r.flag_rd, true)
    assert.deepEqual(r.answers?.map(a => [a.type, (a as { data: unknown }).data, (a as { ttl: number }).ttl]), [['A', '127.0.0.1', 60]])
  })

  it('TXT carries the content CID and the record version; a name without content only its version', () => {
    const r = answer('MySite.KEY.', 'TXT', found)
    const txt = r.answers?.[0] as TxtAnswer
    assert.deepEqual((txt.data as Buffer[]).map(b => b.toString()), [`cid=${cid}`, 'version=7'])
    const bare = answer('mysite.key', 'TXT', { kind: 'found', facts: { name: 'mysite.key', version: 1 }, ttlSeconds: 5 })
    assert.deepEqual(((bare.answers?.[0] as TxtAnswer).data as Buffer[]).map(b => b.toString()), ['version=1'])
  })

  it('AAAA without an IPv6 address, and MX, are NODATA with the SOA; AAAA with one answers it', () => {
    for (const type of ['AAAA', 'MX']) {
      const r = answer('mysite.key', type, found)
      assert.equal(r.rcode, 'NOERROR')
      assert.equal(r.answers?.length, 0)
      assert.equal(r.authorities?.[0]?.type, 'SOA')
    }
    const r = answer('mysite.key', 'AAAA', found, 'udp', { ...zone, aaaa: ['::1'] })
    assert.equal((r.answers?.[0] as { data: string }).data, '::1')
  })

  it('NXDOMAIN with the SOA (negative TTL, ledger height as serial) for absent names and for names no one can register', () => {
    for (const [name, outcome] of [['nobody.key', { kind: 'absent' }], ['bad_name.key', found], ['-x.key', found], ['a.b.c.d.e.f.key', found]] as const) {
      const r = answer(name, 'A', outcome as NameOutcome)
      assert.equal(r.rcode, 'NXDOMAIN', name)
      const soa = r.authorities?.[0] as { type: string, ttl: number, data: { serial: number, minimum: number } }
      assert.equal(soa.type, 'SOA')
      assert.equal(soa.ttl, negativeTtlSeconds)
      assert.equal(soa.data.serial, 42)
    }
  })

  it('SERVFAIL when the ledger cannot be reached and nothing verified is cached', () => {
    const r = answer('mysite.key', 'A', { kind: 'unavailable' })
    assert.equal(r.rcode, 'SERVFAIL')
    assert.equal(r.answers?.length, 0)
  })

  it('the zone apex answers its SOA', () => {
    const r = answer('key', 'SOA', found)
    assert.equal(r.rcode, 'NOERROR')
    assert.equal(r.answers?.[0]?.type, 'SOA')
  })

  it('foreign names are refused (or forwarded by the server); class CH is refused', () => {
    const p = plan(query('example.com', 'A'))
    assert.equal(p.kind, 'foreign')
    assert.equal(rcodeOf(refuse(p as Extract<QueryPlan, { kind: 'foreign' }>)), 5)
    const ch = plan(encode({ type: 'query', id: 9, questions: [{ name: 'mysite.key', type: 'TXT', class: 'CH' }] }))
    assert.equal(ch.kind, 'reply')
    assert.equal(ch.kind === 'reply' && ch.rcode, 'REFUSED')
  })

  it('FORMERR for garbage with an id, two questions, no question, oversized queries; NOTIMP for other opcodes; drops responses and 1-byte packets', () => {
    const cases: Array<[Uint8Array, string]> = [
      [Uint8Array.from([0xab, 0xcd, 0x01]), 'FORMERR'],
      [encode({ type: 'query', id: 1, questions: [{ name: 'a.key', type: 'A' }, { name: 'b.key', type: 'A' }] }), 'FORMERR'],
      [encode({ type: 'query', id: 1, questions: [] }), 'FORMERR'],
      [new Uint8Array(maxQueryBytes + 1).fill(7), 'FORMERR'],
      [Uint8Array.from([0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 'NOTIMP']
    ]
    for (const [bytes, rcode] of cases) {
      const p = plan(bytes)
      assert.equal(p.kind, 'reply')
      assert.equal(p.kind === 'reply' && p.rcode, rcode)
      const r = (p as Extract<QueryPlan, { kind: 'reply' }>).response
      assert.equal(r[0], bytes[0])
      assert.equal(r[1], bytes[1])
      assert.ok((r[2]! & 0x80) !== 0, 'QR set')
    }
    assert.equal(plan(Uint8Array.from([1])).kind, 'drop')
    assert.equal(plan(encode({ type: 'response', id: 3, questions: [{ name: 'a.key', type: 'A' }] })).kind, 'drop')
  })

  it('a label holding a dot is not taken for two labels', () => {
    // "evil.mysite" as one label, then "key".
    const bytes = Buffer.concat([Buffer.from([0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 11]), Buffer.from('evil.mysite'), Buffer.from([3]), Buffer.from('key'), Buffer.from([0, 0, 1, 0, 1])])
    const p = plan(bytes)
    assert.equal(p.kind, 'key')
    assert.equal(p.kind === 'key' && p.name, null)
  })

  it('over UDP an answer longer than the client takes is truncated (TC) and empty; with EDNS the OPT is answered', () => {
    const many: Zone = { ...zone, a: Array.from({ length: 40 }, (_, i) => `10.0.0.${i}`) }
    const udp = answer('mysite.key', 'A', found, 'udp', many)
    assert.equal(udp.flag_tc, true)
    assert.equal(udp.answers?.length, 0)
    assert.equal(answer('mysite.key', 'A', found, 'tcp', many).answers?.length, 40)
    const withOpt = plan(query('mysite.key', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as never] }))
    const r = decode(Buffer.from(answerName(withOpt as Extract<QueryPlan, { kind: 'key' }>, found, many, 'udp')))
    assert.equal(r.flag_tc, false, 'fits in the 1232 bytes EDNS allows')
    assert.equal(r.additionals?.[0]?.type, 'OPT')
    assert.ok(classicUdpBytes < encode(r).byteLength)
  })
})

describe('TTL rule', () => {
  it('the owner\'s ttl text record, clamped; else the default; never past the name\'s end', () => {
    assert.equal(ttlOf({ name: 'a.key', version: 1 }), defaultTtlSeconds)
    assert.equal(ttlOf({ name: 'a.key', version: 1, ttlText: '300' }), 300)
    assert.equal(ttlOf({ name: 'a.key', version: 1, ttlText: '1' }), minTtlSeconds)
    assert.equal(ttlOf({ name: 'a.key', version: 1, ttlText: '99999' }), maxTtlSeconds)
    assert.equal(ttlOf({ name: 'a.key', version: 1, ttlText: 'soon' }), defaultTtlSeconds)
    assert.equal(ttlOf({ name: 'a.key', version: 1, ttlText: '300', resolvesForMs: 20_500 }), 20)
    assert.equal(ttlOf({ name: 'a.key', version: 1, resolvesForMs: 10 }), 1)
  })
})

describe('TCP framing', () => {
  it('cuts messages split over chunks and joined in one chunk', () => {
    const a = query('a.key', 'A')
    const b = query('b.key', 'TXT')
    const stream = Buffer.concat([frame(a), frame(b)])
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const frames = new TcpFrames(maxQueryBytes)
      const got = [...frames.push(stream.subarray(0, cut)), ...frames.push(stream.subarray(cut))]
      assert.deepEqual(got.map(f => f.kind === 'message' ? Buffer.from(f.bytes).toString('hex') : f.kind), [Buffer.from(a).toString('hex'), Buffer.from(b).toString('hex')])
    }
  })

  it('skips an oversized message without buffering it, reporting its id, and reads the next', () => {
    const frames = new TcpFrames(100)
    const big = Buffer.alloc(5000, 0xee)
    big[0] = 0x12
    big[1] = 0x34
    const next = query('a.key', 'A')
    const out = [...frames.push(Buffer.concat([Buffer.from([0x13, 0x88]), big.subarray(0, 10)])), ...frames.push(big.subarray(10, 4000))]
    assert.ok(frames.buffered < 200)
    out.push(...frames.push(Buffer.concat([big.subarray(4000), frame(next)])))
    assert.deepEqual(out.map(f => f.kind), ['oversized', 'message'])
    assert.equal(out[0]!.kind === 'oversized' && out[0]!.id, 0x1234)
  })
})

describe('fuzz: random, truncated and mutated packets', () => {
  it('never throws; every reply is a decodable response with the query\'s id', () => {
    const random = seededRandom(2026)
    const seeds = [query('mysite.key', 'A'), query('mysite.key', 'TXT'), query('example.com', 'AAAA'), query('key', 'SOA'),
      query('a.b.c.key', 'ANY', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as never] })]
    const outcomes: NameOutcome[] = [found, { kind: 'absent' }, { kind: 'unavailable' }]
    let replies = 0
    let drops = 0
    for (let i = 0; i < 10_000; i++) {
      let bytes: Uint8Array
      const mode = random.int(3)
      const seed = seeds[random.int(seeds.length)]!
      if (mode === 0) bytes = Uint8Array.from({ length: random.int(80) }, () => random.int(256))
      else if (mode === 1) bytes = seed.slice(0, random.int(seed.byteLength + 1))
      else {
        bytes = seed.slice()
        for (let k = 1 + random.int(4); k > 0; k--) bytes[random.int(bytes.byteLength)] = random.int(256)
      }
      const p = readQuery(bytes)
      let reply: Uint8Array | undefined
      if (p.kind === 'reply') reply = p.response
      else if (p.kind === 'foreign') reply = refuse(p)
      else if (p.kind === 'key') reply = answerName(p, outcomes[random.int(outcomes.length)]!, zone, random.int(2) === 0 ? 'udp' : 'tcp')
      if (reply === undefined) { drops++; continue }
      replies++
      assert.ok(reply.byteLength >= 12)
      assert.equal(reply[0], bytes[0])
      assert.equal(reply[1], bytes[1])
      assert.ok((reply[2]! & 0x80) !== 0)
      const decoded = decode(Buffer.from(reply))
      assert.equal(decoded.type, 'response')
    }
    // About half the random packets have the response bit set and are dropped.
    assert.ok(replies > 4000, `${replies} replies, ${drops} drops`)
  })
})
