/**
 * Verifying a task's result by redundancy, as a pure state machine: `step(state, event)` returns
 * the next state and what to do. Replicas under distinct operators run the task and report a
 * result digest (`resultDigest`: how the run ended and the CID of its output). When `quorum`
 * digests agree the result is accepted: the agreeing providers are paid, those that reported
 * another digest are not, and are named for slashing under the market's dispute rules. Without
 * agreement once every replica has answered, one more provider is brought in, up to
 * `maxExtraProviders`; a provider that crashes or times out is replaced (the replacement resumes
 * from that replica's last checkpoint) and is neither paid nor slashed.
 *
 * Spot checks: a single-replica task with a spot-check rate p runs a second, checking replica
 * with probability p, drawn from a seed the provider cannot know in advance; a provider that
 * returns made-up results on n tasks is caught with probability 1 − (1 − p)ⁿ.
 */
import assert from 'node:assert/strict'
import { toHex } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'
import type { TaskSpec } from './task.ts'

/** Providers a task may bring in beyond its replicas (tie-breakers and replacements of crashed ones). */
export const maxExtraProviders = 3

/**
 * Endings of a run that every honest replica reproduces exactly (fuel, the in-module memory cap
 * and the output cap are counted in the module, not in time). Any other ending — the wall-clock
 * backstop, the worker's own heap limit, a cancelled run — depends on the machine: the runner
 * reports it as a failure (`failed`), never as a digest, so an honest provider on a slow machine
 * is replaced, not slashed.
 */
export const comparableStatuses: ReadonlySet<string> = new Set(['ok', 'exit', 'trap', 'out-of-fuel', 'output-too-large'])

/** The digest two replicas compare: how the run ended, its exit code and its output's CID. */
export function resultDigest (r: { status: string, exitCode: number | undefined, outputCid: { toString: () => string } }): string {
  return toHex(sha256(new TextEncoder().encode(`${r.status}/${r.exitCode ?? ''}/${r.outputCid.toString()}`)))
}

/** One provider's part in a task. */
export interface ReplicaRun {
  provider: string
  operator: string
  state: 'running' | 'reported' | 'failed' | 'cancelled'
  digest?: string
}

export type VerificationOutcome =
  | { kind: 'accepted', digest: string, paid: string[], slashed: string[] }
  | { kind: 'unresolved', reason: string }

export interface VerificationState {
  taskId: string
  /** Agreeing digests needed to accept. */
  quorum: number
  /** Most providers this task may use in all. */
  maxProviders: number
  runs: ReplicaRun[]
  outcome: VerificationOutcome | undefined
}

export type VerificationEvent =
  | { kind: 'assigned', provider: string, operator: string }
  | { kind: 'reported', provider: string, digest: string }
  | { kind: 'failed', provider: string }

export type VerificationAction =
  /** Match `count` more providers, excluding the operators already in `state.runs`; `resumeFrom` names a failed replica whose last checkpoint the new one starts from. */
  | { kind: 'assign', count: number, resumeFrom?: string }
  /** Stop these runs: the result is decided. */
  | { kind: 'cancel', providers: string[] }
  /** Release payment to `paid` from escrow; open disputes against `slashed`. */
  | { kind: 'settle', outcome: VerificationOutcome }

/** Whether a single-replica task with a spot-check rate (basis points) gets its checking replica: drawn from `secretSeed`, which providers must not know before they report. */
export function spotCheckDrawn (spotCheckBps: number, taskId: string, secretSeed: Uint8Array): boolean {
  const draw = sha256(secretSeed, new TextEncoder().encode(`spot-check/${taskId}`))
  const value = ((draw[0] as number) << 24 | (draw[1] as number) << 16 | (draw[2] as number) << 8 | (draw[3] as number)) >>> 0
  return value % 10_000 < spotCheckBps
}

/** Probability that a provider returning made-up results on `cheatedTasks` tasks is caught at least once, at spot-check rate `spotCheckBps`. */
export function spotCheckDetection (spotCheckBps: number, cheatedTasks = 1): number {
  return 1 - (1 - spotCheckBps / 10_000) ** cheatedTasks
}

/** Quorum for `replicas` replicas: all of one or two, a strict majority of more. */
export function quorumFor (replicas: number): number {
  return replicas <= 2 ? replicas : Math.floor(replicas / 2) + 1
}

/** Starts verification of a task: the state and the first assignment. */
export function startVerification (taskId: string, spec: Pick<TaskSpec, 'replicas' | 'spotCheckBps'>, secretSeed: Uint8Array): { state: VerificationState, actions: VerificationAction[] } {
  const checked = spec.replicas === 1 && spec.spotCheckBps > 0 && spotCheckDrawn(spec.spotCheckBps, taskId, secretSeed)
  const replicas = checked ? 2 : spec.replicas
  const state: VerificationState = { taskId, quorum: quorumFor(replicas), maxProviders: replicas + maxExtraProviders, runs: [], outcome: undefined }
  return { state, actions: [{ kind: 'assign', count: replicas }] }
}

/** Applies one event. Events for unknown providers, or after the outcome, change nothing. */
export function step (state: VerificationState, event: VerificationEvent): { state: VerificationState, actions: VerificationAction[] } {
  if (state.outcome !== undefined) return { state, actions: [] }
  const runs = state.runs.map(r => ({ ...r }))
  const run = runs.find(r => r.provider === event.provider)
  if (event.kind === 'assigned') {
    if (run !== undefined || runs.some(r => r.operator === event.operator)) return { state, actions: [] }
    if (runs.length >= state.maxProviders) return { state, actions: [] }
    runs.push({ provider: event.provider, operator: event.operator, state: 'running' })
    return { state: { ...state, runs }, actions: [] }
  }
  if (run === undefined || run.state !== 'running') return { state, actions: [] }
  const actions: VerificationAction[] = []
  if (event.kind === 'failed') {
    run.state = 'failed'
    if (runs.length < state.maxProviders) actions.push({ kind: 'assign', count: 1, resumeFrom: run.provider })
    else return settle({ ...state, runs }, { kind: 'unresolved', reason: 'too many providers failed before a quorum agreed' }, actions)
    return { state: { ...state, runs }, actions }
  }
  run.state = 'reported'
  run.digest = event.digest
  const votes = new Map<string, number>()
  for (const r of runs) if (r.state === 'reported' && r.digest !== undefined) votes.set(r.digest, (votes.get(r.digest) ?? 0) + 1)
  const [leader, leaderVotes] = [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0] as [string, number]
  if (leaderVotes >= state.quorum) {
    const paid = runs.filter(r => r.state === 'reported' && r.digest === leader).map(r => r.provider)
    const slashed = runs.filter(r => r.state === 'reported' && r.digest !== leader).map(r => r.provider)
    const running = runs.filter(r => r.state === 'running')
    for (const r of running) r.state = 'cancelled'
    if (running.length > 0) actions.push({ kind: 'cancel', providers: running.map(r => r.provider) })
    return settle({ ...state, runs }, { kind: 'accepted', digest: leader, paid, slashed }, actions)
  }
  const pending = runs.filter(r => r.state === 'running').length
  const missing = state.quorum - leaderVotes - pending
  if (missing <= 0) return { state: { ...state, runs }, actions }
  if (runs.length + missing > state.maxProviders) {
    return settle({ ...state, runs }, { kind: 'unresolved', reason: `no ${state.quorum} replicas agreed within ${state.maxProviders} providers` }, actions)
  }
  actions.push({ kind: 'assign', count: missing })
  return { state: { ...state, runs }, actions }
}

function settle (state: VerificationState, outcome: VerificationOutcome, actions: VerificationAction[]): { state: VerificationState, actions: VerificationAction[] } {
  assert.ok(state.outcome === undefined)
  if (outcome.kind === 'unresolved') {
    const running = state.runs.filter(r => r.state === 'running')
    if (running.length > 0) actions.push({ kind: 'cancel', providers: running.map(r => r.provider) })
  }
  return { state: { ...state, outcome }, actions: [...actions, { kind: 'settle', outcome }] }
}
