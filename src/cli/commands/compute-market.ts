/**
 * `keynet compute run` on the market: compute offers read from the ledger, the task's escrow
 * opened for the matched providers (and a tie-breaker), the providers' signed reports checked and
 * posted, and the ledger's settlement read back — who was paid, who slashed, what was refunded.
 */
import { fromHex, toHex } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { matchTask, type ComputeOffer, type TaskSpec } from '../../core/compute/index.ts'
import { taskEscrowRequired, verifyComputeReport, type ComputeTask } from '../../core/market/compute-tasks.ts'
import { PolicyNotMetError } from '../../core/market/errors.ts'
import type { SignedComputeReport } from '../../core/ledger/market/types.ts'
import type { ComputeOfferView } from '../../edges/api/compute-routes.ts'
import type { ProviderReport } from '../../services/compute/index.ts'
import type { CliContext } from '../context.ts'

/** Live compute offers from the ledger as matching sees them: by peer id, operator group as operator, score in [0, 1]. */
export interface MarketOffers {
  offers: ComputeOffer[]
  /** The ledger's view of each offer, by peer id. */
  byPeer: Map<string, ComputeOfferView>
  /** Multiaddrs to dial them by. */
  dial: string[]
}

export async function marketOffers (ctx: CliContext, region: string | undefined): Promise<MarketOffers> {
  const { offers } = await ctx.api().computeOffers(region === undefined ? {} : { region })
  const live = offers.filter(o => o.live)
  return {
    offers: live.map(o => ({ provider: o.peerId, operator: o.group, region: o.region, cores: o.cores, freeCores: o.cores, memoryBytes: o.memoryBytes, price: o.price, score: o.score / 10_000 })),
    byPeer: new Map(live.map(o => [o.peerId, o])),
    dial: live.flatMap(o => o.addrs.filter(a => a.includes('/tcp/')).map(a => `${a}/p2p/${o.peerId}`))
  }
}

/** The CPU budget a task's escrow pays per provider: its timeout in whole core-seconds. */
export function budgetOf (spec: Pick<TaskSpec, 'timeoutMs'>): number {
  return Math.max(1, Math.ceil(spec.timeoutMs / 1000))
}

/**
 * Picks the first providers exactly as the verified run will (same matching, same seed) and opens
 * the task's escrow for them: their prices × the budget, and a tie-breaker at the highest price
 * any fitting offer asks, so whichever the run brings in fits.
 */
export async function openTaskEscrow (ctx: CliContext, key: KeyPair, id: string, spec: TaskSpec, market: MarketOffers): Promise<{ assigned: string[], peers: string[], escrow: number, units: number }> {
  const first = matchTask(spec, market.offers, { count: spec.replicas, taskId: id })
  if (first.length < spec.replicas) throw new PolicyNotMetError(`the ledger lists ${first.length} fitting compute offers under distinct operator groups; ${spec.replicas} replicas need ${spec.replicas} (see keynet market offers --kind compute)`)
  const units = budgetOf(spec)
  const fitting = matchTask(spec, market.offers, { count: market.offers.length, taskId: id })
  const base = taskEscrowRequired(first.map(o => o.price), units)
  const escrow = base + (Math.max(...fitting.map(o => o.price)) - Math.max(...first.map(o => o.price))) * units
  const assigned = first.map(o => market.byPeer.get(o.provider)!.provider)
  await ctx.send({ type: 'compute-open', taskId: id, units, replicas: spec.replicas, providers: assigned.map(fromHex), escrow }, { key })
  return { assigned, peers: first.map(o => o.provider), escrow, units }
}

/**
 * Posts what the run produced: every report a provider signed for this task whose digest is the
 * one the client computed from the output it returned (a provider cannot sign for output it did
 * not send). Providers that reported without being assigned (tie-breakers, replacements) are
 * assigned first. Closes the task when every assigned provider has reported and no quorum agreed.
 */
export async function settleTask (ctx: CliContext, key: KeyPair, id: string, chainId: string, assigned: string[], reports: Map<string, ProviderReport>, market: MarketOffers): Promise<ComputeTask> {
  const signed: SignedComputeReport[] = []
  for (const [peer, r] of reports) {
    const offer = market.byPeer.get(peer)
    const report = r.response?.report
    if (offer === undefined || report === undefined || r.digest === undefined) continue
    const statement = { taskId: id, provider: offer.provider, digest: r.digest, coreSeconds: report.coreSeconds }
    if (!verifyComputeReport(fromHex(offer.publicKey), chainId, statement, report.sig)) {
      process.stderr.write(`compute: ${peer}'s report does not check (not signed over the output it sent); not posted\n`)
      continue
    }
    signed.push({ provider: fromHex(offer.provider), digest: r.digest, coreSeconds: report.coreSeconds, sig: report.sig })
  }
  const api = ctx.api()
  const before = await api.computeTask(id)
  // Extra providers are assigned while the escrow not reserved for the others covers them; the
  // report of one that does not fit is left out (it ran unassigned, so it has no claim).
  let free = before.escrow.held - before.providers.reduce((a, p) => a + p.price * before.units, 0)
  const extra: string[] = []
  for (const s of signed) {
    const p = toHex(s.provider)
    if (assigned.includes(p)) continue
    const cost = market.offers.find(o => market.byPeer.get(o.provider)?.provider === p)!.price * before.units
    if (cost <= free) { extra.push(p); free -= cost } else process.stderr.write(`compute: the escrow has no room left for ${p}; its report is not posted\n`)
  }
  const posted = signed.filter(s => assigned.includes(toHex(s.provider)) || extra.includes(toHex(s.provider)))
  signed.length = 0
  signed.push(...posted)
  if (extra.length > 0) await ctx.send({ type: 'compute-assign', taskId: id, providers: extra.map(fromHex) }, { key })
  const reported = new Set(signed.map(s => toHex(s.provider)))
  const all = [...assigned, ...extra].every(p => reported.has(p))
  const close = all && before.accepted === undefined && !signedAccepts(signed, before.quorum)
  await ctx.send({ type: 'compute-settle', taskId: id, reports: signed, close }, { key })
  return await api.computeTask(id)
}

/** Whether some digest has `quorum` reports among these. */
function signedAccepts (reports: readonly SignedComputeReport[], quorum: number): boolean {
  const votes = new Map<string, number>()
  for (const r of reports) votes.set(r.digest, (votes.get(r.digest) ?? 0) + 1)
  return [...votes.values()].some(n => n >= quorum)
}

/** The client's address as the ledger names it. */
export function clientAddress (key: KeyPair): string {
  return toHex(addressOf(key.publicKey))
}

/** A task's settlement in one line per fact, for people. */
export function describeSettlement (task: ComputeTask): string[] {
  const paid = task.paid.map(p => `${p.provider} ${p.amount}`).join(', ')
  return [
    `  ledger   ${task.status}${task.accepted === undefined ? '' : `, accepted ${task.accepted.slice(0, 16)}…`}; escrow ${task.escrow.deposited}: paid ${task.escrow.paid}, refunded ${task.escrow.refunded}, held ${task.escrow.held}`,
    `  paid     ${paid === '' ? '—' : paid}`,
    `  slashed  ${task.slashed.length === 0 ? '—' : task.slashed.join(', ')}`,
    ...(task.status !== 'closed' && task.escrow.held > 0 ? [`  the ${task.escrow.held} still held waits for providers that have not reported; after ${new Date(task.deadline).toISOString()} \`keynet compute close ${task.id}\` returns it`] : [])
  ]
}
