/**
 * The compute task protocol, `/keynet/compute/run/1`: one request/response per run. The request
 * carries the module, the input, the limits and an optional checkpoint to resume from; the
 * response carries how the run ended, the output and the last checkpoint. Both are canonical CBOR
 * within the p2p message cap, so a task's module and input travel inline up to that size.
 *
 * While a run goes on, its client follows its checkpoints over `/keynet/compute/checkpoint/1`
 * (a long poll): the run request names a random run id, and a watch request for that id with the
 * sequence number the client has seen is answered as soon as the task writes a newer checkpoint
 * (or the run ends, or `checkpointHoldMs` passes). So the client holds the latest checkpoint when
 * the provider dies, and another provider resumes from it.
 *
 * Content on the network travels by reference: a run request may name the module, the input or
 * the checkpoint to resume from by CID (`ContentRef`), and the provider fetches it from its
 * holders itself, verified block by block. A runner that reaches storage providers stores each
 * checkpoint as content and the watch answers with its CID instead of its bytes.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import type { RunStatus } from './task-wasi.ts'

export const computeRunProtocol = '/keynet/compute/run/1'
export const computeCheckpointProtocol = '/keynet/compute/checkpoint/1'

/** One run, as asked of a provider. */
export interface RunRequest {
  module: Uint8Array
  input: Uint8Array
  memoryBytes: number
  timeoutMs: number
  maxOutputBytes: number
  checkpoint?: Uint8Array
  /** How often the task should checkpoint (ms of its clock; 0: as it likes). */
  checkpointEveryMs?: number
  /** Names the run for checkpoint watches (`runIdBytes` random bytes); absent: not watched. */
  runId?: Uint8Array
  /** Content on the network the provider fetches itself (verified block by block) instead of `module`, `input` or `checkpoint` inline (then empty). */
  moduleRef?: ContentRef
  inputRef?: ContentRef
  checkpointRef?: ContentRef
  /** The task id (64 hex) of a task with escrow on the ledger: the provider signs its result report for it. */
  taskId?: string
}

/**
 * A file on the network: its CID (a UnixFS file or a raw block), and the pinned root whose
 * holders serve it when the file sits inside a larger DAG (a folder published under a name).
 * `root` only says where to ask: every block is checked against `cid`'s DAG.
 */
export interface ContentRef { cid: string, root?: string }

/** Longest CID text in a content reference. */
const maxCidChars = 200

function decodeRef (v: unknown, field: string): ContentRef | undefined {
  if (v === undefined || v === null) return undefined
  const r = v as Record<string, unknown>
  const ok = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= maxCidChars
  if (typeof v !== 'object' || !ok(r.cid) || !(r.root === undefined || r.root === null || ok(r.root))) {
    throw new MalformedMessageError(`a compute run request's ${field} must be { cid, root? } (CID texts)`)
  }
  return { cid: r.cid, ...(ok(r.root) ? { root: r.root } : {}) }
}

const encodeRef = (r: ContentRef | undefined): { cid: string, root: string | null } | null => r === undefined ? null : { cid: r.cid, root: r.root ?? null }

/** One run, as a provider reports it. */
export interface RunResponse {
  status: RunStatus
  exitCode: number | undefined
  output: Uint8Array
  stderr: string
  message: string | undefined
  fuelUsed: number | undefined
  checkpoint: Uint8Array | undefined
  /** For a request with a task id: the provider's signed report (`ComputeReport`) of this run's digest and core-seconds. */
  report?: SignedRunReport
}

/** The provider's report of a run for the ledger: core-seconds used and its node key's signature over (chain, task, provider, digest, core-seconds). */
export interface SignedRunReport { coreSeconds: number, sig: Uint8Array }

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v)

export function encodeRunRequest (r: RunRequest): Uint8Array {
  return encode({ module: r.module, input: r.input, memoryBytes: r.memoryBytes, timeoutMs: r.timeoutMs, maxOutputBytes: r.maxOutputBytes, checkpoint: r.checkpoint ?? null, checkpointEveryMs: r.checkpointEveryMs ?? 0, runId: r.runId ?? null,
    ...(r.moduleRef === undefined ? {} : { moduleRef: encodeRef(r.moduleRef) }),
    ...(r.inputRef === undefined ? {} : { inputRef: encodeRef(r.inputRef) }),
    ...(r.checkpointRef === undefined ? {} : { checkpointRef: encodeRef(r.checkpointRef) }),
    ...(r.taskId === undefined ? {} : { taskId: r.taskId })
  })
}

export function decodeRunRequest (bytes: Uint8Array): RunRequest {
  const v = decode<Record<string, unknown>>(bytes)
  if (!(v.module instanceof Uint8Array) || !(v.input instanceof Uint8Array) || !isInt(v.memoryBytes) || !isInt(v.timeoutMs) || !isInt(v.maxOutputBytes) || !(v.checkpoint === null || v.checkpoint instanceof Uint8Array)) {
    throw new MalformedMessageError('a compute run request needs module, input (bytes), memoryBytes, timeoutMs, maxOutputBytes (integers) and checkpoint (bytes or null)')
  }
  // Absent in requests of clients that predate checkpoint watches: 0 and no run id.
  const everyMs = v.checkpointEveryMs ?? 0
  const runId = v.runId ?? null
  if (!isInt(everyMs) || everyMs < 0 || !(runId === null || (runId instanceof Uint8Array && runId.byteLength === runIdBytes))) {
    throw new MalformedMessageError(`a compute run request's checkpointEveryMs must be a non-negative integer and its runId ${runIdBytes} bytes or null`)
  }
  const taskId = v.taskId ?? null
  if (!(taskId === null || (typeof taskId === 'string' && /^[0-9a-f]{64}$/.test(taskId)))) throw new MalformedMessageError('a compute run request\'s taskId must be 64 lower-case hex characters or absent')
  const moduleRef = decodeRef(v.moduleRef, 'moduleRef')
  const inputRef = decodeRef(v.inputRef, 'inputRef')
  const checkpointRef = decodeRef(v.checkpointRef, 'checkpointRef')
  return {
    ...(taskId === null ? {} : { taskId }),
    module: v.module,
    input: v.input,
    memoryBytes: v.memoryBytes,
    timeoutMs: v.timeoutMs,
    maxOutputBytes: v.maxOutputBytes,
    ...(v.checkpoint === null ? {} : { checkpoint: v.checkpoint }),
    ...(everyMs === 0 ? {} : { checkpointEveryMs: everyMs }),
    ...(runId === null ? {} : { runId }),
    ...(moduleRef === undefined ? {} : { moduleRef }),
    ...(inputRef === undefined ? {} : { inputRef }),
    ...(checkpointRef === undefined ? {} : { checkpointRef })
  }
}

export function encodeRunResponse (r: RunResponse): Uint8Array {
  return encode({ status: r.status, exitCode: r.exitCode ?? null, output: r.output, stderr: r.stderr, message: r.message ?? null, fuelUsed: r.fuelUsed ?? null, checkpoint: r.checkpoint ?? null, ...(r.report === undefined ? {} : { report: { coreSeconds: r.report.coreSeconds, sig: r.report.sig } }) })
}

const statuses = new Set(['ok', 'exit', 'trap', 'out-of-fuel', 'output-too-large', 'memory', 'wall-timeout', 'aborted'])

export function decodeRunResponse (bytes: Uint8Array): RunResponse {
  const v = decode<Record<string, unknown>>(bytes)
  if (typeof v.status !== 'string' || !statuses.has(v.status) || !(v.output instanceof Uint8Array) || typeof v.stderr !== 'string' ||
    !(v.exitCode === null || isInt(v.exitCode)) || !(v.message === null || typeof v.message === 'string') || !(v.fuelUsed === null || isInt(v.fuelUsed)) ||
    !(v.checkpoint === null || v.checkpoint instanceof Uint8Array)) {
    throw new MalformedMessageError('a compute run response is malformed')
  }
  const report = v.report as Record<string, unknown> | undefined | null
  if (!(report === undefined || report === null || (typeof report === 'object' && isInt(report.coreSeconds) && report.sig instanceof Uint8Array && report.sig.byteLength === 64))) {
    throw new MalformedMessageError('a compute run response\'s report needs coreSeconds (an integer) and sig (64 bytes)')
  }
  return {
    ...(report === undefined || report === null ? {} : { report: { coreSeconds: report.coreSeconds as number, sig: report.sig as Uint8Array } }),
    status: v.status as RunStatus,
    exitCode: v.exitCode ?? undefined,
    output: v.output,
    stderr: v.stderr,
    message: v.message ?? undefined,
    fuelUsed: v.fuelUsed ?? undefined,
    checkpoint: v.checkpoint ?? undefined
  } as RunResponse
}

/** Length of a run id. */
export const runIdBytes = 16

/** "Tell me when run `runId` has a checkpoint newer than number `after`." */
export interface CheckpointWatch { runId: Uint8Array, after: number }

/**
 * The answer: the latest checkpoint and its number (1 for the first the task wrote; 0 and no
 * bytes when none yet), and whether the run has ended (or is unknown to this provider).
 */
export interface CheckpointUpdate {
  seq: number
  checkpoint: Uint8Array | undefined
  ended: boolean
  /** The checkpoint's CID when the runner stored it as content on the network (then `checkpoint` is absent: fetch it by CID). */
  cid?: string
}

export function encodeCheckpointWatch (w: CheckpointWatch): Uint8Array {
  return encode({ runId: w.runId, after: w.after })
}

export function decodeCheckpointWatch (bytes: Uint8Array): CheckpointWatch {
  const v = decode<Record<string, unknown>>(bytes)
  if (!(v.runId instanceof Uint8Array) || v.runId.byteLength !== runIdBytes || !isInt(v.after) || v.after < 0) {
    throw new MalformedMessageError(`a checkpoint watch needs runId (${runIdBytes} bytes) and after (a non-negative integer)`)
  }
  return { runId: v.runId, after: v.after }
}

export function encodeCheckpointUpdate (u: CheckpointUpdate): Uint8Array {
  return encode({ seq: u.seq, checkpoint: u.checkpoint ?? null, ended: u.ended, ...(u.cid === undefined ? {} : { cid: u.cid }) })
}

export function decodeCheckpointUpdate (bytes: Uint8Array): CheckpointUpdate {
  const v = decode<Record<string, unknown>>(bytes)
  if (!isInt(v.seq) || v.seq < 0 || !(v.checkpoint === null || v.checkpoint instanceof Uint8Array) || typeof v.ended !== 'boolean') {
    throw new MalformedMessageError('a checkpoint update needs seq (a non-negative integer), checkpoint (bytes or null) and ended (a boolean)')
  }
  if (!(v.cid === undefined || (typeof v.cid === 'string' && v.cid.length > 0 && v.cid.length <= maxCidChars))) throw new MalformedMessageError('a checkpoint update\'s cid must be a CID text')
  return { seq: v.seq, checkpoint: v.checkpoint ?? undefined, ended: v.ended, ...(typeof v.cid === 'string' ? { cid: v.cid } : {}) }
}
