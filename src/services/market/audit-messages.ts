/** Wire format of the audit protocol (canonical CBOR): challenge request and answer. */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { auditSegmentBytes, challengesPerPeriod } from '../../core/market/constants.ts'
import type { ChallengeAnswer } from '../../core/market/disputes.ts'

export interface AuditRequest {
  dealId: string
  period: number
  indices: number[]
}

export function encodeAuditRequest (r: AuditRequest): Uint8Array {
  return encode(['keynet-audit-request-v1', r.dealId, r.period, r.indices])
}

export function decodeAuditRequest (bytes: Uint8Array): AuditRequest {
  const v = decode(bytes)
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== 'keynet-audit-request-v1') throw new MalformedMessageError('not an audit request')
  return {
    dealId: shape.str(v[1], 'dealId', 24),
    period: shape.uint(v[2], 'period'),
    indices: shape.list(v[3], 'indices', challengesPerPeriod).map(i => shape.uint(i, 'indices[]'))
  }
}

export function encodeAuditAnswer (answers: ChallengeAnswer[]): Uint8Array {
  return encode(['keynet-audit-answer-v1', answers.map(a => [a.index, a.segment, a.path])])
}

export function decodeAuditAnswer (bytes: Uint8Array): ChallengeAnswer[] {
  const v = decode(bytes)
  if (!Array.isArray(v) || v.length !== 2 || v[0] !== 'keynet-audit-answer-v1') throw new MalformedMessageError('not an audit answer')
  return shape.list(v[1], 'answers', challengesPerPeriod).map(a => {
    if (!Array.isArray(a) || a.length !== 3) throw new MalformedMessageError('an answer is [index, segment, path]')
    return {
      index: shape.uint(a[0], 'index'),
      segment: shape.bytes(a[1], 'segment', undefined, auditSegmentBytes),
      path: shape.list(a[2], 'path', 40).map(h => shape.bytes(h, 'path[]', 32))
    }
  })
}
