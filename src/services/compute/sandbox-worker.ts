/**
 * Entry of a sandbox worker thread: waits for one task, instantiates its prepared module in a
 * `TaskWasi` world, runs it, posts checkpoints as they are written and the outcome at the end.
 * One task per worker: a worker is never reused, so nothing of one task survives into the next.
 * Workers are started ahead of need (a spare waits with this code loaded) because starting a
 * thread costs far more than running a small task.
 */
import { parentPort } from 'node:worker_threads'
import { TaskWasi, type RunOutcome } from './task-wasi.ts'

/** What the parent hands the worker. */
export interface WorkerTask {
  module: WebAssembly.Module
  input: Uint8Array
  stateDir: string
  maxOutputBytes: number
  seed: Uint8Array
  initialFuel: number | undefined
  env: Record<string, string>
}

/** Messages from the worker. */
export type WorkerMessage =
  | { kind: 'ready' }
  | { kind: 'started' }
  | { kind: 'checkpoint', bytes: Uint8Array }
  | { kind: 'done', outcome: RunOutcome }

const port = parentPort
if (port === null) throw new Error('sandbox-worker.ts runs only as a worker thread')
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => { port.postMessage(message, transfer) }

port.once('message', (task: WorkerTask) => { runTask(task) })
post({ kind: 'ready' })

function runTask (task: WorkerTask): void {
  const wasi = new TaskWasi({
    input: task.input,
    stateDir: task.stateDir,
    maxOutputBytes: task.maxOutputBytes,
    seed: task.seed,
    initialFuel: task.initialFuel,
    env: task.env,
    onCheckpoint: bytes => {
      const copy = new Uint8Array(bytes) // a fresh buffer of its own, safe to transfer
      post({ kind: 'checkpoint', bytes: copy }, [copy.buffer])
    }
  })
  let outcome: RunOutcome
  try {
    const instance = new WebAssembly.Instance(task.module, wasi.imports)
    post({ kind: 'started' })
    outcome = wasi.run(instance)
  } catch (err) {
    outcome = { status: 'trap', exitCode: undefined, output: new Uint8Array(0), stderr: '', message: `the module could not be instantiated: ${(err as Error).message}`, fuelUsed: undefined }
  }
  post({ kind: 'done', outcome }, [outcome.output.buffer as ArrayBuffer])
}
