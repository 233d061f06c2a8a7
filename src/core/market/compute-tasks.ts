/**
 * Compute tasks on the market: escrow and settlement by rule. A client opens a task escrow naming
 * the task (its id: the hash of the spec), the providers it assigned and an escrow that covers
 * every assigned provider's price × the task's CPU budget (core-seconds) plus one tie-breaker at
 * the highest of those prices. Providers sign a report of their result — task id, result digest,
 * core-seconds used — bound to the chain; settlement posts these reports and the rules decide:
 * - the first digest that `quorum` reports agree on (assigned providers are in distinct operator
 *   groups, so that is `quorum` independent parties) is accepted; each agreeing provider is paid
 *   its price × the core-seconds it claimed, at most the quorum-th largest claim among the
 *   agreeing reports (nobody is paid for more work than a quorum vouches for) and the budget;
 * - a provider whose signed report contradicts the accepted digest is not paid and is slashed;
 * - after acceptance, the escrow no unreported assigned provider could still earn is refunded at
 *   once; the rest after the deadline;
 * - without a quorum by the deadline (a client that never settles, or one that saw a mismatch and
 *   brought no tie-breaker), every provider with a report on the ledger is paid its claim: the
 *   client holds the tool that decides a mismatch (a tie-breaker within its escrow) and bears the
 *   cost of not using it, so it cannot keep results it never paid for.
 * Pure: times and the reports' signature checks are the caller's (`verifyComputeReport`).
 * See `docs/protocol/compute.md`, "Payment".
 */
import { signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { maxExtraProviders, quorumFor } from '../compute/verification.ts'
import { maxReplicas } from '../compute/constants.ts'
import { computeRunWindowMultiple, computeSettleGraceMs, maxTaskCoreSeconds } from './constants.ts'
import { InsufficientEscrowError, NotAuthorisedError, OutOfWindowError, PolicyNotMetError, ReplayedError } from './errors.ts'
import { openEscrow, pay, refund, type Escrow } from './escrow.ts'

/** An assigned provider of a task, at its offer price (per core-second). */
export interface TaskProvider {
  /** Provider node address (hex). */
  provider: string
  group: string
  region: string
  price: number
}

/** What a provider signs about its run of a task. */
export interface ComputeReport {
  taskId: string
  /** Provider node address (hex). */
  provider: string
  /** `resultDigest` of the run (hex): how it ended and its output's CID. */
  digest: string
  /** Core-seconds the run used (its fuel, in core-seconds, rounded up). */
  coreSeconds: number
}

export type TaskStatus = 'open' | 'accepted' | 'closed'

export interface ComputeTask {
  id: string
  /** Client address (hex): pays the escrow, gets the refunds. */
  client: string
  /** CPU budget per provider in core-seconds: what each run may use, and be paid for, at most. */
  units: number
  replicas: number
  /** Agreeing reports that accept a digest. */
  quorum: number
  /** Ledger time (ms) it opened, and after which it may be closed by anyone of it. */
  openedAt: number
  deadline: number
  providers: TaskProvider[]
  /** Reports on the ledger, in the order they were posted. */
  reports: Array<Omit<ComputeReport, 'taskId'>>
  escrow: Escrow
  status: TaskStatus
  /** The accepted digest, once a quorum agreed. */
  accepted?: string
  paid: Array<{ provider: string, amount: number }>
  slashed: string[]
}

/** The signed bytes: domain tag, chain id, task, provider, digest and core-seconds, so a report is valid for exactly one of each. */
export function computeReportBytes (chainId: string, r: ComputeReport): Uint8Array {
  return encode(['keynet-compute-report-v1', chainId, r.taskId, r.provider, r.digest, r.coreSeconds])
}

export function signComputeReport (secretKey: Uint8Array, chainId: string, r: ComputeReport): Uint8Array {
  return signBytes(secretKey, computeReportBytes(chainId, r))
}

export function verifyComputeReport (providerKey: Uint8Array, chainId: string, r: ComputeReport, sig: Uint8Array): boolean {
  return verifyBytes(providerKey, computeReportBytes(chainId, r), sig)
}

/** Core-seconds of a run that used `fuel` units, at `fuelPerMs` (rounded up; at least 1). */
export function coreSecondsOf (fuel: number, fuelPerMs: number): number {
  return Math.max(1, Math.ceil(fuel / fuelPerMs / 1000))
}

/** What a task's escrow must hold: every assigned provider's price × units, plus a tie-breaker at the highest of them. */
export function taskEscrowRequired (prices: readonly number[], units: number): number {
  const total = (prices.reduce((a, p) => a + p, 0) + Math.max(0, ...prices)) * units
  if (!Number.isSafeInteger(total)) throw new MalformedMessageError('the task is too large: price × core-seconds is not a safe integer')
  return total
}

/** How long after opening a task may be closed without its client: its runs' wall-clock bound and a grace to post reports. */
export function taskWindowMs (units: number): number {
  return units * 1000 * computeRunWindowMultiple + computeSettleGraceMs
}

export interface TaskTerms {
  id: string
  client: string
  /** The client's operator groups (as an operator, and those of operators whose stake it funded): none of theirs may be assigned. */
  clientGroups: readonly string[]
  units: number
  replicas: number
  openedAt: number
  providers: TaskProvider[]
  escrow: number
}

/** Opens a task escrow: checks the terms, the providers' independence and the escrow. */
export function openComputeTask (t: TaskTerms): ComputeTask {
  if (!/^[0-9a-f]{64}$/.test(t.id)) throw new MalformedMessageError('a task id is 64 hex characters (the SHA-256 of the task spec)')
  if (!Number.isSafeInteger(t.replicas) || t.replicas < 1 || t.replicas > maxReplicas) throw new MalformedMessageError(`replicas must be 1..${maxReplicas}`)
  if (!Number.isSafeInteger(t.units) || t.units < 1 || t.units > maxTaskCoreSeconds) throw new MalformedMessageError(`the CPU budget must be 1..${maxTaskCoreSeconds} core-seconds`)
  if (t.providers.length < t.replicas) throw new PolicyNotMetError(`${t.providers.length} providers cannot run ${t.replicas} replicas`)
  let task: ComputeTask = {
    id: t.id,
    client: t.client,
    units: t.units,
    replicas: t.replicas,
    quorum: quorumFor(t.replicas),
    openedAt: t.openedAt,
    deadline: t.openedAt + taskWindowMs(t.units),
    providers: [],
    reports: [],
    escrow: openEscrow(t.escrow),
    status: 'open',
    paid: [],
    slashed: []
  }
  const required = taskEscrowRequired(t.providers.map(p => p.price), t.units)
  if (!Number.isSafeInteger(t.escrow) || t.escrow < required) throw new InsufficientEscrowError(`escrow ${t.escrow} does not cover ${required} (${t.providers.length} providers and a tie-breaker × ${t.units} core-seconds at their prices)`)
  for (const p of t.providers) task = assignProvider(task, p, t.clientGroups, t.openedAt)
  return task
}

/** Escrow still needed by assigned providers that have not reported (each may yet earn its price × units). */
export function reservedEscrow (task: ComputeTask): number {
  const reported = new Set(task.reports.map(r => r.provider))
  return task.providers.reduce((a, p) => a + (reported.has(p.provider) ? 0 : p.price * task.units), 0)
}

/** Assigns one more provider (a replacement or tie-breaker): before the deadline, within the provider limit and the escrow not yet reserved. */
export function assignProvider (task: ComputeTask, p: TaskProvider, clientGroups: readonly string[], now: number): ComputeTask {
  if (task.status !== 'open') throw new ReplayedError(`task ${task.id} is ${task.status}: no more providers may be assigned`)
  if (now >= task.deadline) throw new OutOfWindowError(`task ${task.id} passed its deadline; it can only be closed`)
  const most = Math.min(task.replicas + maxExtraProviders, maxReplicas + maxExtraProviders)
  if (task.providers.length >= most) throw new PolicyNotMetError(`task ${task.id} already has ${task.providers.length} providers, the most it may use`)
  if (task.providers.some(x => x.provider === p.provider)) throw new PolicyNotMetError(`provider ${p.provider} is already assigned to task ${task.id}`)
  if (task.providers.some(x => x.group === p.group)) throw new PolicyNotMetError(`operator group ${p.group} already has a provider on task ${task.id}: replicas must be independent`)
  if (clientGroups.includes(p.group) || p.provider === task.client) throw new PolicyNotMetError(`provider ${p.provider} is in the client's own operator group; it cannot check the client's task`)
  const cost = p.price * task.units
  const free = task.escrow.held - reservedEscrow(task)
  if (free < cost) throw new InsufficientEscrowError(`the escrow has ${free} not reserved for other providers; provider ${p.provider} needs ${cost} (${p.price} × ${task.units} core-seconds)`)
  return { ...task, providers: [...task.providers, p] }
}

/** What posting reports did: who was paid how much, who is to be slashed (operator groups of those providers), what went back to the client. */
export interface TaskSettlement {
  task: ComputeTask
  payments: Array<{ provider: string, amount: number }>
  slashed: string[]
  refunded: number
}

/**
 * Posts reports (already signature-checked) as of ledger time `now`. Each must come from an
 * assigned provider, once, claim 1..units core-seconds, and arrive before the deadline (or in the
 * closing call). The first digest with `quorum` reports is accepted; later reports are judged
 * against it. With `close` (the client once every assigned provider has reported; any party of
 * the task after its deadline) the task ends: a task without a quorum pays every reporter its
 * claim; whatever is left is refunded.
 */
export function postReports (task: ComputeTask, reports: ReadonlyArray<Omit<ComputeReport, 'taskId'>>, q: { now: number, sender: string, close: boolean }): TaskSettlement {
  if (task.status === 'closed') throw new ReplayedError(`task ${task.id} is closed: its settlement is final`)
  const isClient = q.sender === task.client
  if (!isClient && !task.providers.some(p => p.provider === q.sender)) throw new NotAuthorisedError(`${q.sender} is neither the client nor an assigned provider of task ${task.id}`)
  const late = q.now >= task.deadline
  if (late && !q.close) throw new OutOfWindowError(`task ${task.id} passed its deadline: post its last reports with close`)
  let next: ComputeTask = { ...task, reports: [...task.reports], paid: [...task.paid], slashed: [...task.slashed] }
  const payments: TaskSettlement['payments'] = []
  const slashed: string[] = []
  let escrow = next.escrow
  let refunded = 0
  for (const r of reports) {
    const p = next.providers.find(x => x.provider === r.provider)
    if (p === undefined) throw new NotAuthorisedError(`provider ${r.provider} is not assigned to task ${task.id}: its report does not count`)
    if (next.reports.some(x => x.provider === r.provider)) throw new ReplayedError(`provider ${r.provider}'s report on task ${task.id} is already on the ledger`)
    if (!Number.isSafeInteger(r.coreSeconds) || r.coreSeconds < 1 || r.coreSeconds > next.units) throw new MalformedMessageError(`provider ${r.provider} claims ${r.coreSeconds} core-seconds; task ${task.id}'s budget is 1..${next.units}`)
    next.reports.push({ provider: r.provider, digest: r.digest, coreSeconds: r.coreSeconds })
    if (next.accepted === undefined) {
      const agreeing = next.reports.filter(x => x.digest === r.digest)
      if (agreeing.length < next.quorum) continue
      next.accepted = r.digest
      next.status = 'accepted'
      // Every report so far is judged now; the ones after it as they come.
      for (const x of next.reports) judge(x)
    } else {
      judge(next.reports[next.reports.length - 1]!)
    }
  }
  if (next.accepted === undefined && q.close) {
    for (const x of next.reports) {
      const p = next.providers.find(y => y.provider === x.provider)!
      const amount = p.price * x.coreSeconds
      escrow = pay(escrow, amount)
      payments.push({ provider: x.provider, amount })
    }
  }
  next.escrow = escrow
  const everyoneReported = next.providers.every(p => next.reports.some(x => x.provider === p.provider))
  // Before the deadline only the client may close, and only once nobody assigned can still report:
  // otherwise it could leave out an agreeing report it holds and not pay for it.
  if (q.close && !late && !(isClient && everyoneReported)) throw new OutOfWindowError(`task ${task.id} may be closed before its deadline (${task.deadline}; it is ${q.now}) only by its client once every assigned provider has reported`)
  // Once accepted, only unreported assigned providers can still be owed anything.
  const keep = q.close ? 0 : next.accepted === undefined ? next.escrow.held : reservedEscrow(next)
  if (next.escrow.held > keep) {
    refunded = next.escrow.held - keep
    next.escrow = refund(next.escrow, refunded)
  }
  if (q.close || (next.accepted !== undefined && everyoneReported)) next.status = 'closed'
  next.paid = [...next.paid, ...payments]
  next.slashed = [...next.slashed, ...slashed]
  return { task: next, payments, slashed, refunded }

  function judge (x: Omit<ComputeReport, 'taskId'>): void {
    if (next.paid.some(y => y.provider === x.provider) || payments.some(y => y.provider === x.provider) || slashed.includes(x.provider)) return
    if (x.digest !== next.accepted) { slashed.push(x.provider); return }
    const p = next.providers.find(y => y.provider === x.provider)!
    const amount = p.price * Math.min(x.coreSeconds, vouched(next))
    escrow = pay(escrow, amount)
    payments.push({ provider: x.provider, amount })
  }
}

/** The core-seconds a quorum vouches for: the quorum-th largest claim among the reports agreeing with the accepted digest. */
export function vouched (task: Pick<ComputeTask, 'reports' | 'accepted' | 'quorum'>): number {
  const claims = task.reports.filter(r => r.digest === task.accepted).map(r => r.coreSeconds).sort((a, b) => b - a)
  return claims[task.quorum - 1] ?? 0
}

/** What a provider holding its own signed report of a task does about it now. */
export type ProviderClaim = 'none' | 'post' | 'close'

/**
 * A provider's side of the rules, for the report it signed (`digest`): once the client has
 * settled (a quorum accepted) without its agreeing report, it posts it and is paid; after the
 * deadline of a task still open it posts (if not on the ledger yet) and closes, and is paid its
 * claim unless a quorum contradicts it. Otherwise it waits: posting while the client settles would
 * make the client's transaction a replay.
 */
export function providerClaim (task: ComputeTask | undefined, provider: string, digest: string, now: number): ProviderClaim {
  if (task === undefined || task.status === 'closed' || !task.providers.some(p => p.provider === provider)) return 'none'
  const posted = task.reports.some(r => r.provider === provider)
  if (now >= task.deadline) return posted && task.accepted !== undefined ? 'none' : 'close'
  if (!posted && task.accepted === digest) return 'post'
  return 'none'
}
