/**
 * The client side of compute: runs a task on one provider (`run`), or on replicas under distinct
 * operators with the verification state machine deciding (`runVerified`): matching picks the
 * providers, each report becomes a digest the client computes itself from the output bytes (a
 * provider cannot claim a CID its output does not hash to), a failed or non-comparable run
 * brings in a replacement that resumes from that replica's last checkpoint, and a mismatch
 * brings in a tie-breaker. The outcome names who is paid and who is to be slashed; moving the
 * escrow is the market's part.
 */
import { cidForBlock, rawCode, type CID } from '../../core/content/index.ts'
import { comparableStatuses, fuelFor, matchTask, prepareModule, resultDigest, startVerification, step, type ComputeOffer, type TaskSpec, type VerificationAction, type VerificationOutcome, type VerificationState } from '../../core/compute/index.ts'
import { maxMessageBytesCap, type P2PHost } from '../p2p/index.ts'
import { computeRunProtocol, decodeRunResponse, encodeRunRequest, type RunRequest, type RunResponse } from './compute-protocol.ts'
import { wallSlackMs, wallTimeoutMultiple } from './constants.ts'

/** A verified task's result. */
export interface VerifiedResult {
  outcome: VerificationOutcome
  /** The accepted output (undefined when unresolved). */
  output: Uint8Array | undefined
  outputCid: CID | undefined
  /** Every provider's report, by provider. */
  reports: Map<string, { digest?: string, response?: RunResponse, error?: string }>
  state: VerificationState
}

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

  /** Runs a task on replicas chosen from `offers` until the verification decides. */
  async runVerified (opts: {
    taskId: string
    spec: Pick<TaskSpec, 'replicas' | 'spotCheckBps' | 'memoryBytes' | 'maxPrice' | 'region' | 'timeoutMs' | 'maxOutputBytes'>
    offers: readonly ComputeOffer[]
    module: Uint8Array
    input: Uint8Array
    secretSeed: Uint8Array
    signal?: AbortSignal
  }): Promise<VerifiedResult> {
    const { spec } = opts
    // The checks every provider applies, applied here first: a bad module fails now, with the reason.
    prepareModule(opts.module, { memoryBytes: spec.memoryBytes, fuel: fuelFor(spec) })
    const outputs = new Map<string, Uint8Array>()
    const checkpoints = new Map<string, Uint8Array>()
    const reports: VerifiedResult['reports'] = new Map()
    const tried = new Set<string>()
    const started = startVerification(opts.taskId, spec, opts.secretSeed)
    let state = started.state
    let queue: VerificationAction[] = started.actions
    const inFlight = new Map<string, Promise<void>>()

    const apply = (event: Parameters<typeof step>[1]): void => {
      const next = step(state, event)
      state = next.state
      queue.push(...next.actions)
    }
    const launch = (offer: ComputeOffer, resumeFrom: string | undefined): void => {
      tried.add(offer.provider)
      apply({ kind: 'assigned', provider: offer.provider, operator: offer.operator })
      const checkpoint = resumeFrom === undefined ? undefined : checkpoints.get(resumeFrom)
      const request: RunRequest = { module: opts.module, input: opts.input, memoryBytes: spec.memoryBytes, timeoutMs: spec.timeoutMs, maxOutputBytes: spec.maxOutputBytes, ...(checkpoint === undefined ? {} : { checkpoint }) }
      inFlight.set(offer.provider, this.run(offer.provider, request, opts.signal).then(response => {
        if (response.checkpoint !== undefined) checkpoints.set(offer.provider, response.checkpoint)
        if (!comparableStatuses.has(response.status)) {
          reports.set(offer.provider, { response })
          apply({ kind: 'failed', provider: offer.provider })
          return
        }
        const outputCid = cidForBlock(rawCode, response.output)
        const digest = resultDigest({ status: response.status, exitCode: response.exitCode, outputCid })
        outputs.set(digest, response.output)
        reports.set(offer.provider, { digest, response })
        apply({ kind: 'reported', provider: offer.provider, digest })
      }, (err: unknown) => {
        reports.set(offer.provider, { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
        apply({ kind: 'failed', provider: offer.provider })
      }).finally(() => { inFlight.delete(offer.provider) }))
    }

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
  }
}
