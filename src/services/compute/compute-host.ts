/**
 * A compute provider's side of `/keynet/compute/run/1`: runs each request in its `Sandbox`, at
 * most `cores` at once; a request past that is refused at once with `UnavailableError` (busy), so
 * the client moves it to another provider instead of queueing behind long tasks. A run that names
 * a run id can be watched over `/keynet/compute/checkpoint/1` by the peer that asked for it: each
 * checkpoint the task writes is handed to that peer as it is written.
 */
import { toHex, utf8 } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { cidForBlock, rawCode } from '../../core/content/index.ts'
import { comparableStatuses, fuelPerMs, resultDigest } from '../../core/compute/index.ts'
import { coreSecondsOf, signComputeReport } from '../../core/market/compute-tasks.ts'
import { NotFoundError, UnavailableError } from '../../foundations/errors.ts'
import { maxMessageBytesCap, type P2PHost } from '../p2p/index.ts'
import {
  computeCheckpointProtocol, computeRunProtocol, decodeCheckpointWatch, decodeRunRequest, encodeCheckpointUpdate, encodeRunResponse, type CheckpointUpdate, type SignedRunReport
} from './compute-protocol.ts'
import { checkpointHoldMs, unknownRunPauseMs, wallSlackMs, wallTimeoutMultiple } from './constants.ts'
import { Sandbox } from './sandbox.ts'

export interface ComputeHostInit {
  host: Pick<P2PHost, 'handle' | 'unhandle'>
  /** Tasks run at once (one core each). */
  cores: number
  /** Memory one task may use, in bytes: larger requests are refused. */
  memoryBytes: number
  /** Signs result reports for tasks with escrow on the ledger (run requests that name a task id). */
  reports?: { key: KeyPair, chainId: string }
  /** Called with each report signed (the provider keeps it to claim with on the ledger). */
  onReport?: (taskId: string, report: { digest: string, coreSeconds: number, sig: Uint8Array }) => void
  /** Test-only: answer every run with a made-up result (signed as if real), as a cheating provider would. */
  lie?: boolean
  log?: (line: string) => void
}

/** A running task's latest checkpoint, and the watches waiting for a newer one. */
interface WatchedRun {
  client: string
  seq: number
  checkpoint: Uint8Array | undefined
  ended: boolean
  waiting: Set<() => void>
}

export class ComputeHost {
  private readonly init: ComputeHostInit
  private readonly sandbox = new Sandbox()
  private running = 0
  /** Runs with a run id, while they run: at most `cores` entries. */
  private readonly watched = new Map<string, WatchedRun>()

  constructor (init: ComputeHostInit) {
    this.init = init
  }

  /** Tasks running now. */
  get busy (): number { return this.running }

  async start (): Promise<void> {
    await this.init.host.handle(computeRunProtocol, async (request, from, signal) => {
      const run = decodeRunRequest(request)
      if (run.memoryBytes > this.init.memoryBytes) throw new UnavailableError(`this provider runs tasks of at most ${this.init.memoryBytes} bytes of memory`)
      if (this.running >= this.init.cores) throw new UnavailableError(`busy: all ${this.init.cores} cores run tasks`)
      const key = run.runId === undefined ? undefined : toHex(run.runId)
      if (key !== undefined && this.watched.has(key)) throw new UnavailableError('a run with this run id is already running here')
      this.running++
      const watched: WatchedRun | undefined = key === undefined ? undefined : { client: from, seq: 0, checkpoint: undefined, ended: false, waiting: new Set() }
      if (key !== undefined && watched !== undefined) this.watched.set(key, watched)
      try {
        const ran = await this.sandbox.run({
          ...run,
          signal,
          transferInput: false,
          ...(watched === undefined ? {} : { onCheckpoint: (bytes: Uint8Array) => { watched.seq++; watched.checkpoint = bytes; wake(watched) } })
        })
        const result = this.init.lie === true ? { ...ran, status: 'ok' as const, exitCode: 0, output: utf8.encode('a made-up result\n'), outputCid: cidForBlock(rawCode, utf8.encode('a made-up result\n')) } : ran
        this.init.log?.(`compute: task for ${from} ended ${result.status} in ${result.timings.totalMs.toFixed(0)} ms${watched === undefined ? '' : `, ${watched.seq} checkpoints`}`)
        return encodeRunResponse({ ...result, ...this.report(run.taskId, result, run.timeoutMs) })
      } finally {
        this.running--
        if (key !== undefined && watched !== undefined) {
          watched.ended = true
          wake(watched)
          this.watched.delete(key)
        }
      }
    }, { maxRequestBytes: maxMessageBytesCap, timeoutMs: 24 * 60 * 60_000 * wallTimeoutMultiple + wallSlackMs })

    await this.init.host.handle(computeCheckpointProtocol, async (request, from, signal) => {
      const watch = decodeCheckpointWatch(request)
      const key = toHex(watch.runId)
      let run = this.watched.get(key)
      if (run === undefined) {
        await pause(unknownRunPauseMs, signal)
        run = this.watched.get(key)
        if (run === undefined) return encodeCheckpointUpdate({ seq: watch.after, checkpoint: undefined, ended: false })
      }
      if (run.client !== from) throw new NotFoundError('no run of yours with this run id runs here')
      if (run.seq <= watch.after && !run.ended) await waitForNews(run, signal)
      const update: CheckpointUpdate = run.seq > watch.after ? { seq: run.seq, checkpoint: run.checkpoint, ended: run.ended } : { seq: watch.after, checkpoint: undefined, ended: run.ended }
      return encodeCheckpointUpdate(update)
    }, { maxRequestBytes: 1024, timeoutMs: checkpointHoldMs + wallSlackMs })
  }

  /** The signed report of a comparable run of a task with escrow: its digest and the core-seconds its fuel took. */
  private report (taskId: string | undefined, r: { status: string, exitCode: number | undefined, outputCid: { toString: () => string }, fuelUsed: number | undefined }, timeoutMs: number): { report?: SignedRunReport } {
    const signer = this.init.reports
    if (taskId === undefined || signer === undefined || !comparableStatuses.has(r.status)) return {}
    const coreSeconds = coreSecondsOf(r.fuelUsed ?? timeoutMs * fuelPerMs, fuelPerMs)
    const report = { taskId, provider: toHex(addressOf(signer.key.publicKey)), digest: resultDigest(r), coreSeconds }
    const sig = signComputeReport(signer.key.secretKey, signer.chainId, report)
    this.init.onReport?.(taskId, { digest: report.digest, coreSeconds, sig })
    return { report: { coreSeconds, sig } }
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(computeRunProtocol)
    await this.init.host.unhandle(computeCheckpointProtocol)
    await this.sandbox.close()
  }
}

function wake (run: WatchedRun): void {
  for (const w of run.waiting) w()
  run.waiting.clear()
}

/** Until the run has a new checkpoint or ends, `checkpointHoldMs` passes, or the watcher goes away. */
async function waitForNews (run: WatchedRun, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      run.waiting.delete(done)
      resolve()
    }
    const timer = setTimeout(done, checkpointHoldMs)
    signal.addEventListener('abort', done, { once: true })
    run.waiting.add(done)
  })
}

async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}
