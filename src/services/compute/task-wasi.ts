/**
 * The WASI preview1 world one task sees: Node's `node:wasi` (version `preview1`) with a
 * preopened `/state` folder and nothing else, and these host functions replaced so the run is
 * bounded and deterministic:
 *
 * - stdin (fd 0) reads the task's input from memory; stdout (fd 1) and stderr (fd 2) are kept in
 *   memory up to their limits. Output past the declared limit ends the task (`output-too-large`).
 *   The real descriptors behind 0, 1 and 2 are `/dev/null`, so nothing reaches the host's stdio.
 * - `clock_time_get` is a virtual clock that advances with fuel, `random_get` a SHA-256 stream
 *   seeded by the task: replicas see the same time and the same "random" bytes.
 * - sockets, `poll_oneoff` (sleeping), links and symlinks, `fd_allocate` are refused with a
 *   WASI error; writes into `/state` count against `maxStateWriteBytes`.
 * - a rename onto `/state/checkpoint` hands the new checkpoint to `onCheckpoint` at once.
 */
import { closeSync, openSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { WASI } from 'node:wasi'
import { sha256 } from '../../foundations/hash.ts'
import { fuelPerMs, maxCheckpointBytes, maxStderrBytes } from '../../core/compute/constants.ts'
import { fuelExportName } from '../../core/compute/prepare-module.ts'
import { checkpointFileName, maxStateWriteBytes } from './constants.ts'

/** WASI errno values used here (preview1 `errno` enum). */
const errno = { success: 0, badf: 8, fault: 21, fbig: 22, inval: 28, nosys: 52, notsup: 58 } as const

/** How a task's run ended, as the worker reports it. */
export type RunStatus = 'ok' | 'exit' | 'trap' | 'out-of-fuel' | 'output-too-large' | 'memory' | 'wall-timeout' | 'aborted'

/** What one run produced. */
export interface RunOutcome {
  status: RunStatus
  exitCode: number | undefined
  output: Uint8Array
  stderr: string
  message: string | undefined
  /** Fuel used; undefined for a module that was not instrumented. */
  fuelUsed: number | undefined
}

/** Inputs of one run. */
export interface TaskWasiOptions {
  input: Uint8Array
  stateDir: string
  maxOutputBytes: number
  /** Seed of `random_get`: the same on every replica of a task. */
  seed: Uint8Array
  /** Fuel the module started with (for the virtual clock); undefined for an uninstrumented module. */
  initialFuel: number | undefined
  /** The task's environment (the same on every replica): only what the runner sets, e.g. `KEYNET_CHECKPOINT_EVERY_MS`. */
  env?: Record<string, string>
  onCheckpoint?: (bytes: Uint8Array) => void
}

/** Thrown from a host function to stop the task at once. */
class StopTask extends Error {
  readonly status: RunStatus
  constructor (status: RunStatus, message: string) {
    super(message)
    this.status = status
  }
}

/** Collects bytes up to a limit. */
class BoundedSink {
  private readonly chunks: Uint8Array[] = []
  private readonly limit: number
  length = 0
  constructor (limit: number) { this.limit = limit }
  /** Keeps what fits; returns false if something did not. */
  write (bytes: Uint8Array): boolean {
    const room = this.limit - this.length
    const kept = bytes.byteLength <= room ? bytes : bytes.subarray(0, room)
    if (kept.byteLength > 0) { this.chunks.push(kept.slice()); this.length += kept.byteLength }
    return kept.byteLength === bytes.byteLength
  }

  bytes (): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const c of this.chunks) { out.set(c, at); at += c.byteLength }
    return out
  }
}

/** The WASI world of one run: its import object and a `run` that starts an instance in it. */
export class TaskWasi {
  private readonly wasi: WASI
  private readonly opts: TaskWasiOptions
  private readonly nullFds: number[]
  private memory: WebAssembly.Memory | undefined
  private fuel: WebAssembly.Global | undefined
  private inputOffset = 0
  private stateWritten = 0
  private randomCounter = 0
  private readonly stdout: BoundedSink
  private readonly stderr = new BoundedSink(maxStderrBytes)
  readonly imports: WebAssembly.Imports

  constructor (opts: TaskWasiOptions) {
    this.opts = opts
    this.stdout = new BoundedSink(opts.maxOutputBytes)
    this.nullFds = [openSync('/dev/null', 'r'), openSync('/dev/null', 'w'), openSync('/dev/null', 'w')]
    this.wasi = new WASI({
      version: 'preview1',
      args: ['task'],
      env: opts.env ?? {},
      preopens: { '/state': opts.stateDir },
      returnOnExit: true,
      stdin: this.nullFds[0],
      stdout: this.nullFds[1],
      stderr: this.nullFds[2]
    })
    const base = (this.wasi.getImportObject() as Record<string, unknown>).wasi_snapshot_preview1 as Record<string, (...args: number[]) => number>
    const refuse = (code: number) => () => code
    this.imports = {
      wasi_snapshot_preview1: {
        ...base,
        fd_read: (fd: number, iovs: number, iovsLen: number, nread: number) => fd === 0 ? this.readStdin(iovs, iovsLen, nread) : (base.fd_read as (...a: number[]) => number)(fd, iovs, iovsLen, nread),
        fd_write: (fd: number, iovs: number, iovsLen: number, nwritten: number) => this.write(base, fd, iovs, iovsLen, nwritten),
        fd_pwrite: (fd: number, iovs: number, iovsLen: number, offset: bigint, nwritten: number) => {
          const e = this.chargeState(this.iovBytes(iovs, iovsLen))
          return e !== errno.success ? e : (base.fd_pwrite as unknown as (...a: unknown[]) => number)(fd, iovs, iovsLen, offset, nwritten)
        },
        fd_allocate: refuse(errno.notsup),
        fd_filestat_set_size: refuse(errno.notsup),
        clock_time_get: (_id: number, _precision: bigint, time: number) => this.clock(time),
        random_get: (buf: number, length: number) => this.random(buf, length),
        poll_oneoff: refuse(errno.nosys),
        path_link: refuse(errno.notsup),
        path_symlink: refuse(errno.notsup),
        path_rename: (fd: number, oldPath: number, oldLen: number, newFd: number, newPath: number, newLen: number) => {
          const result = (base.path_rename as (...a: number[]) => number)(fd, oldPath, oldLen, newFd, newPath, newLen)
          if (result === errno.success && this.text(newPath, newLen).replace(/^\/+/, '') === checkpointFileName) this.emitCheckpoint()
          return result
        },
        sock_accept: refuse(errno.nosys),
        sock_recv: refuse(errno.nosys),
        sock_send: refuse(errno.nosys),
        sock_shutdown: refuse(errno.nosys)
      }
    }
  }

  /** Runs `_start` of `instance` and reports how it ended. Closes the descriptors it opened. */
  run (instance: WebAssembly.Instance): RunOutcome {
    const exports = instance.exports
    this.memory = exports.memory as WebAssembly.Memory
    const fuel = exports[fuelExportName]
    this.fuel = fuel instanceof WebAssembly.Global ? fuel : undefined
    let status: RunStatus = 'ok'
    let exitCode: number | undefined
    let message: string | undefined
    try {
      exitCode = this.wasi.start(instance)
      if (exitCode !== 0) status = 'exit'
    } catch (err) {
      if (err instanceof StopTask) {
        status = err.status
        message = err.message
      } else if (this.fuelLeft() !== undefined && (this.fuelLeft() as bigint) < 0n) {
        status = 'out-of-fuel'
        message = 'the task used all its fuel (its CPU-time budget) and was stopped'
      } else if (err instanceof RangeError && /memory|allocation/i.test(err.message)) {
        status = 'memory'
        message = err.message
      } else {
        status = 'trap'
        message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      }
    } finally {
      for (const fd of this.nullFds) closeSync(fd)
    }
    const left = this.fuelLeft()
    return {
      status,
      exitCode,
      output: this.stdout.bytes(),
      stderr: new TextDecoder().decode(this.stderr.bytes()),
      message,
      fuelUsed: left === undefined || this.opts.initialFuel === undefined ? undefined : this.opts.initialFuel - Number(left < 0n ? 0n : left)
    }
  }

  private fuelLeft (): bigint | undefined {
    return this.fuel?.value as bigint | undefined
  }

  private view (): DataView {
    if (this.memory === undefined) throw new StopTask('trap', 'a WASI call before the task started')
    return new DataView(this.memory.buffer)
  }

  private text (ptr: number, length: number): string {
    return new TextDecoder().decode(new Uint8Array(this.view().buffer, ptr, length))
  }

  private readStdin (iovs: number, iovsLen: number, nread: number): number {
    const view = this.view()
    const input = this.opts.input
    let total = 0
    for (let i = 0; i < iovsLen && this.inputOffset < input.byteLength; i++) {
      const ptr = view.getUint32(iovs + i * 8, true)
      const len = view.getUint32(iovs + i * 8 + 4, true)
      if (ptr + len > view.byteLength) return errno.fault
      const n = Math.min(len, input.byteLength - this.inputOffset)
      new Uint8Array(view.buffer, ptr, n).set(input.subarray(this.inputOffset, this.inputOffset + n))
      this.inputOffset += n
      total += n
    }
    view.setUint32(nread, total, true)
    return errno.success
  }

  private iovBytes (iovs: number, iovsLen: number): number {
    const view = this.view()
    let total = 0
    for (let i = 0; i < iovsLen; i++) total += view.getUint32(iovs + i * 8 + 4, true)
    return total
  }

  private chargeState (bytes: number): number {
    if (this.stateWritten + bytes > maxStateWriteBytes) return errno.fbig
    this.stateWritten += bytes
    return errno.success
  }

  private write (base: Record<string, (...args: number[]) => number>, fd: number, iovs: number, iovsLen: number, nwritten: number): number {
    if (fd !== 1 && fd !== 2) {
      const e = this.chargeState(this.iovBytes(iovs, iovsLen))
      return e !== errno.success ? e : (base.fd_write as (...a: number[]) => number)(fd, iovs, iovsLen, nwritten)
    }
    const view = this.view()
    const sink = fd === 1 ? this.stdout : this.stderr
    let total = 0
    for (let i = 0; i < iovsLen; i++) {
      const ptr = view.getUint32(iovs + i * 8, true)
      const len = view.getUint32(iovs + i * 8 + 4, true)
      if (ptr + len > view.byteLength) return errno.fault
      const fits = sink.write(new Uint8Array(view.buffer, ptr, len))
      total += len
      if (!fits && fd === 1) throw new StopTask('output-too-large', `the task wrote more than its declared ${this.opts.maxOutputBytes}-byte output; the result is cut there`)
    }
    view.setUint32(nwritten, total, true)
    return errno.success
  }

  private clock (timePtr: number): number {
    const used = this.opts.initialFuel === undefined ? 0n : BigInt(this.opts.initialFuel) - ((this.fuelLeft() ?? 0n) < 0n ? 0n : (this.fuelLeft() ?? 0n))
    this.view().setBigUint64(timePtr, (used * 1_000_000n) / BigInt(fuelPerMs), true)
    return errno.success
  }

  private random (buf: number, length: number): number {
    const view = this.view()
    if (buf + length > view.byteLength) return errno.fault
    const out = new Uint8Array(view.buffer, buf, length)
    for (let at = 0; at < length; at += 32) {
      const counter = new Uint8Array(8)
      new DataView(counter.buffer).setBigUint64(0, BigInt(this.randomCounter++))
      const block = sha256(this.opts.seed, counter)
      out.set(block.subarray(0, Math.min(32, length - at)), at)
    }
    return errno.success
  }

  private emitCheckpoint (): void {
    if (this.opts.onCheckpoint === undefined) return
    const path = join(this.opts.stateDir, checkpointFileName)
    if (statSync(path).size > maxCheckpointBytes) throw new StopTask('trap', `the task wrote a checkpoint over the ${maxCheckpointBytes}-byte limit`)
    this.opts.onCheckpoint(readFileSync(path))
  }
}
