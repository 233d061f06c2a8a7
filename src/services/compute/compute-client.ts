/**
 * The client side of compute: runs a task on one provider (`run`), or on replicas under distinct
 * operators with the verification state machine deciding (`runVerified`): matching picks the
 * providers, each report becomes a digest the client computes itself from the output bytes (a
 * provider cannot claim a CID its output does not hash to), a failed or non-comparable run
 * brings in a replacement that resumes from that replica's last checkpoint, and a mismatch
 * brings in a tie-breaker. The outcome names who is paid and who is to be slashed; moving the
 * escrow is the market's part.
 *
 * With a checkpoint interval, each run is watched while it goes on: the client keeps the latest
 * checkpoint each provider's task wrote, so a replacement for a provider that died mid-task
 * resumes from there instead of from the start. A runner that stores checkpoints as content
 * reports their CIDs instead of their bytes: the client keeps the latest CID of each lineage and
 * hands it to the replacement, which fetches the checkpoint from its holders itself.
 */
import { randomBytes } from 'node:crypto'
import { cidForBlock, rawCode, type CID } from '../../core/content/index.ts'
import { comparableStatuses, fuelFor, matchTask, prepareModule, resultDigest, startVerification, step, type ComputeOffer, type TaskSpec, type VerificationAction, type VerificationOutcome, type VerificationState } from '../../core/compute/index.ts'
import { maxMessageBytesCap, type P2PHost } from '../p2p/index.ts'
import {
  computeCheckpointProtocol, computeRunProtocol, decodeCheckpointUpdate, decodeRunResponse, encodeCheckpointWatch, encodeRunRequest, runIdBytes,
  type CheckpointUpdate, type ContentRef, type RunRequest, type RunResponse
} from './compute-protocol.ts'
import { checkpointHoldMs, unknownRunPauseMs, wallSlackMs, wallTimeoutMultiple } from './constants.ts'

/** A verified task's result. */
export interface VerifiedResult {
  outcome: VerificationOutcome
  /** The accepted output (undefined when unresolved). */
  output: Uint8Array | undefined
  outputCid: CID | undefined
  /** Every provider's report, by provider. */
  reports: Map<string, ProviderReport>
  state: VerificationState
}

/** What became of one provider's run. */
export interface ProviderReport {
  digest?: string
  response?: RunResponse
  error?: string
  /** The provider whose last checkpoint this run resumed from (absent: it started from the beginning). */
  resumedFrom?: string
  /** Checkpoints received from this run while it went on. */
  checkpoints: number
  /** CID of the last checkpoint of this run stored as content on the network (absent: none, or only inline ones). */
  lastCheckpoint?: string
}

/** A lineage's latest checkpoint: its bytes (handed over inline) or its CID (stored on the network). */
export type HeldCheckpoint = { bytes: Uint8Array, cid?: undefined } | { cid: string, bytes?: undefined }

/** Progress of a verified task, as it happens. */
export type ComputeProgress =
  | { kind: 'launched', provider: string, resumedFrom: string | undefined, checkpointBytes: number, checkpointCid?: string }
  | { kind: 'checkpoint', provider: string, seq: number, bytes: number, cid?: string }
  | { kind: 'failed', provider: string, reason: string }
  | { kind: 'reported', provider: string, digest: string }

export class ComputeClient {
  private readonly host: Pick<P2PHost, 'request'>

  constructor (init: { host: Pick<P2PHost, 'request'> }) {
    this.host = init.host
  }

  /** Runs one task on `provider`. */
  async run (provider: string, request: RunRequest, signal?: AbortSignal): Promise<RunResponse> {
    const response = await this.host.request(provider, computeRunProtocol, encodeRunRequest(request), {
      ...(signal === undefined ? {} : { signal }),
      timeoutMs: request.timeoutMs * wallTimeoutMultiple + 2 * wallSlackMs,
      maxResponseBytes: maxMessageBytesCap
    })
    return decodeRunResponse(response)
  }

  /** Waits (up to the provider's hold time) for a checkpoint of run `runId` newer than `after`. */
  async watchCheckpoint (provider: string, runId: Uint8Array, after: number, signal?: AbortSignal): Promise<CheckpointUpdate> {
    const response = await this.host.request(provider, computeCheckpointProtocol, encodeCheckpointWatch({ runId, after }), {
      ...(signal === undefined ? {} : { signal }),
      timeoutMs: checkpointHoldMs + 2 * wallSlackMs,
      maxResponseBytes: maxMessageBytesCap
    })
    return decodeCheckpointUpdate(response)
  }

  /** Hands each new checkpoint of a watched run to `onCheckpoint` until `signal` aborts or the provider stops answering. */
  private async followCheckpoints (provider: string, runId: Uint8Array, signal: AbortSignal, onCheckpoint: (seq: number, held: HeldCheckpoint) => void): Promise<void> {
    let seen = 0
    while (!signal.aborted) {
      let update: CheckpointUpdate
      try {
        update = await this.watchCheckpoint(provider, runId, seen, signal)
      } catch {
        return // the provider is gone or the run is over: its run request reports which
      }
      if (update.seq > seen && (update.checkpoint !== undefined || update.cid !== undefined)) {
        seen = update.seq
        onCheckpoint(update.seq, update.cid !== undefined ? { cid: update.cid } : { bytes: update.checkpoint! })
      }
      if (update.ended) return
      if (update.seq === seen && update.checkpoint === undefined && update.cid === undefined) await new Promise(resolve => setTimeout(resolve, unknownRunPauseMs))
    }
  }

  /** Runs a task on replicas chosen from `offers` until the verification decides. */
  async runVerified (opts: {
    taskId: string
    spec: Pick<TaskSpec, 'replicas' | 'spotCheckBps' | 'memoryBytes' | 'maxPrice' | 'region' | 'timeoutMs' | 'maxOutputBytes'>
    offers: readonly ComputeOffer[]
    module: Uint8Array
    input: Uint8Array
    secretSeed: Uint8Array
    /** How often tasks should checkpoint (ms of the task's clock; 0 or absent: runs are not watched). */
    checkpointEveryMs?: number
    /** The task id of the task's escrow on the ledger: providers sign their result reports for it (in `response.report`). */
    reportTaskId?: string
    /** The module or input as content on the network: providers fetch them by CID (`module`, `input` are then not sent; `module` is still checked here). */
    moduleRef?: ContentRef
    inputRef?: ContentRef
    /** Every lineage starts from this checkpoint on the network (resuming a task whose client went away). */
    resumeFrom?: ContentRef
    onProgress?: (event: ComputeProgress) => void
    signal?: AbortSignal
  }): Promise<VerifiedResult> {
    const { spec } = opts
    // The checks every provider applies, applied here first: a bad module fails now, with the reason.
    prepareModule(opts.module, { memoryBytes: spec.memoryBytes, fuel: fuelFor(spec) })
    const outputs = new Map<string, Uint8Array>()
    const checkpoints = new Map<string, HeldCheckpoint>()
    const reports: VerifiedResult['reports'] = new Map()
    const tried = new Set<string>()
    const started = startVerification(opts.taskId, spec, opts.secretSeed)
    let state = started.state
    let queue: VerificationAction[] = started.actions
    const inFlight = new Map<string, Promise<void>>()
    const everyMs = opts.checkpointEveryMs ?? 0
    const watching = new AbortController()
    // Aborted once the verification has decided: runs still going are cancelled on their providers.
    const decided = new AbortController()
    const runSignal = opts.signal === undefined ? decided.signal : AbortSignal.any([opts.signal, decided.signal])
    const progress = (event: ComputeProgress): void => { opts.onProgress?.(event) }

    const apply = (event: Parameters<typeof step>[1]): void => {
      const next = step(state, event)
      state = next.state
      queue.push(...next.actions)
    }
    const launch = (offer: ComputeOffer, resumeFrom: string | undefined): void => {
      tried.add(offer.provider)
      apply({ kind: 'assigned', provider: offer.provider, operator: offer.operator })
      const provider = offer.provider
      const checkpoint = resumeFrom === undefined ? undefined : checkpoints.get(resumeFrom)
      const startRef = checkpoint === undefined ? opts.resumeFrom : undefined
      // A lineage goes on from its own checkpoints: the replacement's first one is the one it resumed from.
      if (checkpoint !== undefined) checkpoints.set(provider, checkpoint)
      const runId = everyMs > 0 ? new Uint8Array(randomBytes(runIdBytes)) : undefined
      const request: RunRequest = {
        module: opts.moduleRef === undefined ? opts.module : new Uint8Array(0),
        input: opts.inputRef === undefined ? opts.input : new Uint8Array(0),
        memoryBytes: spec.memoryBytes,
        timeoutMs: spec.timeoutMs,
        maxOutputBytes: spec.maxOutputBytes,
        ...(checkpoint?.bytes === undefined ? {} : { checkpoint: checkpoint.bytes }),
        ...(checkpoint?.cid === undefined ? {} : { checkpointRef: { cid: checkpoint.cid } }),
        ...(startRef === undefined ? {} : { checkpointRef: startRef }),
        ...(opts.moduleRef === undefined ? {} : { moduleRef: opts.moduleRef }),
        ...(opts.inputRef === undefined ? {} : { inputRef: opts.inputRef }),
        ...(runId === undefined ? {} : { checkpointEveryMs: everyMs, runId }),
        ...(opts.reportTaskId === undefined ? {} : { taskId: opts.reportTaskId })
      }
      const base = { checkpoints: 0, ...(checkpoint === undefined || resumeFrom === undefined ? {} : { resumedFrom: resumeFrom }) }
      let received = 0
      let lastCid: string | undefined
      const checkpointCid = checkpoint?.cid ?? startRef?.cid
      progress({ kind: 'launched', provider, resumedFrom: checkpoint === undefined ? undefined : resumeFrom, checkpointBytes: checkpoint?.bytes?.byteLength ?? 0, ...(checkpointCid === undefined ? {} : { checkpointCid }) })
      const runEnded = new AbortController()
      if (runId !== undefined) {
        void this.followCheckpoints(provider, runId, AbortSignal.any([runEnded.signal, watching.signal]), (seq, held) => {
          received++
          checkpoints.set(provider, held)
          if (held.cid !== undefined) lastCid = held.cid
          progress({ kind: 'checkpoint', provider, seq, bytes: held.bytes?.byteLength ?? 0, ...(held.cid === undefined ? {} : { cid: held.cid }) })
        })
      }
      inFlight.set(provider, this.run(provider, request, runSignal).then(response => {
        if (response.checkpoint !== undefined) checkpoints.set(provider, { bytes: response.checkpoint })
        if (!comparableStatuses.has(response.status)) {
          reports.set(provider, { ...base, checkpoints: received, ...(lastCid === undefined ? {} : { lastCheckpoint: lastCid }), response })
          progress({ kind: 'failed', provider, reason: `${response.status}: ${response.message ?? ''}` })
          apply({ kind: 'failed', provider })
          return
        }
        const outputCid = cidForBlock(rawCode, response.output)
        const digest = resultDigest({ status: response.status, exitCode: response.exitCode, outputCid })
        outputs.set(digest, response.output)
        reports.set(provider, { ...base, checkpoints: received, ...(lastCid === undefined ? {} : { lastCheckpoint: lastCid }), digest, response })
        progress({ kind: 'reported', provider, digest })
        apply({ kind: 'reported', provider, digest })
      }, (err: unknown) => {
        const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
        reports.set(provider, { ...base, checkpoints: received, ...(lastCid === undefined ? {} : { lastCheckpoint: lastCid }), error })
        progress({ kind: 'failed', provider, reason: error })
        apply({ kind: 'failed', provider })
      }).finally(() => {
        runEnded.abort()
        inFlight.delete(provider)
      }))
    }

    try {
      while (state.outcome === undefined) {
        const actions = queue
        queue = []
        for (const action of actions) {
          if (action.kind !== 'assign') continue
          const operators = new Set(state.runs.map(r => r.operator))
          const picked = matchTask(spec, opts.offers, { count: action.count, taskId: opts.taskId, excludeProviders: tried, excludeOperators: operators })
          for (const offer of picked) launch(offer, action.resumeFrom)
        }
        if (state.outcome !== undefined) break
        if (inFlight.size === 0) {
          // Nobody left to ask: the market has too few fitting operators.
          return { outcome: { kind: 'unresolved', reason: 'too few fitting providers under distinct operators' }, output: undefined, outputCid: undefined, reports, state }
        }
        await Promise.race(inFlight.values())
      }
      const outcome = state.outcome
      const output = outcome.kind === 'accepted' ? outputs.get(outcome.digest) : undefined
      return { outcome, output, outputCid: output === undefined ? undefined : cidForBlock(rawCode, output), reports, state }
    } finally {
      watching.abort()
      decided.abort()
    }
  }
}
