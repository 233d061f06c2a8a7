/**
 * Checks received blocks against their CIDs on a worker thread, so the thread that receives them
 * (and parses, copies and writes them) is not also the one hashing every byte: on a 2-core machine
 * a fetch's client is the busiest process, and the other core has room. Only blocks in shared
 * memory (the received-block pool, block-buffers.ts) go to the worker, which reads them in place;
 * others are hashed here. Without worker threads, everything is hashed here.
 *
 * @example
 * ```ts
 * if (!await sharedBlockVerifier().matches(cid, bytes)) throw new BlockMismatchError(…)
 * ```
 */
import { Worker } from 'node:worker_threads'
import { equalBytes } from '../../foundations/bytes.ts'
import { blockMatches, sha256Code, type CID } from '../../core/content/cid.ts'

/** The worker: SHA-256 of each view it is sent (shared memory: no copy), answered by id. */
const workerSource = `
const { parentPort } = require('node:worker_threads')
const { hash } = require('node:crypto')
parentPort.on('message', (m) => { parentPort.postMessage({ id: m.id, digest: hash('sha256', m.bytes, 'buffer') }) })
`

/** Hashes shared-memory blocks on one worker thread. */
export class BlockVerifier {
  #worker: Worker | undefined
  #failed = false
  #nextId = 0
  readonly #waiting = new Map<number, (digest: Uint8Array | undefined) => void>()

  /** Whether `bytes` hash to `cid` (false for any hash other than sha2-256). */
  async matches (cid: CID, bytes: Uint8Array): Promise<boolean> {
    if (!(bytes.buffer instanceof SharedArrayBuffer) || cid.multihash.code !== sha256Code) return blockMatches(cid, bytes)
    const digest = await this.#digest(bytes)
    return digest === undefined ? blockMatches(cid, bytes) : equalBytes(digest, cid.multihash.digest)
  }

  /** Stops the worker (blocks asked meanwhile are hashed here). */
  close (): void {
    void this.#worker?.terminate()
    this.#worker = undefined
  }

  /** The SHA-256 of `bytes` from the worker; undefined when it cannot be had there. */
  async #digest (bytes: Uint8Array): Promise<Uint8Array | undefined> {
    const worker = this.#start()
    if (worker === undefined) return undefined
    const id = this.#nextId++
    return await new Promise(resolve => {
      this.#waiting.set(id, resolve)
      if (this.#waiting.size === 1) worker.ref()
      worker.postMessage({ id, bytes })
    })
  }

  #start (): Worker | undefined {
    if (this.#worker !== undefined || this.#failed) return this.#worker
    try {
      const worker = new Worker(workerSource, { eval: true })
      worker.unref() // a process done fetching exits without stopping it
      worker.on('message', (m: { id: number, digest: Uint8Array }) => { this.#settle(m.id, m.digest) })
      const fail = (): void => {
        this.#failed = true
        this.#worker = undefined
        for (const id of [...this.#waiting.keys()]) this.#settle(id, undefined)
      }
      worker.on('error', fail)
      worker.on('exit', fail)
      this.#worker = worker
    } catch {
      this.#failed = true
    }
    return this.#worker
  }

  #settle (id: number, digest: Uint8Array | undefined): void {
    const resolve = this.#waiting.get(id)
    if (resolve === undefined) return
    this.#waiting.delete(id)
    if (this.#waiting.size === 0) this.#worker?.unref()
    resolve(digest)
  }
}

let shared: BlockVerifier | undefined

/** The process's verifier (its worker starts at the first shared-memory block). */
export function sharedBlockVerifier (): BlockVerifier {
  shared ??= new BlockVerifier()
  return shared
}
