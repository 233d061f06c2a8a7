/**
 * Wire messages of `/keynet/service/bind/1`, canonical CBOR, every field shape-checked on decode:
 *
 * | op | request | response |
 * |---|---|---|
 * | bind | `{ op: 'bind', name, pathPrefix, backend, ownerKey, time, signature }` | `{ binding }` (a `BindingStatus`) |
 * | unbind | `{ op: 'unbind', name, pathPrefix, ownerKey, time, signature }` | `{ removed: bool }` |
 * | list | `{ op: 'list', name }` | `{ bindings: [BindingStatus, …] }` (≤ `maxBindingsPerName`) |
 *
 * The owner signs (ed25519) the canonical CBOR of
 * `{ domain: 'keynet/service/bind/1', op, node, name, pathPrefix, backend, time }` (`backend` is
 * `null` for unbind, `node` the service node's peer id), so a signed change cannot be replayed
 * to another node or turned into another operation. A refusal travels as the protocol's error.
 */
import type { KeyPair } from '../../foundations/crypto.ts'
import { signBytes, verifyBytes } from '../../foundations/crypto.ts'
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { checkBackendUrl, checkPathPrefix, type BindingSpec } from './binding.ts'
import { maxBackendUrlChars, maxBindingsPerName, maxErrorTextChars, maxPathPrefixChars } from './constants.ts'

/** The protocol id of binding requests. */
export const bindProtocol = '/keynet/service/bind/1'

const signingDomain = 'keynet/service/bind/1'

/** A signed change: bind a backend, or unbind a name's prefix. */
export type SignedChange =
  | { op: 'bind', name: string, pathPrefix: string, backend: string, ownerKey: Uint8Array, time: number, signature: Uint8Array }
  | { op: 'unbind', name: string, pathPrefix: string, ownerKey: Uint8Array, time: number, signature: Uint8Array }

/** Any request of the protocol. */
export type BindRequest = SignedChange | { op: 'list', name: string }

/** A binding as a node reports it, with its live state. */
export interface BindingStatus extends BindingSpec {
  /** Address (20 bytes) of the owner key that bound it. */
  owner: Uint8Array
  /** The signed time of the bind. */
  boundAt: number
  /** Whether the backend answered lately; `undefined` while unknown. */
  reachable?: boolean
  /** The last failure to reach or use the backend, and when. */
  lastError?: string
  lastErrorAt?: number
  /** When the backend last answered. */
  lastOkAt?: number
  /** Requests forwarded, and those that failed at the node (unreachable, timed out, broken off). */
  requests: number
  errors: number
  /** Requests being forwarded now. */
  inFlight: number
}

/** The bytes the owner signs for a change addressed to the node `node` (its peer id). */
export function changeSigningBytes (change: { op: 'bind' | 'unbind', name: string, pathPrefix: string, backend?: string, time: number }, node: string): Uint8Array {
  return encode({
    domain: signingDomain,
    op: change.op,
    node,
    name: change.name,
    pathPrefix: change.pathPrefix,
    backend: change.op === 'bind' ? change.backend ?? null : null,
    time: change.time
  })
}

/** A bind signed by the owner's key, for the node `node`. */
export function signBind (spec: BindingSpec, node: string, owner: KeyPair, time: number): SignedChange {
  const signature = signBytes(owner.secretKey, changeSigningBytes({ op: 'bind', ...spec, time }, node))
  return { op: 'bind', name: spec.name, pathPrefix: spec.pathPrefix, backend: spec.backend, ownerKey: owner.publicKey, time, signature }
}

/** An unbind signed by the owner's key, for the node `node`. */
export function signUnbind (spec: { name: string, pathPrefix: string }, node: string, owner: KeyPair, time: number): SignedChange {
  const signature = signBytes(owner.secretKey, changeSigningBytes({ op: 'unbind', name: spec.name, pathPrefix: spec.pathPrefix, time }, node))
  return { op: 'unbind', name: spec.name, pathPrefix: spec.pathPrefix, ownerKey: owner.publicKey, time, signature }
}

/** Whether the change's signature is the owner key's, for the node `node`. */
export function verifyChange (change: SignedChange, node: string): boolean {
  return verifyBytes(change.ownerKey, changeSigningBytes(change, node), change.signature)
}

/** A request as canonical CBOR. */
export function encodeBindRequest (request: BindRequest): Uint8Array {
  return encode(request)
}

/** Decodes and checks a request; throws `MalformedMessageError` naming the field. */
export function decodeBindRequest (bytes: Uint8Array): BindRequest {
  const r = shape.record(decode(bytes), 'bind request')
  const op = r.op
  const name = checkName(r.name)
  if (op === 'list') {
    shape.onlyKeys(r, 'list request', ['op', 'name'])
    return { op, name }
  }
  if (op !== 'bind' && op !== 'unbind') throw new MalformedMessageError('bind request.op must be bind, unbind or list')
  const pathPrefix = checkPathPrefix(shape.str(r.pathPrefix, `${op} request.pathPrefix`, maxPathPrefixChars))
  const ownerKey = shape.bytes(r.ownerKey, `${op} request.ownerKey`, 32)
  const time = shape.uint(r.time, `${op} request.time`)
  const signature = shape.bytes(r.signature, `${op} request.signature`, 64)
  if (op === 'unbind') {
    shape.onlyKeys(r, 'unbind request', ['op', 'name', 'pathPrefix', 'ownerKey', 'time', 'signature'])
    return { op, name, pathPrefix, ownerKey, time, signature }
  }
  shape.onlyKeys(r, 'bind request', ['op', 'name', 'pathPrefix', 'backend', 'ownerKey', 'time', 'signature'])
  const backend = shape.str(r.backend, 'bind request.backend', maxBackendUrlChars)
  checkBackendUrl(backend)
  return { op, name, pathPrefix, backend, ownerKey, time, signature }
}

function checkName (v: unknown): string {
  const name = shape.str(v, 'bind request.name', 1024)
  let canonical: string
  try {
    canonical = canonicalName(name)
  } catch (err) {
    throw new MalformedMessageError(`bind request.name: ${(err as Error).message}`)
  }
  if (canonical !== name) throw new MalformedMessageError(`bind request.name must be canonical (${canonical})`)
  return name
}

/** A bind response. */
export function encodeBindResponse (binding: BindingStatus): Uint8Array {
  return encode({ binding: statusToWire(binding) })
}

/** Decodes a bind response. */
export function decodeBindResponse (bytes: Uint8Array): BindingStatus {
  const r = shape.record(decode(bytes), 'bind response')
  shape.onlyKeys(r, 'bind response', ['binding'])
  return statusFromWire(r.binding, 'bind response.binding')
}

/** An unbind response. */
export function encodeUnbindResponse (removed: boolean): Uint8Array {
  return encode({ removed })
}

/** Decodes an unbind response. */
export function decodeUnbindResponse (bytes: Uint8Array): boolean {
  const r = shape.record(decode(bytes), 'unbind response')
  shape.onlyKeys(r, 'unbind response', ['removed'])
  if (typeof r.removed !== 'boolean') throw new MalformedMessageError('unbind response.removed must be a boolean')
  return r.removed
}

/** A list response. */
export function encodeListResponse (bindings: readonly BindingStatus[]): Uint8Array {
  return encode({ bindings: bindings.slice(0, maxBindingsPerName).map(statusToWire) })
}

/** Decodes a list response. */
export function decodeListResponse (bytes: Uint8Array): BindingStatus[] {
  const r = shape.record(decode(bytes), 'list response')
  shape.onlyKeys(r, 'list response', ['bindings'])
  return shape.list(r.bindings, 'list response.bindings', maxBindingsPerName).map((b, i) => statusFromWire(b, `list response.bindings[${i}]`))
}

const statusKeys = [
  'name', 'pathPrefix', 'backend', 'owner', 'boundAt', 'reachable', 'lastError', 'lastErrorAt', 'lastOkAt', 'requests', 'errors', 'inFlight'
] as const

function statusToWire (s: BindingStatus): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of statusKeys) {
    const v = key === 'lastError' && s.lastError !== undefined ? s.lastError.slice(0, maxErrorTextChars) : s[key]
    if (v !== undefined) out[key] = v
  }
  return out
}

function statusFromWire (v: unknown, field: string): BindingStatus {
  const r = shape.record(v, field)
  shape.onlyKeys(r, field, statusKeys)
  const reachable = shape.optional(r.reachable, x => {
    if (typeof x !== 'boolean') throw new MalformedMessageError(`${field}.reachable must be a boolean`)
    return x
  })
  return {
    name: checkName(r.name),
    pathPrefix: checkPathPrefix(shape.str(r.pathPrefix, `${field}.pathPrefix`, maxPathPrefixChars)),
    backend: shape.str(r.backend, `${field}.backend`, maxBackendUrlChars),
    owner: shape.bytes(r.owner, `${field}.owner`, 20),
    boundAt: shape.uint(r.boundAt, `${field}.boundAt`),
    ...(reachable === undefined ? {} : { reachable }),
    ...optionalField('lastError', shape.optional(r.lastError, x => shape.str(x, `${field}.lastError`, maxErrorTextChars))),
    ...optionalField('lastErrorAt', shape.optional(r.lastErrorAt, x => shape.uint(x, `${field}.lastErrorAt`))),
    ...optionalField('lastOkAt', shape.optional(r.lastOkAt, x => shape.uint(x, `${field}.lastOkAt`))),
    requests: shape.uint(r.requests, `${field}.requests`),
    errors: shape.uint(r.errors, `${field}.errors`),
    inFlight: shape.uint(r.inFlight, `${field}.inFlight`)
  }
}

function optionalField<K extends string, V> (key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : { [key]: value } as Record<K, V>
}
