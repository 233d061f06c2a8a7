/**
 * Compute task escrow on the ledger: compute-open, compute-assign and compute-settle, each
 * applying the pure rules of `src/core/market/compute-tasks.ts` to the ledger's state (offers,
 * stakes and operator groups, balances, slashing, provider records).
 */
import { fromHex, toHex } from '../../../../foundations/bytes.ts'
import { InvalidSignatureError, NotFoundError } from '../../../../foundations/errors.ts'
import { assignProvider, openComputeTask, postReports, verifyComputeReport, type ComputeTask, type TaskProvider } from '../../../market/compute-tasks.ts'
import { NotAuthorisedError, PolicyNotMetError, ReplayedError } from '../../../market/errors.ts'
import { requireOfferStake } from '../../../market/stake.ts'
import { getProvider, isProviderLive, kindsOf } from '../../providers.ts'
import type { TxContext } from '../../handlers/context.ts'
import { marketKey } from '../keys.ts'
import { burnSlash, credit, debit, getOffer, getStake, groupOf, periodOf, recordEarnings, recordPeriod, requireProvider } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/** The client opens a task's escrow with the providers it assigned; the escrow leaves its balance. */
export const computeOpen: MarketHandler<'compute-open'> = (ctx, body) => {
  if (ctx.state.entry(marketKey.computeTask(body.taskId)) !== undefined) throw new ReplayedError(`task ${body.taskId} already has an escrow: a task id is used once`)
  const client = toHex(ctx.sender)
  const task = openComputeTask({
    id: body.taskId,
    client,
    clientGroups: clientGroups(ctx, client),
    units: body.units,
    replicas: body.replicas,
    openedAt: ctx.time,
    providers: body.providers.map(a => computeProvider(ctx, a)),
    escrow: body.escrow
  })
  debit(ctx.state, ctx.sender, body.escrow, 'the task escrow')
  ctx.state.setEntry(marketKey.computeTask(task.id), task)
}

/** The client assigns replacements or tie-breakers, within the escrow not reserved for the others. */
export const computeAssign: MarketHandler<'compute-assign'> = (ctx, body) => {
  let task = getTask(ctx, body.taskId)
  const sender = toHex(ctx.sender)
  if (sender !== task.client) throw new NotAuthorisedError(`only task ${task.id}'s client assigns its providers, not ${sender}`)
  for (const a of body.providers) task = assignProvider(task, computeProvider(ctx, a), clientGroups(ctx, task.client), ctx.time)
  ctx.state.setEntry(marketKey.computeTask(task.id), task)
}

/**
 * Posts signed reports (each checked against its provider's registered node key, over this chain
 * and this task) and applies the rules: agreeing providers are paid, contradicting ones slashed
 * (their operator's stake, burnt) and marked wrong in their record, the rest refunded.
 */
export const computeSettle: MarketHandler<'compute-settle'> = (ctx, body) => {
  const task = getTask(ctx, body.taskId)
  const reports = body.reports.map((r, i) => {
    const provider = toHex(r.provider)
    const node = getProvider(ctx.state, r.provider)
    if (node === undefined) throw new NotAuthorisedError(`report ${i}: ${provider} is not a registered provider`)
    const report = { taskId: task.id, provider, digest: r.digest, coreSeconds: r.coreSeconds }
    if (!verifyComputeReport(node.node, ctx.chainId, report, r.sig)) {
      throw new InvalidSignatureError(`report ${i}: not ${provider}'s signature over task ${task.id}, digest ${r.digest.slice(0, 16)}…, ${r.coreSeconds} core-seconds on chain ${ctx.chainId} (forged, or signed for another task, result or chain)`)
    }
    return { provider, digest: r.digest, coreSeconds: r.coreSeconds }
  })
  const s = postReports(task, reports, { now: ctx.time, sender: toHex(ctx.sender), close: body.close })
  const period = periodOf(ctx)
  for (const p of s.payments) {
    credit(ctx.state, p.provider, p.amount)
    recordEarnings(ctx.state, p.provider, p.amount)
  }
  for (const provider of s.slashed) {
    const node = getProvider(ctx.state, fromHex(provider))
    if (node !== undefined) burnSlash(ctx.state, toHex(node.operator))
    recordPeriod(ctx.state, provider, period, 'wrong', 0)
  }
  credit(ctx.state, task.client, s.refunded)
  ctx.state.setEntry(marketKey.computeTask(task.id), s.task)
}

/** The groups a client belongs to: its own as an operator, and that of any operator whose stake it funded. */
function clientGroups (ctx: TxContext, client: string): string[] {
  const funded = ctx.state.entry<string>(marketKey.link(`src:${client}`))
  return funded === undefined ? [groupOf(ctx.state, client)] : [groupOf(ctx.state, client), funded]
}

function getTask (ctx: TxContext, id: string): ComputeTask {
  const task = ctx.state.entry<ComputeTask>(marketKey.computeTask(id))
  if (task === undefined) throw new NotFoundError(`no compute task ${id} on the ledger: open its escrow with compute-open`)
  return task
}

/** A provider a task may name: registered for compute, live, with a compute offer and a staked operator. */
function computeProvider (ctx: TxContext, address: Uint8Array): TaskProvider {
  const node = requireProvider(ctx.state, address)
  const provider = toHex(address)
  if (!kindsOf(node).includes('compute')) throw new PolicyNotMetError(`provider ${provider} is not registered for compute`)
  if (!isProviderLive(node, ctx.time, ctx.params)) throw new PolicyNotMetError(`provider ${provider} has been silent longer than the provider timeout`)
  const offer = getOffer(ctx.state, address, 'compute')
  if (offer === undefined) throw new NotFoundError(`provider ${provider} has no compute offer`)
  const operator = toHex(node.operator)
  requireOfferStake(getStake(ctx.state, operator))
  return { provider, group: groupOf(ctx.state, operator), region: offer.region, price: offer.price }
}
