/**
 * The sandbox: runs a WASI preview1 command module on an input, in a worker thread of its own,
 * under a memory cap (in the module and in the worker's heap limits), a fuel budget (the
 * deterministic CPU-time limit) and a wall-clock backstop, with a fresh `/state` folder. The
 * input and output are content addressed, so replicas compare results by CID.
 *
 * ```ts
 * const sandbox = new Sandbox()
 * const result = await sandbox.run({ module: wasmBytes, input: new TextEncoder().encode('abc') })
 * result.status        // 'ok'
 * result.outputCid     // CID of stdout, comparable across replicas
 * ```
 *
 * Errors in the module (invalid bytes, imports outside WASI, memory over the cap) throw before
 * anything runs; how a run ended (a trap, out of fuel, too much output) is in the result.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { toHex } from '../../foundations/bytes.ts'
import { sha256 } from '../../foundations/hash.ts'
import { cidForBlock, rawCode, type CID } from '../../core/content/index.ts'
import {
  defaultTaskMemoryBytes, defaultTaskTimeoutMs, fuelPerMs, maxCheckpointBytes, maxCompiledModules, maxInputBytes,
  maxOutputBytes as maxOutputBytesLimit, maxTaskMemoryBytes, maxTaskTimeoutMs
} from '../../core/compute/constants.ts'
import { InvalidModuleError, InvalidTaskError } from '../../core/compute/errors.ts'
import { prepareModule, type ModuleFacts } from '../../core/compute/prepare-module.ts'
import { checkpointFileName, wallSlackMs, wallTimeoutMultiple, workerHeapMb, workerStackMb, workerYoungHeapMb } from './constants.ts'
import type { WorkerMessage, WorkerTask } from './sandbox-worker.ts'
import type { RunOutcome, RunStatus } from './task-wasi.ts'

export type { RunStatus } from './task-wasi.ts'

/** One run of a task. */
export interface SandboxRun {
  /** The task's module, as submitted (not instrumented). */
  module: Uint8Array
  /** Its input (stdin). */
  input: Uint8Array
  /** Memory cap in bytes (default `defaultTaskMemoryBytes`). */
  memoryBytes?: number
  /** CPU-time budget: the task gets `timeoutMs × fuelPerMs` fuel (default `defaultTaskTimeoutMs`). */
  timeoutMs?: number
  /** Declared output size: output past it is cut and the run ends `output-too-large`. */
  maxOutputBytes?: number
  /** A checkpoint to resume from: the task finds it at `/state/checkpoint`. */
  checkpoint?: Uint8Array
  /**
   * How often the task should write a checkpoint (ms of its clock; 0 or absent: as it likes):
   * the task finds it in its environment as `KEYNET_CHECKPOINT_EVERY_MS`.
   */
  checkpointEveryMs?: number
  /** Called with each checkpoint the task writes (by renaming a file onto `/state/checkpoint`). */
  onCheckpoint?: (bytes: Uint8Array) => void
  /**
   * Hand the input's buffer to the worker instead of copying it (default false): the caller's
   * `input` is unusable afterwards. A runner that fetched the input for this run alone saves a
   * copy, and the first touch of fresh memory a copy costs.
   */
  transferInput?: boolean
  /** Seed of the task's `random_get` (default: derived from the module and input). */
  seed?: Uint8Array
  signal?: AbortSignal
}

/** How a run ended and what it produced. */
export interface SandboxResult {
  status: RunStatus
  exitCode: number | undefined
  /** stdout (cut at the declared size when `output-too-large`). */
  output: Uint8Array
  outputCid: CID
  /** Whether the output was cut. */
  truncated: boolean
  stderr: string
  message: string | undefined
  fuelUsed: number | undefined
  /** The last `/state/checkpoint` the task left, if any. */
  checkpoint: Uint8Array | undefined
  facts: ModuleFacts
  /** Milliseconds: preparing and compiling the module (0 when cached), from spawn to the task running, and the whole run. */
  timings: { prepareMs: number, startMs: number, totalMs: number }
}

/** Options of a `Sandbox`. */
export interface SandboxInit {
  /** Keep one worker started ahead of the next task (default true): task start is then a message, not a thread start. */
  spareWorker?: boolean
}

/** Runs tasks, each in a fresh worker; keeps the most recently used compiled modules. */
export class Sandbox {
  private readonly compiled = new Map<string, { module: WebAssembly.Module, facts: ModuleFacts }>()
  private readonly keepSpare: boolean
  private spare: Promise<Worker> | undefined
  private closed = false

  constructor (init: SandboxInit = {}) {
    this.keepSpare = init.spareWorker ?? true
    this.refillSpare()
  }

  /** Stops the spare worker. Runs under way finish; later runs are refused. */
  async close (): Promise<void> {
    this.closed = true
    const spare = this.spare
    this.spare = undefined
    if (spare !== undefined) await spare.then(async w => await w.terminate(), () => undefined)
  }

  /** Checks, instruments and compiles a module (cached by its hash, memory cap and fuel). */
  async compile (moduleBytes: Uint8Array, memoryBytes: number, fuel: number): Promise<{ module: WebAssembly.Module, facts: ModuleFacts }> {
    const key = `${toHex(sha256(moduleBytes))}/${memoryBytes}/${fuel}`
    const hit = this.compiled.get(key)
    if (hit !== undefined) {
      this.compiled.delete(key)
      this.compiled.set(key, hit)
      return hit
    }
    const prepared = prepareModule(moduleBytes, { memoryBytes, fuel })
    let module: WebAssembly.Module
    try {
      module = await WebAssembly.compile(prepared.bytes)
    } catch (err) {
      throw new InvalidModuleError(`the module is not valid WebAssembly: ${(err as Error).message}`)
    }
    const entry = { module, facts: prepared.facts }
    this.compiled.set(key, entry)
    if (this.compiled.size > maxCompiledModules) this.compiled.delete(this.compiled.keys().next().value as string)
    return entry
  }

  async run (run: SandboxRun): Promise<SandboxResult> {
    const began = performance.now()
    const memoryBytes = run.memoryBytes ?? defaultTaskMemoryBytes
    const timeoutMs = run.timeoutMs ?? defaultTaskTimeoutMs
    const maxOutputBytes = run.maxOutputBytes ?? maxOutputBytesLimit
    if (!Number.isSafeInteger(memoryBytes) || memoryBytes <= 0 || memoryBytes > maxTaskMemoryBytes) throw new InvalidTaskError(`memory must be 1 byte to ${maxTaskMemoryBytes} bytes`)
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > maxTaskTimeoutMs) throw new InvalidTaskError(`timeout must be 1 ms to ${maxTaskTimeoutMs} ms`)
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 0 || maxOutputBytes > maxOutputBytesLimit) throw new InvalidTaskError(`declared output must be 0 to ${maxOutputBytesLimit} bytes`)
    if (run.input.byteLength > maxInputBytes) throw new InvalidTaskError(`the input is ${run.input.byteLength} bytes, over the ${maxInputBytes}-byte limit`)
    if (run.checkpointEveryMs !== undefined && (!Number.isSafeInteger(run.checkpointEveryMs) || run.checkpointEveryMs < 0 || run.checkpointEveryMs > maxTaskTimeoutMs)) throw new InvalidTaskError(`the checkpoint interval must be 0 to ${maxTaskTimeoutMs} ms`)
    if (run.checkpoint !== undefined && run.checkpoint.byteLength > maxCheckpointBytes) throw new InvalidTaskError(`the checkpoint is over the ${maxCheckpointBytes}-byte limit`)
    run.signal?.throwIfAborted()

    const fuel = timeoutMs * fuelPerMs
    const { module, facts } = await this.compile(run.module, memoryBytes, fuel)
    const prepared = performance.now()

    const stateDir = mkdtempSync(join(tmpdir(), 'keynet-task-'))
    try {
      if (run.checkpoint !== undefined) writeFileSync(join(stateDir, checkpointFileName), run.checkpoint)
      const task: WorkerTask = {
        module,
        input: run.input,
        stateDir,
        maxOutputBytes,
        seed: run.seed ?? sha256(sha256(run.module), sha256(run.input)),
        initialFuel: fuel,
        env: checkpointEnv(run.checkpointEveryMs)
      }
      const { outcome, startedAt } = await this.runWorker(task, memoryBytes, timeoutMs * wallTimeoutMultiple + wallSlackMs, run)
      const checkpoint = readCheckpoint(stateDir)
      const ended = performance.now()
      return {
        ...outcome,
        outputCid: cidForBlock(rawCode, outcome.output),
        truncated: outcome.status === 'output-too-large',
        checkpoint,
        facts,
        timings: { prepareMs: prepared - began, startMs: (startedAt ?? ended) - prepared, totalMs: ended - began }
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true })
    }
  }

  /** A worker that has loaded the sandbox code and waits for its task (not keeping the process alive while it waits). */
  private spawn (): Promise<Worker> {
    const worker = new Worker(new URL('./sandbox-worker.ts', import.meta.url), {
      env: {},
      stdin: false,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb, maxYoungGenerationSizeMb: workerYoungHeapMb, stackSizeMb: workerStackMb }
    })
    worker.unref()
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => { reject(err) }
      worker.once('error', onError)
      worker.once('message', (message: WorkerMessage) => {
        worker.off('error', onError)
        if (message.kind === 'ready') resolve(worker)
        else reject(new Error(`a sandbox worker sent ${message.kind} before ready`))
      })
    })
  }

  private async takeWorker (): Promise<Worker> {
    if (this.closed) throw new Error('the sandbox is closed')
    const next = this.spare ?? this.spawn()
    this.spare = undefined
    const worker = await next
    worker.ref()
    return worker
  }

  /**
   * Starts the next spare once a task has ended: starting a thread takes a core for ~0.1–0.2 s,
   * which a running task would feel (measured: 1.35× instead of 1.1× for a 0.2 s task); the next
   * task finds it ready unless it comes within that time.
   */
  private refillSpare (): void {
    if (!this.keepSpare || this.closed || this.spare !== undefined) return
    this.spare = this.spawn()
    this.spare.catch(() => { this.spare = undefined })
  }

  private async runWorker (task: WorkerTask, memoryBytes: number, wallMs: number, run: SandboxRun): Promise<{ outcome: RunOutcome, startedAt: number | undefined }> {
    const worker = await this.takeWorker()
    let startedAt: number | undefined
    const stopped = (status: RunStatus, message: string): RunOutcome => ({ status, exitCode: undefined, output: new Uint8Array(0), stderr: '', message, fuelUsed: undefined })
    return await new Promise((resolve) => {
      let settled = false
      const finish = (outcome: RunOutcome): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        run.signal?.removeEventListener('abort', onAbort)
        void worker.terminate()
        this.refillSpare()
        resolve({ outcome, startedAt })
      }
      const timer = setTimeout(() => { finish(stopped('wall-timeout', `the task ran past its ${wallMs} ms wall-clock backstop and its worker was terminated`)) }, wallMs)
      const onAbort = (): void => { finish(stopped('aborted', 'the run was cancelled')) }
      run.signal?.addEventListener('abort', onAbort, { once: true })
      worker.on('message', (message: WorkerMessage) => {
        if (message.kind === 'started') startedAt = performance.now()
        else if (message.kind === 'checkpoint') run.onCheckpoint?.(message.bytes)
        else if (message.kind === 'done') finish(message.outcome)
      })
      worker.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') finish(stopped('memory', `the task's worker ran out of its heap limit (${memoryBytes} bytes of task memory, ${workerHeapMb} MiB of worker heap)`))
        else finish(stopped('trap', `the task's worker failed: ${err.message}`))
      })
      worker.on('exit', code => { finish(stopped('trap', `the task's worker exited (code ${code}) without a result`)) })
      const input = task.input
      const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && input.buffer instanceof ArrayBuffer
      worker.postMessage(task, run.transferInput === true && whole ? [input.buffer as ArrayBuffer] : [])
    })
  }
}

/** The environment variable that tells a task its checkpoint interval. */
export const checkpointEveryEnvName = 'KEYNET_CHECKPOINT_EVERY_MS'

function checkpointEnv (everyMs: number | undefined): Record<string, string> {
  return everyMs === undefined || everyMs === 0 ? {} : { [checkpointEveryEnvName]: String(everyMs) }
}

function readCheckpoint (stateDir: string): Uint8Array | undefined {
  const path = join(stateDir, checkpointFileName)
  try {
    if (statSync(path).size > maxCheckpointBytes) return undefined
    return new Uint8Array(readFileSync(path))
  } catch {
    return undefined
  }
}
