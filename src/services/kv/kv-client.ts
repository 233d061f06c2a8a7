/**
 * The client side of the key-value protocols, for one replica: get (every record verified
 * against the name's owner before it is returned), put (the replica's answer turned into the
 * matching error) and one page of sync. A replica that answers with a record that does not
 * verify, or with a malformed message, is penalised on the host and the call fails with
 * `KvReplicaFaultError`: a wrong answer never reaches the caller.
 *
 * Absence is not provable: `get` resolving `undefined` means this replica holds nothing valid
 * for the key. Ask several replicas of the shard and keep the highest version (`mergeKv`).
 *
 * @example
 * ```ts
 * const replica = new KvClient({ host, peerId })
 * await replica.put(signKvRecord({ name: 'mysite.key', key: 'greeting', value: utf8.encode('hi'), version: 1, writerKey: owner }))
 * const record = await replica.get('mysite.key', 'greeting', { owner: ownerAddressFromVerifiedProof })
 * ```
 */
import {
  InvalidNameError, InvalidSignatureError, KeynetError, MalformedMessageError, NameNotFoundError, NotOwnerError, PayloadTooLargeError
} from '../../foundations/errors.ts'
import { InvalidKvKeyError, StaleVersionError } from '../../core/kv/errors.ts'
import { checkKvKey, checkKvName, checkKvValue, type KvRecord } from '../../core/kv/record.ts'
import { kvSignatureValid, verifyKvRecord } from '../../core/kv/verify.ts'
import { RemoteHandlerError, type P2PHost } from '../p2p/index.ts'
import {
  defaultKvRequestTimeoutMs, maxKvGetKeysPerRequest, maxKvGetResponseBytes, maxKvPutResponseBytes, maxKvSyncResponseBytes
} from './constants.ts'
import { KvQuotaExceededError, KvReplicaFaultError, ShardNotHeldError } from './errors.ts'
import {
  decodeKvGetResponse, decodeKvPutResponse, decodeKvSyncPage, encodeKvGetRequest, encodeKvPutRequest, encodeKvSyncRequest,
  kvGetProtocol, kvPutProtocol, kvSyncProtocol, type KvSyncPage, type KvSyncRequest
} from './kv-messages.ts'

/** How a client reaches its replica. */
export interface KvClientInit {
  host: P2PHost
  /** Peer id of the storage node; the host must be able to reach it (connected, or addresses known). */
  peerId: string
  /** Deadline of one request (default `defaultKvRequestTimeoutMs`). */
  timeoutMs?: number
}

/** Options of a read. */
export interface KvReadOptions {
  /** The name's owner address (20 bytes), from a verified name proof: records must be written under it. */
  owner: Uint8Array
  signal?: AbortSignal
}

/** What a put achieved on the replica. */
export interface KvPutResult {
  /** `'unchanged'`: the replica already held this very record. */
  outcome: 'stored' | 'unchanged'
  /** The version the replica now holds (the record's). */
  version: number
}

/** Errors a replica may report for a request, re-thrown as the same class here (matched by name). */
const remoteErrors: Record<string, new (message: string) => KeynetError> = {
  NotOwnerError,
  InvalidSignatureError,
  PayloadTooLargeError,
  MalformedMessageError,
  NameNotFoundError,
  InvalidNameError,
  InvalidKvKeyError,
  ShardNotHeldError,
  KvQuotaExceededError
}

/** Requests to one replica over the key-value protocols. */
export class KvClient {
  /** The replica's peer id. */
  readonly peerId: string
  readonly #host: P2PHost
  readonly #timeoutMs: number

  constructor (init: KvClientInit) {
    this.peerId = init.peerId
    this.#host = init.host
    this.#timeoutMs = init.timeoutMs ?? defaultKvRequestTimeoutMs
  }

  /**
   * The verified record of `key` (a tombstone has `value: null`), or `undefined` when the
   * replica holds none. Throws `KvReplicaFaultError` for an answer that does not verify.
   */
  async get (name: string, key: string, opts: KvReadOptions): Promise<KvRecord | undefined> {
    const [record] = await this.getMany(name, [key], opts)
    return record
  }

  /** The verified records of `keys`, in order (`undefined` where none is held); asks in batches. */
  async getMany (name: string, keys: readonly string[], opts: KvReadOptions): Promise<Array<KvRecord | undefined>> {
    checkKvName(name)
    for (const key of keys) checkKvKey(key)
    const out: Array<KvRecord | undefined> = []
    for (let i = 0; i < keys.length; i += maxKvGetKeysPerRequest) {
      const asked = keys.slice(i, i + maxKvGetKeysPerRequest)
      const response = await this.#request(kvGetProtocol, encodeKvGetRequest({ name, keys: asked }), maxKvGetResponseBytes, opts.signal)
      const records = this.#decoded('get', () => decodeKvGetResponse(response, asked.length))
      for (const [j, record] of records.entries()) {
        if (record !== undefined) this.#check(record, name, asked[j] ?? '', opts.owner)
        out.push(record)
      }
    }
    return out
  }

  /**
   * Writes a signed record on the replica. Throws `StaleVersionError` (with the replica's
   * `current` version) when it holds a version as high or higher, and what the replica reports
   * otherwise: `NotOwnerError`, `InvalidSignatureError`, `PayloadTooLargeError`,
   * `NameNotFoundError`, `ShardNotHeldError`, `KvQuotaExceededError`. A record whose own
   * signature does not verify is refused here, before it is sent.
   */
  async put (record: KvRecord, signal?: AbortSignal): Promise<KvPutResult> {
    checkKvName(record.name)
    checkKvKey(record.key)
    checkKvValue(record.value)
    if (!kvSignatureValid(record)) throw new InvalidSignatureError(`the record of ${record.name} key "${record.key.slice(0, 64)}" is not validly signed by its writer; sign it with signKvRecord`)
    const response = await this.#request(kvPutProtocol, encodeKvPutRequest(record), maxKvPutResponseBytes, signal)
    const answer = this.#decoded('put', () => decodeKvPutResponse(response))
    if (answer.outcome === 'stale') {
      throw new StaleVersionError(`replica ${this.peerId} holds version ${answer.version} of ${record.name} key "${record.key.slice(0, 64)}", not below ${record.version}; write version ${answer.version + 1} or higher`, answer.version)
    }
    if (answer.version !== record.version) throw this.#fault(`answered a put of version ${record.version} with ${answer.outcome} version ${answer.version}`)
    return { outcome: answer.outcome, version: answer.version }
  }

  /** One page of the replica's summaries of a shard (see `/keynet/kv/sync/1`); keys are checked to ascend. */
  async syncPage (request: KvSyncRequest, signal?: AbortSignal): Promise<KvSyncPage> {
    const response = await this.#request(kvSyncProtocol, encodeKvSyncRequest(request), maxKvSyncResponseBytes, signal)
    return this.#decoded('sync', () => decodeKvSyncPage(response, request.after))
  }

  async #request (protocol: string, data: Uint8Array, maxResponseBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    try {
      return await this.#host.request(this.peerId, protocol, data, { signal, timeoutMs: this.#timeoutMs, maxResponseBytes })
    } catch (err) {
      if (err instanceof RemoteHandlerError) {
        const Local = remoteErrors[err.remoteName]
        if (Local !== undefined) throw new Local(err.message.replace(/^peer handler failed: [A-Za-z]+: /, ''))
      }
      throw err
    }
  }

  /** Throws (and penalises) unless `record` is a valid record of `key` of `name` under `owner`. */
  #check (record: KvRecord, name: string, key: string, owner: Uint8Array): void {
    if (record.name !== name || record.key !== key) throw this.#fault(`answered a get of ${name} key "${key.slice(0, 64)}" with a record of ${record.name} key "${record.key.slice(0, 64)}"`)
    try {
      verifyKvRecord(record, owner)
    } catch (err) {
      throw this.#fault(`answered a get of ${name} key "${key.slice(0, 64)}" with a record that does not verify: ${(err as Error).message}`)
    }
  }

  /** Runs a decoder; a malformed answer penalises the replica. */
  #decoded<T> (what: string, decodeAnswer: () => T): T {
    try {
      return decodeAnswer()
    } catch (err) {
      if (err instanceof KeynetError) throw this.#fault(`answered a ${what} with a malformed message: ${err.message}`)
      throw err
    }
  }

  #fault (what: string): KvReplicaFaultError {
    const err = new KvReplicaFaultError(`replica ${this.peerId} ${what}`)
    this.#host.penalise(this.peerId, err.message)
    return err
  }
}
