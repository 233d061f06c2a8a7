/**
 * The DNS answers for `.key`, as pure functions of the query bytes and a verified name lookup's
 * outcome: no sockets, clocks or ledgers here (src/edges/dns does the I/O). Two steps:
 * `readQuery` decides from the packet alone (drop it, answer an error at once, look a `.key`
 * name up, or pass a foreign name on), and `answerName` builds the reply from the outcome.
 * Every reply is well-formed whatever the input; nothing here throws on bad bytes.
 */
import { decode, encode, type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet'
import { parseName, tld } from '../names/grammar.ts'
import {
  classicUdpBytes, defaultTtlSeconds, ednsUdpBytes, maxQueryBytes, maxQuestions, maxTtlSeconds,
  minTtlSeconds, negativeTtlSeconds
} from './constants.ts'

/** Response codes used here (RFC 1035 §4.1.1, RFC 6895). */
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
export type RcodeName = keyof typeof Rcode

const flagQr = 0x8000
const flagAa = 0x0400
const flagTc = 0x0200
const flagRd = 0x0100
const flagRa = 0x0080

/** How a query arrived: UDP answers must fit the client's datagram size, the others need not. */
export type Transport = 'udp' | 'tcp' | 'https'

/** What the packet alone says to do. */
export type QueryPlan =
  /** Not answerable: too short to hold an id, or itself a response (answering it could loop). */
  | { kind: 'drop', reason: string }
  /** Answered at once (FORMERR, NOTIMP, REFUSED) without a lookup. */
  | { kind: 'reply', rcode: RcodeName, response: Uint8Array, reason: string }
  /** A question about `.key`: `name` is the canonical name, undefined for the zone apex, null for a name no one can register. */
  | { kind: 'key', query: DecodedPacket, question: Question, name: string | null | undefined }
  /** A question outside `.key`: forward it to an upstream resolver, or refuse. */
  | { kind: 'foreign', query: DecodedPacket, question: Question }

/**
 * What a `.key` server answers with, besides a name's own records: its addresses (where
 * A/AAAA point: the gateway's HTTP host), the SOA serial (the ledger height), and whether it
 * offers recursion for foreign names (an upstream is configured).
 */
export interface Zone {
  a: readonly string[]
  aaaa: readonly string[]
  serial: number
  recursion: boolean
}

/** The facts of a verified name that its answers carry. */
export interface NameFacts {
  /** Canonical name. */
  name: string
  /** Record version: increments with every change of the name's records or owner. */
  version: number
  /** Root CID of the name's content record, if it has one. */
  cid?: string
  /** The owner's `ttl` text record, if any. */
  ttlText?: string
  /** Milliseconds, from the resolution, until the name stops resolving (expiry plus grace), if known. */
  resolvesForMs?: number
}

/** The outcome of a verified lookup of one name. */
export type NameOutcome =
  /** Verified facts; `ttlSeconds` is what answers carry (the remaining TTL of a cached answer). */
  | { kind: 'found', facts: NameFacts, ttlSeconds: number }
  /** Verified absent: not registered, expired, or not a name anyone can register. */
  | { kind: 'absent' }
  /** The ledger could not be reached and nothing verified is cached. */
  | { kind: 'unavailable' }

/**
 * The TTL rule (docs/protocol/dns-bridge.md): the owner's `ttl` text record in seconds,
 * clamped to [minTtlSeconds, maxTtlSeconds], else `defaultTtlSeconds`; never past the moment
 * the name stops resolving, so no resolver keeps an expired name alive (at least 1 s).
 */
export function ttlOf (facts: NameFacts): number {
  const asked = facts.ttlText !== undefined && /^\d{1,9}$/.test(facts.ttlText) ? Number(facts.ttlText) : undefined
  const ttl = asked === undefined ? defaultTtlSeconds : Math.min(maxTtlSeconds, Math.max(minTtlSeconds, asked))
  if (facts.resolvesForMs === undefined) return ttl
  return Math.max(1, Math.min(ttl, Math.floor(facts.resolvesForMs / 1000)))
}

/** Decides what to do with a query from its bytes alone. Never throws. */
export function readQuery (bytes: Uint8Array): QueryPlan {
  if (bytes.byteLength < 2) return { kind: 'drop', reason: 'shorter than a DNS id' }
  if (bytes.byteLength >= 3 && (bytes[2]! & 0x80) !== 0) return { kind: 'drop', reason: 'a response, not a query' }
  if (bytes.byteLength > maxQueryBytes) return headerOnly(bytes, 'FORMERR', `longer than ${maxQueryBytes} bytes`)
  if (bytes.byteLength < 12) return headerOnly(bytes, 'FORMERR', 'shorter than a DNS header')
  const opcode = (bytes[2]! >> 3) & 0x0f
  if (opcode !== 0) return headerOnly(bytes, 'NOTIMP', `opcode ${opcode} is not served; only QUERY is`)
  let query: DecodedPacket
  try {
    query = decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  } catch (err) {
    return headerOnly(bytes, 'FORMERR', `undecodable: ${(err as Error).message}`)
  }
  const questions = query.questions ?? []
  if (questions.length === 0 || questions.length > maxQuestions) {
    return headerOnly(bytes, 'FORMERR', `${questions.length} questions; a query holds exactly one`)
  }
  const question = questions[0]!
  const labels = wireLabels(bytes)
  if (labels === undefined) return headerOnly(bytes, 'FORMERR', 'the question name is not a plain label sequence')
  const last = labels[labels.length - 1]?.toLowerCase()
  if (last !== tld) return { kind: 'foreign', query, question }
  if (String(question.class) !== 'IN' && String(question.class) !== 'ANY') {
    return { kind: 'reply', rcode: 'REFUSED', response: reply(query, question, 'REFUSED', []), reason: `class ${String(question.class)} is not served` }
  }
  if (labels.length === 1) return { kind: 'key', query, question, name: undefined }
  const printable = labels.every(l => /^[\x21-\x7e]+$/.test(l) && !l.includes('.') && !l.includes('\\'))
  if (!printable) return { kind: 'key', query, question, name: null }
  try {
    return { kind: 'key', query, question, name: parseName(labels.join('.')).name }
  } catch {
    return { kind: 'key', query, question, name: null }
  }
}

/** The reply to a `.key` question, given the outcome of its verified lookup. Never throws. */
export function answerName (plan: Extract<QueryPlan, { kind: 'key' }>, outcome: NameOutcome, zone: Zone, transport: Transport): Uint8Array {
  const { query, question } = plan
  const soa = soaRecord(zone)
  const type = String(question.type)
  const noData = (): Uint8Array => reply(query, question, 'NOERROR', [], [soa], zone, transport)
  if (plan.name === undefined) {
    // The zone apex `key.` itself: its SOA, nothing else.
    return type === 'SOA' || type === 'ANY' ? reply(query, question, 'NOERROR', [soa], [], zone, transport) : noData()
  }
  if (plan.name === null || outcome.kind === 'absent') return reply(query, question, 'NXDOMAIN', [], [soa], zone, transport)
  if (outcome.kind === 'unavailable') return reply(query, question, 'SERVFAIL', [], [], zone, transport)
  const ttl = outcome.ttlSeconds
  const owner = question.name
  const records: Answer[] = []
  if (type === 'A' || type === 'ANY') for (const ip of zone.a) records.push({ type: 'A', name: owner, ttl, data: ip })
  if (type === 'AAAA' || type === 'ANY') for (const ip of zone.aaaa) records.push({ type: 'AAAA', name: owner, ttl, data: ip })
  if (type === 'TXT' || type === 'ANY') records.push({ type: 'TXT', name: owner, ttl, data: txtOf(outcome.facts) })
  return records.length === 0 ? noData() : reply(query, question, 'NOERROR', records, [], zone, transport)
}

/** The answer to a foreign name when no upstream is configured. */
export function refuse (plan: Extract<QueryPlan, { kind: 'foreign' }>): Uint8Array {
  return reply(plan.query, plan.question, 'REFUSED', [])
}

/** SERVFAIL for a query: an upstream that did not answer, or a server over its limits. */
export function serverFailure (plan: Extract<QueryPlan, { kind: 'foreign' | 'key' }>): Uint8Array {
  return reply(plan.query, plan.question, 'SERVFAIL', [])
}

/** A bare error header for a query known only by its id (a TCP message over the size limit). */
export function errorHeader (id: number, rcode: RcodeName): Uint8Array {
  return header(id, 0, rcode)
}

/** The smallest TTL in a reply (its cache lifetime for DoH), or undefined when it has no records. */
export function minTtl (response: Uint8Array): number | undefined {
  try {
    const packet = decode(Buffer.from(response.buffer, response.byteOffset, response.byteLength))
    const ttls = [...packet.answers ?? [], ...packet.authorities ?? []].filter(r => r.type !== 'OPT').map(r => (r as { ttl?: number }).ttl ?? 0)
    return ttls.length === 0 ? undefined : Math.min(...ttls)
  } catch {
    return undefined
  }
}

/** The `TXT` strings of a name: its content CID (when it has content) and its record version. */
function txtOf (facts: NameFacts): string[] {
  return [...facts.cid === undefined ? [] : [`cid=${facts.cid}`], `version=${facts.version}`]
}

function soaRecord (zone: Zone): Answer {
  return {
    type: 'SOA',
    name: tld,
    ttl: negativeTtlSeconds,
    data: {
      mname: `gateway.${tld}`,
      rname: `hostmaster.${tld}`,
      serial: zone.serial >>> 0,
      refresh: 3600,
      retry: 600,
      expire: 86_400,
      minimum: negativeTtlSeconds
    }
  }
}

/** A reply with the query's id, question and RD bit, an EDNS record when the query had one, fitted to UDP size. */
function reply (query: DecodedPacket, question: Question, rcode: RcodeName, answers: Answer[], authorities: Answer[] = [], zone?: Zone, transport: Transport = 'tcp'): Uint8Array {
  const rd = (query.flags ?? 0) & flagRd
  const opt = (query.additionals ?? []).find(a => a.type === 'OPT') as { udpPayloadSize?: number } | undefined
  const flags = rd | (zone === undefined ? 0 : flagAa) | (zone?.recursion === true ? flagRa : 0) | Rcode[rcode]
  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags,
    questions: [question],
    answers,
    authorities,
    additionals: opt === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: ednsUdpBytes, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as unknown as Answer]
  }
  let bytes: Uint8Array
  try {
    bytes = encode(packet)
  } catch {
    // A question that decodes but cannot be encoded back (say, a label longer than 63 bytes).
    return header(query.id ?? 0, 0, 'FORMERR')
  }
  if (transport !== 'udp') return bytes
  const limit = Math.max(classicUdpBytes, Math.min(ednsUdpBytes, opt?.udpPayloadSize ?? classicUdpBytes))
  if (bytes.byteLength <= limit) return bytes
  return encode({ ...packet, flags: flags | flagTc, answers: [], authorities: [] })
}

/** A reply of just a header: for queries whose question cannot be read (or is not to be read). */
function headerOnly (bytes: Uint8Array, rcode: RcodeName, reason: string): QueryPlan {
  const id = (bytes[0]! << 8) | bytes[1]!
  const opcode = bytes.byteLength >= 3 ? (bytes[2]! >> 3) & 0x0f : 0
  const rd = bytes.byteLength >= 3 ? bytes[2]! & 0x01 : 0
  return { kind: 'reply', rcode, response: header(id, (opcode << 11) | (rd << 8), rcode), reason }
}

function header (id: number, flags: number, rcode: RcodeName): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setUint16(0, id)
  view.setUint16(2, flagQr | flags | Rcode[rcode])
  return out
}

/**
 * The question name's labels as they are on the wire (the decoder joins labels with dots, so a
 * label holding a dot would pass for two). Undefined when the name is compressed or runs past
 * the packet: a query's first name has nothing before it to point at.
 */
function wireLabels (bytes: Uint8Array): string[] | undefined {
  const labels: string[] = []
  let at = 12
  while (at < bytes.byteLength) {
    const len = bytes[at]!
    if (len === 0) return labels
    if ((len & 0xc0) !== 0 || at + 1 + len > bytes.byteLength) return undefined
    labels.push(Buffer.from(bytes.buffer, bytes.byteOffset + at + 1, len).toString('latin1'))
    at += 1 + len
  }
  return undefined
}
