/**
 * Storage audits. Each period, each deal's challenge is drawn from the ledger's randomness (the
 * beacon: the hash of a committed block header after the period ended, which nobody knew while
 * the period ran): segment indices every holder must answer with the segment and its Merkle
 * path, and the independent auditors who ask and check. An auditor is never in the audited
 * provider's operator group and never the client. Auditors sign their outcome; the ledger counts
 * signed outcomes of assigned auditors only.
 */
import { utf8 } from '../../foundations/bytes.ts'
import { signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { encode } from '../../foundations/encoding.ts'
import { sha256 } from '../../foundations/hash.ts'
import { auditorsPerChallenge, challengesPerPeriod } from './constants.ts'
import { WrongProofError } from './errors.ts'
import { verifyMerklePath } from './merkle.ts'

/** What an auditor found: the proof checked, no answer in time, or an answer that does not check. */
export type AuditOutcome = 'pass' | 'missing' | 'wrong'

export const auditOutcomes: readonly AuditOutcome[] = ['pass', 'missing', 'wrong']

/** The seed of one deal's audits in one period. */
export function auditSeed (beacon: Uint8Array, dealId: string, period: number): Uint8Array {
  return sha256(utf8.encode(`keynet-audit-v1/${dealId}/${period}/`), beacon)
}

const tags = new Map<string, Uint8Array>()
function tag (purpose: string): Uint8Array {
  let t = tags.get(purpose)
  if (t === undefined) { t = utf8.encode(purpose); tags.set(purpose, t) }
  return t
}

/** `count` 32-bit words drawn from the seed for `purpose`: SHA-256(purpose ‖ seed ‖ i) for i = 0, 1, … */
export function seedWords (seed: Uint8Array, purpose: string, count: number): number[] {
  const out: number[] = []
  for (let i = 0; out.length < count; i++) {
    const h = sha256(tag(purpose), seed, new Uint8Array([i >> 8, i & 255]))
    for (let j = 0; j + 4 <= h.length && out.length < count; j += 4) out.push(((h[j]! << 24) | (h[j + 1]! << 16) | (h[j + 2]! << 8) | h[j + 3]!) >>> 0)
  }
  return out
}

/**
 * The segment indices challenged: `challengesPerPeriod` of them. Two words per index, so a
 * commitment of up to 2⁵³ segments is covered without bias worth naming.
 */
export function challengeIndices (seed: Uint8Array, segmentCount: number): number[] {
  const w = seedWords(seed, 'keynet-challenge-v1', challengesPerPeriod * 2)
  return Array.from({ length: challengesPerPeriod }, (_, i) => (w[2 * i]! * 2 ** 21 + (w[2 * i + 1]! >>> 11)) % segmentCount)
}

/** The draws that pick auditors for every provider of a deal in one period. */
export function auditorDraws (seed: Uint8Array): number[] {
  return seedWords(seed, 'keynet-auditors-v1', 16)
}

export interface AuditorCandidate {
  /** Node address (hex). */
  id: string
  /** Its operator group. */
  group: string
}

/**
 * The auditors of one provider: drawn from `auditors` (in the ledger's stable order) by the
 * period's draws, skipping the provider's own operator group, the client's, and repeats;
 * `auditorsPerChallenge` of them (fewer only if there are not enough independent ones). When the
 * draws run out, the remaining eligible auditors are taken in order.
 */
export function assignAuditors (draws: readonly number[], auditors: readonly AuditorCandidate[], excludedGroups: ReadonlySet<string>, excludedIds: ReadonlySet<string> = new Set()): AuditorCandidate[] {
  const chosen: AuditorCandidate[] = []
  if (auditors.length === 0) return chosen
  for (const w of draws) {
    const a = auditors[w % auditors.length]!
    if (!excludedGroups.has(a.group) && !excludedIds.has(a.id) && !chosen.includes(a)) chosen.push(a)
    if (chosen.length === auditorsPerChallenge) return chosen
  }
  for (const a of auditors) {
    if (chosen.length === auditorsPerChallenge) break
    if (!excludedGroups.has(a.group) && !excludedIds.has(a.id) && !chosen.includes(a)) chosen.push(a)
  }
  return chosen
}

/** An auditor's signed finding about one provider of one deal in one period. */
export interface AuditStatement {
  dealId: string
  /** Provider address (hex). */
  provider: string
  period: number
  outcome: AuditOutcome
  /** How long the provider took to answer (ms); 0 when it did not. */
  latencyMs: number
}

export function auditStatementBytes (chainId: string, s: AuditStatement): Uint8Array {
  return encode(['keynet-audit-result-v1', chainId, s.dealId, s.provider, s.period, s.outcome, s.latencyMs])
}

export function signAuditStatement (secretKey: Uint8Array, chainId: string, s: AuditStatement): Uint8Array {
  return signBytes(secretKey, auditStatementBytes(chainId, s))
}

export function verifyAuditStatement (auditorKey: Uint8Array, chainId: string, s: AuditStatement, sig: Uint8Array): boolean {
  return verifyBytes(auditorKey, auditStatementBytes(chainId, s), sig)
}

/** Throws `WrongProofError` unless `segment` with `path` proves challenged leaf `index` of the deal's data. */
export function checkAnswer (dataRoot: Uint8Array, segmentCount: number, challenged: readonly number[], index: number, segment: Uint8Array, path: Uint8Array[]): void {
  if (!challenged.includes(index)) throw new WrongProofError(`segment ${index} was not challenged this period`)
  if (!verifyMerklePath(dataRoot, segmentCount, index, segment, path)) throw new WrongProofError(`the segment and path do not prove leaf ${index} of the deal's data root`)
}
