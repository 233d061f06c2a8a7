/** Shape checks of market transaction bodies (values are checked against state by the handlers). */
import { MalformedMessageError } from '../../../foundations/errors.ts'
import * as shape from '../../../foundations/shape.ts'
import { auditOutcomes, type AuditOutcome } from '../../market/audit.ts'
import { maxAnswersPerTx, maxAuditResultsPerTx, maxComputeReportsPerTx, maxDealProviders, maxReceiptsPerTx, maxSettleItems, auditSegmentBytes } from '../../market/constants.ts'
import { checkKind } from '../../market/kinds.ts'
import { checkCidString } from '../providers.ts'
import { marketTxTypes, type MarketTxBody, type MarketTxType, type SignedAuditResult, type SignedComputeReport, type SignedReceipt } from './types.ts'

const maxDealIdChars = 24
/** Hashes in a Merkle path: enough for maxDealSegments leaves. */
const maxPathHashes = 40

export function isMarketTxType (type: string): type is MarketTxType {
  return (marketTxTypes as readonly string[]).includes(type)
}

/** Decodes a market body of the given type; the caller has checked `isMarketTxType`. */
export function checkMarketBody (type: MarketTxType, b: Record<string, unknown>): MarketTxBody {
  const dealId = (v: unknown): string => shape.str(v, 'dealId', maxDealIdChars)
  switch (type) {
    case 'stake':
      shape.onlyKeys(b, type, ['type', 'operator', 'amount'])
      return { type, operator: shape.bytes(b.operator, 'operator', 20), amount: shape.uint(b.amount, 'amount') }
    case 'offer':
      shape.onlyKeys(b, type, ['type', 'kind', 'capacity', 'price'])
      // Numbers pass through as sent: the handler says what is wrong with a negative or absurd price.
      return { type, kind: checkKind(b.kind), capacity: number(b.capacity, 'capacity'), price: number(b.price, 'price') }
    case 'offer-withdraw':
      shape.onlyKeys(b, type, ['type', 'kind'])
      return { type, kind: checkKind(b.kind) }
    case 'deal-open': {
      shape.onlyKeys(b, type, ['type', 'kind', 'units', 'periods', 'replicas', 'regions', 'providers', 'escrow', 'dataRoot', 'segments', 'cid'])
      const body: MarketTxBody = {
        type,
        kind: checkKind(b.kind),
        units: shape.uint(b.units, 'units'),
        periods: shape.uint(b.periods, 'periods'),
        replicas: shape.uint(b.replicas, 'replicas'),
        regions: shape.uint(b.regions, 'regions'),
        providers: shape.list(b.providers, 'providers', maxDealProviders).map((p, i) => shape.bytes(p, `providers[${i}]`, 20)),
        escrow: shape.uint(b.escrow, 'escrow')
      }
      if (b.dataRoot !== undefined) body.dataRoot = shape.bytes(b.dataRoot, 'dataRoot', 32)
      if (b.segments !== undefined) body.segments = shape.uint(b.segments, 'segments')
      if (b.cid !== undefined) body.cid = checkCidString(b.cid, 'cid')
      return body
    }
    case 'audit-result':
      shape.onlyKeys(b, type, ['type', 'results'])
      return { type, results: shape.list(b.results, 'results', maxAuditResultsPerTx).map((r, i) => auditResult(r, `results[${i}]`)) }
    case 'audit-answer':
      shape.onlyKeys(b, type, ['type', 'dealId', 'period', 'answers'])
      return {
        type,
        dealId: dealId(b.dealId),
        period: shape.uint(b.period, 'period'),
        answers: shape.list(b.answers, 'answers', maxAnswersPerTx).map((a, i) => {
          const r = shape.record(a, `answers[${i}]`)
          shape.onlyKeys(r, `answers[${i}]`, ['index', 'segment', 'path'])
          return {
            index: shape.uint(r.index, `answers[${i}].index`),
            segment: shape.bytes(r.segment, `answers[${i}].segment`, undefined, auditSegmentBytes),
            path: shape.list(r.path, `answers[${i}].path`, maxPathHashes).map(h => shape.bytes(h, `answers[${i}].path[]`, 32))
          }
        })
      }
    case 'receipt':
      shape.onlyKeys(b, type, ['type', 'receipts'])
      return { type, receipts: shape.list(b.receipts, 'receipts', maxReceiptsPerTx).map((r, i) => receipt(r, `receipts[${i}]`)) }
    case 'settle':
      shape.onlyKeys(b, type, ['type', 'items'])
      return {
        type,
        items: shape.list(b.items, 'items', maxSettleItems).map((it, i) => {
          const r = shape.record(it, `items[${i}]`)
          shape.onlyKeys(r, `items[${i}]`, ['dealId', 'period'])
          return { dealId: dealId(r.dealId), period: shape.uint(r.period, `items[${i}].period`) }
        })
      }
    case 'deal-replace':
      shape.onlyKeys(b, type, ['type', 'dealId', 'slot', 'provider'])
      return { type, dealId: dealId(b.dealId), slot: shape.uint(b.slot, 'slot'), provider: shape.bytes(b.provider, 'provider', 20) }
    case 'market-tick':
      shape.onlyKeys(b, type, ['type'])
      return { type }
    case 'compute-open':
      shape.onlyKeys(b, type, ['type', 'taskId', 'units', 'replicas', 'providers', 'escrow'])
      return {
        type,
        taskId: hex64(b.taskId, 'taskId'),
        units: shape.uint(b.units, 'units'),
        replicas: shape.uint(b.replicas, 'replicas'),
        providers: shape.list(b.providers, 'providers', maxComputeReportsPerTx).map((p, i) => shape.bytes(p, `providers[${i}]`, 20)),
        escrow: shape.uint(b.escrow, 'escrow')
      }
    case 'compute-assign':
      shape.onlyKeys(b, type, ['type', 'taskId', 'providers'])
      return { type, taskId: hex64(b.taskId, 'taskId'), providers: shape.list(b.providers, 'providers', maxComputeReportsPerTx).map((p, i) => shape.bytes(p, `providers[${i}]`, 20)) }
    case 'compute-settle':
      shape.onlyKeys(b, type, ['type', 'taskId', 'reports', 'close'])
      if (typeof b.close !== 'boolean') throw new MalformedMessageError('close must be true or false')
      return { type, taskId: hex64(b.taskId, 'taskId'), reports: shape.list(b.reports, 'reports', maxComputeReportsPerTx).map((r, i) => computeReport(r, `reports[${i}]`)), close: b.close }
  }
}

function number (v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new MalformedMessageError(`${field} must be a number`)
  return v
}

function hex64 (v: unknown, field: string): string {
  const s = shape.str(v, field, 64)
  if (!/^[0-9a-f]{64}$/.test(s)) throw new MalformedMessageError(`${field} must be 64 lower-case hex characters`)
  return s
}

function computeReport (v: unknown, field: string): SignedComputeReport {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, ['provider', 'digest', 'coreSeconds', 'sig'])
  return {
    provider: shape.bytes(r.provider, `${field}.provider`, 20),
    digest: hex64(r.digest, `${field}.digest`),
    coreSeconds: shape.uint(r.coreSeconds, `${field}.coreSeconds`),
    sig: shape.bytes(r.sig, `${field}.sig`, 64)
  }
}

function auditResult (v: unknown, field: string): SignedAuditResult {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, ['dealId', 'provider', 'period', 'outcome', 'latencyMs', 'auditor', 'sig'])
  const outcome = shape.str(r.outcome, `${field}.outcome`, 16)
  if (!(auditOutcomes as readonly string[]).includes(outcome)) throw new MalformedMessageError(`${field}.outcome must be one of ${auditOutcomes.join(', ')}`)
  return {
    dealId: shape.str(r.dealId, `${field}.dealId`, maxDealIdChars),
    provider: shape.bytes(r.provider, `${field}.provider`, 20),
    period: shape.uint(r.period, `${field}.period`),
    outcome: outcome as AuditOutcome,
    latencyMs: shape.uint(r.latencyMs, `${field}.latencyMs`),
    auditor: shape.bytes(r.auditor, `${field}.auditor`, 32),
    sig: shape.bytes(r.sig, `${field}.sig`, 64)
  }
}

function receipt (v: unknown, field: string): SignedReceipt {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, ['dealId', 'provider', 'count', 'client', 'sig'])
  return {
    dealId: shape.str(r.dealId, `${field}.dealId`, maxDealIdChars),
    provider: shape.bytes(r.provider, `${field}.provider`, 20),
    count: shape.uint(r.count, `${field}.count`),
    client: shape.bytes(r.client, `${field}.client`, 32),
    sig: shape.bytes(r.sig, `${field}.sig`, 64)
  }
}
