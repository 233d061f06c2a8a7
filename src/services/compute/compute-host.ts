/**
 * A compute provider's side of `/keynet/compute/run/1`: runs each request in its `Sandbox`, at
 * most `cores` at once; a request past that is refused at once with `UnavailableError` (busy), so
 * the client moves it to another provider instead of queueing behind long tasks. A run that names
 * a run id can be watched over `/keynet/compute/checkpoint/1` by the peer that asked for it: each
 * checkpoint the task writes is handed to that peer as it is written.
 *
 * With `content` (a runner that reaches storage providers), a request may name its module, input
 * or checkpoint by CID: the runner fetches them itself, verified. And the checkpoints of a watched
 * run are stored as content at the requested interval: the watch then answers with the CID.
 */
import { toHex, utf8 } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { cidForBlock, rawCode } from '../../core/content/index.ts'
import { comparableStatuses, fuelPerMs, resultDigest } from '../../core/compute/index.ts'
import { coreSecondsOf, signComputeReport } from '../../core/market/compute-tasks.ts'
import { NotFoundError, UnavailableError } from '../../foundations/errors.ts'
import { maxCheckpointBytes, maxInputBytes, maxModuleBytes } from '../../core/compute/constants.ts'
import { maxMessageBytesCap, type P2PHost } from '../p2p/index.ts'
import {
  computeCheckpointProtocol, computeRunProtocol, decodeCheckpointWatch, decodeRunRequest, encodeCheckpointUpdate, encodeRunResponse, type CheckpointUpdate, type SignedRunReport
} from './compute-protocol.ts'
import { checkpointHoldMs, unknownRunPauseMs, wallSlackMs, wallTimeoutMultiple } from './constants.ts'
import { Sandbox } from './sandbox.ts'
import type { TaskContent } from './task-content.ts'

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
  /** Content on the network: fetching what requests name by CID, storing checkpoints (absent: everything inline). */
  content?: TaskContent
  log?: (line: string) => void
}

/** A running task's latest checkpoint, and the watches waiting for a newer one. */
interface WatchedRun {
  client: string
  seq: number
  checkpoint: Uint8Array | undefined
  /** The latest checkpoint's CID, when it was stored as content (then `checkpoint` is not kept). */
  cid?: string
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
      const content = this.init.content
      if (content === undefined && (run.moduleRef ?? run.inputRef ?? run.checkpointRef) !== undefined) throw new UnavailableError('this provider cannot fetch content by CID: send the task inline')
      this.running++
      const watched: WatchedRun | undefined = key === undefined ? undefined : { client: from, seq: 0, checkpoint: undefined, ended: false, waiting: new Set() }
      if (key !== undefined && watched !== undefined) this.watched.set(key, watched)
      const storing = key === undefined || watched === undefined || content === undefined || run.checkpointEveryMs === undefined ? undefined : new CheckpointStoring(content, key, watched, run.checkpointEveryMs, signal, this.init.log)
      let completed = false
      try {
        const [module, input, checkpoint] = content === undefined ? [run.module, run.input, run.checkpoint] : await Promise.all([
          run.moduleRef === undefined ? run.module : content.read(run.moduleRef, maxModuleBytes, 'module', signal),
          run.inputRef === undefined ? run.input : content.read(run.inputRef, maxInputBytes, 'input', signal),
          run.checkpointRef === undefined ? run.checkpoint : content.read(run.checkpointRef, maxCheckpointBytes, 'checkpoint', signal)
        ])
        const ran = await this.sandbox.run({
          ...run,
          module,
          input,
          ...(checkpoint === undefined ? {} : { checkpoint }),
          signal,
          transferInput: false,
          ...(watched === undefined ? {} : { onCheckpoint: storing === undefined ? (bytes: Uint8Array) => { watched.seq++; watched.checkpoint = bytes; wake(watched) } : (bytes: Uint8Array) => { storing.offer(bytes) } })
        })
        const result = this.init.lie === true ? { ...ran, status: 'ok' as const, exitCode: 0, output: utf8.encode('a made-up result\n'), outputCid: cidForBlock(rawCode, utf8.encode('a made-up result\n')) } : ran
        completed = result.status === 'ok' || result.status === 'exit'
        this.init.log?.(`compute: task for ${from} ended ${result.status} in ${result.timings.totalMs.toFixed(0)} ms${watched === undefined ? '' : `, ${watched.seq} checkpoints`}`)
        return encodeRunResponse({ ...result, ...this.report(run.taskId, result, run.timeoutMs) })
      } finally {
        this.running--
        // Not awaited: a checkpoint still being stored does not delay the answer.
        if (storing !== undefined) void storing.finish(completed)
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
      const update: CheckpointUpdate = run.seq > watch.after ? { seq: run.seq, checkpoint: run.checkpoint, ended: run.ended, ...(run.cid === undefined ? {} : { cid: run.cid }) } : { seq: watch.after, checkpoint: undefined, ended: run.ended }
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

/**
 * Stores a watched run's checkpoints as content, one at a time, at most once per interval (wall
 * clock since the run started or the last one was stored): a checkpoint written while one is being
 * stored waits, and only the latest waiting one is stored. A checkpoint that cannot be stored
 * (no storage provider took it) is handed to the watcher inline, as a runner without content does.
 */
class CheckpointStoring {
  private readonly content: TaskContent
  private readonly run: string
  private readonly watched: WatchedRun
  private readonly everyMs: number
  private readonly signal: AbortSignal
  private readonly log: ((line: string) => void) | undefined
  private lastAt = Date.now()
  private waitingBytes: Uint8Array | undefined
  private storing: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (content: TaskContent, run: string, watched: WatchedRun, everyMs: number, signal: AbortSignal, log: ((line: string) => void) | undefined) {
    this.content = content
    this.run = run
    this.watched = watched
    this.everyMs = everyMs
    this.signal = signal
    this.log = log
  }

  offer (bytes: Uint8Array): void {
    this.waitingBytes = bytes
    this.pump()
  }

  private pump (): void {
    if (this.storing !== undefined || this.waitingBytes === undefined || this.timer !== undefined) return
    const wait = this.lastAt + this.everyMs - Date.now()
    if (wait > 0) {
      // Stored when the interval is up, even if the task writes nothing newer by then.
      this.timer = setTimeout(() => { this.timer = undefined; this.pump() }, wait)
      return
    }
    const bytes = this.waitingBytes
    this.waitingBytes = undefined
    this.lastAt = Date.now()
    this.storing = this.content.storeCheckpoint(this.run, bytes, this.signal).then(cid => {
      this.watched.seq++
      this.watched.checkpoint = undefined
      this.watched.cid = cid
    }, (err: unknown) => {
      this.log?.(`compute: checkpoint of run ${this.run.slice(0, 8)} not stored as content (${(err as Error).message}); handed over inline`)
      this.watched.seq++
      this.watched.checkpoint = bytes
      this.watched.cid = undefined
    }).finally(() => {
      wake(this.watched)
      this.storing = undefined
      this.pump()
    })
  }

  /** The run ended: waits for a store in flight; a completed run's checkpoints are released, a lost one's last is kept a while. */
  async finish (completed: boolean): Promise<void> {
    this.waitingBytes = undefined
    clearTimeout(this.timer)
    this.timer = undefined
    await this.storing
    this.content.runEnded(this.run, completed)
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
