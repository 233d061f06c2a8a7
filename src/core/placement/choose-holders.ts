/**
 * Which providers should hold a replica: a pure choice, the same for the publishing client and
 * for a holder repairing a pin. Each new holder is the candidate that adds a region not yet
 * covered, then an operator not yet used (one operator's many nodes count as one), then — looking
 * one pick ahead — one after which the next holder can still add both, then the highest
 * rendezvous hash of (content, provider), which spreads different content over different
 * providers while every chooser agrees. The look-ahead keeps a greedy pick from spending the
 * last new operator of a region another holder needs (a deal needs distinct operators too).
 */
import { toHex } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'
import { utf8 } from '../../foundations/bytes.ts'

export interface Candidate {
  /** Provider address, hex. */
  id: string
  operator: string
  region: string
}

export interface Placement {
  holders: Candidate[]
  /** Distinct regions and operators among the holders. */
  regions: number
  operators: number
}

/**
 * Completes `current` to `replicas` holders from `candidates` (which must all be live; the ones
 * already holding are skipped). Returns fewer than asked when there are not enough candidates.
 */
export function chooseHolders (contentKey: string, replicas: number, candidates: Candidate[], current: Candidate[] = []): Placement {
  const holders = [...current]
  const taken = new Set(current.map(c => c.id))
  const pool = candidates.filter(c => !taken.has(c.id)).map(c => ({ c, rank: toHex(sha256(utf8.encode(`${contentKey}/${c.id}`))) }))
  while (holders.length < replicas && pool.length > 0) {
    const regions = new Set(holders.map(h => h.region))
    const operators = new Set(holders.map(h => h.operator))
    const lookAhead = replicas - holders.length > 1
    const keyed = pool.map(p => ({ ...p, now: score(p.c, regions, operators), next: 0 }))
    const top = Math.max(...keyed.map(k => k.now))
    if (lookAhead) {
      for (const k of keyed) {
        if (k.now !== top) continue
        const r = new Set([...regions, k.c.region])
        const o = new Set([...operators, k.c.operator])
        for (const other of keyed) if (other !== k) k.next = Math.max(k.next, score(other.c, r, o))
      }
    }
    let best = 0
    for (let i = 1; i < keyed.length; i++) if (better(keyed[i]!, keyed[best]!)) best = i
    holders.push(pool[best]!.c)
    pool.splice(best, 1)
  }
  return { holders, regions: new Set(holders.map(h => h.region)).size, operators: new Set(holders.map(h => h.operator)).size }
}

function score (x: Candidate, regions: Set<string>, operators: Set<string>): number {
  return (regions.has(x.region) ? 0 : 2) + (operators.has(x.operator) ? 0 : 1)
}

function better (a: { now: number, next: number, rank: string }, b: { now: number, next: number, rank: string }): boolean {
  if (a.now !== b.now) return a.now > b.now
  if (a.next !== b.next) return a.next > b.next
  return a.rank > b.rank
}
