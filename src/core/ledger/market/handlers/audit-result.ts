import { toHex } from '../../../../foundations/bytes.ts'
import { addressOf } from '../../../../foundations/crypto.ts'
import { InvalidSignatureError, MalformedMessageError } from '../../../../foundations/errors.ts'
import { assignAuditors, auditorDraws, auditSeed, verifyAuditStatement, type AuditorCandidate, type AuditStatement } from '../../../market/audit.ts'
import { holdersOf } from '../../../market/deals.ts'
import { NotAuthorisedError, OutOfWindowError, ReplayedError } from '../../../market/errors.ts'
import { answerClosed, emptyEvidence, type PeriodEvidence } from '../../../market/evidence.ts'
import { getProvider } from '../../providers.ts'
import { marketKey } from '../keys.ts'
import { applySlash, auditorCandidates, beaconOf, getDeal, groupOf, periodOf } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/**
 * Records auditors' signed findings, batched: anyone may carry them, but each must be signed by
 * an auditor the period's beacon assigned to that provider (never one in the provider's or the
 * client's operator group), for a holder of an open deal, in a period not settled and before its
 * answer deadline. A finding repeated is a replay and rejected; a different finding from the same
 * auditor for the same provider and period is equivocation, and slashes the auditor's operator.
 */
export const auditResult: MarketHandler<'audit-result'> = (ctx, body) => {
  let auditors: AuditorCandidate[] | undefined
  const now = periodOf(ctx)
  for (const [i, r] of body.results.entries()) {
    const at = `result ${i}`
    const deal = getDeal(ctx.state, r.dealId)
    if (deal.dataRoot === undefined) throw new MalformedMessageError(`${at}: deal ${deal.id} is a ${deal.kind} deal; it has no audits`)
    const provider = toHex(r.provider)
    if (!holdersOf(deal).some(h => h.provider === provider)) throw new NotAuthorisedError(`${at}: ${provider} does not hold deal ${deal.id}`)
    if (r.period < deal.nextPeriod) throw new ReplayedError(`${at}: period ${r.period} of deal ${deal.id} is already settled`)
    if (r.period < deal.startPeriod || r.period >= deal.startPeriod + deal.periods) throw new OutOfWindowError(`${at}: period ${r.period} is outside deal ${deal.id}`)
    if (answerClosed(r.period, now)) throw new OutOfWindowError(`${at}: findings for period ${r.period} were due by the end of period ${r.period + 1}`)
    const statement: AuditStatement = { dealId: r.dealId, provider, period: r.period, outcome: r.outcome, latencyMs: r.latencyMs }
    if (!verifyAuditStatement(r.auditor, ctx.chainId, statement, r.sig)) throw new InvalidSignatureError(`${at}: the finding is not signed by auditor key ${toHex(r.auditor).slice(0, 16)}…`)
    const auditor = toHex(addressOf(r.auditor))
    const beacon = beaconOf(ctx, r.period)
    // Outside a block (a mempool pre-check) the beacon may not be fixed yet; the block checks it.
    if (beacon !== undefined) {
      auditors ??= auditorCandidates(ctx.state)
      const holder = getProvider(ctx.state, r.provider)!
      const excludedGroups = new Set([groupOf(ctx.state, toHex(holder.operator)), groupOf(ctx.state, deal.client)])
      const assigned = assignAuditors(auditorDraws(auditSeed(beacon, deal.id, r.period)), auditors, excludedGroups, new Set([provider, deal.client]))
      if (!assigned.some(a => a.id === auditor)) throw new NotAuthorisedError(`${at}: ${auditor} is not an auditor assigned to ${provider} in period ${r.period}`)
    }
    const key = marketKey.evidence(deal.id, provider, r.period)
    const evidence = ctx.state.entry<PeriodEvidence>(key) ?? emptyEvidence()
    const prior = evidence.outcomes.find(o => o.auditor === auditor)
    if (prior !== undefined && prior.outcome === r.outcome) throw new ReplayedError(`${at}: ${auditor}'s finding for ${provider} in period ${r.period} is already recorded`)
    if (prior !== undefined) {
      // Equivocation: both findings are signed by the same key; the first stands, the auditor pays.
      const auditorNode = getProvider(ctx.state, addressOf(r.auditor))!
      applySlash(ctx.state, toHex(auditorNode.operator), deal.client)
      continue
    }
    ctx.state.setEntry(key, { ...evidence, outcomes: [...evidence.outcomes, { auditor, outcome: r.outcome }] })
  }
}
