/**
 * Which providers should hold a replica: a pure choice, the same for the publishing client and
 * for a holder repairing a pin. Each new holder is the candidate that adds a region not yet
 * covered, then an operator not yet used (one operator's many nodes count as one), then the
 * highest rendezvous hash of (content, provider), which spreads different content over
 * different providers while every chooser agrees.
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
    let best = 0
    for (let i = 1; i < pool.length; i++) if (better(pool[i]!, pool[best]!, regions, operators)) best = i
    holders.push(pool[best]!.c)
    pool.splice(best, 1)
  }
  return { holders, regions: new Set(holders.map(h => h.region)).size, operators: new Set(holders.map(h => h.operator)).size }
}

function better (a: { c: Candidate, rank: string }, b: { c: Candidate, rank: string }, regions: Set<string>, operators: Set<string>): boolean {
  const score = (x: Candidate): number => (regions.has(x.region) ? 0 : 2) + (operators.has(x.operator) ? 0 : 1)
  const d = score(a.c) - score(b.c)
  if (d !== 0) return d > 0
  return a.rank > b.rank
}
