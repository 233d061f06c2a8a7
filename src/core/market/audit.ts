/**
 * Storage audits. Each period, each deal's challenge is drawn from the ledger's randomness (the
 * beacon: the hash of a committed block header after the period ended, which nobody knew while
 * the period ran): a few block indices every holder must answer with the block and its Merkle
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

function words (seed: Uint8Array): number[] {
  const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength)
  return Array.from({ length: seed.byteLength >> 2 }, (_, i) => view.getUint32(i * 4))
}

/** The block indices challenged (`challengesPerPeriod` of them, from the seed's first words). */
export function challengeIndices (seed: Uint8Array, blockCount: number): number[] {
  return words(seed).slice(0, challengesPerPeriod).map(w => w % blockCount)
}

export interface AuditorCandidate {
  /** Node address (hex). */
  id: string
  /** Its operator group. */
  group: string
}

/**
 * The auditors of one provider: drawn from `auditors` (in the ledger's stable order) by the seed,
 * skipping the provider's own group, the client's, and repeats; `auditorsPerChallenge` of them
 * (fewer only if there are not enough independent ones).
 */
export function assignAuditors (seed: Uint8Array, auditors: readonly AuditorCandidate[], excludedGroups: ReadonlySet<string>, excludedIds: ReadonlySet<string> = new Set()): AuditorCandidate[] {
  const chosen: AuditorCandidate[] = []
  if (auditors.length === 0) return chosen
  let draw = sha256(utf8.encode('keynet-auditors-v1'), seed)
  // Bounded: after 8 rounds of draws the remaining eligible auditors are taken in order.
  for (let round = 0; round < 8 && chosen.length < auditorsPerChallenge; round++) {
    for (const w of words(draw)) {
      const a = auditors[w % auditors.length]!
      if (!excludedGroups.has(a.group) && !excludedIds.has(a.id) && !chosen.includes(a)) chosen.push(a)
      if (chosen.length === auditorsPerChallenge) return chosen
    }
    draw = sha256(draw)
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

/** Throws `WrongProofError` unless `block` with `path` proves challenged leaf `index` of the deal's data. */
export function checkAnswer (dataRoot: Uint8Array, blockCount: number, challenged: readonly number[], index: number, block: Uint8Array, path: Uint8Array[]): void {
  if (!challenged.includes(index)) throw new WrongProofError(`block ${index} was not challenged; this period's challenge is ${challenged.join(', ')}`)
  if (!verifyMerklePath(dataRoot, blockCount, index, block, path)) throw new WrongProofError(`the block and path do not prove leaf ${index} of the deal's data root`)
}
