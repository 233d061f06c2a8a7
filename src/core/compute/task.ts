/**
 * A compute task as a client submits it: which module runs on which input, under what limits,
 * on how many replicas, checkpointed how often, and at what price. `checkTaskSpec` turns
 * untrusted fields into a spec or throws `InvalidTaskError`; `taskId` names a task by the hash
 * of its canonical encoding, so every node derives the same id and the same seeds from it.
 */
import { encode } from '../../foundations/encoding.ts'
import { sha256 } from '../../foundations/hash.ts'
import { toHex } from '../../foundations/bytes.ts'
import { parseCid, type CID } from '../content/index.ts'
import {
  defaultReplicas, defaultTaskMemoryBytes, defaultTaskTimeoutMs, fuelPerMs, maxOutputBytes, maxReplicas,
  maxTaskMemoryBytes, maxTaskTimeoutMs, minCheckpointIntervalMs
} from './constants.ts'
import { InvalidTaskError } from './errors.ts'

/** Regions are short names, as in provider offers. */
const maxRegionChars = 64

/** A checked task spec. */
export interface TaskSpec {
  /** CID of the WASI command module. */
  module: CID
  /** CID of the input (stdin). */
  input: CID
  /** Memory cap in bytes. */
  memoryBytes: number
  /** CPU-time budget in milliseconds; the task gets `timeoutMs × fuelPerMs` fuel. */
  timeoutMs: number
  /** Largest output the client accepts. */
  maxOutputBytes: number
  /** Providers under distinct operators that run it (1 with a spot-check rate: spot-checked). */
  replicas: number
  /** With one replica: the chance (basis points) that a second, checking replica is run too. */
  spotCheckBps: number
  /** How often the runner stores a checkpoint the task wrote; 0: never. */
  checkpointEveryMs: number
  /** Highest price per core-second the client pays. */
  maxPrice: number
  /** Where it must run, if anywhere in particular. */
  region: string | undefined
}

/** Untrusted fields of a spec, as they come from the CLI or the wire. */
export type TaskSpecFields = { [K in keyof TaskSpec]?: unknown }

function int (value: unknown, field: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidTaskError(`${field} must be an integer from ${min} to ${max}`)
  }
  return value
}

function cid (value: unknown, field: string): CID {
  if (typeof value === 'string') return parseCid(value)
  if (value !== null && typeof value === 'object' && 'multihash' in value) return parseCid(String(value))
  throw new InvalidTaskError(`${field} must be a CID`)
}

/** Checks `fields`, fills defaults, and returns the spec; throws `InvalidTaskError` naming the field. */
export function checkTaskSpec (fields: TaskSpecFields): TaskSpec {
  const replicas = int(fields.replicas, 'replicas', 1, maxReplicas, defaultReplicas)
  const spotCheckBps = int(fields.spotCheckBps, 'spot-check rate (bp)', 0, 10_000, 0)
  if (replicas > 1 && spotCheckBps > 0) throw new InvalidTaskError('a spot-check rate applies to single-replica tasks only')
  const checkpointEveryMs = int(fields.checkpointEveryMs, 'checkpoint interval (ms)', 0, maxTaskTimeoutMs, 0)
  if (checkpointEveryMs !== 0 && checkpointEveryMs < minCheckpointIntervalMs) throw new InvalidTaskError(`the checkpoint interval must be at least ${minCheckpointIntervalMs} ms`)
  const region = fields.region
  if (region !== undefined && (typeof region !== 'string' || region.length === 0 || region.length > maxRegionChars)) throw new InvalidTaskError(`region must be a name of 1 to ${maxRegionChars} characters`)
  return {
    module: cid(fields.module, 'module'),
    input: cid(fields.input, 'input'),
    memoryBytes: int(fields.memoryBytes, 'memory (bytes)', 65_536, maxTaskMemoryBytes, defaultTaskMemoryBytes),
    timeoutMs: int(fields.timeoutMs, 'timeout (ms)', 1, maxTaskTimeoutMs, defaultTaskTimeoutMs),
    maxOutputBytes: int(fields.maxOutputBytes, 'output (bytes)', 0, maxOutputBytes, maxOutputBytes),
    replicas,
    spotCheckBps,
    checkpointEveryMs,
    maxPrice: int(fields.maxPrice, 'max price', 0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    region: region as string | undefined
  }
}

/** Fuel the task's module starts with. */
export function fuelFor (spec: Pick<TaskSpec, 'timeoutMs'>): number {
  return spec.timeoutMs * fuelPerMs
}

/** The task's id: hex SHA-256 of the canonical encoding of its spec, its client and the client's nonce. */
export function taskId (spec: TaskSpec, client: string, nonce: number): string {
  return toHex(sha256(encode({ ...spec, module: spec.module.toString(), input: spec.input.toString(), region: spec.region ?? null, client, nonce })))
}
