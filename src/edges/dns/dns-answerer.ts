/**
 * Turns a DNS query into its reply, the same for UDP, TCP and DNS over HTTPS: `.key` names are
 * looked up through the node's verified name resolution (the `Directory` the gateway and the SDK
 * use), their outcomes kept in a bounded cache for their TTL; foreign names go to the upstream
 * resolver when one is configured, else are refused. The reply itself is built by the pure
 * core/dns/answer.ts.
 */
import { answerName, errorHeader, readQuery, refuse, serverFailure, ttlOf, type NameFacts, type NameOutcome, type QueryPlan, type RcodeName, type Transport, type Zone } from '../../core/dns/answer.ts'
import { negativeTtlSeconds, staleTtlSeconds } from '../../core/dns/constants.ts'
import type { ResolvedName } from '../../services/content/directory.ts'
import { maxCachedNames, maxLedgerAgeMs, maxPendingLookups, maxStaleMs, resolveTimeoutMs } from './constants.ts'
import type { Upstream } from './upstream.ts'

/** The verified name resolution answers come from (a node's `LedgerDirectory`, or the SDK's proof-checking `ApiDirectory`). */
export interface VerifiedNames {
  /** Throws `NameNotFoundError` / `NameExpiredError` / `InvalidNameError` for names that do not resolve. */
  resolveName: (name: string, signal?: AbortSignal) => Promise<ResolvedName>
}

export interface DnsAnswererInit {
  names: VerifiedNames
  /** Where A and AAAA answers point: the gateway's HTTP host. */
  addresses: { a: string[], aaaa: string[] }
  /** The SOA serial: the ledger height. */
  serial?: () => number
  /** Age of the newest verified ledger state; past `maxLedgerAgeMs` the ledger counts as unreachable. */
  ledgerAgeMs?: () => number
  /** Where foreign names go; without it they are refused. */
  upstream?: Upstream
  now?: () => number
  log?: (line: string) => void
}

/** Counters for `/status`. */
export interface DnsStats {
  queries: number
  cacheHits: number
  lookups: number
  forwarded: number
  staleAnswers: number
  dropped: number
  cachedNames: number
  byRcode: Record<string, number>
}

interface CacheEntry {
  /** Verified facts, or null for a verified absence. */
  facts: NameFacts | null
  freshUntilMs: number
  staleUntilMs: number
}

const absentNames = new Set(['NameNotFoundError', 'NameExpiredError', 'InvalidNameError'])

export class DnsAnswerer {
  private readonly names: VerifiedNames
  private readonly addresses: { a: string[], aaaa: string[] }
  private readonly serial: () => number
  private readonly ledgerAgeMs: () => number
  private readonly upstream: Upstream | undefined
  private readonly now: () => number
  private readonly log: (line: string) => void
  /** Verified outcomes by canonical name, least recently used first. */
  private readonly cache = new Map<string, CacheEntry>()
  private readonly pending = new Map<string, Promise<NameOutcome>>()
  private readonly counts = { queries: 0, cacheHits: 0, lookups: 0, forwarded: 0, staleAnswers: 0, dropped: 0 }
  private readonly byRcode = new Map<string, number>()

  constructor (init: DnsAnswererInit) {
    this.names = init.names
    this.addresses = init.addresses
    this.serial = init.serial ?? (() => 1)
    this.ledgerAgeMs = init.ledgerAgeMs ?? (() => 0)
    this.upstream = init.upstream
    this.now = init.now ?? Date.now
    this.log = init.log ?? (() => {})
  }

  /** The reply to a query, or undefined when it is to be dropped (not a query, or no id to answer). */
  async answer (bytes: Uint8Array, transport: Transport): Promise<Uint8Array | undefined> {
    this.counts.queries++
    const plan = readQuery(bytes)
    const reply = await this.replyTo(plan, bytes, transport)
    if (reply === undefined) this.counts.dropped++
    else this.count(reply)
    return reply
  }

  /** A bare error reply for a query known only by its id. */
  errorFor (id: number, rcode: RcodeName): Uint8Array {
    const reply = errorHeader(id, rcode)
    this.count(reply)
    return reply
  }

  /** Forgets every cached outcome: the next query of each name is looked up again. */
  clearCache (): void { this.cache.clear() }

  stats (): DnsStats {
    return { ...this.counts, cachedNames: this.cache.size, byRcode: Object.fromEntries(this.byRcode) }
  }

  private async replyTo (plan: QueryPlan, bytes: Uint8Array, transport: Transport): Promise<Uint8Array | undefined> {
    switch (plan.kind) {
      case 'drop': return undefined
      case 'reply': return plan.response
      case 'foreign': {
        if (this.upstream === undefined) return refuse(plan)
        this.counts.forwarded++
        try {
          return await this.upstream.forward(bytes, transport)
        } catch (err) {
          this.log(`dns: upstream: ${(err as Error).message}`)
          return serverFailure(plan)
        }
      }
      case 'key': {
        const outcome = typeof plan.name === 'string' ? await this.lookup(plan.name) : { kind: 'absent' as const }
        return answerName(plan, outcome, this.zone(), transport)
      }
    }
  }

  private zone (): Zone {
    return { a: this.addresses.a, aaaa: this.addresses.aaaa, serial: this.serial(), recursion: this.upstream !== undefined }
  }

  private count (reply: Uint8Array): void {
    const rcode = String(reply[3]! & 0x0f)
    this.byRcode.set(rcode, (this.byRcode.get(rcode) ?? 0) + 1)
  }

  /** The outcome for a name: from the cache while fresh, else from one shared verified lookup. */
  private async lookup (name: string): Promise<NameOutcome> {
    const now = this.now()
    const hit = this.cache.get(name)
    if (hit !== undefined && now < hit.freshUntilMs) {
      this.counts.cacheHits++
      this.cache.delete(name)
      this.cache.set(name, hit)
      return outcomeOf(hit, Math.max(1, Math.ceil((hit.freshUntilMs - now) / 1000)))
    }
    const running = this.pending.get(name)
    if (running !== undefined) return await running
    if (this.pending.size >= maxPendingLookups) return this.fallback(name, 'too many lookups at once')
    const lookup = this.resolve(name).finally(() => { this.pending.delete(name) })
    this.pending.set(name, lookup)
    return await lookup
  }

  private async resolve (name: string): Promise<NameOutcome> {
    this.counts.lookups++
    const age = this.ledgerAgeMs()
    if (age > maxLedgerAgeMs) return this.fallback(name, `the ledger's newest block is ${Math.round(age / 1000)} s old`)
    let resolved: ResolvedName
    try {
      resolved = await this.names.resolveName(name, AbortSignal.timeout(resolveTimeoutMs))
    } catch (err) {
      if (absentNames.has((err as Error).name)) {
        this.remember(name, null, negativeTtlSeconds)
        return { kind: 'absent' }
      }
      return this.fallback(name, (err as Error).message)
    }
    const facts: NameFacts = { name: resolved.name, version: resolved.version }
    if (resolved.records.content !== undefined) facts.cid = resolved.records.content.cid
    const ttlText = resolved.records.text?.ttl
    if (ttlText !== undefined) facts.ttlText = ttlText
    if (resolved.resolvesForMs !== undefined) facts.resolvesForMs = resolved.resolvesForMs
    const ttl = ttlOf(facts)
    this.remember(name, facts, ttl)
    return { kind: 'found', facts, ttlSeconds: ttl }
  }

  /** When no fresh verified outcome can be had: a stale verified one (short TTL), else unavailable. */
  private fallback (name: string, why: string): NameOutcome {
    const stale = this.cache.get(name)
    if (stale !== undefined && this.now() < stale.staleUntilMs) {
      this.counts.staleAnswers++
      return outcomeOf(stale, staleTtlSeconds)
    }
    this.log(`dns: ${name}: SERVFAIL: ${why}`)
    return { kind: 'unavailable' }
  }

  private remember (name: string, facts: NameFacts | null, ttlSeconds: number): void {
    const now = this.now()
    this.cache.delete(name)
    this.cache.set(name, { facts, freshUntilMs: now + ttlSeconds * 1000, staleUntilMs: now + ttlSeconds * 1000 + maxStaleMs })
    while (this.cache.size > maxCachedNames) this.cache.delete(this.cache.keys().next().value!)
  }
}

function outcomeOf (entry: CacheEntry, ttlSeconds: number): NameOutcome {
  return entry.facts === null ? { kind: 'absent' } : { kind: 'found', facts: entry.facts, ttlSeconds }
}
