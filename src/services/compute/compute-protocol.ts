/**
 * The compute task protocol, `/keynet/compute/run/1`: one request/response per run. The request
 * carries the module, the input, the limits and an optional checkpoint to resume from; the
 * response carries how the run ended, the output and the last checkpoint. Both are canonical CBOR
 * within the p2p message cap, so a task's module and input travel inline up to that size.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import type { RunStatus } from './task-wasi.ts'

export const computeRunProtocol = '/keynet/compute/run/1'

/** One run, as asked of a provider. */
export interface RunRequest {
  module: Uint8Array
  input: Uint8Array
  memoryBytes: number
  timeoutMs: number
  maxOutputBytes: number
  checkpoint?: Uint8Array
}

/** One run, as a provider reports it. */
export interface RunResponse {
  status: RunStatus
  exitCode: number | undefined
  output: Uint8Array
  stderr: string
  message: string | undefined
  fuelUsed: number | undefined
  checkpoint: Uint8Array | undefined
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

export function encodeRunRequest (r: RunRequest): Uint8Array {
  return encode({ module: r.module, input: r.input, memoryBytes: r.memoryBytes, timeoutMs: r.timeoutMs, maxOutputBytes: r.maxOutputBytes, checkpoint: r.checkpoint ?? null })
}

export function decodeRunRequest (bytes: Uint8Array): RunRequest {
  const v = decode<Record<string, unknown>>(bytes)
  if (!(v.module instanceof Uint8Array) || !(v.input instanceof Uint8Array) || !isInt(v.memoryBytes) || !isInt(v.timeoutMs) || !isInt(v.maxOutputBytes) || !(v.checkpoint === null || v.checkpoint instanceof Uint8Array)) {
    throw new MalformedMessageError('a compute run request needs module, input (bytes), memoryBytes, timeoutMs, maxOutputBytes (integers) and checkpoint (bytes or null)')
  }
  return { module: v.module, input: v.input, memoryBytes: v.memoryBytes, timeoutMs: v.timeoutMs, maxOutputBytes: v.maxOutputBytes, ...(v.checkpoint === null ? {} : { checkpoint: v.checkpoint }) }
}

export function encodeRunResponse (r: RunResponse): Uint8Array {
  return encode({ status: r.status, exitCode: r.exitCode ?? null, output: r.output, stderr: r.stderr, message: r.message ?? null, fuelUsed: r.fuelUsed ?? null, checkpoint: r.checkpoint ?? null })
}

const statuses = new Set(['ok', 'exit', 'trap', 'out-of-fuel', 'output-too-large', 'memory', 'wall-timeout', 'aborted'])

export function decodeRunResponse (bytes: Uint8Array): RunResponse {
  const v = decode<Record<string, unknown>>(bytes)
  if (typeof v.status !== 'string' || !statuses.has(v.status) || !(v.output instanceof Uint8Array) || typeof v.stderr !== 'string' ||
    !(v.exitCode === null || isInt(v.exitCode)) || !(v.message === null || typeof v.message === 'string') || !(v.fuelUsed === null || isInt(v.fuelUsed)) ||
    !(v.checkpoint === null || v.checkpoint instanceof Uint8Array)) {
    throw new MalformedMessageError('a compute run response is malformed')
  }
  return {
    status: v.status as RunStatus,
    exitCode: v.exitCode ?? undefined,
    output: v.output,
    stderr: v.stderr,
    message: v.message ?? undefined,
    fuelUsed: v.fuelUsed ?? undefined,
    checkpoint: v.checkpoint ?? undefined
  } as RunResponse
}
